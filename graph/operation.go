package graph

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/teslaops/tesla/graph/model"
	"github.com/teslaops/tesla/internal/aquila"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/inventory"
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

// proposalModel maps a scale-out proposal.
func proposalModel(p *aquila.Proposal) *model.ScaleOutProposal {
	if p == nil {
		return nil
	}
	f := p.Figures
	return &model.ScaleOutProposal{ID: model.GlobalID(model.KindScaleOutProposal, p.ID), DBID: p.ID, ClusterID: p.ClusterID,
		OperationID: p.OperationID, State: model.ScaleOutProposalState(p.State), Hosts: p.Hosts, Reason: p.Reason,
		CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt, DecidedBy: p.DecidedBy, DecidedAt: p.DecidedAt, DecisionReason: p.DecisionReason,
		Figures: &model.ScaleOutFigures{Dimension: f.Dimension, Threshold: f.Threshold, Utilization: f.Utilization,
			ForecastPeak: f.ForecastPeak, CrossesAt: f.CrossesAt, HorizonHours: f.HorizonHours, HostsInService: f.HostsInService,
			Capacity: f.Capacity, HostCapacity: f.HostCapacity, CapacityUnit: f.CapacityUnit, HostsNeeded: f.HostsNeeded,
			Hosts: f.Hosts, Capped: f.Capped, CapacityAfter: f.CapacityAfter, ForecastAfter: f.ForecastAfter}}
}

// proposalPayload maps an accept or dismiss outcome.
func proposalPayload(p *aquila.Proposal, err error) (*model.ScaleOutProposalPayload, error) {
	if err == nil {
		return &model.ScaleOutProposalPayload{Proposal: proposalModel(p), UserErrors: []*model.UserError{}}, nil
	}
	ues, err := userErrors(err)
	return &model.ScaleOutProposalPayload{UserErrors: ues}, err
}

// spareModel maps a spare pool machine.
func spareModel(h *inventory.SpareHost) *model.SpareHost {
	return &model.SpareHost{ID: model.GlobalID(model.KindHost, h.ID), Hostname: h.Hostname, Pool: h.Pool, Region: h.Region,
		Rack: h.Rack, CPUCores: int(h.CPUCores), MemoryBytes: float64(h.MemoryBytes), DiskBytes: float64(h.DiskBytes),
		Model: h.Model, State: h.State, StateReason: h.StateReason, LastClusterID: h.LastCluster, Since: h.Since}
}

// policyModel maps a cluster's policy, quorums by service name.
func policyModel(p *inventory.ClusterPolicy) *model.ClusterPolicy {
	out := &model.ClusterPolicy{MinHosts: int(p.MinHosts), MinCores: int(p.MinCores), AutoscaleMode: model.AutoscaleMode(p.AutoscaleMode),
		AutoscaleMaxHosts: int(p.AutoscaleMaxHosts), Quorums: []*model.ServiceQuorum{}}
	for svc, n := range p.Quorums {
		out.Quorums = append(out.Quorums, &model.ServiceQuorum{Service: svc, MinHosts: int(n)})
	}
	slices.SortFunc(out.Quorums, func(a, b *model.ServiceQuorum) int { return strings.Compare(a.Service, b.Service) })
	return out
}

// decommissionInput converts decommissionHosts' input.
func decommissionInput(in model.DecommissionHostsInput) (aquila.DecommissionHostsInput, error) {
	hosts, err := parseIDs("input.hosts", in.Hosts, model.KindHost)
	if err != nil {
		return aquila.DecommissionHostsInput{}, err
	}
	out := aquila.DecommissionHostsInput{DecommissionParams: aquila.DecommissionParams{HostIDs: hosts, Pool: deref(in.Pool)},
		Reason: deref(in.Reason), FailureBudget: deref(in.FailureBudget), MaxOutOfServicePct: deref(in.MaxOutOfServicePercent)}
	if in.To != nil {
		out.To = string(*in.To)
	}
	if in.DrainTimeout != nil {
		out.DrainTimeoutSeconds = int(time.Duration(*in.DrainTimeout).Seconds())
	}
	return out, nil
}

// upgradeRequest converts an upgrade's input for one cluster.
func upgradeRequest(cluster string, stackVersion string, services []string, strategy *model.UpgradeStrategy, batch, maxFailures *int,
	pause *bool, maxOut *int, reason *string) (aquila.Request, error) {
	c, err := model.ParseID("input.cluster", cluster, model.KindCluster)
	if err != nil {
		return aquila.Request{}, err
	}
	v, err := model.ParseID("input.stackVersion", stackVersion, model.KindStackVersion)
	if err != nil {
		return aquila.Request{}, err
	}
	p := aquila.UpgradeParams{StackVersionID: v, Services: services, Strategy: "ROLLING", BatchPercent: deref(batch),
		MaxFailures: deref(maxFailures), PauseAfterFirstBatch: deref(pause)}
	if strategy != nil {
		p.Strategy = aquila.Strategy(*strategy)
	}
	params, err := json.Marshal(p)
	if err != nil {
		return aquila.Request{}, err
	}
	return aquila.Request{Kind: aquila.KindUpgrade, ClusterID: c, Params: params, MaxOutOfServicePct: deref(maxOut),
		FailureBudget: deref(maxFailures), Reason: deref(reason)}, nil
}

// upgradeFields maps the planner's parameter paths to the input's names.
var upgradeFields = strings.NewReplacer("params.stackVersionId", "input.stackVersion", "params.", "input.")

// upgradeError renames a refusal's field to the input's.
func upgradeError(err error) error {
	if fe, ok := fault.As(err); ok && fe.Field != "" {
		renamed := *fe
		renamed.Field = upgradeFields.Replace(fe.Field)
		return &renamed
	}
	return err
}

// checkModels maps pre-check results.
func checkModels(cs []aquila.Check) []*model.PreCheck {
	out := make([]*model.PreCheck, len(cs))
	for i, c := range cs {
		out[i] = &model.PreCheck{Name: c.Name, Status: model.PreCheckStatus(c.Status), Message: c.Message}
	}
	return out
}
