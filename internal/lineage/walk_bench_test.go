package lineage_test

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/lineage"
)

// BenchmarkLineageWalk walks a lineage graph of 1,000,000 edges between
// 100,000 jobs and 100,000 datasets (each job reads 5 and writes 5 datasets,
// spread pseudo-randomly, so the graph is full of cycles), seeded with
// generate_series: a one-hop query and a depth-10 walk with the default node
// limit (500), from the same start nodes, in the same run. It reports the
// median latency of each as median-ms.
func BenchmarkLineageWalk(b *testing.B) {
	pool := dbtest.New(b)
	ctx := context.Background()
	for _, sql := range []string{
		`INSERT INTO job (namespace, name) SELECT 'bench', 'job' || g FROM generate_series(1, 100000) g`,
		`INSERT INTO dataset (namespace, name) SELECT 'bench', 'ds' || g FROM generate_series(1, 100000) g`,
		`INSERT INTO lineage_edge (job_id, dataset_id, direction)
		 SELECT j, ((j * 37 + k * 20011) % 100000) + 1, 'READ' FROM generate_series(1, 100000) j, generate_series(0, 4) k`,
		`INSERT INTO lineage_edge (job_id, dataset_id, direction)
		 SELECT j, ((j * 53 + k * 20011 + 7) % 100000) + 1, 'WRITE' FROM generate_series(1, 100000) j, generate_series(0, 4) k`,
		`ANALYZE job; ANALYZE dataset; ANALYZE lineage_edge`,
	} {
		_, err := pool.Exec(ctx, sql)
		require.NoError(b, err)
	}
	var edges int
	require.NoError(b, pool.QueryRow(ctx, `SELECT count(*) FROM lineage_edge`).Scan(&edges))
	require.Equal(b, 1_000_000, edges)
	svc := lineage.NewService(pool)
	ctx = auth.WithPrincipal(ctx, &auth.Principal{Login: "bench", Role: auth.Viewer})

	for _, c := range []struct {
		name  string
		depth int
	}{{"one-hop", 1}, {"depth-10", 10}} {
		b.Run(c.name, func(b *testing.B) {
			var times []time.Duration
			nodes := 0
			for i := 0; b.Loop(); i++ {
				start := lineage.Node{Kind: lineage.JobNode, ID: int64(i*7919%100000) + 1}
				t0 := time.Now()
				g, err := svc.Walk(ctx, start, lineage.Both, c.depth, lineage.DefaultMaxNodes)
				times = append(times, time.Since(t0))
				require.NoError(b, err)
				nodes += len(g.Nodes)
			}
			sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
			b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "median-ms")
			b.ReportMetric(float64(nodes)/float64(len(times)), "nodes/walk")
		})
	}
}
