package jobs

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/db/dbtest"
)

// Two replicas on one database, one job every 400ms: each interval's run happens
// on one replica only, and runs never overlap.
func TestTwoSchedulersRunEachIntervalOnce(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := context.Background()
	const interval = 400 * time.Millisecond
	newJob := func() *funcJob {
		j := job("tick", func(ctx context.Context) (Result, error) {
			// Some work on the database, long enough to overlap if locking failed.
			_, err := pool.Exec(ctx, `SELECT pg_sleep(0.05)`)
			return Result{Rows: 1}, err
		})
		j.interval = interval
		return j
	}
	a, err := NewScheduler(pool, quietLogger(), "replica-a", newJob())
	require.NoError(t, err)
	b, err := NewScheduler(pool, quietLogger(), "replica-b", newJob())
	require.NoError(t, err)
	a.Start()
	b.Start()
	const want = 8
	eventually(t, 30*time.Second, "eight runs", func() bool {
		return len(finished(t, runsOf(t, pool, "tick"))) >= want
	})
	stopCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	require.NoError(t, a.Stop(stopCtx))
	require.NoError(t, b.Stop(stopCtx))

	runs := finished(t, runsOf(t, pool, "tick"))
	// Oldest first.
	for i, j := 0, len(runs)-1; i < j; i, j = i+1, j-1 {
		runs[i], runs[j] = runs[j], runs[i]
	}
	replicas := map[string]int{}
	for i, r := range runs {
		require.Empty(t, r.Error)
		replicas[r.Replica]++
		if i == 0 {
			continue
		}
		prev := runs[i-1]
		require.False(t, r.StartedAt.Before(*prev.FinishedAt), "run %d overlaps the one before", r.ID)
		require.GreaterOrEqual(t, r.StartedAt.Sub(prev.StartedAt), interval/2,
			"runs %d and %d started in the same interval", prev.ID, r.ID)
	}
	span := runs[len(runs)-1].StartedAt.Sub(runs[0].StartedAt)
	intervals := int(span/interval) + 1
	t.Logf("%d runs over %s (%d intervals), by replica %v", len(runs), span, intervals, replicas)
	require.LessOrEqual(t, len(runs), intervals+1, "about one run per interval, not two")
	require.GreaterOrEqual(t, len(runs), intervals/2, "a skipped run is rare")
}

func finished(t *testing.T, runs []RunRecord) []RunRecord {
	t.Helper()
	var out []RunRecord
	for _, r := range runs {
		if r.FinishedAt != nil {
			out = append(out, r)
		}
	}
	return out
}

func TestNewSchedulerRejectsBadJobs(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	noop := func(context.Context) (Result, error) { return Result{}, nil }
	_, err := NewScheduler(pool, quietLogger(), "r", job("a", noop), job("a", noop))
	require.ErrorContains(t, err, "share the name")
	zero := job("z", noop)
	zero.interval = 0
	_, err = NewScheduler(pool, quietLogger(), "r", zero)
	require.ErrorContains(t, err, "interval must be positive")
}
