package aquila

import (
	"context"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/notify"
)

// Submit stores plan as a PENDING operation with its stages and tasks, and the
// River job that starts it, all in one transaction: tx when given (the
// caller's, e.g. the audited mutation's), else a transaction of its own. It
// refuses, with CONFLICT naming the holder, a second active operation on the
// cluster, and with BAD_USER_INPUT a stage that would take more of the cluster
// out of service than the plan allows or a task on a host of another cluster.
func (e *Engine) Submit(ctx context.Context, tx pgx.Tx, plan Plan) (int64, error) {
	if err := plan.validate(); err != nil {
		return 0, err
	}
	if tx == nil {
		var id int64
		err := db.InTx(ctx, e.pool, func(tx pgx.Tx) error {
			var err error
			id, err = e.Submit(ctx, tx, plan)
			return err
		})
		return id, err
	}
	if plan.MaxOutOfServicePct == 0 {
		plan.MaxOutOfServicePct = DefaultMaxOutOfServicePct
	}
	if err := checkDisruption(ctx, tx, &plan); err != nil {
		return 0, err
	}
	params := plan.Params
	if len(params) == 0 {
		params = []byte("{}")
	}
	sp, err := tx.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("error starting savepoint: %w", err)
	}
	var id int64
	err = sp.QueryRow(ctx, `INSERT INTO operation (kind, cluster_id, params, requested_by, reason, failure_budget,
		max_out_of_service_pct, tasks_total) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
		plan.Kind, plan.ClusterID, params, plan.RequestedBy, plan.Reason, plan.FailureBudget,
		plan.MaxOutOfServicePct, plan.TaskCount()).Scan(&id)
	if err != nil {
		_ = sp.Rollback(ctx)
		if isUniqueViolation(err, "operation_one_active_per_cluster") {
			return 0, activeConflict(ctx, tx, plan.ClusterID)
		}
		if ierr := db.Interpret(err, "operation"); ierr != err {
			return 0, ierr
		}
		return 0, fmt.Errorf("error storing operation: %w", err)
	}
	if err := sp.Commit(ctx); err != nil {
		return 0, fmt.Errorf("error releasing savepoint: %w", err)
	}
	if err := insertStages(ctx, tx, id, 0, false, plan.Stages); err != nil {
		return 0, err
	}
	var ev events
	ev.add("INFO", fmt.Sprintf("%s submitted by %s: %d stages, %d tasks", plan.Kind, plan.RequestedBy, len(plan.Stages), plan.TaskCount()), nil)
	if err := ev.insert(ctx, tx, id); err != nil {
		return 0, err
	}
	if err := e.insertStageJobs(ctx, tx, id, 0, 1); err != nil {
		return 0, err
	}
	if err := notify.Notify(ctx, tx, ChannelOperation, strconv.FormatInt(id, 10)); err != nil {
		return 0, err
	}
	return id, nil
}

func (p *Plan) validate() error {
	switch {
	case !p.Kind.Valid():
		return fault.Field("kind", "unknown operation kind %q", p.Kind)
	case p.ClusterID <= 0:
		return fault.Field("clusterId", "a cluster is required")
	case p.RequestedBy == "":
		return fault.Field("requestedBy", "who requests the operation is required")
	case p.FailureBudget < 0:
		return fault.Field("failureBudget", "the failure budget cannot be negative")
	case p.MaxOutOfServicePct < 0 || p.MaxOutOfServicePct > 100:
		return fault.Field("maxOutOfServicePercent", "the out-of-service share must be between 1 and 100 percent")
	case len(p.Stages) == 0:
		return fault.Field("stages", "the plan has no stages: nothing to do")
	}
	for i, s := range p.Stages {
		if len(s.Tasks) == 0 {
			return fault.Field("stages", "stage %d (%s) has no tasks", i+1, s.Name)
		}
	}
	return nil
}

// checkDisruption enforces the out-of-service share: in every stage the hosts
// not in MAINTENANCE (those are skipped) number at most the share of the
// cluster's hosts (DECOMMISSIONED ones aside), and at least one.
func checkDisruption(ctx context.Context, tx pgx.Tx, p *Plan) error {
	ids := make([]int64, 0, p.TaskCount())
	for _, s := range p.Stages {
		for _, t := range s.Tasks {
			ids = append(ids, t.HostID)
		}
	}
	var total int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM host WHERE cluster_id = $1 AND state <> 'DECOMMISSIONED'`, p.ClusterID).Scan(&total); err != nil {
		return fmt.Errorf("error counting hosts of cluster %d: %w", p.ClusterID, err)
	}
	rows, err := tx.Query(ctx, `SELECT id, cluster_id, state FROM host WHERE id = ANY($1)`, ids)
	if err != nil {
		return fmt.Errorf("error loading the plan's hosts: %w", err)
	}
	type hostInfo struct {
		cluster int64
		state   string
	}
	hosts := map[int64]hostInfo{}
	for rows.Next() {
		var id int64
		var h hostInfo
		if err := rows.Scan(&id, &h.cluster, &h.state); err != nil {
			rows.Close()
			return fmt.Errorf("error loading the plan's hosts: %w", err)
		}
		hosts[id] = h
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("error loading the plan's hosts: %w", err)
	}
	limit := max(total*p.MaxOutOfServicePct/100, 1)
	for i, s := range p.Stages {
		inService := map[int64]bool{}
		for _, t := range s.Tasks {
			h, ok := hosts[t.HostID]
			if !ok || h.cluster != p.ClusterID {
				return fault.Field("stages", "stage %d (%s): host %d is not in cluster %d", i+1, s.Name, t.HostID, p.ClusterID)
			}
			if h.state != "MAINTENANCE" {
				inService[t.HostID] = true
			}
		}
		if len(inService) > limit {
			return fault.Field("maxOutOfServicePercent", "stage %d (%s) takes %d hosts out of service; at most %d%% of the cluster's %d hosts (%d) may be",
				i+1, s.Name, len(inService), p.MaxOutOfServicePct, total, limit)
		}
	}
	return nil
}

// activeConflict names the operation holding cluster.
func activeConflict(ctx context.Context, q db.DBTX, cluster int64) error {
	var id int64
	var kind Kind
	var state State
	err := q.QueryRow(ctx, `SELECT id, kind, state FROM operation WHERE cluster_id = $1 AND state IN ('PENDING', 'RUNNING', 'PAUSED')`,
		cluster).Scan(&id, &kind, &state)
	if err != nil {
		// The holder finished in between: still a conflict for this attempt.
		return fault.New(fault.Conflict, "cluster %d already has an operation in progress", cluster)
	}
	return errActive(cluster, id, kind, state)
}

// insertStages appends stages (positions after `after`) and their tasks to
// operation op: stages in one statement, tasks through COPY.
func insertStages(ctx context.Context, tx pgx.Tx, op int64, after int, rollback bool, stages []PlanStage) error {
	names := make([]string, len(stages))
	pauses := make([]bool, len(stages))
	for i, s := range stages {
		names[i], pauses[i] = s.Name, s.PauseAfter
	}
	rows, err := tx.Query(ctx, `INSERT INTO operation_stage (operation_id, position, name, rollback, pause_after)
		SELECT $1, u.p + $3, u.n, $4, u.pa FROM unnest($2::text[], $5::boolean[]) WITH ORDINALITY AS u(n, pa, p)
		RETURNING id, position`, op, names, after, rollback, pauses)
	if err != nil {
		return fmt.Errorf("error storing stages of operation %d: %w", op, err)
	}
	stageIDs := make([]int64, len(stages))
	for rows.Next() {
		var id int64
		var pos int
		if err := rows.Scan(&id, &pos); err != nil {
			rows.Close()
			return fmt.Errorf("error storing stages of operation %d: %w", op, err)
		}
		stageIDs[pos-after-1] = id
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("error storing stages of operation %d: %w", op, err)
	}
	var src [][]any
	for i, s := range stages {
		for _, t := range s.Tasks {
			params := t.Params
			if len(params) == 0 {
				params = []byte("{}")
			}
			src = append(src, []any{op, stageIDs[i], t.HostID, t.Action, string(params)})
		}
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"operation_task"},
		[]string{"operation_id", "stage_id", "host_id", "action", "params"}, pgx.CopyFromRows(src)); err != nil {
		return fmt.Errorf("error storing tasks of operation %d: %w", op, err)
	}
	return nil
}
