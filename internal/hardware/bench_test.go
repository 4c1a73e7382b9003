package hardware

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/audit"
	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db/dbtest"
)

// BenchmarkReliabilityFleet computes the failure rates and the replacement
// ranking of a fleet the size Tesla is built for: 250,000 hosts in 50
// clusters, 6 models, a lifecycle for each, and 50,000 faults over three
// years. ondemand/* compute afresh (no stored figures, the cache cleared), as
// a window or a minimum severity still does; job is one run of the
// hardware-reliability job (Refresh, forced); stored/* are the GraphQL reads
// once the job has run. docs/benchmarks.md records the numbers.
//
//	go test ./internal/hardware/ -run '^$' -bench BenchmarkReliabilityFleet -benchtime 5x
//	go test ./internal/hardware/ -run '^$' -bench 'BenchmarkReliabilityFleet/(job|stored)' -benchtime 5x
func BenchmarkReliabilityFleet(b *testing.B) {
	pool := dbtest.New(b)
	ctx := context.Background()
	for _, sql := range []string{
		`INSERT INTO cluster (name, region, kind) SELECT 'bench-' || c, 'cn-east', 'BATCH' FROM generate_series(1, 50) c`,
		`INSERT INTO host (cluster_id, hostname, cpu_cores, memory_bytes, disk_bytes, nic_bps, model)
		 SELECT c.id, c.name || '-n' || h, 64, 256::bigint << 30, 8e12, 25e9, 'model-' || ((c.id + h) % 6)
		 FROM cluster c CROSS JOIN generate_series(1, 5000) h`,
		`INSERT INTO host_lifecycle (host_id, in_service_at, tracked_since, warranty_end, generation, source)
		 SELECT id, now() - make_interval(days => (id % 3000)::int), now() - interval '3 years',
		        (now() - make_interval(days => (id % 3000)::int) + interval '3 years')::date, 'g' || (id % 6), 'sim'
		 FROM host`,
		`INSERT INTO hardware_fault (host_id, component, kind, severity, detected_at, source, source_ref)
		 SELECT (SELECT min(id) FROM host) + (i * 7919) % 250000, 'DISK', 'SMART_REALLOCATED', 'HIGH',
		        now() - make_interval(days => (i % 1095)::int), 'sim', 'bench:' || i
		 FROM generate_series(1, 50000) i`,
		`ANALYZE host`, `ANALYZE host_lifecycle`, `ANALYZE hardware_fault`,
	} {
		_, err := pool.Exec(ctx, sql)
		require.NoError(b, err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	s := NewService(pool, audit.New(pool, logger), logger)
	viewer := auth.WithPrincipal(ctx, &auth.Principal{PersonID: 1, Role: auth.Viewer})
	// On demand first: once the job has stored figures, the reads serve them.
	for _, by := range []string{ByModel, ByAge, ByCluster} {
		b.Run("ondemand/"+by, func(b *testing.B) {
			for b.Loop() {
				s.cache.clear()
				rs, err := s.Reliability(viewer, ReliabilityQuery{GroupBy: by})
				require.NoError(b, err)
				require.NotEmpty(b, rs)
			}
		})
	}
	b.Run("ondemand/hostsToReplace", func(b *testing.B) {
		for b.Loop() {
			s.cache.clear()
			cs, err := s.HostsToReplace(viewer, 10)
			require.NoError(b, err)
			require.Len(b, cs, 10)
		}
	})
	b.Run("ondemand/cached", func(b *testing.B) {
		for b.Loop() {
			_, err := s.Reliability(viewer, ReliabilityQuery{GroupBy: ByModel})
			require.NoError(b, err)
		}
	})
	b.Run("job", func(b *testing.B) {
		for b.Loop() {
			res, err := Refresh(ctx, pool, time.Now(), true)
			require.NoError(b, err)
			require.Equal(b, MaxCandidates, res.Candidates)
		}
	})
	_, err := Refresh(ctx, pool, time.Now(), true)
	require.NoError(b, err)
	for _, by := range []string{ByModel, ByAge, ByCluster} {
		b.Run("stored/"+by, func(b *testing.B) {
			for b.Loop() {
				rs, err := s.Reliability(viewer, ReliabilityQuery{GroupBy: by})
				require.NoError(b, err)
				require.NotEmpty(b, rs)
			}
		})
	}
	b.Run("stored/hostsToReplace", func(b *testing.B) {
		for b.Loop() {
			cs, err := s.HostsToReplace(viewer, 10)
			require.NoError(b, err)
			require.Len(b, cs, 10)
		}
	})
}
