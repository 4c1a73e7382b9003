package aquila

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/notify"
)

// QueueName is the River queue the engine's jobs run on.
const QueueName = "aquila"

// EngineConfig tunes an Engine; zero fields take the defaults.
type EngineConfig struct {
	// ID names the replica's River client (default: River's own).
	ID string
	// Workers is how many River jobs of the aquila queue the replica works at
	// once (default 8).
	Workers int
	// StageJobs is how many River jobs a stage starts with (default 4): the
	// jobs claim the stage's tasks side by side, on any replica.
	StageJobs int
	// BatchSize is how many tasks a job claims at once (default 200).
	BatchSize int
	// TaskConcurrency bounds the tasks a job runs at once (default 64).
	TaskConcurrency int
	// TaskLease is how long a claimed task is reserved for its job before
	// another job may adopt it (default 10m); a running job renews the lease,
	// so it needs to outlast only a dead process's silence.
	TaskLease time.Duration
	// JobTimeout overrides River's one-minute default: a stage job works
	// until its stage is drained (default 1h).
	JobTimeout time.Duration
	// RescueStuckJobsAfter is when River rescues a job whose process died
	// without a word (kill -9); it must exceed JobTimeout (default
	// JobTimeout + 5m).
	RescueStuckJobsAfter time.Duration
	// FetchPollInterval is River's poll interval when no insert notification
	// arrives (default River's, 1s).
	FetchPollInterval time.Duration
	// IdlePoll is how often a stage job with nothing left to claim looks
	// again while other jobs still hold tasks of its stage (default 250ms):
	// it adopts them if their lease runs out, and it stops when the stage is
	// done.
	IdlePoll time.Duration
	// RetryDelay is how soon River retries a stage job that returned an error,
	// e.g. because its replica stopped (default 1s).
	RetryDelay time.Duration
	// SweepInterval is how often the engine looks for running operations
	// whose current stage holds tasks of a dead worker (lease run out) and
	// enqueues fresh jobs for that stage (default 1m): the stage's own jobs may
	// have died with the worker, and River would rescue them only after
	// RescueStuckJobsAfter.
	SweepInterval time.Duration
	// MaxJobErrors is how many times a stage job may fail with an error (not
	// an interruption) before its operation is failed (default 10).
	MaxJobErrors int
	// MaxRunningUpgrades is the platform-wide number of UPGRADE operations
	// that may be started (RUNNING or PAUSED) at once (default 3): a PENDING
	// upgrade beyond it waits, its start job snoozed every UpgradeSlotPoll,
	// until one ends. An upgrade's own maxConcurrent (UpgradeClusters) may
	// lower it for that upgrade. Every replica must use the same value.
	MaxRunningUpgrades int
	// UpgradeSlotPoll is how often a waiting upgrade looks for a free slot
	// (default 5s).
	UpgradeSlotPoll time.Duration
	// ShareWaitPoll is how often a stage that waits for the out-of-service
	// share looks again (default 5s): its next tasks would take the cluster
	// below its serving share because hosts are OFFLINE or REPAIRING.
	ShareWaitPoll time.Duration
	// NoWork makes an insert-only engine: it submits and controls operations
	// but works no jobs (an API replica beside dedicated workers).
	NoWork bool
}

func (c EngineConfig) withDefaults() EngineConfig {
	c.Workers = cmp.Or(c.Workers, 8)
	c.StageJobs = cmp.Or(c.StageJobs, 4)
	c.BatchSize = cmp.Or(c.BatchSize, 200)
	c.TaskConcurrency = cmp.Or(c.TaskConcurrency, 64)
	c.TaskLease = cmp.Or(c.TaskLease, 10*time.Minute)
	c.JobTimeout = cmp.Or(c.JobTimeout, time.Hour)
	c.RescueStuckJobsAfter = cmp.Or(c.RescueStuckJobsAfter, c.JobTimeout+5*time.Minute)
	c.RetryDelay = cmp.Or(c.RetryDelay, time.Second)
	c.IdlePoll = cmp.Or(c.IdlePoll, 250*time.Millisecond)
	c.SweepInterval = cmp.Or(c.SweepInterval, time.Minute)
	c.MaxJobErrors = cmp.Or(c.MaxJobErrors, 10)
	c.MaxRunningUpgrades = cmp.Or(c.MaxRunningUpgrades, 3)
	c.UpgradeSlotPoll = cmp.Or(c.UpgradeSlotPoll, 5*time.Second)
	c.ShareWaitPoll = cmp.Or(c.ShareWaitPoll, 5*time.Second)
	return c
}

// Engine stores operations and runs them with River on the pool's database.
// Every replica runs one; they share the work through River and the task
// claims, so any number may run against one database.
type Engine struct {
	pool   *pgxpool.Pool
	exec   Executor
	logger *slog.Logger
	cfg    EngineConfig
	client *river.Client[pgx.Tx]
	// stopSweep ends the sweeper Start began; sweepDone closes when it has.
	stopSweep context.CancelFunc
	sweepDone chan struct{}
}

// NewEngine builds an engine; Start begins working jobs.
func NewEngine(pool *pgxpool.Pool, exec Executor, logger *slog.Logger, cfg EngineConfig) (*Engine, error) {
	if exec == nil && !cfg.NoWork {
		return nil, errors.New("aquila: an engine that works jobs needs an executor")
	}
	cfg = cfg.withDefaults()
	e := &Engine{pool: pool, exec: exec, logger: logger, cfg: cfg}
	rc := &river.Config{
		ID:                   cfg.ID,
		Logger:               logger,
		JobTimeout:           cfg.JobTimeout,
		RescueStuckJobsAfter: cfg.RescueStuckJobsAfter,
		FetchPollInterval:    cfg.FetchPollInterval,
	}
	if !cfg.NoWork {
		workers := river.NewWorkers()
		if err := river.AddWorkerSafely(workers, &stageWorker{e: e}); err != nil {
			return nil, fmt.Errorf("error registering the stage worker: %w", err)
		}
		rc.Workers = workers
		rc.Queues = map[string]river.QueueConfig{QueueName: {MaxWorkers: cfg.Workers}}
	}
	client, err := river.NewClient(riverpgxv5.New(pool), rc)
	if err != nil {
		return nil, fmt.Errorf("error building River client: %w", err)
	}
	e.client = client
	return e, nil
}

// Start begins working jobs until ctx ends or Stop is called. Cancelling ctx is
// an abrupt stop: running jobs are interrupted and their tasks resumed later
// by any replica.
func (e *Engine) Start(ctx context.Context) error {
	if e.cfg.NoWork {
		return nil
	}
	if err := e.client.Start(ctx); err != nil {
		return fmt.Errorf("error starting the operation engine: %w", err)
	}
	sweepCtx, cancel := context.WithCancel(ctx)
	e.stopSweep, e.sweepDone = cancel, make(chan struct{})
	go e.sweepLoop(sweepCtx)
	return nil
}

func (e *Engine) sweepLoop(ctx context.Context) {
	defer close(e.sweepDone)
	t := time.NewTicker(e.cfg.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := e.Sweep(ctx); err != nil && ctx.Err() == nil {
				e.logger.WarnContext(ctx, "error sweeping operations for abandoned tasks", "error", err)
			} else if n > 0 {
				e.logger.InfoContext(ctx, "resumed operations with abandoned tasks", "operations", n)
			}
		}
	}
}

// Sweep enqueues fresh jobs for the current stage of every running operation
// that holds tasks of a dead worker (RUNNING, lease run out), so they are
// adopted even when every job of the stage died with that worker. Extra jobs
// are harmless: they find nothing to claim and end. It returns how many
// operations it resumed.
func (e *Engine) Sweep(ctx context.Context) (int, error) {
	rows, err := e.pool.Query(ctx, `SELECT o.id, o.current_stage FROM operation o
		JOIN operation_stage s ON s.operation_id = o.id AND s.position = o.current_stage
		WHERE o.state = 'RUNNING'
		  AND EXISTS (SELECT 1 FROM operation_task t WHERE t.stage_id = s.id AND t.state = 'RUNNING' AND t.lease_until < now())`)
	if err != nil {
		return 0, fmt.Errorf("error finding abandoned tasks: %w", err)
	}
	type opStage struct {
		id    int64
		stage int
	}
	found, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (opStage, error) {
		var x opStage
		return x, r.Scan(&x.id, &x.stage)
	})
	if err != nil {
		return 0, fmt.Errorf("error finding abandoned tasks: %w", err)
	}
	for _, f := range found {
		err := db.InTx(ctx, e.pool, func(tx pgx.Tx) error {
			return e.insertStageJobs(ctx, tx, f.id, f.stage, e.cfg.StageJobs)
		})
		if err != nil {
			return 0, err
		}
	}
	return len(found), nil
}

// Stop stops the engine: it fetches no more jobs and interrupts the running
// ones (their tasks are resumed by another replica or after a restart; a task
// that finished meanwhile is recorded). It returns when the jobs have returned
// or ctx ends.
func (e *Engine) Stop(ctx context.Context) error {
	if e.cfg.NoWork {
		return nil
	}
	if e.stopSweep != nil {
		e.stopSweep()
		<-e.sweepDone
	}
	if err := e.client.StopAndCancel(ctx); err != nil {
		return fmt.Errorf("error stopping the operation engine: %w", err)
	}
	return nil
}

// stageArgs is a River job working stage Stage of an operation. Stage 0 is the
// start: the job only moves the operation to its first stage.
type stageArgs struct {
	OperationID int64 `json:"operation_id"`
	Stage       int   `json:"stage"`
}

func (stageArgs) Kind() string { return "aquila_stage" }

func (stageArgs) InsertOpts() river.InsertOpts {
	// Jobs end only when their stage is drained or the operation stops; an
	// error is an interruption (a stopping replica), retried without limit in
	// practice.
	return river.InsertOpts{Queue: QueueName, MaxAttempts: 1000}
}

type stageWorker struct {
	river.WorkerDefaults[stageArgs]
	e *Engine
}

func (w *stageWorker) Timeout(*river.Job[stageArgs]) time.Duration { return w.e.cfg.JobTimeout }

func (w *stageWorker) NextRetry(*river.Job[stageArgs]) time.Time {
	return time.Now().Add(w.e.cfg.RetryDelay)
}

func (w *stageWorker) Work(ctx context.Context, job *river.Job[stageArgs]) error {
	err := w.e.workStage(ctx, job.ID, job.Args)
	if errors.Is(err, errNoSlot) {
		// A PENDING upgrade over the platform's limit: look again later.
		// Snoozing does not count as an attempt.
		return river.JobSnooze(w.e.cfg.UpgradeSlotPoll)
	}
	if errors.Is(err, errShareFull) {
		// The stage waits for hosts to return to service, without holding a
		// worker or spending attempts.
		return river.JobSnooze(w.e.cfg.ShareWaitPoll)
	}
	if err == nil || ctx.Err() != nil || job.Attempt < w.e.cfg.MaxJobErrors {
		// Interruptions (a stopping replica, the job timeout) are retried
		// without limit; errors a few times, as they may be passing.
		return err
	}
	// The same error again and again (a broken executor's Apply, a bug):
	// the operation fails instead of retrying forever, and an operator can
	// retry its failed tasks or roll it back once the cause is fixed.
	w.e.logger.ErrorContext(ctx, "operation stage job keeps failing; failing the operation",
		"operation_id", job.Args.OperationID, "stage", job.Args.Stage, "attempt", job.Attempt, "error", err)
	if ferr := w.e.failOperation(ctx, job.Args.OperationID); ferr != nil {
		return errors.Join(err, ferr)
	}
	return nil
}

// failOperation ends an active operation FAILED after an internal error. The
// stored message is generic: internal errors may hold SQL; the log has it.
func (e *Engine) failOperation(ctx context.Context, op int64) error {
	return db.InTx(ctx, e.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE operation SET state = 'FAILED', error = 'internal error while running a stage (see the server log)',
			ended_at = now(), updated_at = now() WHERE id = $1 AND state IN ('PENDING', 'RUNNING')`, op)
		if err != nil {
			return fmt.Errorf("error failing operation %d: %w", op, err)
		}
		if tag.RowsAffected() == 0 {
			return nil
		}
		// The tasks left claimed end FAILED, so RetryFailedTasks can run them
		// again (as a new attempt) once the cause is fixed.
		tag, err = tx.Exec(ctx, `UPDATE operation_task SET state = 'FAILED', ended_at = now(), claimed_by = NULL, lease_until = NULL,
			output = 'interrupted by an internal error' WHERE operation_id = $1 AND state = 'RUNNING'`, op)
		if err != nil {
			return fmt.Errorf("error failing tasks of operation %d: %w", op, err)
		}
		if _, err := tx.Exec(ctx, `UPDATE operation SET tasks_failed = tasks_failed + $2 WHERE id = $1`, op, tag.RowsAffected()); err != nil {
			return fmt.Errorf("error failing tasks of operation %d: %w", op, err)
		}
		var ev events
		ev.add("ERROR", "failed: internal error while running a stage", nil)
		if err := ev.insert(ctx, tx, op); err != nil {
			return err
		}
		return notify.Notify(ctx, tx, ChannelOperation, strconv.FormatInt(op, 10))
	})
}

// insertStageJobs enqueues n jobs for stage of op in tx.
func (e *Engine) insertStageJobs(ctx context.Context, tx pgx.Tx, op int64, stage, n int) error {
	params := make([]river.InsertManyParams, n)
	for i := range params {
		params[i] = river.InsertManyParams{Args: stageArgs{OperationID: op, Stage: stage}}
	}
	if _, err := e.client.InsertManyTx(ctx, tx, params); err != nil {
		return fmt.Errorf("error enqueueing stage %d of operation %d: %w", stage, op, err)
	}
	return nil
}

// claimed is a task a job claimed, with its host's state at claim time.
type claimed struct {
	task      Task
	hostState string
}

// workStage claims and runs batches of the stage until it is drained or the
// operation left it (paused, aborted, moved on), then lets the operation
// advance.
func (e *Engine) workStage(ctx context.Context, jobID int64, a stageArgs) error {
	recheck := false
	// limit is the most hosts the operation may have out of service,
	// counted once per job: the cluster's size barely moves during a stage,
	// and a claim then need not count its hosts each time.
	limit := -1
	var stageID int64
	for {
		var state State
		var current, share int
		var kind Kind
		var cluster int64
		err := e.pool.QueryRow(ctx, `SELECT state, current_stage, kind, cluster_id, max_out_of_service_pct FROM operation WHERE id = $1`, a.OperationID).
			Scan(&state, &current, &kind, &cluster, &share)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("error loading operation %d: %w", a.OperationID, err)
		}
		if state == Pending || a.Stage == 0 {
			return e.advance(ctx, a.OperationID, false)
		}
		if state != Running || current != a.Stage {
			return nil
		}
		if limit < 0 {
			var total int
			if err := e.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM host WHERE cluster_id = $1 AND state <> 'DECOMMISSIONED'),
				(SELECT id FROM operation_stage WHERE operation_id = $2 AND position = $3)`,
				cluster, a.OperationID, a.Stage).Scan(&total, &stageID); err != nil {
				return fmt.Errorf("error loading stage %d of operation %d: %w", a.Stage, a.OperationID, err)
			}
			limit = max(total*share/100, 1)
		}
		batch, held, pending, err := e.claim(ctx, jobID, a, stageID, kind, cluster, limit)
		if err != nil {
			return err
		}
		if len(batch) == 0 {
			if !held && pending {
				if !recheck {
					// Another job's results may have landed between the claim
					// and the check, freeing hosts: claim once more first.
					recheck = true
					continue
				}
				// Nothing runs and nothing could be claimed: the hosts already
				// out of service fill the share. Wait for them to return.
				if err := e.noteShareWait(ctx, a.OperationID, a.Stage, cluster, share); err != nil {
					return err
				}
				return errShareFull
			}
			if !held {
				return e.advance(ctx, a.OperationID, false)
			}
			// Tasks other jobs still hold: wait for them to be recorded, or
			// for their lease to run out (their process died) to adopt them.
			// Without this wait a dead replica's tasks would stay RUNNING
			// until River rescues its job. Meanwhile their hosts may free
			// room in the share for the tasks still pending.
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(e.cfg.IdlePoll):
			}
			continue
		}
		recheck = false
		if err := e.runBatch(ctx, jobID, a.OperationID, batch); err != nil {
			return err
		}
	}
}

// claimLockClass is the advisory lock class of the operations' claims (the
// object is the operation id); jobs.lockClass is 7305.
const claimLockClass = 7306

// claim takes the next tasks of the stage for the job, within the
// out-of-service share (sql/claim.sql). The claim runs under a transaction
// advisory lock of the operation, taken in a statement of its own: the jobs
// of every replica then count the hosts out of service one after another,
// each seeing the tasks the one before it claimed, so together they never
// take more than the share. Recording does not take the lock (a result landing
// meanwhile only frees hosts, so a claim may be cautious, never greedy). When
// it claims nothing it reports whether the stage still has tasks RUNNING (held
// by other jobs) or PENDING.
func (e *Engine) claim(ctx context.Context, jobID int64, a stageArgs, stageID int64, kind Kind, cluster int64, limit int) (batch []claimed, held, pending bool, err error) {
	// One round trip, one implicit transaction: the lock, then the claim and
	// the check, each statement with a snapshot taken after the lock.
	b := &pgx.Batch{}
	b.Queue(`SELECT pg_advisory_xact_lock($1, ($2 % 2147483647)::int)`, claimLockClass, a.OperationID)
	// A SELF_HEAL's hosts are the sick ones: counting the cluster's other
	// hosts down would make it wait for the hosts it is there to heal; the
	// healing job keeps it within the cluster's budget and minimum capacity.
	countDown := kind != KindSelfHeal
	b.Queue(sqlClaim, stageID, jobID, e.cfg.BatchSize, e.cfg.TaskLease.String(), a.OperationID, cluster, limit, countDown)
	b.Queue(`SELECT EXISTS (SELECT 1 FROM operation_task WHERE stage_id = $1 AND state = 'RUNNING'),
		EXISTS (SELECT 1 FROM operation_task WHERE stage_id = $1 AND state = 'PENDING')`, stageID)
	br := e.pool.SendBatch(ctx, b)
	defer func() {
		if cerr := br.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("error claiming tasks of operation %d: %w", a.OperationID, cerr)
		}
	}()
	if _, err := br.Exec(); err != nil {
		return nil, false, false, fmt.Errorf("error locking the claims of operation %d: %w", a.OperationID, err)
	}
	rows, err := br.Query()
	if err != nil {
		return nil, false, false, fmt.Errorf("error claiming tasks of operation %d: %w", a.OperationID, err)
	}
	batch, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (claimed, error) {
		c := claimed{task: Task{OperationID: a.OperationID, Kind: kind, ClusterID: cluster}}
		err := r.Scan(&c.task.TaskID, &c.task.HostID, &c.task.Hostname, &c.hostState, &c.task.Action, &c.task.Params, &c.task.Attempt)
		return c, err
	})
	if err != nil {
		return nil, false, false, fmt.Errorf("error claiming tasks of operation %d: %w", a.OperationID, err)
	}
	if err := br.QueryRow().Scan(&held, &pending); err != nil {
		return nil, false, false, fmt.Errorf("error checking stage %d of operation %d: %w", a.Stage, a.OperationID, err)
	}
	return batch, held, pending, nil
}

// errShareFull is a stage that cannot go on without exceeding its
// out-of-service share: its jobs snooze (ShareWaitPoll) until hosts return.
var errShareFull = errors.New("out-of-service share full")

// noteShareWait logs, once per wait, why the operation's stage waits: the
// newest event already saying so is not repeated by each job and each poll.
func (e *Engine) noteShareWait(ctx context.Context, op int64, stage int, cluster int64, share int) error {
	return db.InTx(ctx, e.pool, func(tx pgx.Tx) error {
		// Lock first, read after: a statement reading the newest event while
		// it waits for the lock would not see the event of the job before.
		if _, err := tx.Exec(ctx, `SELECT 1 FROM operation WHERE id = $1 FOR NO KEY UPDATE`, op); err != nil {
			return fmt.Errorf("error locking operation %d: %w", op, err)
		}
		var last string
		if err := tx.QueryRow(ctx, `SELECT coalesce((SELECT message FROM operation_event WHERE operation_id = $1 ORDER BY id DESC LIMIT 1), '')`,
			op).Scan(&last); err != nil {
			return fmt.Errorf("error loading events of operation %d: %w", op, err)
		}
		if strings.HasPrefix(last, shareWaitPrefix) {
			return nil
		}
		var total, down int
		if err := tx.QueryRow(ctx, `SELECT count(*) FILTER (WHERE state <> 'DECOMMISSIONED'),
			count(*) FILTER (WHERE state IN ('OFFLINE', 'REPAIRING')) FROM host WHERE cluster_id = $1`, cluster).Scan(&total, &down); err != nil {
			return fmt.Errorf("error counting hosts of cluster %d: %w", cluster, err)
		}
		var ev events
		ev.add("WARN", fmt.Sprintf("%s %d of the cluster's %d hosts are OFFLINE or REPAIRING, and the operation's %d%% share allows %d out of service at once: stage %d goes on when hosts return to service (or abort and submit again with a larger share)",
			shareWaitPrefix, down, total, share, max(total*share/100, 1), stage), nil)
		if err := ev.insert(ctx, tx, op); err != nil {
			return err
		}
		return notify.Notify(ctx, tx, ChannelOperation, strconv.FormatInt(op, 10))
	})
}

const shareWaitPrefix = "waiting for the out-of-service share:"

// outcome is one task's result as recorded.
type outcome struct {
	done  Done
	state TaskState
	ran   bool
}

// runBatch runs the claimed tasks with bounded concurrency and records the
// results in one transaction. Tasks of hosts in MAINTENANCE are skipped, not
// run. When ctx ends mid-batch nothing is recorded: the tasks stay RUNNING
// under this job, which River retries, and the retry runs them again with the
// same idempotency key.
func (e *Engine) runBatch(ctx context.Context, jobID, op int64, batch []claimed) error {
	outs := make([]outcome, len(batch))
	stopLease := e.renewLeases(ctx, jobID)
	sem := make(chan struct{}, e.cfg.TaskConcurrency)
	var wg sync.WaitGroup
	for i, c := range batch {
		outs[i].done.Task = c.task
		if c.hostState == "MAINTENANCE" {
			outs[i].state = TaskSkipped
			outs[i].done.Result.Output = "skipped: host " + c.task.Hostname + " is in MAINTENANCE"
			continue
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			res, err := e.exec.Run(ctx, c.task)
			outs[i].ran = true
			outs[i].done.Result, outs[i].done.Err = res, err
			if err != nil {
				outs[i].state = TaskFailed
			} else {
				outs[i].state = TaskSucceeded
			}
		}()
	}
	wg.Wait()
	stopLease()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("operation %d: batch interrupted: %w", op, err)
	}
	return e.record(ctx, jobID, op, outs)
}

// renewLeases keeps the job's claimed tasks reserved while it runs them, so
// long tasks are not adopted by another job.
func (e *Engine) renewLeases(ctx context.Context, jobID int64) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(e.cfg.TaskLease / 3)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if _, err := e.pool.Exec(ctx, `UPDATE operation_task SET lease_until = now() + $2::interval
					WHERE claimed_by = $1 AND state = 'RUNNING'`, jobID, e.cfg.TaskLease.String()); err != nil && ctx.Err() == nil {
					e.logger.WarnContext(ctx, "error renewing task leases", "job_id", jobID, "error", err)
				}
			}
		}
	}()
	return func() { cancel(); <-done }
}

func (e *Engine) record(ctx context.Context, jobID, op int64, outs []outcome) error {
	ids := make([]int64, len(outs))
	states := make([]string, len(outs))
	outputs := make([]string, len(outs))
	byID := make(map[int64]int, len(outs))
	for i := range outs {
		o := &outs[i]
		ids[i], states[i] = o.done.Task.TaskID, string(o.state)
		out := o.done.Result.Output
		if o.done.Err != nil {
			out = joinOutput(out, "error: "+o.done.Err.Error())
		}
		outputs[i] = truncateOutput(out)
		byID[o.done.Task.TaskID] = i
	}
	return db.InTx(ctx, e.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, sqlRecord, jobID, ids, states, outputs)
		if err != nil {
			return fmt.Errorf("error recording tasks of operation %d: %w", op, err)
		}
		type rec struct {
			id    int64
			state TaskState
		}
		recs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (rec, error) {
			var x rec
			return x, r.Scan(&x.id, &x.state)
		})
		if err != nil {
			return fmt.Errorf("error recording tasks of operation %d: %w", op, err)
		}
		var ok, failed, skipped int
		var ev events
		var applied []Done
		for _, r := range recs {
			i := byID[r.id]
			o := &outs[i]
			switch r.state {
			case TaskSucceeded:
				ok++
			case TaskFailed:
				failed++
				ev.add("WARN", fmt.Sprintf("task on %s failed: %s", o.done.Task.Hostname, firstLine(outputs[i])), &r.id)
			case TaskSkipped:
				skipped++
			}
			if o.ran {
				applied = append(applied, o.done)
			}
		}
		if ap, isApplier := e.exec.(Applier); isApplier && len(applied) > 0 {
			if err := ap.Apply(ctx, tx, applied); err != nil {
				return fmt.Errorf("error applying task effects of operation %d: %w", op, err)
			}
		}
		if err := applyHostSteps(ctx, tx, applied); err != nil {
			return fmt.Errorf("error applying host steps of operation %d: %w", op, err)
		}
		var state State
		var budget int
		if err := tx.QueryRow(ctx, sqlCountProgress, op, ok, failed, skipped).Scan(&state, &budget); err != nil {
			return fmt.Errorf("error counting progress of operation %d: %w", op, err)
		}
		if failed > 0 && state == Running {
			var hosts int
			if err := tx.QueryRow(ctx, `SELECT count(DISTINCT host_id) FROM operation_task WHERE operation_id = $1 AND state = 'FAILED'`,
				op).Scan(&hosts); err != nil {
				return fmt.Errorf("error counting failed hosts of operation %d: %w", op, err)
			}
			if hosts > budget {
				if _, err := tx.Exec(ctx, `UPDATE operation SET state = 'PAUSED', updated_at = now() WHERE id = $1`, op); err != nil {
					return fmt.Errorf("error pausing operation %d: %w", op, err)
				}
				ev.add("ERROR", fmt.Sprintf("paused: %d hosts failed, more than the failure budget of %d", hosts, budget), nil)
			}
		}
		if err := ev.insert(ctx, tx, op); err != nil {
			return err
		}
		return notify.Notify(ctx, tx, ChannelOperation, strconv.FormatInt(op, 10))
	})
}

// advance moves operation op to its first stage with work left, enqueueing that
// stage's jobs, or finishes it when none is left. It does nothing while the
// current stage still has work, unless kick is set (resume, retry), when it
// enqueues the current stage's jobs again. The operation row lock serialises
// the jobs of every replica finishing a stage together.
func (e *Engine) advance(ctx context.Context, op int64, kick bool) error {
	return db.InTx(ctx, e.pool, func(tx pgx.Tx) error { return e.advanceTx(ctx, tx, op, kick) })
}

func (e *Engine) advanceTx(ctx context.Context, tx pgx.Tx, op int64, kick bool) error {
	var state State
	var current int
	var rollingBack bool
	var failedTasks int
	var kind Kind
	var params []byte
	var cluster int64
	err := tx.QueryRow(ctx, `SELECT state, current_stage, rolling_back, tasks_failed, kind, params, cluster_id FROM operation WHERE id = $1 FOR UPDATE`, op).
		Scan(&state, &current, &rollingBack, &failedTasks, &kind, &params, &cluster)
	if err != nil {
		return fmt.Errorf("error locking operation %d: %w", op, err)
	}
	if state != Pending && state != Running {
		return nil
	}
	if state == Pending && kind == KindUpgrade {
		if err := e.upgradeSlot(ctx, tx, op, params); err != nil {
			return err
		}
	}
	var next *int
	if err := tx.QueryRow(ctx, sqlNextStage, op).Scan(&next); err != nil {
		return fmt.Errorf("error finding the next stage of operation %d: %w", op, err)
	}
	var ev events
	if next != nil && *next == current && state == Running {
		if !kick {
			return nil
		}
		return e.insertStageJobs(ctx, tx, op, current, e.cfg.StageJobs)
	}
	if current > 0 {
		// pauseAfter is read only when this statement closes the stage, so a
		// resume (which finds it closed) goes on instead of pausing again.
		var pauseAfter bool
		err := tx.QueryRow(ctx, `UPDATE operation_stage s SET ended_at = now(),
			state = CASE WHEN EXISTS (SELECT 1 FROM operation_task t WHERE t.stage_id = s.id AND t.state = 'FAILED') THEN 'FAILED' ELSE 'SUCCEEDED' END
			WHERE s.operation_id = $1 AND s.position = $2 AND s.state = 'RUNNING' RETURNING s.pause_after`, op, current).Scan(&pauseAfter)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("error closing stage %d of operation %d: %w", current, op, err)
		}
		if pauseAfter && next != nil && !rollingBack {
			if _, err := tx.Exec(ctx, `UPDATE operation SET state = 'PAUSED', updated_at = now() WHERE id = $1`, op); err != nil {
				return fmt.Errorf("error pausing operation %d: %w", op, err)
			}
			ev.add("INFO", fmt.Sprintf("paused after stage %d as planned: resume to continue", current), nil)
			if err := ev.insert(ctx, tx, op); err != nil {
				return err
			}
			return notify.Notify(ctx, tx, ChannelOperation, strconv.FormatInt(op, 10))
		}
	}
	if next == nil {
		final := Succeeded
		if rollingBack {
			final = RolledBack
			var failedRollback bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM operation_task t JOIN operation_stage s ON s.id = t.stage_id
				WHERE t.operation_id = $1 AND s.rollback AND t.state = 'FAILED')`, op).Scan(&failedRollback); err != nil {
				return fmt.Errorf("error checking the rollback of operation %d: %w", op, err)
			}
			if failedRollback {
				final = Failed
			}
		} else if failedTasks > 0 {
			final = Failed
		}
		msg := ""
		if final == Failed {
			msg = fmt.Sprintf("%d task(s) failed", failedTasks)
		}
		if _, err := tx.Exec(ctx, `UPDATE operation SET state = $2, error = $3, ended_at = now(), updated_at = now(),
			started_at = coalesce(started_at, now()) WHERE id = $1`, op, final, msg); err != nil {
			return fmt.Errorf("error finishing operation %d: %w", op, err)
		}
		if f := finishers[kind]; f != nil {
			if err := f(ctx, tx, op, cluster, params, final); err != nil {
				return err
			}
		}
		ev.add(levelFor(final), "operation "+string(final), nil)
	} else {
		var name string
		if err := tx.QueryRow(ctx, `UPDATE operation_stage SET state = 'RUNNING', started_at = coalesce(started_at, now()), ended_at = NULL
			WHERE operation_id = $1 AND position = $2 RETURNING name`, op, *next).Scan(&name); err != nil {
			return fmt.Errorf("error starting stage %d of operation %d: %w", *next, op, err)
		}
		if _, err := tx.Exec(ctx, `UPDATE operation SET state = 'RUNNING', current_stage = $2, started_at = coalesce(started_at, now()),
			updated_at = now() WHERE id = $1`, op, *next); err != nil {
			return fmt.Errorf("error moving operation %d to stage %d: %w", op, *next, err)
		}
		if err := e.insertStageJobs(ctx, tx, op, *next, e.cfg.StageJobs); err != nil {
			return err
		}
		ev.add("INFO", fmt.Sprintf("stage %d started: %s", *next, name), nil)
	}
	if err := ev.insert(ctx, tx, op); err != nil {
		return err
	}
	return notify.Notify(ctx, tx, ChannelOperation, strconv.FormatInt(op, 10))
}

func levelFor(s State) string {
	if s == Failed {
		return "ERROR"
	}
	return "INFO"
}

// events collects event rows to append in one statement.
type events struct {
	levels, messages []string
	tasks            []*int64
}

func (e *events) add(level, msg string, task *int64) {
	e.levels = append(e.levels, level)
	e.messages = append(e.messages, msg)
	e.tasks = append(e.tasks, task)
}

func (e *events) insert(ctx context.Context, q db.DBTX, op int64) error {
	if len(e.levels) == 0 {
		return nil
	}
	if _, err := q.Exec(ctx, sqlInsertEvents, op, e.levels, e.messages, e.tasks); err != nil {
		return fmt.Errorf("error logging events of operation %d: %w", op, err)
	}
	return nil
}

func joinOutput(out, msg string) string {
	if out == "" {
		return msg
	}
	return out + "\n" + msg
}

func firstLine(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			s = s[:i]
			break
		}
	}
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// isUniqueViolation reports whether err is a unique violation of constraint.
func isUniqueViolation(err error, constraint string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.ConstraintName == constraint
}

// errActive is the CONFLICT of a second disruptive operation on a cluster.
func errActive(cluster, op int64, kind Kind, state State) error {
	return fault.New(fault.Conflict, "cluster %d already has operation %d (%s, %s) in progress: at most one disruptive operation runs per cluster",
		cluster, op, kind, state)
}
