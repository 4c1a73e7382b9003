package sim_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/sim"
	"github.com/teslaops/tesla/internal/workload"
)

// TestJobAnalysisFindsThePathologicalJobs seeds a small demo fleet and runs the
// job analysis over it: each of the five jobs seeded with a known problem must
// get the finding that names it, graded MODERATE or worse. (Where they rank by
// score is logged, not asserted: the score weights severity by task count, so
// a healthy job of many tasks with one LOW finding may outrank them.)
func TestJobAnalysisFindsThePathologicalJobs(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(5 * time.Minute)
	_, err := sim.Seed(ctx, pool, sim.Config{Clusters: 3, Hosts: 120, People: 12, Days: 2, Step: 10 * time.Minute, Now: now},
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	_, err = workload.RunAnalysis(ctx, pool, workload.AnalysisConfig{Now: func() time.Time { return now.Add(time.Hour) }})
	require.NoError(t, err)

	heuristic := map[string]string{
		sim.PathologyMemoryOverprovisioned: workload.HeuristicMemory,
		sim.PathologyTaskSkew:              workload.HeuristicSkew,
		sim.PathologyChronicRetries:        workload.HeuristicFailures,
		sim.PathologyLongQueueWait:         workload.HeuristicQueueWait,
		sim.PathologyRuntimeRegression:     workload.HeuristicRegression,
	}
	for _, p := range sim.PathologicalJobs() {
		var severity int
		err := pool.QueryRow(ctx, `SELECT coalesce(max(f.severity), -1) FROM job_finding f JOIN job j ON j.id = f.job_id
			WHERE j.namespace = $1 AND j.name = $2 AND f.heuristic = $3`, p.Namespace, p.Name, heuristic[p.Pathology]).Scan(&severity)
		require.NoError(t, err)
		require.GreaterOrEqual(t, severity, int(workload.SeverityModerate), "%s (%s): %s graded %d", p.Name, p.Pathology, heuristic[p.Pathology], severity)
	}
	var jobs, rankedWorse int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM job_score`).Scan(&jobs))
	for _, p := range sim.PathologicalJobs() {
		var n int
		require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM job_score s WHERE s.score > (
			SELECT s2.score FROM job_score s2 JOIN job j ON j.id = s2.job_id WHERE j.namespace = $1 AND j.name = $2)`,
			p.Namespace, p.Name).Scan(&n))
		rankedWorse = max(rankedWorse, n)
	}
	t.Logf("%d jobs scored; the pathological jobs rank within the worst %d", jobs, rankedWorse+1)
}
