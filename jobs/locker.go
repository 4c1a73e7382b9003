package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// lockClass is the first key of every job's advisory lock (the second is a hash
// of the job name). The two-key form lives apart from the single-bigint locks
// other packages take (migrations, seeding), so they can never collide.
const lockClass = 7305

// skipShare is the share of its interval within which a job that any replica
// started is not started again. gocron's locker only stops runs that overlap: a
// short job releases its lock long before a second replica, ticking a little
// later, asks for it. Skipping runs that started less than 90% of the interval
// ago gives one run per interval whatever the replicas' phases, tolerating up to
// 10% jitter in when each replica ticks.
const skipShare = 0.9

// errSkipped tells gocron not to run a job this time: another replica holds it
// or ran it recently. It is the normal outcome on all replicas but one.
var errSkipped = errors.New("job skipped: running or recently run on another replica")

// pgLocker is gocron's distributed Locker on PostgreSQL advisory locks.
type pgLocker struct {
	pool *pgxpool.Pool
	// minGap is, per job name, how recent a run makes this one skip.
	minGap map[string]time.Duration
}

// Lock takes the job's lock, or returns an error so that gocron skips the run.
func (l *pgLocker) Lock(ctx context.Context, key string) (gocron.Lock, error) {
	return acquire(ctx, l.pool, key, l.minGap[key])
}

// runLock is a job's advisory lock, held by a session of its own.
//
// The session is a dedicated connection, not one borrowed from the pool: a
// session-level lock must stay on one connection for the whole run, and
// borrowing would let a few concurrent jobs hold every pool connection while
// their own queries wait for one. The lock dies with the session, so a replica
// that crashes or loses its network releases its jobs as soon as PostgreSQL
// notices the connection is gone.
type runLock struct {
	conn *pgx.Conn
	name string
}

// acquire opens a session and takes the job's advisory lock without waiting. It
// returns ErrRunning when another session holds it, and errSkipped when minGap
// is positive and a run of the job started less than minGap ago (by the
// database's clock, which all replicas share).
func acquire(ctx context.Context, pool *pgxpool.Pool, name string, minGap time.Duration) (*runLock, error) {
	connectCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	conn, err := pgx.ConnectConfig(connectCtx, pool.Config().ConnConfig.Copy())
	if err != nil {
		return nil, fmt.Errorf("error connecting to lock job %s: %w", name, err)
	}
	l := &runLock{conn: conn, name: name}
	var got bool
	if err := conn.QueryRow(connectCtx, `SELECT pg_try_advisory_lock($1, hashtext($2))`, lockClass, name).Scan(&got); err != nil {
		l.close()
		return nil, fmt.Errorf("error locking job %s: %w", name, err)
	}
	if !got {
		l.close()
		return nil, ErrRunning
	}
	if minGap > 0 {
		var recent bool
		if err := conn.QueryRow(connectCtx, `SELECT EXISTS (SELECT 1 FROM scheduler_run
			WHERE job = $1 AND started_at > clock_timestamp() - $2 * interval '1 microsecond')`,
			name, minGap.Microseconds()).Scan(&recent); err != nil {
			_ = l.Unlock(ctx)
			return nil, fmt.Errorf("error checking recent runs of job %s: %w", name, err)
		}
		if recent {
			// Unlocked explicitly: a closed session releases its locks only
			// once its backend has exited, a moment later.
			if err := l.Unlock(ctx); err != nil {
				return nil, err
			}
			return nil, errSkipped
		}
	}
	return l, nil
}

// Unlock releases the lock and ends the session.
func (l *runLock) Unlock(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_, err := l.conn.Exec(ctx, `SELECT pg_advisory_unlock($1, hashtext($2))`, lockClass, l.name)
	l.close()
	if err != nil {
		return fmt.Errorf("error unlocking job %s (the closed session released it): %w", l.name, err)
	}
	return nil
}

func (l *runLock) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = l.conn.Close(ctx)
}
