package stack

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// BulkStack is one stack and its versions, for Load.
type BulkStack struct {
	Name, Description string
	Versions          []BulkVersion
}

// BulkVersion is one version of a stack and the packages (of Load's) it ships.
type BulkVersion struct {
	Version, Notes string
	Released       time.Time
	Packages       []PackageRef
}

// BulkPackage is one package for Load: a registration, plus the agent's
// process and unit templates (service_package.operations, read by
// internal/inventory's agent checks), "{}" when nil.
type BulkPackage struct {
	PackageInput
	Operations json.RawMessage
}

// LoadResult counts the rows Load inserted.
type LoadResult struct{ Stacks, Versions, Packages int64 }

// Load writes stacks, their versions and packages (registered at at) in tx for a whole-inventory
// load into an empty database (the demo fleet, through inventory.LoadBulk):
// without access checks or audit, as the caller is the operator's command.
// Packages are validated as RegisterServicePackage does, full versions as
// CreateStackVersion does; errors name the record at fault.
func Load(ctx context.Context, tx pgx.Tx, at time.Time, stacks []BulkStack, pkgs []BulkPackage) (LoadResult, error) {
	var res LoadResult
	ins := make([]*PackageInput, len(pkgs))
	byKey := make(map[PackageRef]*Package, len(pkgs))
	for i := range pkgs {
		in := &pkgs[i].PackageInput
		if err := in.Validate(); err != nil {
			return res, fmt.Errorf("package %d (%s %s): %w", i, in.Service, in.Info.Version, err)
		}
		ins[i] = in
		byKey[PackageRef{in.Service, in.Info.Version}] = &Package{Service: in.Service, Info: in.Info, Ops: in.Ops}
	}
	ids, err := insertPackages(ctx, tx, ins, &at)
	if err != nil {
		return res, err
	}
	var opIDs []int64
	var ops []string
	for i, p := range pkgs {
		if len(p.Operations) > 0 {
			opIDs, ops = append(opIDs, ids[i]), append(ops, string(p.Operations))
		}
	}
	if _, err := tx.Exec(ctx, sqlLoadOperations, opIDs, ops); err != nil {
		return res, fmt.Errorf("error storing package operations: %w", err)
	}
	res.Packages = int64(len(ids))

	var sNames, sDescs, vStacks, vVersions, vNotes []string
	var vReleased []time.Time
	var lStacks, lVersions, lServices, lPkgVersions []string
	for _, s := range stacks {
		sNames, sDescs = append(sNames, s.Name), append(sDescs, s.Description)
		for _, v := range s.Versions {
			vStacks, vVersions, vNotes = append(vStacks, s.Name), append(vVersions, v.Version), append(vNotes, v.Notes)
			vReleased = append(vReleased, v.Released)
			set := make([]*Package, 0, len(v.Packages))
			services := make(map[string]bool, len(v.Packages))
			for _, r := range v.Packages {
				if services[r.Service] {
					return res, fmt.Errorf("stack %s %s ships two packages of %s: one per service", s.Name, v.Version, r.Service)
				}
				services[r.Service] = true
				p, ok := byKey[r]
				if !ok {
					return res, fmt.Errorf("stack %s %s ships %s %s, which is not among the packages", s.Name, v.Version, r.Service, r.Version)
				}
				set = append(set, p)
				lStacks, lVersions = append(lStacks, s.Name), append(lVersions, v.Version)
				lServices, lPkgVersions = append(lServices, r.Service), append(lPkgVersions, r.Version)
			}
			if err := CheckSet(set); err != nil {
				return res, fmt.Errorf("stack %s %s: %w", s.Name, v.Version, err)
			}
		}
	}
	tag, err := tx.Exec(ctx, sqlLoadStacks, sNames, sDescs)
	if err != nil {
		return res, fmt.Errorf("error inserting stacks: %w", err)
	}
	res.Stacks = tag.RowsAffected()
	tag, err = tx.Exec(ctx, sqlLoadVersions, vStacks, vVersions, vReleased, vNotes)
	if err != nil {
		return res, fmt.Errorf("error inserting stack versions: %w", err)
	}
	res.Versions = tag.RowsAffected()
	if _, err := tx.Exec(ctx, sqlLoadLinks, lStacks, lVersions, lServices, lPkgVersions); err != nil {
		return res, fmt.Errorf("error linking stack versions to packages: %w", err)
	}
	return res, nil
}
