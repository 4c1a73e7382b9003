package workload_test

import (
	"context"
	"testing"
	"time"

	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/workload"
)

// BenchmarkAnalysis100kRuns is one full pass of the job-analysis job over
// 5,000 jobs × 20 finished runs (100,000 runs), every job changed since the
// last pass: the worst case of an incremental pass (target < 30 s). A fifth
// of the jobs waste memory, a fifth fail often, the rest are healthy.
func BenchmarkAnalysis100kRuns(b *testing.B) {
	pool := dbtest.New(b)
	ctx := context.Background()
	for _, q := range []string{
		`INSERT INTO job (namespace, name) SELECT 'bench', 'job-' || g FROM generate_series(1, 5000) g`,
		`INSERT INTO job_run (job_id, run_uuid, state, started_at, ended_at, attempts,
			requested_core_seconds, used_core_seconds, requested_memory_byte_seconds, peak_memory_bytes,
			queue_wait_seconds, task_count, task_seconds_p50, task_seconds_max)
		SELECT j.id, gen_random_uuid(), CASE WHEN j.id % 5 = 1 AND r % 3 = 0 THEN 'FAILED' ELSE 'COMPLETED' END,
			now() - make_interval(days => r, hours => 1), now() - make_interval(days => r), 1,
			28800, 24000 - (j.id % 7) * 3000, 8.0 * 1073741824 * 3600,
			CASE WHEN j.id % 5 = 0 THEN 1073741824 ELSE 7 * 1073741824::bigint END,
			30 + (j.id % 11) * 300, 100, 60, 90 + (j.id % 13) * 100
		FROM job j CROSS JOIN generate_series(1, 20) r`,
		`ANALYZE job, job_run`,
	} {
		if _, err := pool.Exec(ctx, q); err != nil {
			b.Fatalf("seeding: %v", err)
		}
	}
	cfg := workload.AnalysisConfig{Now: func() time.Time { return time.Now().Add(2 * time.Minute) }}
	for b.Loop() {
		b.StopTimer()
		if _, err := pool.Exec(ctx, `UPDATE job_analysis_state SET done_until = 'epoch', pending_until = NULL, after_job = 0`); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		res, err := workload.RunAnalysis(ctx, pool, cfg)
		if err != nil {
			b.Fatal(err)
		}
		if res.Jobs != 5000 {
			b.Fatalf("analysed %d jobs, want 5000", res.Jobs)
		}
		b.ReportMetric(float64(res.Flagged), "jobs-flagged")
		b.ReportMetric(float64(res.Findings), "findings")
	}
	b.ReportMetric(100000, "runs/pass")
}
