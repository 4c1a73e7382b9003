package stack

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/page"
)

func packagesByIDs(ctx context.Context, q db.DBTX, ids []int64) (map[int64]*Package, error) {
	rows, err := q.Query(ctx, sqlPackagesByIDs, ids)
	if err != nil {
		return nil, fmt.Errorf("error loading service packages: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*Package, error) { return scanPackage(r) })
	if err != nil {
		return nil, fmt.Errorf("error loading service packages: %w", err)
	}
	out := make(map[int64]*Package, len(list))
	for _, p := range list {
		out[p.ID] = p
	}
	return out, nil
}

// PackageRef names a package by service and version.
type PackageRef struct {
	Service string `json:"service"`
	Version string `json:"version"`
}

// packagesByKey loads the packages refs name, in refs' order; nil where none
// is registered.
func packagesByKey(ctx context.Context, q db.DBTX, refs []PackageRef) ([]*Package, error) {
	svcs, vers := make([]string, len(refs)), make([]string, len(refs))
	for i, r := range refs {
		svcs[i], vers[i] = r.Service, r.Version
	}
	rows, err := q.Query(ctx, sqlPackagesByKey, svcs, vers)
	if err != nil {
		return nil, fmt.Errorf("error loading service packages: %w", err)
	}
	out := make([]*Package, len(refs))
	var ord int64
	if _, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*Package, error) {
		p, err := scanPackage(r, &ord)
		if err == nil {
			out[ord-1] = p
		}
		return p, err
	}); err != nil {
		return nil, fmt.Errorf("error loading service packages: %w", err)
	}
	return out, nil
}

// PackagesByKey loads the packages refs name, in refs' order, nil where none
// is registered. The planner builds a cluster's current set with it from what
// the cluster runs (after a partial upgrade, no one stack version says that).
func (s *Service) PackagesByKey(ctx context.Context, refs []PackageRef) ([]*Package, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	norm := make([]PackageRef, len(refs))
	for i, r := range refs {
		norm[i] = PackageRef{Service: strings.ToUpper(strings.TrimSpace(r.Service)), Version: strings.TrimSpace(r.Version)}
	}
	return packagesByKey(ctx, s.dbtx, norm)
}

// PackagesByIDs loads packages by id (for dataloaders).
func (s *Service) PackagesByIDs(ctx context.Context, ids []int64) (map[int64]*Package, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	return packagesByIDs(ctx, s.dbtx, ids)
}

// ListPackages lists registered packages by service, then registration; of
// one service when service is not empty.
func (s *Service) ListPackages(ctx context.Context, service string, args page.Args) (page.Page[*Package], error) {
	if _, err := auth.Require(ctx); err != nil {
		return page.Page[*Package]{}, err
	}
	w, err := args.Resolve()
	if err != nil {
		return page.Page[*Package]{}, err
	}
	var filter *string
	if service = strings.ToUpper(strings.TrimSpace(service)); service != "" {
		filter = &service
	}
	return page.FromOffsets(w, func(offset, limit int) ([]*Package, int, error) {
		rows, err := s.dbtx.Query(ctx, sqlListPackages, filter, offset, limit)
		if err != nil {
			return nil, 0, fmt.Errorf("error listing service packages: %w", err)
		}
		var total int64
		list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*Package, error) { return scanPackage(r, &total) })
		if err != nil {
			return nil, 0, fmt.Errorf("error listing service packages: %w", err)
		}
		if len(list) == 0 && offset > 0 {
			// Past the end: the window function saw no row to count on.
			if err := s.dbtx.QueryRow(ctx, sqlCountPackages, filter).Scan(&total); err != nil {
				return nil, 0, fmt.Errorf("error counting service packages: %w", err)
			}
		}
		return list, int(total), nil
	})
}

func scanVersion(r pgx.CollectableRow) (*Version, error) {
	v := &Version{}
	return v, r.Scan(&v.ID, &v.StackID, &v.Stack, &v.Version, &v.Partial, &v.Notes, &v.ReleasedAt)
}

// versions loads stack versions with their packages: two statements.
func versions(ctx context.Context, q db.DBTX, sql string, arg any) ([]*Version, error) {
	rows, err := q.Query(ctx, sql, arg)
	if err != nil {
		return nil, fmt.Errorf("error loading stack versions: %w", err)
	}
	list, err := pgx.CollectRows(rows, scanVersion)
	if err != nil {
		return nil, fmt.Errorf("error loading stack versions: %w", err)
	}
	ids := make([]int64, len(list))
	byID := make(map[int64]*Version, len(list))
	for i, v := range list {
		ids[i], byID[v.ID] = v.ID, v
	}
	rows, err = q.Query(ctx, sqlVersionPackages, ids)
	if err != nil {
		return nil, fmt.Errorf("error loading stack version packages: %w", err)
	}
	var vid int64
	if _, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*Package, error) {
		p, err := scanPackage(r, &vid)
		if err == nil {
			byID[vid].Packages = append(byID[vid].Packages, p)
		}
		return p, err
	}); err != nil {
		return nil, fmt.Errorf("error loading stack version packages: %w", err)
	}
	return list, nil
}

// VersionsByIDs loads stack versions, with their packages, by id.
func (s *Service) VersionsByIDs(ctx context.Context, ids []int64) (map[int64]*Version, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	list, err := versions(ctx, s.dbtx, sqlVersionsByIDs, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]*Version, len(list))
	for _, v := range list {
		out[v.ID] = v
	}
	return out, nil
}

// Version loads one stack version with its packages.
func (s *Service) Version(ctx context.Context, id int64) (*Version, error) {
	m, err := s.VersionsByIDs(ctx, []int64{id})
	if err != nil {
		return nil, err
	}
	v, ok := m[id]
	if !ok {
		return nil, fault.NotFoundf("stack version %d not found", id)
	}
	return v, nil
}

// VersionsOfStack lists a stack's versions, oldest release first, with their
// packages. A stack has tens of versions, so the list is not paged.
func (s *Service) VersionsOfStack(ctx context.Context, stack string) ([]*Version, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	return versions(ctx, s.dbtx, sqlVersionsOfStack, stack)
}

// VersionGraph returns a stack version's dependency graph for a UI. A partial
// version's graph shows only its own packages; its edges to services it does
// not contain are marked Missing.
func (s *Service) VersionGraph(ctx context.Context, id int64) (*Graph, error) {
	v, err := s.Version(ctx, id)
	if err != nil {
		return nil, err
	}
	return BuildGraph(v.Packages), nil
}
