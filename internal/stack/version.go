package stack

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/fault"
)

// VersionInput creates a stack version: Packages name registered packages,
// one per service. A partial version is checked overlaid on Base (a full
// stack version of any stack: usually the one the clusters to upgrade run);
// a full version is checked alone and takes no Base.
type VersionInput struct {
	Stack    string       `json:"stack"`
	Version  string       `json:"version"`
	Partial  bool         `json:"partial"`
	Notes    string       `json:"notes,omitempty"`
	Packages []PackageRef `json:"packages"`
	Base     *int64       `json:"base,omitempty"`
}

// Limits of a stack version.
const (
	maxPackages   = 500
	maxNameLength = 100
)

func (in *VersionInput) validate() error {
	in.Stack, in.Version = strings.TrimSpace(in.Stack), strings.TrimSpace(in.Version)
	switch {
	case in.Stack == "" || len(in.Stack) > maxNameLength:
		return fault.Field("input.stack", "stack must be a name of 1..%d characters", maxNameLength)
	case in.Version == "" || len(in.Version) > maxNameLength:
		return fault.Field("input.version", "version must be 1..%d characters", maxNameLength)
	case len(in.Notes) > maxTextLength:
		return fault.Field("input.notes", "notes are at most %d characters", maxTextLength)
	case len(in.Packages) == 0:
		return fault.Field("input.packages", "a stack version needs at least one package")
	case len(in.Packages) > maxPackages:
		return fault.Field("input.packages", "a stack version has at most %d packages", maxPackages)
	case in.Partial && in.Base == nil:
		return fault.Field("input.base", "a partial version is checked against a base: give the full stack version it applies to")
	case !in.Partial && in.Base != nil:
		return fault.Field("input.base", "a full version is checked alone: base is only for a partial version")
	}
	if _, err := ParseSemVer(in.Version); err != nil {
		return fault.Field("input.version", "version: %v", err)
	}
	seen := map[string]int{}
	for i := range in.Packages {
		r := &in.Packages[i]
		r.Service, r.Version = strings.ToUpper(strings.TrimSpace(r.Service)), strings.TrimSpace(r.Version)
		if j, ok := seen[r.Service]; ok {
			return fault.Field(fmt.Sprintf("input.packages[%d].service", i), "%s is already input.packages[%d]: one package per service", r.Service, j)
		}
		seen[r.Service] = i
	}
	return nil
}

// CreateStackVersion checks and creates a stack version (and its stack, on
// the stack's first version). It needs OPERATOR or ADMIN. Every dependency of
// every package must be met by the version's packages (a partial version's:
// overlaid on Base); a cycle is refused naming it ("HDFS → ZOOKEEPER → HDFS"),
// an unmet constraint naming the package and the constraint. A version the
// stack already has is a CONFLICT.
func (s *Service) CreateStackVersion(ctx context.Context, in VersionInput) (*Version, error) {
	var out *Version
	target := "stack version " + in.Stack + " " + in.Version
	err := s.audit.Do(ctx, "createStackVersion", target, &in, func(tx pgx.Tx) error {
		if _, err := auth.RequireRole(ctx, auth.Operator, "creating a stack version"); err != nil {
			return err
		}
		if err := in.validate(); err != nil {
			return err
		}
		pkgs, err := packagesByKey(ctx, tx, in.Packages)
		if err != nil {
			return err
		}
		for i, p := range pkgs {
			if p == nil {
				return fault.Field(fmt.Sprintf("input.packages[%d]", i), "no service package %s %s is registered",
					in.Packages[i].Service, in.Packages[i].Version)
			}
		}
		v := &Version{Stack: in.Stack, Version: in.Version, Partial: in.Partial, Notes: in.Notes, Packages: pkgs}
		var base []*Package
		if in.Partial {
			bv, err := versions(ctx, tx, sqlVersionsByIDs, []int64{*in.Base})
			if err != nil {
				return err
			}
			if len(bv) == 0 {
				return fault.Field("input.base", "stack version %d not found", *in.Base)
			}
			if bv[0].Partial {
				return fault.Field("input.base", "base %s %s is itself partial: give a full stack version", bv[0].Stack, bv[0].Version)
			}
			base = bv[0].Packages
		}
		if _, err := Resolve(base, v); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, sqlEnsureStack, in.Stack).Scan(&v.StackID); err != nil {
			return fmt.Errorf("error creating stack %s: %w", in.Stack, err)
		}
		err = tx.QueryRow(ctx, sqlInsertVersion, v.StackID, in.Version, in.Partial, in.Notes).Scan(&v.ID, &v.ReleasedAt)
		if errors.Is(err, pgx.ErrNoRows) {
			return fault.New(fault.Conflict, "stack %s already has a version %s", in.Stack, in.Version)
		}
		if err != nil {
			return fmt.Errorf("error creating stack version %s %s: %w", in.Stack, in.Version, err)
		}
		ids := make([]int64, len(pkgs))
		for i, p := range pkgs {
			ids[i] = p.ID
		}
		if _, err := tx.Exec(ctx, sqlLinkPackages, v.ID, ids); err != nil {
			return fmt.Errorf("error linking packages to stack version %s %s: %w", in.Stack, in.Version, err)
		}
		slices.SortFunc(v.Packages, func(a, b *Package) int { return strings.Compare(a.Service, b.Service) })
		out = v
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
