package jobs

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/fault"
)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// funcJob is a Job made of a function, for tests.
type funcJob struct {
	name              string
	interval, timeout time.Duration
	run               func(ctx context.Context) (Result, error)
}

func (j *funcJob) Name() string                                { return j.name }
func (j *funcJob) Description() string                         { return "test job " + j.name }
func (j *funcJob) Interval() time.Duration                     { return j.interval }
func (j *funcJob) Timeout() time.Duration                      { return j.timeout }
func (j *funcJob) RunOnce(ctx context.Context) (Result, error) { return j.run(ctx) }

func job(name string, run func(ctx context.Context) (Result, error)) *funcJob {
	return &funcJob{name: name, interval: time.Hour, timeout: 10 * time.Second, run: run}
}

// eventually polls cond every 10ms until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(within)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline:
			t.Fatalf("not within %s: %s", within, what)
		case <-tick.C:
		}
	}
}

func runsOf(t *testing.T, pool *pgxpool.Pool, name string) []RunRecord {
	t.Helper()
	runs, err := Runs(context.Background(), pool, name, MaxRuns)
	require.NoError(t, err)
	return runs
}

func TestRunRecordsSuccessAndFailure(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := context.Background()
	log := quietLogger()

	ok := job("ok", func(context.Context) (Result, error) {
		return Result{Rows: 7, Details: map[string]any{"created": 3}}, nil
	})
	res, err := Run(ctx, pool, log, "replica-1", ok)
	require.NoError(t, err)
	require.EqualValues(t, 7, res.Rows)
	runs := runsOf(t, pool, "ok")
	require.Len(t, runs, 1)
	r := runs[0]
	require.Equal(t, "replica-1", r.Replica)
	require.EqualValues(t, 7, r.Rows)
	require.Empty(t, r.Error)
	require.Equal(t, map[string]any{"created": float64(3)}, r.Details)
	require.NotNil(t, r.FinishedAt)
	require.False(t, r.FinishedAt.Before(r.StartedAt))
	require.True(t, r.Succeeded())

	boom := job("boom", func(context.Context) (Result, error) {
		return Result{Rows: 2}, errors.New("disk on fire")
	})
	_, err = Run(ctx, pool, log, "replica-1", boom)
	require.ErrorContains(t, err, "disk on fire")
	r = runsOf(t, pool, "boom")[0]
	require.Equal(t, "job boom: disk on fire", r.Error)
	require.EqualValues(t, 2, r.Rows, "what a failed run did is still recorded")
	require.False(t, r.Succeeded())

	panicky := job("panicky", func(context.Context) (Result, error) { panic("nil map") })
	_, err = Run(ctx, pool, log, "", panicky)
	require.ErrorContains(t, err, "panicked: nil map")
	r = runsOf(t, pool, "panicky")[0]
	require.Contains(t, r.Error, "panicked: nil map")
	require.Equal(t, DefaultReplica(), r.Replica)

	slow := job("slow", func(ctx context.Context) (Result, error) {
		<-ctx.Done()
		return Result{}, ctx.Err()
	})
	slow.timeout = 50 * time.Millisecond
	_, err = Run(ctx, pool, log, "replica-1", slow)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.Contains(t, runsOf(t, pool, "slow")[0].Error, "context deadline exceeded")
}

func TestRunRefusesWhileAnotherReplicaHoldsTheJob(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := context.Background()
	held, err := acquire(ctx, pool, "busy", 0)
	require.NoError(t, err)
	_, err = Run(ctx, pool, quietLogger(), "r", job("busy", func(context.Context) (Result, error) { return Result{}, nil }))
	require.ErrorIs(t, err, ErrRunning)
	require.True(t, fault.Is(err, fault.Conflict))
	require.Empty(t, runsOf(t, pool, "busy"), "a refused run is not recorded")
	require.NoError(t, held.Unlock(ctx))
	_, err = Run(ctx, pool, quietLogger(), "r", job("busy", func(context.Context) (Result, error) { return Result{}, nil }))
	require.NoError(t, err)
}

func TestLockerSkipsHeldAndRecentJobsAndDiesWithItsSession(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := context.Background()

	a, err := acquire(ctx, pool, "x", time.Hour)
	require.NoError(t, err, "never run: runs")
	_, err = acquire(ctx, pool, "x", time.Hour)
	require.ErrorIs(t, err, ErrRunning, "held by another session")
	other, err := acquire(ctx, pool, "y", time.Hour)
	require.NoError(t, err, "locks are per job")
	require.NoError(t, other.Unlock(ctx))

	// A replica that dies (its session ends) releases the job.
	_, err = pool.Exec(ctx, `SELECT pg_terminate_backend($1)`, a.conn.PgConn().PID())
	require.NoError(t, err)
	eventually(t, 10*time.Second, "the lock outlived its session", func() bool {
		b, err := acquire(ctx, pool, "x", time.Hour)
		if err != nil {
			require.ErrorIs(t, err, ErrRunning)
			return false
		}
		require.NoError(t, b.Unlock(ctx))
		return true
	})

	// A run started within minGap (by any replica) makes the scheduler skip.
	_, err = pool.Exec(ctx, `INSERT INTO scheduler_run (job, replica, started_at) VALUES ('x', 'other', now() - interval '10 minutes')`)
	require.NoError(t, err)
	_, err = acquire(ctx, pool, "x", time.Hour)
	require.ErrorIs(t, err, errSkipped)
	c, err := acquire(ctx, pool, "x", 5*time.Minute)
	require.NoError(t, err, "the last run is older than minGap")
	require.NoError(t, c.Unlock(ctx))
	c, err = acquire(ctx, pool, "x", 0)
	require.NoError(t, err, "an operator's run never skips")
	require.NoError(t, c.Unlock(ctx))
}

func TestStatusAndRuns(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := context.Background()
	fail := false
	j := job("flaky", func(context.Context) (Result, error) {
		if fail {
			return Result{}, errors.New("flaked")
		}
		return Result{Rows: 1}, nil
	})
	never := job("never", nil)
	for _, f := range []bool{false, false, true} {
		fail = f
		_, _ = Run(ctx, pool, quietLogger(), "r", j)
	}
	st, err := Status(ctx, pool, []Job{j, never})
	require.NoError(t, err)
	require.Len(t, st, 2)
	require.Equal(t, "flaky", st[0].Name)
	require.Equal(t, time.Hour, st[0].Interval)
	require.Len(t, st[0].Recent, 3)
	require.Equal(t, "job flaky: flaked", st[0].LastRun.Error, "newest first")
	require.Equal(t, st[0].Recent[0], *st[0].LastRun)
	require.Equal(t, st[0].Recent[1].ID, st[0].LastSuccess.ID)
	require.Nil(t, st[1].LastRun)
	require.Nil(t, st[1].LastSuccess)
	require.Empty(t, st[1].Recent)

	runs, err := Runs(ctx, pool, "flaky", 2)
	require.NoError(t, err)
	require.Len(t, runs, 2)
	require.Greater(t, runs[0].ID, runs[1].ID)
	require.NotNil(t, runs[0].Duration())
	for _, n := range []int{0, MaxRuns + 1} {
		_, err = Runs(ctx, pool, "flaky", n)
		require.True(t, fault.Is(err, fault.Invalid), "n=%d", n)
	}

	_, err = Find([]Job{j}, "nope")
	require.True(t, fault.Is(err, fault.NotFound))
	found, err := Find([]Job{j}, "flaky")
	require.NoError(t, err)
	require.Same(t, j, found)
}
