package inventory

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/inventory/dbsqlc"
	"github.com/teslaops/tesla/internal/page"
)

// Stack is a named family of stack versions (e.g. a Hadoop distribution).
type Stack struct {
	ID          int64
	Name        string
	Description string
}

func (s *Stack) dests() []any { return []any{&s.ID, &s.Name, &s.Description} }

// StackVersion is one release of a stack: a set of service package versions.
type StackVersion struct {
	ID         int64
	StackID    int64
	Version    string
	ReleasedAt time.Time
	Notes      string
}

// ServicePackage is one version of a service's package. Its identity (service,
// version, source) is kept apart from its dependency and operation metadata.
type ServicePackage struct {
	ID         int64
	Service    string
	Version    string
	SourceKind string
	SourceURI  string
	Checksum   string
	DependsOn  json.RawMessage
	Operations json.RawMessage
	// StackVersionID is set when the package was loaded through a stack version.
	StackVersionID int64
}

// ListStacks lists stacks by name.
func (s *Service) ListStacks(ctx context.Context, args page.Args) (page.Page[*Stack], error) {
	if _, err := auth.Require(ctx); err != nil {
		return page.Page[*Stack]{}, err
	}
	w, err := args.Resolve()
	if err != nil {
		return page.Page[*Stack]{}, err
	}
	pages, err := queryPages[Stack](ctx, s.dbtx, pagedSpec{
		Columns: `s.id, s.name, s.description`, From: `stack s`, Where: "true", Partition: "0", Order: "s.name, s.id",
	}, w, []int64{0})
	if err != nil {
		return page.Page[*Stack]{}, fmt.Errorf("error listing stacks: %w", err)
	}
	return single(pages), nil
}

// StacksByIDs loads stacks by id.
func (s *Service) StacksByIDs(ctx context.Context, ids []int64) (map[int64]*Stack, error) {
	return byIDs(ctx, "stacks", func() ([]*dbsqlc.Stack, error) { return queries.StacksByIDs(ctx, s.dbtx, ids) },
		func(r *dbsqlc.Stack) *Stack { return &Stack{ID: r.ID, Name: r.Name, Description: r.Description} },
		func(s *Stack) int64 { return s.ID })
}

func stackVersionFromRow(r *dbsqlc.StackVersion) *StackVersion {
	return &StackVersion{ID: r.ID, StackID: r.StackID, Version: r.Version, ReleasedAt: r.ReleasedAt, Notes: r.Notes}
}

// StackVersionsByIDs loads stack versions by id.
func (s *Service) StackVersionsByIDs(ctx context.Context, ids []int64) (map[int64]*StackVersion, error) {
	return byIDs(ctx, "stack versions", func() ([]*dbsqlc.StackVersion, error) { return queries.StackVersionsByIDs(ctx, s.dbtx, ids) },
		stackVersionFromRow, func(v *StackVersion) int64 { return v.ID })
}

// VersionsByStack groups stack versions by stack, oldest release first.
func (s *Service) VersionsByStack(ctx context.Context, stacks []int64) (map[int64][]*StackVersion, error) {
	return groupedBy(ctx, "stack versions", func() ([]*dbsqlc.StackVersion, error) { return queries.StackVersionsByStack(ctx, s.dbtx, stacks) },
		stackVersionFromRow, func(v *StackVersion) int64 { return v.StackID })
}

// packageFromRow converts a stored package; stackVersion is the version it was
// loaded through, or 0. dependsOn is the typed dependency rows (internal/stack)
// as the JSON array the API has always shown.
func packageFromRow(r *dbsqlc.ServicePackage, dependsOn json.RawMessage, stackVersion int64) *ServicePackage {
	return &ServicePackage{ID: r.ID, Service: r.Service, Version: r.Version, SourceKind: r.SourceKind, SourceURI: r.SourceUri,
		Checksum: r.Checksum, DependsOn: dependsOn, Operations: r.Operations, StackVersionID: stackVersion}
}

// PackagesByStackVersion groups the service packages of each stack version.
func (s *Service) PackagesByStackVersion(ctx context.Context, versions []int64) (map[int64][]*ServicePackage, error) {
	return groupedBy(ctx, "stack packages", func() ([]*dbsqlc.PackagesByStackVersionRow, error) {
		return queries.PackagesByStackVersion(ctx, s.dbtx, versions)
	}, func(r *dbsqlc.PackagesByStackVersionRow) *ServicePackage {
		return packageFromRow(&r.ServicePackage, r.DependsOn, r.StackVersionID)
	}, func(p *ServicePackage) int64 { return p.StackVersionID })
}

// PackagesByIDs loads service packages by id.
func (s *Service) PackagesByIDs(ctx context.Context, ids []int64) (map[int64]*ServicePackage, error) {
	return byIDs(ctx, "service packages", func() ([]*dbsqlc.PackagesByIDsRow, error) { return queries.PackagesByIDs(ctx, s.dbtx, ids) },
		func(r *dbsqlc.PackagesByIDsRow) *ServicePackage {
			return packageFromRow(&r.ServicePackage, r.DependsOn, 0)
		},
		func(p *ServicePackage) int64 { return p.ID })
}
