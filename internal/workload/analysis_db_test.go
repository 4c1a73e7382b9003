package workload_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/audit"
	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/fixture"
	"github.com/teslaops/tesla/internal/page"
	"github.com/teslaops/tesla/internal/workload"
)

// seedRuns gives job n daily one-hour runs ending before `before`, healthy
// (as healthyRuns) except that peakGB sets their memory peak.
func seedRuns(t *testing.T, pool *pgxpool.Pool, job int64, n int, before time.Time, peakGB float64) {
	t.Helper()
	_, err := pool.Exec(context.Background(), `INSERT INTO job_run (job_id, run_uuid, state, started_at, ended_at,
			requested_core_seconds, used_core_seconds, requested_memory_byte_seconds, peak_memory_bytes,
			queue_wait_seconds, task_count, task_seconds_p50, task_seconds_max)
		SELECT $1, gen_random_uuid(), 'COMPLETED', $3::timestamptz - make_interval(days => g) - interval '1 hour',
			$3::timestamptz - make_interval(days => g), 28800, 24000, 8.0 * 1073741824 * 3600, ($4::float8 * 1073741824)::bigint,
			30, 100, 60, 90
		FROM generate_series(1, $2) g`, job, n, before, peakGB)
	require.NoError(t, err)
}

func jobIDs(t *testing.T, pool *pgxpool.Pool, names ...string) []int64 {
	t.Helper()
	keys := make([]workload.JobKey, len(names))
	for i, n := range names {
		keys[i] = workload.JobKey{Namespace: "etl", Name: n}
	}
	ids, err := workload.UpsertJobs(context.Background(), pool, keys)
	require.NoError(t, err)
	out := make([]int64, len(names))
	for i, n := range names {
		out[i] = ids[[2]string{"etl", n}]
	}
	return out
}

func as(ctx context.Context, id int64, role auth.Role, subtree ...int64) context.Context {
	return auth.WithPrincipal(ctx, &auth.Principal{PersonID: id, Login: "p", Role: role, BUSubtree: subtree})
}

// TestAnalysisJobIsIncremental: a pass analyses the jobs with runs changed
// since the last one, in committed batches; the next pass only the job that
// got a new run; findings are replaced, not added to.
func TestAnalysisJobIsIncremental(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := context.Background()
	ids := jobIDs(t, pool, "wasteful", "healthy", "other")
	now := time.Now()
	seedRuns(t, pool, ids[0], 20, now, 1) // 1 GB of 8: CRITICAL
	seedRuns(t, pool, ids[1], 20, now, 7)
	seedRuns(t, pool, ids[2], 20, now, 7)
	clock := now.Add(2 * time.Minute) // past the grace
	cfg := workload.AnalysisConfig{BatchJobs: 2, Now: func() time.Time { return clock }}

	res, err := workload.RunAnalysis(ctx, pool, cfg)
	require.NoError(t, err)
	require.Equal(t, 3, res.Jobs)
	require.Equal(t, 2, res.Batches, "two jobs to a batch")
	require.Equal(t, 1, res.Flagged)

	var sev int
	var advice string
	require.NoError(t, pool.QueryRow(ctx, `SELECT severity, advice FROM job_finding WHERE job_id = $1 AND heuristic = 'MEMORY_OVERPROVISIONED'`, ids[0]).Scan(&sev, &advice))
	require.Equal(t, int(workload.SeverityCritical), sev)
	require.Contains(t, advice, "Request 1.5 GB instead of 8.0 GB")
	var waste, score float64
	require.NoError(t, pool.QueryRow(ctx, `SELECT waste, score FROM job_score WHERE job_id = $1`, ids[0]).Scan(&waste, &score))
	require.InDelta(t, 6.5/4, waste, 0.01, "6.5 GB-hours a day at 4 GB a core")
	require.InDelta(t, 400, score, 0.01, "CRITICAL × 100 tasks")

	// Nothing changed: nothing analysed.
	clock = clock.Add(10 * time.Minute)
	res, err = workload.RunAnalysis(ctx, pool, cfg)
	require.NoError(t, err)
	require.Zero(t, res.Jobs)

	// A new run of one job: that job only. Its findings are replaced.
	var before time.Time
	require.NoError(t, pool.QueryRow(ctx, `SELECT analyzed_at FROM job_score WHERE job_id = $1`, ids[2]).Scan(&before))
	seedRuns(t, pool, ids[1], 1, time.Now().Add(24*time.Hour), 7)
	// The test's clock runs ahead of the database's: date the new run after
	// the last pass, as the real clock would.
	_, err = pool.Exec(ctx, `UPDATE job_run SET updated_at = $1 WHERE id = (SELECT max(id) FROM job_run WHERE job_id = $2)`, clock, ids[1])
	require.NoError(t, err)
	clock = clock.Add(2 * time.Minute)
	res, err = workload.RunAnalysis(ctx, pool, cfg)
	require.NoError(t, err)
	require.Equal(t, 1, res.Jobs)
	var after time.Time
	require.NoError(t, pool.QueryRow(ctx, `SELECT analyzed_at FROM job_score WHERE job_id = $1`, ids[2]).Scan(&after))
	require.True(t, before.Equal(after), "an unchanged job is not analysed again")
	var n int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM job_finding WHERE job_id = $1`, ids[1]).Scan(&n))
	require.Equal(t, 6, n, "one finding per heuristic, replaced")
	var runs int
	require.NoError(t, pool.QueryRow(ctx, `SELECT runs_analyzed FROM job_score WHERE job_id = $1`, ids[1]).Scan(&runs))
	require.Equal(t, 20, runs, "the window is the last 20 runs")
}

// TestAnalysisResumesAfterACutShortPass: progress is committed per batch, so
// a pass whose context ends resumes with the next job.
func TestAnalysisResumesAfterACutShortPass(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := context.Background()
	ids := jobIDs(t, pool, "a", "b", "c")
	now := time.Now()
	for _, id := range ids {
		seedRuns(t, pool, id, 5, now, 1)
	}
	cfg := workload.AnalysisConfig{BatchJobs: 1, Now: func() time.Time { return now.Add(2 * time.Minute) }}
	// Pretend a pass stopped after the first job.
	_, err := pool.Exec(ctx, `UPDATE job_analysis_state SET pending_until = $1, after_job = $2`, now.Add(time.Minute), ids[0])
	require.NoError(t, err)
	res, err := workload.RunAnalysis(ctx, pool, cfg)
	require.NoError(t, err)
	require.Equal(t, 2, res.Jobs, "the two jobs left")
	var pending *time.Time
	require.NoError(t, pool.QueryRow(ctx, `SELECT pending_until FROM job_analysis_state`).Scan(&pending))
	require.Nil(t, pending, "the pass is done")
}

// TestStreamingJobsAreAnalysedHourly: a streaming job without runs is
// analysed from its hours once a new complete hour is there.
func TestStreamingJobsAreAnalysedHourly(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := context.Background()
	ids, err := workload.UpsertJobs(ctx, pool, []workload.JobKey{{Namespace: "rt", Name: "clicks", Kind: "STREAMING"}})
	require.NoError(t, err)
	job := ids[[2]string{"rt", "clicks"}]
	now := time.Now().UTC().Truncate(time.Hour).Add(30 * time.Minute)
	var rows []workload.UsageHour
	for h := 2; h <= 10; h++ {
		rows = append(rows, workload.UsageHour{JobID: job, Hour: now.Add(-time.Duration(h) * time.Hour), RequestedCoreSeconds: 16 * 3600,
			UsedCoreSeconds: 2 * 3600, RequestedMemoryByteSeconds: 32.0 * gib * 3600, PeakMemoryBytes: 30 * gib})
	}
	require.NoError(t, workload.UpsertJobUsage(ctx, pool, rows))
	cfg := workload.AnalysisConfig{Now: func() time.Time { return now }}
	res, err := workload.RunAnalysis(ctx, pool, cfg)
	require.NoError(t, err)
	require.Equal(t, 1, res.Jobs)
	var sev int
	require.NoError(t, pool.QueryRow(ctx, `SELECT severity FROM job_finding WHERE job_id = $1 AND heuristic = 'CPU_WASTE'`, job).Scan(&sev))
	require.Equal(t, int(workload.SeverityCritical), sev)
	// Within the same hour: not again.
	cfg.Now = func() time.Time { return now.Add(10 * time.Minute) }
	res, err = workload.RunAnalysis(ctx, pool, cfg)
	require.NoError(t, err)
	require.Zero(t, res.Jobs)
	// The next hour is complete: again.
	require.NoError(t, workload.UpsertJobUsage(ctx, pool, []workload.UsageHour{{JobID: job, Hour: now.Add(-time.Hour), RequestedCoreSeconds: 16 * 3600, UsedCoreSeconds: 2 * 3600}}))
	cfg.Now = func() time.Time { return now.Add(time.Hour) }
	res, err = workload.RunAnalysis(ctx, pool, cfg)
	require.NoError(t, err)
	require.Equal(t, 1, res.Jobs)
}

// TestAnalyzeJobOnDemandChecksTheCallerAndIsAudited, and the stored findings
// and scores follow the rule of runs.
func TestAnalyzeJobOnDemandChecksTheCallerAndIsAudited(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	fleet := fixture.New(t, pool)
	ctx := context.Background()
	ids := jobIDs(t, pool, "mine", "orphan")
	_, err := pool.Exec(ctx, `UPDATE job SET owner_id = $1 WHERE id = $2`, fleet.People[fixture.Viewer], ids[0])
	require.NoError(t, err)
	seedRuns(t, pool, ids[0], 20, time.Now(), 1)
	svc := workload.NewService(pool, audit.New(pool, slog.New(slog.DiscardHandler)), workload.Config{})
	log := audit.New(pool, slog.New(slog.DiscardHandler))

	viewer := as(ctx, fleet.People[fixture.Viewer], auth.Viewer)
	outsider := as(ctx, fleet.People[fixture.Outsider], auth.Viewer)
	lead := as(ctx, fleet.People[fixture.BULead], auth.BUAdmin, fleet.BUs["ADS"], fleet.BUs["ADS-SEARCH"])
	ops := as(ctx, fleet.People[fixture.Operator], auth.Operator)

	_, _, err = svc.AnalyzeJob(outsider, log, ids[0])
	require.True(t, fault.Is(err, fault.Forbidden), "%v", err)
	_, _, err = svc.AnalyzeJob(lead, log, ids[1])
	require.True(t, fault.Is(err, fault.Forbidden), "an ownerless job is the operators': %v", err)
	_, _, err = svc.AnalyzeJob(ops, log, 999999)
	require.True(t, fault.Is(err, fault.NotFound), "%v", err)

	fs, score, err := svc.AnalyzeJob(viewer, log, ids[0])
	require.NoError(t, err)
	require.Equal(t, workload.HeuristicMemory, fs[0].Heuristic)
	require.Equal(t, workload.SeverityCritical, fs[0].Severity)
	require.NotNil(t, score)
	_, _, err = svc.AnalyzeJob(lead, log, ids[0])
	require.NoError(t, err, "a BU admin of the owner's BU")
	fs, score, err = svc.AnalyzeJob(ops, log, ids[1])
	require.NoError(t, err)
	require.Empty(t, fs, "no runs, nothing to say")
	require.Nil(t, score)

	var done, refused int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE error = ''), count(*) FILTER (WHERE error <> '')
		FROM audit_log WHERE action = 'analyzeJob'`).Scan(&done, &refused))
	require.Equal(t, 3, done)
	require.Equal(t, 3, refused)

	got, err := svc.FindingsOfJobs(outsider, []int64{ids[0]})
	require.NoError(t, err)
	require.Empty(t, got, "another viewer's job")
	got, err = svc.FindingsOfJobs(viewer, []int64{ids[0]})
	require.NoError(t, err)
	require.Len(t, got[ids[0]], 6)
}

// TestWorstJobsRanksInTheCallersScope: by score and by waste, keyset paged,
// operators see all, viewers their own.
func TestWorstJobsRanksInTheCallersScope(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	fleet := fixture.New(t, pool)
	ctx := context.Background()
	ids := jobIDs(t, pool, "j1", "j2", "j3", "j4")
	now := time.Now()
	for i, id := range ids {
		seedRuns(t, pool, id, 10, now, 1+float64(i)) // j1 wastes most
	}
	_, err := pool.Exec(ctx, `UPDATE job SET owner_id = $1 WHERE id = ANY($2)`, fleet.People[fixture.Viewer], ids[2:])
	require.NoError(t, err)
	_, err = workload.RunAnalysis(ctx, pool, workload.AnalysisConfig{Now: func() time.Time { return now.Add(2 * time.Minute) }})
	require.NoError(t, err)
	svc := workload.NewService(pool, audit.New(pool, slog.New(slog.DiscardHandler)), workload.Config{})
	ops := as(ctx, fleet.People[fixture.Operator], auth.Operator)

	var seen []int64
	var after *string
	for range 3 {
		p, err := svc.WorstJobs(ops, workload.WorstByWaste, workload.WorstFilter{}, page.Args{First: ptr(2), After: after})
		require.NoError(t, err)
		for _, s := range p.Items {
			seen = append(seen, s.JobID)
		}
		if !p.Info.HasNextPage {
			break
		}
		after = p.Info.EndCursor()
	}
	require.Equal(t, ids, seen, "1, 2, 3 and 4 GB peaks of 8 GB: the first wastes most")

	viewer := as(ctx, fleet.People[fixture.Viewer], auth.Viewer)
	p, err := svc.WorstJobs(viewer, workload.WorstByScore, workload.WorstFilter{}, page.Args{})
	require.NoError(t, err)
	require.Len(t, p.Items, 2, "a viewer ranks their own jobs")
	require.Equal(t, ids[2], p.Items[0].JobID)
	require.Equal(t, 200.0, p.Items[0].Score, "MODERATE × 100 tasks")
	require.Equal(t, ids[3], p.Items[1].JobID)

	cluster := fleet.Clusters["batch-wh-1"]
	_, err = pool.Exec(ctx, `UPDATE job SET cluster_id = $1 WHERE id = $2`, cluster, ids[1])
	require.NoError(t, err)
	p, err = svc.WorstJobs(ops, workload.WorstByScore, workload.WorstFilter{Cluster: &cluster}, page.Args{})
	require.NoError(t, err)
	require.Len(t, p.Items, 1)
	require.Equal(t, ids[1], p.Items[0].JobID)

	_, err = svc.WorstJobs(ops, workload.WorstByScore, workload.WorstFilter{}, page.Args{Last: ptr(2)})
	require.True(t, fault.Is(err, fault.Invalid), "%v", err)
}
