package inventory

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/internal/auth"
)

// The platform-wide figures every role may see, one query each, so a screen that
// asks for the cluster count does not pay for counting every host.

// ClusterCount counts the clusters.
func (s *Service) ClusterCount(ctx context.Context) (int, error) {
	return s.count(ctx, `SELECT count(*) FROM cluster`, "clusters")
}

// BUCount counts the business units.
func (s *Service) BUCount(ctx context.Context) (int, error) {
	return s.count(ctx, `SELECT count(*) FROM bu`, "business units")
}

// PersonCount counts the people.
func (s *Service) PersonCount(ctx context.Context) (int, error) {
	return s.count(ctx, `SELECT count(*) FROM person`, "people")
}

func (s *Service) count(ctx context.Context, query, what string) (int, error) {
	if _, err := auth.Require(ctx); err != nil {
		return 0, err
	}
	var n int
	if err := s.pool.QueryRow(ctx, query).Scan(&n); err != nil {
		return 0, fmt.Errorf("error counting %s: %w", what, err)
	}
	return n, nil
}

// ClustersByKind counts the clusters and their hosts per cluster kind, by kind.
func (s *Service) ClustersByKind(ctx context.Context) ([]KindCount, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT c.kind, count(DISTINCT c.id), count(h.id) FROM cluster c
		LEFT JOIN host h ON h.cluster_id = c.id GROUP BY c.kind ORDER BY c.kind`)
	if err != nil {
		return nil, fmt.Errorf("error counting clusters by kind: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (KindCount, error) {
		var k KindCount
		return k, r.Scan(&k.Kind, &k.Clusters, &k.Hosts)
	})
	if err != nil {
		return nil, fmt.Errorf("error counting clusters by kind: %w", err)
	}
	return out, nil
}

// HostTotals counts every host by state and sums their hardware.
func (s *Service) HostTotals(ctx context.Context) (ClusterStats, error) {
	var st ClusterStats
	if _, err := auth.Require(ctx); err != nil {
		return st, err
	}
	rows, err := s.pool.Query(ctx, `SELECT state, count(*), sum(cpu_cores), sum(memory_bytes), sum(disk_bytes), sum(nic_bps)
		FROM host GROUP BY state`)
	if err != nil {
		return st, fmt.Errorf("error counting hosts: %w", err)
	}
	var (
		state string
		n     int
		c     Capacity
	)
	if _, err := pgx.ForEachRow(rows, []any{&state, &n, &c.CPUCores, &c.MemoryBytes, &c.DiskBytes, &c.NICBps}, func() error {
		st.add(state, n, c)
		return nil
	}); err != nil {
		return st, fmt.Errorf("error counting hosts: %w", err)
	}
	return st, nil
}
