package graph

import (
	"context"
	"encoding/json"

	"github.com/teslaops/tesla/graph/model"
	"github.com/teslaops/tesla/internal/aquila"
)

// operationPayload maps a control mutation's outcome: the operation, or the
// refusal as a user error (a wrong state, a conflict) when it is one.
func operationPayload(op *aquila.Operation, err error) (*model.OperationPayload, error) {
	if err == nil {
		return &model.OperationPayload{Operation: model.FromOperation(op), UserErrors: []*model.UserError{}}, nil
	}
	ues, err := userErrors(err)
	return &model.OperationPayload{UserErrors: ues}, err
}

// controlOperation parses the input's id and runs one control method.
func (r *Resolver) controlOperation(ctx context.Context, in model.OperationIDInput, fn func(context.Context, int64) (*aquila.Operation, error)) (*model.OperationPayload, error) {
	id, err := model.ParseID("input.id", in.ID, model.KindOperation)
	if err != nil {
		return operationPayload(nil, err)
	}
	return operationPayload(fn(ctx, id))
}

// restartRequest converts restartCluster's input.
func restartRequest(in model.RestartClusterInput) (aquila.Request, error) {
	cluster, err := model.ParseID("input.cluster", in.Cluster, model.KindCluster)
	if err != nil {
		return aquila.Request{}, err
	}
	params, err := json.Marshal(aquila.RestartParams{Services: in.Services, BatchPercent: deref(in.BatchPercent)})
	if err != nil {
		return aquila.Request{}, err
	}
	return aquila.Request{Kind: aquila.KindRestart, ClusterID: cluster, Params: params, Reason: deref(in.Reason),
		FailureBudget: deref(in.FailureBudget), MaxOutOfServicePct: deref(in.MaxOutOfServicePercent)}, nil
}

// stageModel maps a stored stage with its task counts.
func stageModel(st *aquila.Stage) *model.OperationStage {
	out := &model.OperationStage{Position: st.Position, Name: st.Name, State: st.State, Rollback: st.Rollback,
		StartedAt: st.StartedAt, EndedAt: st.EndedAt,
		Pending: st.Tasks[aquila.TaskPending], Running: st.Tasks[aquila.TaskRunning], Succeeded: st.Tasks[aquila.TaskSucceeded],
		Failed: st.Tasks[aquila.TaskFailed], Skipped: st.Tasks[aquila.TaskSkipped], Aborted: st.Tasks[aquila.TaskAborted]}
	for _, n := range st.Tasks {
		out.Total += n
	}
	return out
}

// taskModel maps a stored task.
func taskModel(t *aquila.TaskRow) *model.OperationTask {
	params := model.JSON(t.Params)
	if len(params) == 0 {
		params = model.JSON(`{}`)
	}
	return &model.OperationTask{ID: model.GlobalID(model.KindOperationTask, t.ID), Hostname: t.Hostname, Action: t.Action,
		Params: params, State: model.OperationTaskState(t.State), Attempts: t.Attempts, Output: t.Output,
		StartedAt: t.StartedAt, EndedAt: t.EndedAt, HostDBID: t.HostID}
}

// keyAfter parses an opaque keyset cursor (a global id of kind) into the id
// the page starts after.
func keyAfter(after *string, kind string) (int64, error) {
	id, err := model.ParseOptionalID("after", after, kind)
	if err != nil || id == nil {
		return 0, err
	}
	return *id, nil
}
