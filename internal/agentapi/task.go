package agentapi

import (
	"cmp"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/teslaops/tesla/internal/agenttask"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/notify"
)

// The task queue's SQL, one statement a file.
var (
	//go:embed sql/task_dispatch.sql
	sqlTaskDispatch string
	//go:embed sql/task_claim.sql
	sqlTaskClaim string
	//go:embed sql/task_for_report.sql
	sqlTaskForReport string
	//go:embed sql/task_report.sql
	sqlTaskReport string
	//go:embed sql/task_get.sql
	sqlTaskGet string
	//go:embed sql/task_expire.sql
	sqlTaskExpire string
	//go:embed sql/task_cancel.sql
	sqlTaskCancel string
	//go:embed sql/task_prune.sql
	sqlTaskPrune string
)

// NOTIFY channels of the task queue; payloads are ids only.
const (
	// TaskChannel carries the id of a task that reached a final state (or was
	// marked for cancelling): what Wait listens to.
	TaskChannel = "tesla_agent_task"
	// TaskQueuedChannel carries the host id of a newly queued task: what wakes
	// that host's agent's long poll.
	TaskQueuedChannel = "tesla_agent_task_queued"
)

// TaskSpec is what a task asks an agent to do (agenttask.Spec).
type TaskSpec = agenttask.Spec

// TaskStep is one reported step of a task.
type TaskStep = agenttask.Step

// TaskResult is a task and where it stands: its state, the agent's steps
// and, once final, its output and error.
type TaskResult struct {
	ID             int64
	HostID         int64
	IdempotencyKey string
	Action         string
	Spec           TaskSpec
	// State is QUEUED, CLAIMED, RUNNING, SUCCEEDED, FAILED or EXPIRED.
	State  string
	Steps  []TaskStep
	Output string
	// Error says why a task FAILED or EXPIRED.
	Error           string
	LeaseUntil      *time.Time
	Deadline        time.Time
	ClaimedAt       *time.Time
	CancelRequested bool
	FinishedAt      *time.Time
	CreatedAt       time.Time
}

// Final reports whether the task has ended.
func (r TaskResult) Final() bool { return agenttask.Final(r.State) }

// TasksConfig tunes the task queue.
type TasksConfig struct {
	// Lease is how long a claimed task lives without a report from its agent
	// (default 60s); agents report at least three times a lease.
	Lease time.Duration
	// Poll is how often Wait and long polls look at the database when no
	// notification came (default 15s): the fallback for notifications lost
	// to a dropped LISTEN connection, or when no listener runs.
	Poll time.Duration
	// MaxWait bounds an agent's long poll (default 60s).
	MaxWait time.Duration
	// Sweep is how often Run expires overdue tasks nobody waits for and
	// deletes finished ones past Retention (default 15s; every replica
	// sweeps, SKIP LOCKED keeps them apart).
	Sweep time.Duration
	// Retention is how long finished tasks are kept (default 90 days).
	Retention time.Duration
}

func (c TasksConfig) withDefaults() TasksConfig {
	c.Lease = cmp.Or(c.Lease, time.Minute)
	c.Poll = cmp.Or(c.Poll, 15*time.Second)
	c.MaxWait = cmp.Or(c.MaxWait, time.Minute)
	c.Sweep = cmp.Or(c.Sweep, 15*time.Second)
	c.Retention = cmp.Or(c.Retention, 90*24*time.Hour)
	return c
}

// Tasks is the server side of the agent task queue (table agent_task): the
// operation engine dispatches and waits, agents claim and report. One
// subscription per replica to each channel is fanned out in memory to the
// waiting calls by id, so 20,000 concurrent waits cost no more database
// traffic than one.
type Tasks struct {
	pool   *pgxpool.Pool
	events *notify.Listener
	logger *slog.Logger
	cfg    TasksConfig
	// done wakes Wait by task id; queued wakes long polls by host id.
	done, queued waitSet
}

// NewTasks returns the task queue. events is the replica's listener, which
// must listen to TaskChannel and TaskQueuedChannel; nil leaves Wait and long
// polls to poll the database every cfg.Poll. Run must run for notifications
// to be heard.
func NewTasks(pool *pgxpool.Pool, events *notify.Listener, logger *slog.Logger, cfg TasksConfig) *Tasks {
	return &Tasks{pool: pool, events: events, logger: logger, cfg: cfg.withDefaults(),
		done: waitSet{m: map[int64]map[chan struct{}]struct{}{}}, queued: waitSet{m: map[int64]map[chan struct{}]struct{}{}}}
}

// Run relays the task notifications to waiting calls, and sweeps (expiry,
// retention) every Sweep, until ctx ends.
func (t *Tasks) Run(ctx context.Context) {
	var done, queued <-chan notify.Event
	if t.events != nil {
		done = t.events.Subscribe(ctx, TaskChannel)
		queued = t.events.Subscribe(ctx, TaskQueuedChannel)
	}
	sweep := time.NewTicker(t.cfg.Sweep)
	defer sweep.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-sweep.C:
			if err := t.sweep(ctx); err != nil && ctx.Err() == nil {
				t.logger.WarnContext(ctx, "agent task sweep failed", "error", err)
			}
		case ev, ok := <-done:
			if !ok {
				return
			}
			relay(&t.done, ev)
		case ev, ok := <-queued:
			if !ok {
				return
			}
			relay(&t.queued, ev)
		}
	}
}

// sweep expires overdue tasks and prunes old finished ones, a bounded batch
// of each.
func (t *Tasks) sweep(ctx context.Context) error {
	if _, err := t.ExpireOverdue(ctx, 1000); err != nil {
		return err
	}
	if _, err := t.pool.Exec(ctx, sqlTaskPrune, 1000, time.Now().Add(-t.cfg.Retention)); err != nil {
		return fmt.Errorf("error pruning finished agent tasks: %w", err)
	}
	return nil
}

func relay(ws *waitSet, ev notify.Event) {
	if ev.Resync {
		ws.wakeAll() // notifications may have been lost: everyone looks again
		return
	}
	if id, ok := notify.ParseID(ev); ok {
		ws.wake(id)
	}
}

// Dispatch queues spec for host's agent under key, and returns the task's id.
// It is idempotent on key: a key already used for the same host and spec
// returns the existing task (whatever its state) and queues nothing, so a
// dispatch repeated after a crash never runs the work twice; the same key for
// another host or spec is a conflict. The engine passes "<operation task
// id>/<attempt>", and a new attempt (a new key) after EXPIRED or FAILED.
//
// Dispatch is the engine's: it checks no principal (the operation that asks
// for it was checked and audited when requested).
func (t *Tasks) Dispatch(ctx context.Context, hostID int64, key string, spec TaskSpec) (int64, error) {
	if hostID <= 0 {
		return 0, fault.Field("host_id", "host_id must be a host's id")
	}
	if key == "" || len(key) > 200 {
		return 0, fault.Field("key", "the idempotency key must be 1 to 200 characters")
	}
	if err := spec.Validate(); err != nil {
		return 0, fieldFault(err)
	}
	raw, err := json.Marshal(spec)
	if err != nil {
		return 0, fmt.Errorf("error encoding a task spec: %w", err)
	}
	var (
		id, host         int64
		same, inserted   bool
		lease, timeoutSc = int(t.cfg.Lease / time.Second), int(spec.Timeout() / time.Second)
	)
	err = db.InTx(ctx, t.pool, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, sqlTaskDispatch, hostID, key, spec.Action, raw, max(lease, 1), timeoutSc).
			Scan(&id, &host, &same, &inserted); err != nil {
			var pgErr *pgconn.PgError
			if errors.As(err, &pgErr) && pgErr.Code == "23503" {
				return fault.Field("host_id", "host %d does not exist", hostID)
			}
			return err
		}
		if inserted {
			return notify.NotifyIDs(ctx, tx, TaskQueuedChannel, []int64{hostID})
		}
		return nil
	})
	if err != nil {
		if _, ok := fault.As(err); ok {
			return 0, err
		}
		return 0, fmt.Errorf("error dispatching a task to host %d: %w", hostID, err)
	}
	if !inserted && (host != hostID || !same) {
		return 0, fault.New(fault.Conflict, "idempotency key %q already names task %d (host %d) with another host or spec", key, id, host)
	}
	if inserted {
		t.logger.DebugContext(ctx, "agent task queued", "task", id, "host_id", hostID, "action", spec.Action, "service", spec.Service, "key", key)
	}
	return id, nil
}

// Get returns a task.
func (t *Tasks) Get(ctx context.Context, id int64) (TaskResult, error) {
	var (
		r           TaskResult
		spec, steps string
	)
	err := t.pool.QueryRow(ctx, sqlTaskGet, id).Scan(&r.ID, &r.HostID, &r.IdempotencyKey, &r.Action, &spec, &r.State, &steps,
		&r.Output, &r.Error, &r.LeaseUntil, &r.Deadline, &r.ClaimedAt, new(*time.Time), &r.FinishedAt, &r.CreatedAt)
	if err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return TaskResult{}, fault.NotFoundf("agent task %d not found", id)
		}
		return TaskResult{}, fmt.Errorf("error loading agent task %d: %w", id, err)
	}
	if err := json.Unmarshal([]byte(spec), &r.Spec); err != nil {
		return TaskResult{}, fmt.Errorf("error loading agent task %d: its spec: %w", id, err)
	}
	if err := json.Unmarshal([]byte(steps), &r.Steps); err != nil {
		return TaskResult{}, fmt.Errorf("error loading agent task %d: its steps: %w", id, err)
	}
	return r, nil
}

// Wait returns the task once it is final (SUCCEEDED, FAILED or EXPIRED), or
// ctx's error when ctx ends first. It wakes on the task's notification, at
// the end of its lease or deadline (when it expires the task itself, so a dead
// agent is noticed even with no sweep running), and every Poll as a fallback.
// A FAILED or EXPIRED task is a result, not an error: the engine decides
// whether to retry.
func (t *Tasks) Wait(ctx context.Context, id int64) (TaskResult, error) {
	wake, stop := t.done.add(id)
	defer stop()
	for {
		r, err := t.Get(ctx, id)
		if err != nil {
			return TaskResult{}, err
		}
		if r.Final() {
			return r, nil
		}
		now := time.Now()
		due := r.Deadline
		if r.LeaseUntil != nil && r.State != agenttask.StateQueued && r.LeaseUntil.Before(due) {
			due = *r.LeaseUntil
		}
		if !due.After(now) {
			if _, err := t.expire(ctx, 1, &id); err != nil {
				return TaskResult{}, err
			}
			continue
		}
		// A little past the lease: the agent's report in flight wins.
		timer := time.NewTimer(min(t.cfg.Poll, due.Sub(now)+50*time.Millisecond))
		select {
		case <-ctx.Done():
			timer.Stop()
			return TaskResult{}, ctx.Err()
		case <-wake:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// Cancel stops a task: a QUEUED one becomes FAILED at once ("cancelled before
// an agent claimed it"); a CLAIMED or RUNNING one is marked, and its agent
// stops it when its next report is answered (it then reports FAILED). A final
// task is left as it is. Wait still returns the final state.
func (t *Tasks) Cancel(ctx context.Context, id int64) error {
	err := db.InTx(ctx, t.pool, func(tx pgx.Tx) error {
		var state string
		err := tx.QueryRow(ctx, sqlTaskCancel, id).Scan(&state)
		if errors.Is(err, pgx.ErrNoRows) {
			if _, err := t.Get(ctx, id); err != nil {
				return err // not found
			}
			return nil // already final
		}
		if err != nil {
			return err
		}
		if agenttask.Final(state) {
			return notify.NotifyIDs(ctx, tx, TaskChannel, []int64{id})
		}
		return nil
	})
	if err != nil {
		if _, ok := fault.As(err); ok {
			return err
		}
		return fmt.Errorf("error cancelling agent task %d: %w", id, err)
	}
	return nil
}

// ExpireOverdue expires up to limit tasks past their deadline or lease and
// returns how many: the sweep a scheduled job runs, so tasks nobody waits
// for end too. Wait expires its own task without it.
func (t *Tasks) ExpireOverdue(ctx context.Context, limit int) (int, error) {
	return t.expire(ctx, cmp.Or(limit, 1000), nil)
}

func (t *Tasks) expire(ctx context.Context, limit int, only *int64) (int, error) {
	var ids []int64
	err := db.InTx(ctx, t.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, sqlTaskExpire, limit, only)
		if err != nil {
			return err
		}
		ids, err = pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return err
		}
		return notify.NotifyIDs(ctx, tx, TaskChannel, ids)
	})
	if err != nil {
		return 0, fmt.Errorf("error expiring agent tasks: %w", err)
	}
	if len(ids) > 0 {
		t.logger.WarnContext(ctx, "agent tasks expired", "tasks", len(ids), "first", ids[0])
	}
	return len(ids), nil
}

// claim takes up to limit of host's queued tasks for its agent.
func (t *Tasks) claim(ctx context.Context, hostID int64, limit int) ([]agenttask.Claimed, error) {
	rows, err := t.pool.Query(ctx, sqlTaskClaim, hostID, limit)
	if err != nil {
		return nil, fmt.Errorf("error claiming tasks of host %d: %w", hostID, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (agenttask.Claimed, error) {
		var (
			c    agenttask.Claimed
			spec string
		)
		if err := row.Scan(&c.ID, &spec, &c.LeaseSeconds, &c.Deadline); err != nil {
			return c, err
		}
		return c, json.Unmarshal([]byte(spec), &c.Spec)
	})
	if err != nil {
		return nil, fmt.Errorf("error claiming tasks of host %d: %w", hostID, err)
	}
	slices.SortFunc(out, func(a, b agenttask.Claimed) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// Poll waits up to wait for host's queued tasks and claims up to limit of
// them; none (and no error) when the wait ends first. The waiter is in place
// before the first look, so a task queued in between is not missed.
func (t *Tasks) Poll(ctx context.Context, hostID int64, limit int, wait time.Duration) ([]agenttask.Claimed, error) {
	wake, stop := t.queued.add(hostID)
	defer stop()
	end := time.Now().Add(min(wait, t.cfg.MaxWait))
	for {
		tasks, err := t.claim(ctx, hostID, limit)
		if err != nil || len(tasks) > 0 {
			return tasks, err
		}
		left := time.Until(end)
		if left <= 0 {
			return nil, nil
		}
		// With notifications heard, a poll looks again only when woken (a
		// task queued for the host, or a resync after lost notifications) and
		// ends without another look: the agent's next poll looks at once. That
		// is one claim query per poll and task, whatever the fleet's size.
		next := left
		if t.events == nil {
			next = min(left, t.cfg.Poll)
		}
		timer := time.NewTimer(next)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil, ctx.Err()
		case <-wake:
		case <-timer.C:
			if t.events != nil {
				return nil, nil
			}
		}
		timer.Stop()
	}
}

// report stores an agent's report on task id of host hostID. Unknown tasks
// and other hosts' are NotFound (a host learns nothing of others' tasks); a
// report on a final task is accepted unchanged when it says the same final
// state (a resent report), else Conflict naming the state.
func (t *Tasks) report(ctx context.Context, hostID, id int64, rep agenttask.Report) (agenttask.ReportAnswer, error) {
	rep.Bound()
	if rep.Steps == nil {
		rep.Steps = []agenttask.Step{}
	}
	steps, err := json.Marshal(rep.Steps)
	if err != nil {
		return agenttask.ReportAnswer{}, fmt.Errorf("error encoding steps: %w", err)
	}
	var (
		ans  agenttask.ReportAnswer
		late bool
	)
	err = db.InTx(ctx, t.pool, func(tx pgx.Tx) error {
		var (
			state        string
			lease        int
			cancel, over bool
		)
		err := tx.QueryRow(ctx, sqlTaskForReport, id, hostID).Scan(&state, &lease, &cancel, &over)
		if errors.Is(err, pgx.ErrNoRows) {
			return fault.NotFoundf("task %d is not a task of this host", id)
		}
		if err != nil {
			return err
		}
		ans = agenttask.ReportAnswer{State: state, Cancel: cancel, LeaseSeconds: lease}
		switch {
		case agenttask.Final(state) && state == rep.State:
			return nil // the same final report again: nothing changes
		case state == agenttask.StateExpired:
			return fault.New(fault.Conflict, "task %d already EXPIRED (its lease or deadline passed): this report is not taken; the operation decides whether to retry", id)
		case agenttask.Final(state):
			return fault.New(fault.Conflict, "task %d is already %s", id, state)
		case state == agenttask.StateQueued:
			return fault.New(fault.Conflict, "task %d is QUEUED: it was not claimed by this agent", id)
		}
		if over {
			// Past its lease but not yet swept: too late all the same, as if
			// the sweep had come first.
			if _, err := tx.Exec(ctx, sqlTaskExpire, 1, id); err != nil {
				return err
			}
			if err := notify.NotifyIDs(ctx, tx, TaskChannel, []int64{id}); err != nil {
				return err
			}
			ans.State, late = agenttask.StateExpired, true
			return nil
		}
		if _, err := tx.Exec(ctx, sqlTaskReport, id, rep.State, steps, rep.Output, rep.Error); err != nil {
			return err
		}
		ans.State = rep.State
		if agenttask.Final(rep.State) {
			return notify.NotifyIDs(ctx, tx, TaskChannel, []int64{id})
		}
		return nil
	})
	if err == nil && late {
		return ans, fault.New(fault.Conflict, "task %d EXPIRED: the report came after its lease or deadline; it is not taken", id)
	}
	if err != nil {
		if _, ok := fault.As(err); ok {
			return ans, err
		}
		return ans, fmt.Errorf("error storing a report on task %d: %w", id, err)
	}
	return ans, nil
}

// fieldFault turns a spec's FieldError into a BAD_USER_INPUT naming the field.
func fieldFault(err error) error {
	var fe *agenttask.FieldError
	if errors.As(err, &fe) {
		return fault.Field(fe.Field, "%s", fe.Message)
	}
	return fault.New(fault.Invalid, "%v", err)
}

// waitSet wakes goroutines waiting on an id.
type waitSet struct {
	mu sync.Mutex
	m  map[int64]map[chan struct{}]struct{}
}

// add registers a waiter of id; stop removes it.
func (w *waitSet) add(id int64) (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	w.mu.Lock()
	if w.m[id] == nil {
		w.m[id] = map[chan struct{}]struct{}{}
	}
	w.m[id][ch] = struct{}{}
	w.mu.Unlock()
	return ch, func() {
		w.mu.Lock()
		delete(w.m[id], ch)
		if len(w.m[id]) == 0 {
			delete(w.m, id)
		}
		w.mu.Unlock()
	}
}

func (w *waitSet) wake(id int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for ch := range w.m[id] {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

func (w *waitSet) wakeAll() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, chs := range w.m {
		for ch := range chs {
			select {
			case ch <- struct{}{}:
			default:
			}
		}
	}
}

// parseTaskID reads the {id} of a task path.
func parseTaskID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, fault.Field("id", "task id %q is not a positive number", s)
	}
	return id, nil
}
