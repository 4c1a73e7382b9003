package aquila_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/teslaops/tesla/internal/aquila"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/db/dbtest"
)

// BenchmarkEngine20kTasks measures the engine's own cost: two engines (two
// replicas, each with its own pool and River client) run a RESTART-shaped
// operation of 20,000 host tasks in ten rolling stages of 2,000 (10% of the
// cluster) through the zero-duration executor. It reports tasks/s from
// submission to SUCCEEDED.
func BenchmarkEngine20kTasks(b *testing.B) {
	const hosts = 20000
	d := dbtest.NewDatabase(b, db.Options{})
	ctx := context.Background()
	var clusterID int64
	if err := d.Pool.QueryRow(ctx, `INSERT INTO cluster (name, region, kind) VALUES ('bench', 'us-west', 'BATCH') RETURNING id`).
		Scan(&clusterID); err != nil {
		b.Fatal(err)
	}
	if _, err := d.Pool.Exec(ctx, `INSERT INTO host (cluster_id, hostname, cpu_cores, memory_bytes, disk_bytes, nic_bps)
		SELECT $1, 'bench-' || lpad(h::text, 6, '0'), 64, 256::bigint << 30, 8e12, 25e9 FROM generate_series(1, $2) h`,
		clusterID, hosts); err != nil {
		b.Fatal(err)
	}
	rows, err := d.Pool.Query(ctx, `SELECT id FROM host WHERE cluster_id = $1 ORDER BY hostname`, clusterID)
	if err != nil {
		b.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		b.Fatal(err)
	}
	plan := aquila.Plan{Kind: aquila.KindRestart, ClusterID: clusterID, RequestedBy: "bench", MaxOutOfServicePct: 10}
	for i := 0; i < len(ids); i += hosts / 10 {
		st := aquila.PlanStage{Name: "batch"}
		for _, h := range ids[i : i+hosts/10] {
			st.Tasks = append(st.Tasks, aquila.PlanTask{HostID: h, Action: aquila.ActionRestart})
		}
		plan.Stages = append(plan.Stages, st)
	}

	var engines []*aquila.Engine
	for _, name := range []string{"replica-a", "replica-b"} {
		pool, err := db.Open(ctx, d.URL, db.Options{MaxConns: 16})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(pool.Close)
		e, err := aquila.NewEngine(pool, aquila.ZeroExecutor{}, quiet, aquila.EngineConfig{ID: name, BatchSize: 500})
		if err != nil {
			b.Fatal(err)
		}
		runCtx, cancel := context.WithCancel(ctx)
		if err := e.Start(runCtx); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() {
			cancel()
			stopCtx, stop := context.WithTimeout(context.Background(), 10*time.Second)
			defer stop()
			_ = e.Stop(stopCtx)
		})
		engines = append(engines, e)
	}

	var total time.Duration
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		id, err := engines[0].Submit(ctx, nil, plan)
		if err != nil {
			b.Fatal(err)
		}
		waitDone(b, d.Pool, id)
		total += time.Since(start)
	}
	b.StopTimer()
	b.ReportMetric(float64(hosts*b.N)/total.Seconds(), "tasks/s")
	// How the stage jobs spread over the replicas.
	rows, err = d.Pool.Query(ctx, `SELECT attempted_by[cardinality(attempted_by)], count(*)::int FROM river_job
		WHERE kind = 'aquila_stage' GROUP BY 1 ORDER BY 1`)
	if err != nil {
		b.Fatal(err)
	}
	for rows.Next() {
		var replica string
		var jobs int
		if err := rows.Scan(&replica, &jobs); err != nil {
			b.Fatal(err)
		}
		b.Logf("%s worked %d stage jobs", replica, jobs)
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
}

func waitDone(b *testing.B, pool *pgxpool.Pool, id int64) {
	b.Helper()
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		var state string
		var done int
		if err := pool.QueryRow(context.Background(), `SELECT state, tasks_succeeded FROM operation WHERE id = $1`, id).Scan(&state, &done); err != nil {
			b.Fatal(err)
		}
		switch state {
		case "SUCCEEDED":
			if done != 20000 {
				b.Fatalf("operation %d succeeded with %d tasks", id, done)
			}
			return
		case "FAILED", "ABORTED", "PAUSED":
			b.Fatalf("operation %d is %s", id, state)
		}
		time.Sleep(10 * time.Millisecond)
	}
	b.Fatalf("operation %d did not finish in 5 minutes", id)
}
