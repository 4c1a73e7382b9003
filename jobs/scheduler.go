package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/jackc/pgx/v5/pgxpool"
)

// stopTimeout is how long Stop lets running jobs finish after cancelling their
// contexts, when the caller's context allows it.
const stopTimeout = 30 * time.Second

// Scheduler runs jobs on their intervals with gocron, each run on one replica
// only (see pgLocker). Jobs start at once when the scheduler starts — unless a
// replica ran them within the last 90% of their interval — and then every
// interval; a run that outlasts its interval delays the next one on this replica
// (singleton mode) and is skipped by the others (the lock), so runs never
// overlap.
type Scheduler struct {
	sched  gocron.Scheduler
	logger *slog.Logger
}

// NewScheduler prepares a scheduler for jobs; replica names this process in
// scheduler_run (empty: DefaultReplica). Call Start to begin and Stop to end.
func NewScheduler(pool *pgxpool.Pool, logger *slog.Logger, replica string, jobs ...Job) (*Scheduler, error) {
	replica = orDefaultReplica(replica)
	logger = logger.With("component", "scheduler")
	locker := &pgLocker{pool: pool, minGap: map[string]time.Duration{}}
	sched, err := gocron.NewScheduler(
		gocron.WithLogger(logger),
		gocron.WithDistributedLocker(locker),
		gocron.WithStopTimeout(stopTimeout),
	)
	if err != nil {
		return nil, fmt.Errorf("error creating scheduler: %w", err)
	}
	s := &Scheduler{sched: sched, logger: logger}
	for _, job := range jobs {
		name := job.Name()
		if _, dup := locker.minGap[name]; dup {
			return nil, fmt.Errorf("error scheduling job %s: two jobs share the name", name)
		}
		if job.Interval() <= 0 {
			return nil, fmt.Errorf("error scheduling job %s: interval must be positive, got %s", name, job.Interval())
		}
		locker.minGap[name] = time.Duration(float64(job.Interval()) * skipShare)
		_, err := sched.NewJob(
			gocron.DurationJob(job.Interval()),
			gocron.NewTask(func(ctx context.Context) {
				// execute records and logs the outcome; nothing more to do here.
				_, _ = execute(ctx, pool, logger, replica, job)
			}),
			gocron.WithName(name),
			gocron.WithSingletonMode(gocron.LimitModeReschedule),
			gocron.WithStartAt(gocron.WithStartImmediately()),
		)
		if err != nil {
			return nil, fmt.Errorf("error scheduling job %s: %w", name, err)
		}
	}
	return s, nil
}

// Start begins running the jobs. It returns at once.
func (s *Scheduler) Start() {
	s.sched.Start()
	s.logger.Info("scheduler started", "jobs", len(s.sched.Jobs()))
}

// Stop cancels the contexts of running jobs, waits for them to return (each run
// is still recorded) and stops scheduling. It returns early with ctx's error if
// ctx ends first.
func (s *Scheduler) Stop(ctx context.Context) error {
	if err := s.sched.ShutdownWithContext(ctx); err != nil {
		return fmt.Errorf("error stopping scheduler: %w", err)
	}
	s.logger.Info("scheduler stopped")
	return nil
}
