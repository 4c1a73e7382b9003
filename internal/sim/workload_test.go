package sim

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/lineage"
)

// workloadConfig staffs every BU (40 people) and keeps two days of history, so
// the daily jobs have runs to compare.
var workloadConfig = Config{Clusters: 3, Hosts: 60, People: 40, Days: 2, Now: testNow}

// topBUSQL is the top-level BU (under the company root) of a person's BU.
const topBUSQL = `(SELECT CASE WHEN pb.code = 'CO' THEN b.code ELSE pb.code END
	FROM bu b JOIN bu pb ON pb.id = b.parent_id WHERE b.id = p.bu_id)`

func TestSeedWorkloadShape(t *testing.T) {
	t.Parallel()
	pool, st := seed(t, workloadConfig)
	ctx := context.Background()

	require.Positive(t, st.Jobs)
	require.Equal(t, st.Jobs, count(t, pool, `SELECT count(*) FROM job`))
	require.Equal(t, st.Runs, count(t, pool, `SELECT count(*) FROM job_run`))
	require.Equal(t, st.Queues, count(t, pool, `SELECT count(*) FROM queue`))
	require.Equal(t, st.QueueSamples, count(t, pool, `SELECT count(*) FROM queue_usage`))
	require.Equal(t, st.UsageHours, count(t, pool, `SELECT count(*) FROM job_usage_1h`))

	// Queues and jobs live on batch clusters only; each batch cluster has the
	// whole tree: root, five BUs, three leaves each.
	require.Zero(t, count(t, pool, `SELECT count(*) FROM queue q JOIN cluster c ON c.id = q.cluster_id WHERE c.kind <> 'BATCH'`))
	require.Zero(t, count(t, pool, `SELECT count(*) FROM job j JOIN cluster c ON c.id = j.cluster_id WHERE c.kind <> 'BATCH'`))
	batch := count(t, pool, `SELECT count(*) FROM cluster WHERE kind = 'BATCH'`)
	require.Equal(t, 21*batch, st.Queues)
	require.Equal(t, batch, count(t, pool, `SELECT count(*) FROM queue WHERE parent_id IS NULL AND path = 'root'`))
	require.Zero(t, count(t, pool, `SELECT count(*) FROM queue WHERE parent_id IS NULL AND path <> 'root'`))
	require.Zero(t, count(t, pool, `
		SELECT count(*) FROM queue p WHERE p.guaranteed_vcores + 1e-9 <
			(SELECT coalesce(sum(c.guaranteed_vcores), 0) FROM queue c WHERE c.parent_id = p.id)`),
		"children's guarantees fit in their parent's")

	// Every job: an owner, a queue of the owner's BU on its own cluster.
	require.Zero(t, count(t, pool, `SELECT count(*) FROM job WHERE owner_id IS NULL OR queue_id IS NULL OR cluster_id IS NULL`))
	require.Zero(t, count(t, pool, `
		SELECT count(*) FROM job j JOIN person p ON p.id = j.owner_id JOIN queue q ON q.id = j.queue_id
		WHERE q.cluster_id <> j.cluster_id OR split_part(q.path, '.', 2) <> lower(`+topBUSQL+`)`))
	perBU := map[string]int64{}
	rows, err := pool.Query(ctx, `SELECT `+topBUSQL+`, count(*) FROM job j JOIN person p ON p.id = j.owner_id GROUP BY 1`)
	require.NoError(t, err)
	var bu string
	var n int64
	_, err = pgx.ForEachRow(rows, []any{&bu, &n}, func() error { perBU[bu] = n; return nil })
	require.NoError(t, err)
	require.Len(t, perBU, 5, "jobs in every BU: %v", perBU)
	for bu, n := range perBU {
		require.GreaterOrEqual(t, n, int64(4), "jobs of %s", bu)
	}

	// Kinds, priorities (P0 rare), schedules.
	require.Equal(t, int64(2), count(t, pool, `SELECT count(DISTINCT kind) FROM job`))
	p0 := count(t, pool, `SELECT count(*) FROM job WHERE priority = 'P0'`)
	require.Positive(t, p0)
	require.Less(t, p0*10, st.Jobs, "few P0 jobs")
	require.GreaterOrEqual(t, count(t, pool, `SELECT count(DISTINCT priority) FROM job`), int64(4))
	require.Zero(t, count(t, pool, `SELECT count(*) FROM job WHERE kind = 'BATCH' AND schedule !~ '^[0-9]+ ([0-9]+|\*) \* \* \*$'`))
	require.Zero(t, count(t, pool, `SELECT count(*) FROM job WHERE kind = 'STREAMING' AND schedule <> ''`))

	// Runs: every state, consistent numbers.
	for _, state := range []string{"COMPLETED", "FAILED", "RUNNING"} {
		require.Positive(t, count(t, pool, `SELECT count(*) FROM job_run WHERE state = $1`, state), state)
	}
	require.Zero(t, count(t, pool, `
		SELECT count(*) FROM job_run WHERE state <> 'RUNNING' AND NOT (
			used_core_seconds <= requested_core_seconds AND used_memory_byte_seconds <= requested_memory_byte_seconds
			AND task_seconds_min <= task_seconds_p50 AND task_seconds_p50 <= task_seconds_max
			AND peak_memory_bytes > 0 AND task_count > 0 AND ended_at > started_at AND started_at >= queued_at
			AND queue_wait_seconds >= 0)`))
	require.Zero(t, count(t, pool, `SELECT count(*) FROM job_run WHERE state = 'RUNNING' AND (ended_at IS NOT NULL OR used_core_seconds IS NOT NULL)`))
	require.Zero(t, count(t, pool, `SELECT count(*) FROM job_run WHERE started_at > $1`, testNow))
	require.Positive(t, count(t, pool, `SELECT count(*) FROM job_run WHERE attempts > 1`))
	require.Greater(t, count(t, pool, `SELECT count(DISTINCT round((used_core_seconds / requested_core_seconds)::numeric, 2)) FROM job_run WHERE state = 'COMPLETED'`),
		int64(20), "efficiency varies")

	// Hourly usage: every streaming job has every hour of the history, and
	// every batch run is counted once.
	hours := int64(workloadConfig.Days * 24)
	streaming := count(t, pool, `SELECT count(*) FROM job WHERE kind = 'STREAMING'`)
	require.Positive(t, streaming)
	require.Equal(t, streaming*hours, count(t, pool, `SELECT count(*) FROM job_usage_1h u JOIN job j ON j.id = u.job_id WHERE j.kind = 'STREAMING'`))
	require.Zero(t, count(t, pool, `SELECT count(*) FROM job_usage_1h WHERE used_core_seconds > requested_core_seconds OR requested_core_seconds <= 0`))
	require.Equal(t, count(t, pool, `SELECT count(*) FROM job_run r JOIN job j ON j.id = r.job_id WHERE j.kind = 'BATCH'`),
		count(t, pool, `SELECT sum(runs) FROM job_usage_1h u JOIN job j ON j.id = u.job_id WHERE j.kind = 'BATCH'`))
	// A completed run's used core-seconds are all in the hours it ran.
	var runUsed, hourUsed float64
	require.NoError(t, pool.QueryRow(ctx, `
		WITH j AS (SELECT id FROM job WHERE kind = 'BATCH' ORDER BY id LIMIT 1)
		SELECT (SELECT sum(used_core_seconds) FROM job_run WHERE job_id = (SELECT id FROM j)),
		       (SELECT sum(used_core_seconds) FROM job_usage_1h WHERE job_id = (SELECT id FROM j))`).Scan(&runUsed, &hourUsed))
	require.Greater(t, hourUsed, runUsed*0.9)

	// Queue snapshots: each queue at each time; a parent holds its children's.
	require.Zero(t, count(t, pool, `
		SELECT count(*) FROM queue_usage pu JOIN queue p ON p.id = pu.queue_id
		WHERE EXISTS (SELECT 1 FROM queue c WHERE c.parent_id = p.id)
		  AND abs(pu.used_vcores - (SELECT sum(cu.used_vcores) FROM queue_usage cu JOIN queue c ON c.id = cu.queue_id
		                            WHERE c.parent_id = p.id AND cu.ts = pu.ts)) > 1e-6`))
	require.Positive(t, count(t, pool, `SELECT count(*) FROM queue_usage u JOIN queue q ON q.id = u.queue_id WHERE q.path = 'root' AND running_apps > 0 AND used_vcores > 0`))
	require.Positive(t, count(t, pool, `SELECT count(*) FROM queue_usage WHERE pending_apps > 0`))
	require.Equal(t, count(t, pool, `SELECT count(*) FROM queue`)*count(t, pool, `SELECT count(DISTINCT ts) FROM queue_usage`), st.QueueSamples)
}

func TestSeedWorkloadLineage(t *testing.T) {
	t.Parallel()
	pool, _ := seed(t, workloadConfig)
	ctx := context.Background()

	// Chains cross BUs: a job reads what a job of another BU wrote.
	require.Positive(t, count(t, pool, `
		SELECT count(*) FROM lineage_edge w JOIN lineage_edge r ON r.dataset_id = w.dataset_id AND r.direction = 'READ'
		JOIN job jw ON jw.id = w.job_id JOIN person p ON p.id = jw.owner_id
		JOIN job jr ON jr.id = r.job_id JOIN person pr ON pr.id = jr.owner_id
		WHERE w.direction = 'WRITE' AND `+topBUSQL+` <> (SELECT CASE WHEN pb.code = 'CO' THEN b.code ELSE pb.code END
			FROM bu b JOIN bu pb ON pb.id = b.parent_id WHERE b.id = pr.bu_id)`))
	// Chains are long: raw → clean → aggregate → report → another BU's mart.
	require.Positive(t, count(t, pool, `
		WITH RECURSIVE down(dataset_id, depth) AS (
			SELECT e.dataset_id, 1 FROM lineage_edge e JOIN job j ON j.id = e.job_id
			WHERE j.kind = 'STREAMING' AND e.direction = 'WRITE'
			UNION
			SELECT w.dataset_id, d.depth + 1 FROM down d
			JOIN lineage_edge r ON r.dataset_id = d.dataset_id AND r.direction = 'READ'
			JOIN lineage_edge w ON w.job_id = r.job_id AND w.direction = 'WRITE'
			WHERE d.depth < 6)
		SELECT count(*) FROM down WHERE depth >= 5`))
	// A cycle: job A writes what B reads, and B writes what A reads.
	require.Positive(t, count(t, pool, `
		SELECT count(*) FROM lineage_edge aw
		JOIN lineage_edge br ON br.dataset_id = aw.dataset_id AND br.direction = 'READ'
		JOIN lineage_edge bw ON bw.job_id = br.job_id AND bw.direction = 'WRITE'
		JOIN lineage_edge ar ON ar.job_id = aw.job_id AND ar.dataset_id = bw.dataset_id AND ar.direction = 'READ'
		WHERE aw.direction = 'WRITE' AND aw.job_id <> br.job_id`))
	// Streaming jobs read topics and feed tables.
	require.Zero(t, count(t, pool, `
		SELECT count(*) FROM job j WHERE j.kind = 'STREAMING' AND NOT EXISTS (
			SELECT 1 FROM lineage_edge e JOIN dataset d ON d.id = e.dataset_id
			WHERE e.job_id = j.id AND e.direction = 'WRITE' AND d.namespace LIKE 'hive://%')`))
	// Failed runs wrote nothing; completed ones wrote a versioned output.
	require.Zero(t, count(t, pool, `SELECT count(*) FROM run_io io JOIN job_run r ON r.id = io.run_id AND r.job_id = io.job_id
		WHERE r.state = 'FAILED' AND io.direction = 'WRITE'`))
	require.Zero(t, count(t, pool, `SELECT count(*) FROM job_run r JOIN job j ON j.id = r.job_id
		WHERE j.kind = 'BATCH' AND r.state = 'COMPLETED' AND NOT EXISTS (
			SELECT 1 FROM run_io io WHERE io.job_id = r.job_id AND io.run_id = r.id AND io.direction = 'WRITE' AND io.version <> '')`))

	// dataset.producer(version) finds the run that wrote a day's aggregate.
	var dsID, runID int64
	var version string
	require.NoError(t, pool.QueryRow(ctx, `
		SELECT io.dataset_id, io.version, io.run_id FROM run_io io JOIN job j ON j.id = io.job_id
		WHERE io.direction = 'WRITE' AND j.name LIKE '%.agg_%' ORDER BY io.at LIMIT 1`).Scan(&dsID, &version, &runID))
	admin := auth.WithPrincipal(ctx, &auth.Principal{Login: "admin", Role: auth.Admin})
	run, err := lineage.NewService(pool).ProducerRun(admin, dsID, version)
	require.NoError(t, err)
	require.NotNil(t, run)
	require.Equal(t, runID, run.ID)
	require.Regexp(t, `^\d{4}-\d{2}-\d{2}$`, version)
}

// jobRuns reads the finished runs of one job: duration, wait, attempts, state,
// memory and task figures, nominal start.
type jobRunRow struct {
	nominal               time.Time
	state                 string
	attempts              int
	seconds, wait         float64
	reqMemPerSecond, peak float64
	taskP50, taskMax      float64
}

func finishedRuns(t *testing.T, pool *pgxpool.Pool, where string, args ...any) []jobRunRow {
	t.Helper()
	rows, err := pool.Query(context.Background(), `
		SELECT r.nominal_start, r.state, r.attempts, extract(epoch FROM r.ended_at - r.started_at)::float8,
		       r.queue_wait_seconds, r.requested_memory_byte_seconds / extract(epoch FROM r.ended_at - r.started_at)::float8,
		       r.peak_memory_bytes::float8, r.task_seconds_p50, r.task_seconds_max
		FROM job_run r JOIN job j ON j.id = r.job_id
		WHERE r.state <> 'RUNNING' AND `+where+` ORDER BY r.nominal_start`, args...)
	require.NoError(t, err)
	var out []jobRunRow
	var r jobRunRow
	_, err = pgx.ForEachRow(rows, []any{&r.nominal, &r.state, &r.attempts, &r.seconds, &r.wait, &r.reqMemPerSecond, &r.peak, &r.taskP50, &r.taskMax},
		func() error { out = append(out, r); return nil })
	require.NoError(t, err)
	return out
}

func TestPathologicalJobsShowInTheNumbers(t *testing.T) {
	t.Parallel()
	pool, _ := seed(t, workloadConfig)
	jobs := PathologicalJobs()
	require.Len(t, jobs, 5)
	const healthy = `j.kind = 'BATCH' AND j.namespace = $1 AND j.name <> ALL($2)`
	var names []string
	for _, p := range jobs {
		names = append(names, p.Name)
	}
	others := finishedRuns(t, pool, healthy, pathologyNamespace, names)
	require.Greater(t, len(others), 100)

	for _, p := range jobs {
		runs := finishedRuns(t, pool, `j.namespace = $1 AND j.name = $2`, p.Namespace, p.Name)
		require.GreaterOrEqual(t, len(runs), 30, "%s has runs", p.Name)
		switch p.Pathology {
		case PathologyMemoryOverprovisioned:
			for _, r := range runs {
				require.InDelta(t, 8, r.reqMemPerSecond/r.peak, 0.05, "requested memory is 8× the peak")
			}
			for _, r := range others {
				require.Less(t, r.reqMemPerSecond/r.peak, 3.0)
			}
		case PathologyTaskSkew:
			for _, r := range runs {
				require.GreaterOrEqual(t, r.taskMax/r.taskP50, 20.0)
			}
			for _, r := range others {
				require.Less(t, r.taskMax/r.taskP50, 4.0)
			}
		case PathologyChronicRetries:
			failed := 0
			for _, r := range runs {
				require.GreaterOrEqual(t, r.attempts, 2)
				if r.state == "FAILED" {
					failed++
				}
			}
			require.Greater(t, failed*5, len(runs), "more than a fifth fail")
			var retried int
			for _, r := range others {
				if r.attempts > 1 {
					retried++
				}
			}
			require.Less(t, retried*10, len(others), "others rarely retry")
		case PathologyLongQueueWait:
			for _, r := range runs {
				require.GreaterOrEqual(t, r.wait, 2400.0)
			}
			for _, r := range others {
				require.Less(t, r.wait, 600.0)
			}
		case PathologyRuntimeRegression:
			from := RegressionStart(testNow.Add(-time.Duration(workloadConfig.Days)*24*time.Hour), testNow)
			var before, after []float64
			for _, r := range runs {
				if r.nominal.Before(from) {
					before = append(before, r.seconds)
				} else {
					after = append(after, r.seconds)
				}
			}
			require.GreaterOrEqual(t, len(after), 6)
			require.Greater(t, median(after), 2*median(before), "recent runs are 2–3× slower")
			require.Less(t, median(after), 3.6*median(before))
		default:
			t.Fatalf("unknown pathology %s", p.Pathology)
		}
	}
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s[len(s)/2]
}

// runsFingerprint hashes the runs as the model computes them (not the
// bookkeeping times), so the seed's runs and the ticker's can be compared.
func runsFingerprint(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	var h string
	require.NoError(t, pool.QueryRow(context.Background(), `
		SELECT md5(string_agg(concat_ws(',', job_id, run_uuid, state, state_at, queued_at, started_at, ended_at,
			nominal_start, attempts, requested_core_seconds, used_core_seconds, requested_memory_byte_seconds,
			used_memory_byte_seconds, peak_memory_bytes, queue_wait_seconds, task_count, task_seconds_min,
			task_seconds_p50, task_seconds_max), '|' ORDER BY job_id, run_uuid)) FROM job_run`).Scan(&h))
	return h
}

func TestTickAdvancesTheWorkload(t *testing.T) {
	t.Parallel()
	pool, st := seed(t, workloadConfig)
	ctx := context.Background()
	tk := quietTicker(t, pool)

	// At the end of the history the ticker computes exactly the seeded runs.
	before := runsFingerprint(t, pool)
	ts, err := tk.Tick(ctx, testNow)
	require.NoError(t, err)
	require.Positive(t, ts.Runs, "the last hour's runs are rewritten")
	require.Equal(t, before, runsFingerprint(t, pool), "the ticker continues the seeded runs without a seam")
	require.Equal(t, st.Runs, count(t, pool, `SELECT count(*) FROM job_run`))

	running := count(t, pool, `SELECT count(*) FROM job_run r JOIN job j ON j.id = r.job_id WHERE r.state = 'RUNNING' AND j.kind = 'BATCH'`)
	require.Positive(t, running)

	// Ninety minutes on, in steps: new runs started, the old running ones
	// ended, the new hour has usage and every queue a snapshot per step.
	for m := 1; m <= 90; m += 15 {
		_, err := tk.Tick(ctx, testNow.Add(time.Duration(m)*time.Minute))
		require.NoError(t, err)
	}
	last := testNow.Add(76 * time.Minute)
	require.Positive(t, count(t, pool, `SELECT count(*) FROM job_run WHERE started_at > $1`, testNow))
	require.Positive(t, count(t, pool, `SELECT count(*) FROM job_run WHERE ended_at > $1 AND state IN ('COMPLETED', 'FAILED')`, testNow))
	require.Zero(t, count(t, pool, `SELECT count(*) FROM job_run WHERE state = 'RUNNING' AND started_at < $1 AND job_id IN (
		SELECT id FROM job WHERE kind = 'BATCH') AND nominal_start < $2`, testNow, testNow.Add(-6*time.Hour)), "long-running runs ended")
	require.Zero(t, count(t, pool, `SELECT count(*) FROM job_run WHERE started_at > $1`, last), "no run from the future")
	require.Zero(t, count(t, pool, `
		SELECT count(*) FROM job_run r JOIN job j ON j.id = r.job_id
		WHERE j.kind = 'BATCH' AND r.started_at > $1 AND r.state <> 'RUNNING' AND NOT EXISTS (
			SELECT 1 FROM run_io io WHERE io.job_id = r.job_id AND io.run_id = r.id AND io.direction = 'READ')`, testNow),
		"live runs have their lineage")
	streaming := count(t, pool, `SELECT count(*) FROM job WHERE kind = 'STREAMING'`)
	require.Equal(t, streaming, count(t, pool, `SELECT count(*) FROM job_usage_1h u JOIN job j ON j.id = u.job_id
		WHERE j.kind = 'STREAMING' AND u.hour = $1`, testNow.Add(time.Hour)))
	queues := count(t, pool, `SELECT count(*) FROM queue`)
	require.Equal(t, queues, count(t, pool, `SELECT count(*) FROM queue_usage WHERE ts = $1`, last.Truncate(time.Minute)))

	// A second tick within the minute does not move the workload again.
	ts, err = tk.Tick(ctx, last.Add(10*time.Second))
	require.NoError(t, err)
	require.Zero(t, ts.WorkloadTime)
}

// TestSeedWorkloadFailureLeavesNothing fails the workload's run COPY (a
// trigger refuses runs): the fleet written before it is rolled back too.
func TestSeedWorkloadFailureLeavesNothing(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := context.Background()
	_, err := pool.Exec(ctx, `
		CREATE FUNCTION refuse_runs() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'no runs today'; END $$;
		CREATE TRIGGER refuse_runs BEFORE INSERT ON job_run FOR EACH ROW EXECUTE FUNCTION refuse_runs();`)
	require.NoError(t, err)
	_, err = Seed(ctx, pool, smallConfig, testLogger(t))
	require.ErrorContains(t, err, "no runs today")
	for _, table := range []string{"cluster", "host", "host_metric", "queue", "job", "job_run", "dataset"} {
		require.Zero(t, count(t, pool, `SELECT count(*) FROM `+table), "%s is empty after a failed seed", table)
	}
}
