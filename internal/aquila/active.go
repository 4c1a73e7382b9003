package aquila

import (
	"context"
	"fmt"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/fault"
)

// activeColumns are an operation's columns in scanOperation's order.
const activeColumns = `id, kind, cluster_id, state, params, requested_by, reason, failure_budget, max_out_of_service_pct,
       current_stage, rolling_back, tasks_total, tasks_succeeded, tasks_failed, tasks_skipped, error,
       created_at, started_at, ended_at, updated_at`

// ActiveOperations returns up to limit (1..200) operations that hold their
// clusters now (PENDING, RUNNING or PAUSED), newest first: at most one a
// cluster, read by the partial unique index that enforces it.
func (s *Service) ActiveOperations(ctx context.Context, limit int) ([]*Operation, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	if limit < 1 || limit > 200 {
		return nil, fault.Field("first", "first must be between 1 and 200")
	}
	rows, err := s.pool.Query(ctx, `SELECT `+activeColumns+` FROM operation
		WHERE state IN ('PENDING', 'RUNNING', 'PAUSED') ORDER BY id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("error loading the active operations: %w", err)
	}
	return collectOperations(rows, "the active operations")
}

// ActiveByClusters returns the operation holding each of clusters, by
// cluster id, for those that have one (dataloaders).
func (s *Service) ActiveByClusters(ctx context.Context, clusters []int64) (map[int64]*Operation, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT `+activeColumns+` FROM operation
		WHERE cluster_id = ANY($1::bigint[]) AND state IN ('PENDING', 'RUNNING', 'PAUSED')`, clusters)
	if err != nil {
		return nil, fmt.Errorf("error loading the clusters' active operations: %w", err)
	}
	ops, err := collectOperations(rows, "the clusters' active operations")
	if err != nil {
		return nil, err
	}
	out := make(map[int64]*Operation, len(ops))
	for _, op := range ops {
		out[op.ClusterID] = op
	}
	return out, nil
}

// Action is something a person may do with an operation.
type Action string

// The actions, as the Service methods that do them.
const (
	ActionPause            Action = "PAUSE"
	ActionResume           Action = "RESUME"
	ActionAbort            Action = "ABORT"
	ActionRetryFailedTasks Action = "RETRY_FAILED_TASKS"
	ActionRollback         Action = "ROLLBACK"
)

// Actions says what the caller may do with op now: nothing below OPERATOR;
// for OPERATOR and ADMIN what op's state allows (the same rules Pause,
// Resume, Abort, RetryFailedTasks and Rollback apply), so that a page shows
// only the buttons that will work.
func (s *Service) Actions(ctx context.Context, op *Operation) []Action {
	p, _ := auth.Require(ctx)
	if op == nil || !p.Is(auth.Operator) {
		return []Action{}
	}
	out := []Action{}
	switch op.State {
	case Pending, Running:
		out = append(out, ActionPause, ActionAbort)
	case Paused:
		out = append(out, ActionResume, ActionAbort)
	}
	if (op.State == Paused || op.State == Failed) && op.TasksFailed > 0 {
		out = append(out, ActionRetryFailedTasks)
	}
	if _, ok := s.planners[op.Kind]; ok && op.Kind != KindRestart && !op.RollingBack {
		switch op.State {
		case Paused, Failed, Aborted, Succeeded:
			out = append(out, ActionRollback)
		}
	}
	return out
}
