package inventory

import (
	"context"
	"fmt"

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
	if err := s.dbtx.QueryRow(ctx, query).Scan(&n); err != nil {
		return 0, fmt.Errorf("error counting %s: %w", what, err)
	}
	return n, nil
}

// ClustersByKind counts the clusters and their hosts per cluster kind, by kind.
// The host counts come from cluster_host_stats (see StatsByCluster).
func (s *Service) ClustersByKind(ctx context.Context) ([]KindCount, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	rows, err := queries.ClustersByKind(ctx, s.dbtx)
	if err != nil {
		return nil, fmt.Errorf("error counting clusters by kind: %w", err)
	}
	out := make([]KindCount, len(rows))
	for i, r := range rows {
		out[i] = KindCount{Kind: r.Kind, Clusters: int(r.Clusters), Hosts: int(r.Hosts)}
	}
	return out, nil
}

// HostTotals counts every host by state and sums their hardware, from the
// per-cluster figures the triggers on host keep (a few rows per cluster), not from
// host itself.
func (s *Service) HostTotals(ctx context.Context) (ClusterStats, error) {
	var st ClusterStats
	if _, err := auth.Require(ctx); err != nil {
		return st, err
	}
	rows, err := queries.HostTotals(ctx, s.dbtx)
	if err != nil {
		return st, fmt.Errorf("error counting hosts: %w", err)
	}
	for _, r := range rows {
		st.add(r.State, int(r.Hosts), Capacity{CPUCores: r.CpuCores, MemoryBytes: r.MemoryBytes, DiskBytes: r.DiskBytes, NICBps: r.NicBps})
	}
	return st, nil
}
