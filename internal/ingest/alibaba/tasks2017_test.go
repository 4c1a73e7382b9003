package alibaba_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/fixture"
	"github.com/teslaops/tesla/internal/ingest/alibaba"
)

// realTasks returns ../shared/data/alibaba/v2017/batch_task.csv, or skips.
func realTasks(t testing.TB) string {
	t.Helper()
	v2018 := filepath.Dir(realDataDir(t))
	path := filepath.Join(v2018, "v2017", "batch_task.csv")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("real Alibaba v2017 data not available (%v): skipping; it lives in ../shared/data/alibaba/v2017 next to the repository", err)
	}
	return path
}

// realDataDir is realData without its check of the v2018 files.
func realDataDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	require.NoError(t, err)
	for {
		if mod, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil &&
			strings.Contains(string(mod), "module github.com/teslaops/tesla\n") {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("module root not found above the test directory: skipping the real-data test")
		}
		dir = parent
	}
	return filepath.Join(filepath.Dir(dir), "shared", "data", "alibaba", "v2018")
}

var taskStart = time.Date(2017, 9, 1, 0, 0, 0, 0, time.UTC)

type taskRun struct {
	State                        string
	QueuedAt, StartedAt, EndedAt *time.Time
	Tasks                        *int32
	CoreSeconds, MemByteSeconds  *float64
	Min, P50, Max                *float64
	Cluster                      *int64
}

func loadTaskRun(t testing.TB, pool *pgxpool.Pool, jobID int64) taskRun {
	t.Helper()
	var r taskRun
	require.NoError(t, pool.QueryRow(context.Background(), `
		SELECT r.state, r.queued_at, r.started_at, r.ended_at, r.task_count, r.requested_core_seconds,
		       r.requested_memory_byte_seconds, r.task_seconds_min, r.task_seconds_p50, r.task_seconds_max, j.cluster_id
		FROM job j JOIN job_run r ON r.job_id = j.id WHERE j.namespace = 'alibaba-v2017' AND j.name = $1`,
		alibaba.TaskJobName(jobID)).Scan(&r.State, &r.QueuedAt, &r.StartedAt, &r.EndedAt, &r.Tasks, &r.CoreSeconds,
		&r.MemByteSeconds, &r.Min, &r.P50, &r.Max, &r.Cluster))
	return r
}

func at(sec int64) time.Time { return taskStart.Add(time.Duration(sec) * time.Second) }

func runsOf(t testing.TB, pool *pgxpool.Pool) []map[string]any {
	rows, err := pool.Query(context.Background(), `SELECT * FROM job_run ORDER BY id`)
	require.NoError(t, err)
	out, err := pgx.CollectRows(rows, pgx.RowToMap)
	require.NoError(t, err)
	for _, m := range out {
		delete(m, "updated_at")
	}
	return out
}

func TestImportRealV2017Tasks(t *testing.T) {
	t.Parallel()
	path := realTasks(t)
	pool := dbtest.New(t)
	fleet := fixture.New(t, pool)
	ctx := context.Background()
	opt := alibaba.TaskOptions{Path: path, Cluster: "batch-wh-1"}

	st, err := alibaba.ImportTasks(ctx, pool, logger(t), opt)
	require.NoError(t, err)
	t.Logf("real batch_task: %d lines in %s", st.Lines, st.Elapsed)
	require.EqualValues(t, 80553, st.Lines)
	require.EqualValues(t, 80553, st.Tasks)
	require.Zero(t, st.Skipped)
	require.EqualValues(t, 12951, st.Jobs)
	require.EqualValues(t, 1, st.BadTimes, "53176,53175,8561,55241,1,Terminated: ends before it starts")
	require.Len(t, st.Warnings, 1)
	require.Equal(t, "line 54988: task 55241 of job 8561 ends 1 s before it is created; counted as 0 s", st.Warnings[0])
	require.True(t, st.Start.Equal(taskStart))

	states := map[string]int64{}
	rows, err := pool.Query(ctx, `SELECT state, count(*) FROM job_run GROUP BY state`)
	require.NoError(t, err)
	for rows.Next() {
		var s string
		var n int64
		require.NoError(t, rows.Scan(&s, &n))
		states[s] = n
	}
	require.NoError(t, rows.Err())
	require.Equal(t, map[string]int64{"COMPLETED": 10777, "FAILED": 1123, "OTHER": 937, "RUNNING": 114}, states)

	// Job 3: lines 6459,6524,3,4,15740,Terminated,50,0.007956928 and
	// 6457,6533,3,5,1,Terminated,50,0.004395206.
	j3 := loadTaskRun(t, pool, 3)
	require.Equal(t, "COMPLETED", j3.State)
	require.True(t, at(6457).Equal(*j3.QueuedAt))
	require.True(t, at(6457).Equal(*j3.StartedAt))
	require.True(t, at(6533).Equal(*j3.EndedAt))
	require.EqualValues(t, 2, *j3.Tasks)
	require.InDelta(t, 15740*0.5*65+1*0.5*76, *j3.CoreSeconds, 1e-6)
	require.InDelta(t, (15740*0.007956928*65+0.004395206*76)*float64(alibaba.DefaultFullMemoryBytes), *j3.MemByteSeconds, 1)
	require.Equal(t, []float64{65, 70.5, 76}, []float64{*j3.Min, *j3.P50, *j3.Max})
	require.Equal(t, fleet.Clusters["batch-wh-1"], *j3.Cluster)
	// Job 6168's tasks were created a minute before the trace began.
	require.True(t, at(-60).Equal(*loadTaskRun(t, pool, 6168).StartedAt))
	// Job 4 only has Waiting tasks: queued, never started, no request.
	j4 := loadTaskRun(t, pool, 4)
	require.Equal(t, "OTHER", j4.State)
	require.Nil(t, j4.StartedAt)
	require.Nil(t, j4.CoreSeconds)
	require.EqualValues(t, 2, *j4.Tasks)

	// Importing again stores nothing twice and changes nothing.
	before := runsOf(t, pool)
	again, err := alibaba.ImportTasks(ctx, pool, logger(t), opt)
	require.NoError(t, err)
	require.Zero(t, again.RunsChanged)
	require.Equal(t, before, runsOf(t, pool))
	require.EqualValues(t, 12951, count(t, pool, `SELECT count(*) FROM job WHERE namespace = 'alibaba-v2017'`))
}

func TestImportV2017TasksReportsBadLines(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	path := filepath.Join(t.TempDir(), "batch_task.csv")
	require.NoError(t, os.WriteFile(path, []byte(strings.Join([]string{
		"task_create_time, task_end_time, job_id, task_id,number_of_instances, status, cpus, mem",
		"100,160,7,1,2,Terminated,100,0.5",
		"100,oops,7,2,1,Terminated,100,0.5",
		"100,200,7,3,1,Exploded,100,0.5",
		"100,200,7",
		"",
		"100,200,7,1,1,Terminated,100,0.5",
		"100,0,7,4,1,Running,50,0.25",
		"110,130,8,5,1,Failed,100,-1",
		"110,130,8,6,1,Failed,100,0.1",
	}, "\n")), 0o644))
	st, err := alibaba.ImportTasks(context.Background(), pool, logger(t), alibaba.TaskOptions{Path: path, Start: taskStart})
	require.NoError(t, err)
	require.EqualValues(t, 8, st.Lines)
	require.EqualValues(t, 5, st.Skipped)
	require.Equal(t, []string{
		`line 3: task_end_time: "oops" is not a whole number (ids and counts: 0 or more)`,
		`line 4: status: "Exploded" is not Waiting, Running, Terminated or Failed`,
		`line 5: 3 fields, expected 8`,
		`line 7: task 1 of job 7 is already on line 2`,
		`line 9: normalized_memory_requested_per_instance_in_the_task: "-1" is not a number of 0 or more`,
	}, st.Warnings)
	j7 := loadTaskRun(t, pool, 7)
	require.Equal(t, "RUNNING", j7.State, "a task is still running")
	require.EqualValues(t, 2, *j7.Tasks)
	require.InDelta(t, 2*1*60.0, *j7.CoreSeconds, 1e-9, "only the ended task counts")
	j8 := loadTaskRun(t, pool, 8)
	require.Equal(t, "FAILED", j8.State)
	require.True(t, at(130).Equal(*j8.EndedAt))

	_, err = alibaba.ImportTasks(context.Background(), pool, logger(t), alibaba.TaskOptions{Path: path, Cluster: "nope"})
	require.ErrorContains(t, err, `cluster "nope" not found`)
	_, err = alibaba.ImportTasks(context.Background(), pool, logger(t), alibaba.TaskOptions{Path: path + ".missing"})
	require.ErrorContains(t, err, "error opening batch_task file")
}

// BenchmarkImportV2017Tasks measures the import of the real batch_task.csv
// (80,553 tasks of 12,951 jobs) into a fresh database.
func BenchmarkImportV2017Tasks(b *testing.B) {
	path := realTasks(b)
	var lines int64
	var elapsed time.Duration
	for b.Loop() {
		b.StopTimer()
		pool := dbtest.New(b)
		b.StartTimer()
		st, err := alibaba.ImportTasks(context.Background(), pool, logger(b), alibaba.TaskOptions{Path: path})
		require.NoError(b, err)
		lines += st.Lines
		elapsed += st.Elapsed
	}
	b.ReportMetric(float64(lines)/elapsed.Seconds(), "lines/s")
}
