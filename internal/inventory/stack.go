package inventory

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/teslaops/tesla/internal/auth"
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

func (v *StackVersion) dests() []any {
	return []any{&v.ID, &v.StackID, &v.Version, &v.ReleasedAt, &v.Notes}
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

func (p *ServicePackage) dests() []any {
	return []any{&p.ID, &p.Service, &p.Version, &p.SourceKind, &p.SourceURI, &p.Checksum, &p.DependsOn, &p.Operations, &p.StackVersionID}
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
	pages, err := queryPages[Stack](ctx, s.pool, pagedSpec{
		Columns: `s.id, s.name, s.description`, From: `stack s`, Where: "true", Partition: "0", Order: "s.name, s.id",
	}, w, []int64{0})
	if err != nil {
		return page.Page[*Stack]{}, fmt.Errorf("error listing stacks: %w", err)
	}
	return single(pages), nil
}

// StacksByIDs loads stacks by id.
func (s *Service) StacksByIDs(ctx context.Context, ids []int64) (map[int64]*Stack, error) {
	return byIDs(ctx, s, `SELECT id, name, description FROM stack WHERE id = ANY($1)`, ids, "stacks", func(s *Stack) int64 { return s.ID })
}

const stackVersionColumns = `id, stack_id, version, released_at, notes`

// StackVersionsByIDs loads stack versions by id.
func (s *Service) StackVersionsByIDs(ctx context.Context, ids []int64) (map[int64]*StackVersion, error) {
	return byIDs(ctx, s, `SELECT `+stackVersionColumns+` FROM stack_version WHERE id = ANY($1)`, ids, "stack versions",
		func(v *StackVersion) int64 { return v.ID })
}

// VersionsByStack groups stack versions by stack, oldest release first.
func (s *Service) VersionsByStack(ctx context.Context, stacks []int64) (map[int64][]*StackVersion, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT `+stackVersionColumns+` FROM stack_version WHERE stack_id = ANY($1)
		ORDER BY stack_id, released_at, id`, stacks)
	if err != nil {
		return nil, fmt.Errorf("error loading stack versions: %w", err)
	}
	return collectGrouped(rows, func(v *StackVersion) int64 { return v.StackID })
}

const packageColumns = `p.id, p.service, p.version, p.source_kind, p.source_uri, p.checksum, p.depends_on, p.operations`

// PackagesByStackVersion groups the service packages of each stack version.
func (s *Service) PackagesByStackVersion(ctx context.Context, versions []int64) (map[int64][]*ServicePackage, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT `+packageColumns+`, svp.stack_version_id
		FROM stack_version_package svp JOIN service_package p ON p.id = svp.service_package_id
		WHERE svp.stack_version_id = ANY($1) ORDER BY svp.stack_version_id, p.service`, versions)
	if err != nil {
		return nil, fmt.Errorf("error loading stack packages: %w", err)
	}
	return collectGrouped(rows, func(p *ServicePackage) int64 { return p.StackVersionID })
}

// PackagesByIDs loads service packages by id.
func (s *Service) PackagesByIDs(ctx context.Context, ids []int64) (map[int64]*ServicePackage, error) {
	return byIDs(ctx, s, `SELECT `+packageColumns+`, 0::bigint FROM service_package p WHERE p.id = ANY($1)`, ids, "service packages",
		func(p *ServicePackage) int64 { return p.ID })
}
