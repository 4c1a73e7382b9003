package aquila

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/teslaops/tesla/internal/audit"
	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/notify"
)

// Service is the access-checked, audited face of operations: what resolvers
// call. Reading needs any signed-in caller (operations are platform
// information); acting needs OPERATOR or ADMIN.
type Service struct {
	pool     *pgxpool.Pool
	engine   *Engine
	audit    *audit.Log
	planners map[Kind]Planner
	// retryHooks run in the transaction of a retry (OnRetry).
	retryHooks map[Kind][]RetryHook
	// PreCheck bounds the upgrade pre-checks (zero: defaults).
	PreCheck PreCheckConfig
}

// NewService returns a Service submitting through engine, with the RESTART,
// UPGRADE, SCALE_OUT, DECOMMISSION and CONFIG_APPLY planners registered.
func NewService(pool *pgxpool.Pool, engine *Engine, log *audit.Log) *Service {
	s := &Service{pool: pool, engine: engine, audit: log, planners: map[Kind]Planner{}}
	s.RegisterPlanner(RestartPlanner{})
	s.RegisterPlanner(UpgradePlanner{})
	s.RegisterPlanner(ScaleOutPlanner{})
	s.RegisterPlanner(DecommissionPlanner{})
	s.RegisterPlanner(ConfigApplyPlanner{})
	return s
}

// RegisterPlanner adds (or replaces) the planner of p.Kind().
func (s *Service) RegisterPlanner(p Planner) { s.planners[p.Kind()] = p }

func target(id int64) string { return "operation:" + strconv.FormatInt(id, 10) }

func requireOperator(ctx context.Context, what string) (*auth.Principal, error) {
	return auth.RequireRole(ctx, auth.Operator, what)
}

// Submit plans req with its kind's planner and stores the operation and its
// starting job in the audited transaction.
func (s *Service) Submit(ctx context.Context, req Request) (*Operation, error) {
	p, err := requireOperator(ctx, "starting an operation")
	if err != nil {
		return nil, err
	}
	planner, ok := s.planners[req.Kind]
	if !ok {
		return nil, fault.Field("kind", "operations of kind %s cannot be planned yet", req.Kind)
	}
	req.RequestedBy = p.Login
	var id int64
	err = s.audit.Do(ctx, "startOperation", fmt.Sprintf("cluster:%d", req.ClusterID), &req, func(tx pgx.Tx) error {
		var err error
		id, err = s.submitTx(ctx, tx, planner, req)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.load(ctx, s.pool, id)
}

// submittedHook is implemented by planners whose Plan changes the inventory
// before the operation has an id (SCALE_OUT admits its machines in
// MAINTENANCE): Submitted completes it with the id, in the same transaction.
type submittedHook interface {
	Submitted(ctx context.Context, tx pgx.Tx, plan *Plan, op int64) error
}

// submitTx plans req and stores the operation in tx.
func (s *Service) submitTx(ctx context.Context, tx pgx.Tx, planner Planner, req Request) (int64, error) {
	plan, err := planner.Plan(ctx, tx, req)
	if err != nil {
		return 0, err
	}
	id, err := s.engine.Submit(ctx, tx, *plan)
	if err != nil {
		return 0, err
	}
	if h, ok := planner.(submittedHook); ok {
		if err := h.Submitted(ctx, tx, plan, id); err != nil {
			return 0, err
		}
	}
	return id, nil
}

// Operation returns operation id.
func (s *Service) Operation(ctx context.Context, id int64) (*Operation, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	return s.load(ctx, s.pool, id)
}

// ClusterOperations returns up to limit (1..100) operations of cluster,
// newest first, older than operation before (0: from the newest): keyset
// pages on operation_cluster_idx.
func (s *Service) ClusterOperations(ctx context.Context, cluster, before int64, limit int) ([]*Operation, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	if limit < 1 || limit > 100 {
		return nil, fault.Field("first", "page size must be between 1 and 100")
	}
	if before <= 0 {
		before = 1<<63 - 1
	}
	rows, err := s.pool.Query(ctx, sqlClusterOperations, cluster, before, limit)
	if err != nil {
		return nil, fmt.Errorf("error loading operations of cluster %d: %w", cluster, err)
	}
	return collectOperations(rows, fmt.Sprintf("operations of cluster %d", cluster))
}

// OperationsByIDs returns the operations of ids that exist, by id (for
// dataloaders).
func (s *Service) OperationsByIDs(ctx context.Context, ids []int64) (map[int64]*Operation, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, sqlOperationsByIDs, ids)
	if err != nil {
		return nil, fmt.Errorf("error loading operations: %w", err)
	}
	ops, err := collectOperations(rows, "operations")
	if err != nil {
		return nil, err
	}
	out := make(map[int64]*Operation, len(ops))
	for _, op := range ops {
		out[op.ID] = op
	}
	return out, nil
}

func scanOperation(r pgx.Row, op *Operation) error {
	return r.Scan(&op.ID, &op.Kind, &op.ClusterID, &op.State, &op.Params, &op.RequestedBy,
		&op.Reason, &op.FailureBudget, &op.MaxOutOfServicePct, &op.CurrentStage, &op.RollingBack, &op.TasksTotal,
		&op.TasksSucceeded, &op.TasksFailed, &op.TasksSkipped, &op.Error, &op.CreatedAt, &op.StartedAt, &op.EndedAt, &op.UpdatedAt)
}

func collectOperations(rows pgx.Rows, what string) ([]*Operation, error) {
	ops, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*Operation, error) {
		op := &Operation{}
		return op, scanOperation(r, op)
	})
	if err != nil {
		return nil, fmt.Errorf("error loading %s: %w", what, err)
	}
	return ops, nil
}

// Progress returns the snapshot operationProgress sends: the operation, its
// stages with task counts, and its newest events.
func (s *Service) Progress(ctx context.Context, id int64) (*Progress, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	op, err := s.load(ctx, s.pool, id)
	if err != nil {
		return nil, err
	}
	pr := &Progress{Operation: op}
	stages, err := s.stagesOf(ctx, []int64{id})
	if err != nil {
		return nil, err
	}
	pr.Stages = stages[id]
	pr.Events, err = s.events(ctx, id, 0, ProgressEvents)
	return pr, err
}

// StagesByOperations returns the stages of each operation of ids, in order,
// with their task counts by state, in one statement: the request's loader
// gathers every operation a GraphQL request reads, so a list of operations
// selecting their stages costs one statement, not one per operation.
// Operations without stages (or unknown) are absent from the map.
func (s *Service) StagesByOperations(ctx context.Context, ids []int64) (map[int64][]*Stage, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	return s.stagesOf(ctx, ids)
}

func (s *Service) stagesOf(ctx context.Context, ids []int64) (map[int64][]*Stage, error) {
	rows, err := s.pool.Query(ctx, sqlStages, ids)
	if err != nil {
		return nil, fmt.Errorf("error loading stages of operations: %w", err)
	}
	defer rows.Close()
	out := make(map[int64][]*Stage, len(ids))
	for rows.Next() {
		var op int64
		st := &Stage{Tasks: map[TaskState]int{}}
		var states []string
		var counts []int32
		if err := rows.Scan(&op, &st.ID, &st.Position, &st.Name, &st.State, &st.Rollback, &st.StartedAt, &st.EndedAt, &states, &counts); err != nil {
			return nil, fmt.Errorf("error loading stages of operations: %w", err)
		}
		for i, k := range states {
			st.Tasks[TaskState(k)] = int(counts[i])
		}
		out[op] = append(out[op], st)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("error loading stages of operations: %w", err)
	}
	return out, nil
}

// Events returns up to limit (1..100) events of operation id older than
// before (0: from the newest), newest first.
func (s *Service) Events(ctx context.Context, id, before int64, limit int) ([]*Event, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	if limit < 1 || limit > 100 {
		return nil, fault.Field("first", "page size must be between 1 and 100")
	}
	return s.events(ctx, id, before, limit)
}

func (s *Service) events(ctx context.Context, id, before int64, limit int) ([]*Event, error) {
	if before <= 0 {
		before = 1<<63 - 1
	}
	rows, err := s.pool.Query(ctx, sqlEvents, id, before, limit)
	if err != nil {
		return nil, fmt.Errorf("error loading events of operation %d: %w", id, err)
	}
	evs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*Event, error) {
		e := &Event{}
		return e, r.Scan(&e.ID, &e.At, &e.Level, &e.Message, &e.TaskID)
	})
	if err != nil {
		return nil, fmt.Errorf("error loading events of operation %d: %w", id, err)
	}
	return evs, nil
}

// Tasks returns up to limit (1..100) tasks of operation id after task id
// after, in id order; state, when set, filters them. Callers below
// OPERATOR get WRITE_CONFIG parameters without the files' content hashes
// (redactConfigHashes).
func (s *Service) Tasks(ctx context.Context, id int64, state TaskState, after int64, limit int) ([]*TaskRow, error) {
	p, err := auth.Require(ctx)
	if err != nil {
		return nil, err
	}
	if limit < 1 || limit > 100 {
		return nil, fault.Field("first", "page size must be between 1 and 100")
	}
	rows, err := s.pool.Query(ctx, `SELECT t.id, t.stage_id, t.host_id, h.hostname, t.action, t.params, t.state, t.attempts,
		t.output, t.started_at, t.ended_at
		FROM operation_task t JOIN host h ON h.id = t.host_id
		WHERE t.operation_id = $1 AND ($2 = '' OR t.state = $2) AND t.id > $3
		ORDER BY t.id LIMIT $4`, id, string(state), after, limit)
	if err != nil {
		return nil, fmt.Errorf("error loading tasks of operation %d: %w", id, err)
	}
	ts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*TaskRow, error) {
		t := &TaskRow{}
		return t, r.Scan(&t.ID, &t.StageID, &t.HostID, &t.Hostname, &t.Action, &t.Params, &t.State, &t.Attempts,
			&t.Output, &t.StartedAt, &t.EndedAt)
	})
	if err != nil {
		return nil, fmt.Errorf("error loading tasks of operation %d: %w", id, err)
	}
	if !p.Is(auth.Operator) {
		for _, t := range ts {
			if t.Action == ActionWriteConfig {
				t.Params = redactConfigHashes(t.Params)
			}
		}
	}
	return ts, nil
}

func (s *Service) load(ctx context.Context, q db.DBTX, id int64) (*Operation, error) {
	op := &Operation{}
	err := scanOperation(q.QueryRow(ctx, sqlOperation, id), op)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fault.NotFoundf("operation %d not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("error loading operation %d: %w", id, err)
	}
	return op, nil
}

// control runs an operator action on operation id: the operation row is
// locked, fn checks its state and changes it, and the change, its event and
// its notification commit with the audit entry.
func (s *Service) control(ctx context.Context, action string, id int64, fn func(tx pgx.Tx, op *Operation, ev *events) error) (*Operation, error) {
	p, err := requireOperator(ctx, action)
	if err != nil {
		return nil, err
	}
	err = s.audit.Do(ctx, action, target(id), map[string]any{"id": id}, func(tx pgx.Tx) error {
		op, err := s.load(ctx, tx, id)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `SELECT 1 FROM operation WHERE id = $1 FOR UPDATE`, id); err != nil {
			return fmt.Errorf("error locking operation %d: %w", id, err)
		}
		// Reload under the lock: a job may have moved it meanwhile.
		if op, err = s.load(ctx, tx, id); err != nil {
			return err
		}
		var ev events
		if err := fn(tx, op, &ev); err != nil {
			return err
		}
		for i := range ev.messages {
			ev.messages[i] += " (by " + p.Login + ")"
		}
		if err := ev.insert(ctx, tx, id); err != nil {
			return err
		}
		return notify.Notify(ctx, tx, ChannelOperation, strconv.FormatInt(id, 10))
	})
	if err != nil {
		return nil, err
	}
	return s.load(ctx, s.pool, id)
}

func errState(op *Operation, what string, allowed ...State) error {
	return fault.New(fault.Conflict, "operation %d is %s: only an operation that is %v can be %s", op.ID, op.State, allowed, what)
}

func setState(ctx context.Context, tx pgx.Tx, id int64, s State) error {
	end := s == Succeeded || s == Failed || s == Aborted || s == RolledBack
	_, err := tx.Exec(ctx, `UPDATE operation SET state = $2, updated_at = now(),
		ended_at = CASE WHEN $3 THEN now() ELSE NULL END WHERE id = $1`, id, s, end)
	if isUniqueViolation(err, "operation_one_active_per_cluster") {
		return fault.New(fault.Conflict, "another operation now holds the cluster of operation %d", id)
	}
	if err != nil {
		return fmt.Errorf("error changing the state of operation %d: %w", id, err)
	}
	return nil
}

// Pause stops operation id from claiming more tasks; tasks already running
// finish and are recorded.
func (s *Service) Pause(ctx context.Context, id int64) (*Operation, error) {
	return s.control(ctx, "pauseOperation", id, func(tx pgx.Tx, op *Operation, ev *events) error {
		if op.State != Running && op.State != Pending {
			return errState(op, "paused", Pending, Running)
		}
		ev.add("INFO", "paused", nil)
		return setState(ctx, tx, id, Paused)
	})
}

// Resume continues a paused operation where it stopped.
func (s *Service) Resume(ctx context.Context, id int64) (*Operation, error) {
	return s.control(ctx, "resumeOperation", id, func(tx pgx.Tx, op *Operation, ev *events) error {
		if op.State != Paused {
			return errState(op, "resumed", Paused)
		}
		ev.add("INFO", "resumed", nil)
		return s.restart(ctx, tx, op)
	})
}

// restart sets op RUNNING again (PENDING if it never started) and enqueues the
// jobs of its stage with work.
func (s *Service) restart(ctx context.Context, tx pgx.Tx, op *Operation) error {
	st := Running
	if op.CurrentStage == 0 {
		st = Pending
	}
	if err := setState(ctx, tx, op.ID, st); err != nil {
		return err
	}
	if st == Pending {
		return s.engine.insertStageJobs(ctx, tx, op.ID, 0, 1)
	}
	return s.engine.advanceTx(ctx, tx, op.ID, true)
}

// Abort stops operation id for good: its pending tasks and stages become
// ABORTED; tasks already running finish and are recorded.
func (s *Service) Abort(ctx context.Context, id int64) (*Operation, error) {
	return s.control(ctx, "abortOperation", id, func(tx pgx.Tx, op *Operation, ev *events) error {
		if !op.State.Active() {
			return errState(op, "aborted", Pending, Running, Paused)
		}
		// Tasks a dead worker left behind (lease run out) are aborted too; live
		// ones finish and are recorded.
		if _, err := tx.Exec(ctx, `UPDATE operation_task SET state = 'ABORTED', ended_at = now(), claimed_by = NULL, lease_until = NULL
			WHERE operation_id = $1 AND (state = 'PENDING' OR (state = 'RUNNING' AND lease_until < now()))`, id); err != nil {
			return fmt.Errorf("error aborting tasks of operation %d: %w", id, err)
		}
		if _, err := tx.Exec(ctx, `UPDATE operation_stage SET state = 'ABORTED', ended_at = now()
			WHERE operation_id = $1 AND state IN ('PENDING', 'RUNNING')`, id); err != nil {
			return fmt.Errorf("error aborting stages of operation %d: %w", id, err)
		}
		ev.add("WARN", "aborted", nil)
		if err := setState(ctx, tx, id, Aborted); err != nil {
			return err
		}
		// The kind's finisher sees every way an operation ends: an aborted
		// SELF_HEAL returns the hosts it holds (DEGRADED unless every step of
		// a host succeeded) instead of leaving them in MAINTENANCE.
		if f := finishers[op.Kind]; f != nil {
			return f(ctx, tx, op.ID, op.ClusterID, op.Params, Aborted)
		}
		return nil
	})
}

// RetryFailedTasks runs the failed tasks of a paused or failed operation again
// (a new attempt each) and continues it from the first stage with work.
func (s *Service) RetryFailedTasks(ctx context.Context, id int64) (*Operation, error) {
	return s.control(ctx, "retryFailedTasks", id, func(tx pgx.Tx, op *Operation, ev *events) error {
		if op.State != Paused && op.State != Failed {
			return errState(op, "retried", Paused, Failed)
		}
		var plan retryPlan
		if f := retriers[op.Kind]; f != nil {
			var err error
			if plan, err = f(ctx, tx, op); err != nil {
				return err
			}
		}
		if plan.skip == nil {
			plan.skip = []int64{}
		}
		for _, why := range plan.notes {
			ev.add("WARN", why, nil)
		}
		rows, err := tx.Query(ctx, `SELECT DISTINCT host_id FROM operation_task
			WHERE operation_id = $1 AND state = 'FAILED' AND NOT (host_id = ANY($2)) ORDER BY host_id`, id, plan.skip)
		if err != nil {
			return fmt.Errorf("error loading failed tasks of operation %d: %w", id, err)
		}
		hosts, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return fmt.Errorf("error loading failed tasks of operation %d: %w", id, err)
		}
		if len(hosts) == 0 {
			msg := fmt.Sprintf("operation %d has no failed tasks to retry", id)
			if len(plan.notes) > 0 {
				msg += ": " + strings.Join(plan.notes, "; ")
			}
			return fault.New(fault.Invalid, "%s", msg)
		}
		// Hooks read the operation as it ended, before its tasks are reset.
		for _, hook := range s.retryHooks[op.Kind] {
			if err := hook(ctx, tx, op, hosts); err != nil {
				return err
			}
		}
		// Every task of a host run again from the start (a host its
		// operation let go of) is reset with its counter; then the failed
		// tasks of the other hosts retried.
		var succeeded, skipped int
		if err := tx.QueryRow(ctx, `WITH reset AS (
				SELECT id, state FROM operation_task WHERE operation_id = $1 AND host_id = ANY($2) AND state IN ('SUCCEEDED', 'SKIPPED')
			), done AS (
				UPDATE operation_task t SET state = 'PENDING', ended_at = NULL FROM reset WHERE t.id = reset.id
			)
			SELECT count(*) FILTER (WHERE state = 'SUCCEEDED'), count(*) FILTER (WHERE state = 'SKIPPED') FROM reset`,
			id, plan.again).Scan(&succeeded, &skipped); err != nil {
			return fmt.Errorf("error resetting tasks of operation %d: %w", id, err)
		}
		tag, err := tx.Exec(ctx, `UPDATE operation_task SET state = 'PENDING', ended_at = NULL
			WHERE operation_id = $1 AND state = 'FAILED' AND host_id = ANY($2)`, id, hosts)
		if err != nil {
			return fmt.Errorf("error resetting failed tasks of operation %d: %w", id, err)
		}
		n := tag.RowsAffected()
		if _, err := tx.Exec(ctx, `UPDATE operation SET tasks_failed = tasks_failed - $2, tasks_succeeded = tasks_succeeded - $3,
			tasks_skipped = tasks_skipped - $4, error = '' WHERE id = $1`, id, n, succeeded, skipped); err != nil {
			return fmt.Errorf("error resetting failed tasks of operation %d: %w", id, err)
		}
		ev.add("INFO", fmt.Sprintf("retrying %d failed task(s)", n), nil)
		if k := succeeded + skipped; k > 0 {
			ev.add("INFO", fmt.Sprintf("running %d finished task(s) of %d host(s) again from the start", k, len(plan.again)), nil)
		}
		return s.restart(ctx, tx, op)
	})
}

// retryPlan is how a retry treats an operation kind's hosts: hosts whose
// every task runs again (again), hosts whose failed tasks stay failed (skip),
// and why, for the operation's events.
type retryPlan struct {
	again, skip []int64
	notes       []string
}

// retriers plan the retries of kinds whose hosts may have left the operation
// when it ended (SELF_HEAL's finisher returns them).
var retriers = map[Kind]func(ctx context.Context, tx pgx.Tx, op *Operation) (retryPlan, error){}

// RetryHook is told, in the retry's transaction and before its tasks are
// reset, which hosts of operation op a retry runs again: a package keeping
// its own record of an operation's hosts (healing's attempts) records the
// retry with it. The operation is read as it ended.
type RetryHook func(ctx context.Context, tx pgx.Tx, op *Operation, hosts []int64) error

// OnRetry adds hook to the retries of operations of kind.
func (s *Service) OnRetry(kind Kind, hook RetryHook) {
	if s.retryHooks == nil {
		s.retryHooks = map[Kind][]RetryHook{}
	}
	s.retryHooks[kind] = append(s.retryHooks[kind], hook)
}

// Rollback undoes operation id with the inverse stages its kind's planner
// gives, appended to the operation, which ends ROLLED_BACK when they
// succeed. A running operation must be paused first; kinds without an
// inverse (RESTART) are refused with the planner's reason.
func (s *Service) Rollback(ctx context.Context, id int64) (*Operation, error) {
	return s.control(ctx, "rollbackOperation", id, func(tx pgx.Tx, op *Operation, ev *events) error {
		if op.State == Running || op.State == Pending || op.State == RolledBack || op.RollingBack {
			return errState(op, "rolled back", Paused, Failed, Aborted, Succeeded)
		}
		planner, ok := s.planners[op.Kind]
		if !ok {
			return fault.New(fault.Invalid, "operations of kind %s cannot be rolled back: no planner", op.Kind)
		}
		stages, err := planner.Inverse(ctx, tx, op)
		if err != nil {
			return err
		}
		if len(stages) == 0 {
			return fault.New(fault.Invalid, "operation %d has nothing to roll back", id)
		}
		var last int
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(position), 0) FROM operation_stage WHERE operation_id = $1`, id).Scan(&last); err != nil {
			return fmt.Errorf("error loading stages of operation %d: %w", id, err)
		}
		if _, err := tx.Exec(ctx, `UPDATE operation_task SET state = 'ABORTED', ended_at = now()
			WHERE operation_id = $1 AND state = 'PENDING'`, id); err != nil {
			return fmt.Errorf("error aborting tasks of operation %d: %w", id, err)
		}
		if _, err := tx.Exec(ctx, `UPDATE operation_stage SET state = 'ABORTED', ended_at = now()
			WHERE operation_id = $1 AND state IN ('PENDING', 'RUNNING')`, id); err != nil {
			return fmt.Errorf("error aborting stages of operation %d: %w", id, err)
		}
		if err := insertStages(ctx, tx, id, last, true, stages); err != nil {
			return err
		}
		n := 0
		for _, st := range stages {
			n += len(st.Tasks)
		}
		if _, err := tx.Exec(ctx, `UPDATE operation SET rolling_back = true, tasks_total = tasks_total + $2, current_stage = $3
			WHERE id = $1`, id, n, last); err != nil {
			return fmt.Errorf("error starting the rollback of operation %d: %w", id, err)
		}
		ev.add("WARN", fmt.Sprintf("rolling back: %d stage(s), %d task(s)", len(stages), n), nil)
		op.CurrentStage = last
		return s.restart(ctx, tx, op)
	})
}
