package aquila

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/inventory"
)

// ScaleOutParams are a SCALE_OUT's parameters: Count machines taken from the
// pool, or the named Hosts. HostIDs and Pools are filled in by the planner
// (the machines taken and the pool each came from), so the rollback knows
// what to give back.
type ScaleOutParams struct {
	Count int      `json:"count,omitempty"`
	Hosts []string `json:"hosts,omitempty"`
	// ProposalID is the auto scale-out proposal the operation carries out.
	ProposalID int64    `json:"proposalId,omitempty"`
	HostIDs    []int64  `json:"hostIds,omitempty"`
	Pools      []string `json:"pools,omitempty"`
}

// ScaleOutPlanner plans SCALE_OUT: it takes machines from the spare pool
// (same region as the cluster, its hardware first) and moves them into the
// cluster in MAINTENANCE, in the transaction that stores the operation — so
// two scale-outs never take the same machine and a refused submit gives them
// back — then plans ADMIT, INSTALL, CONFIGURE, START, CHECK and ONLINE over
// them. The new hosts are not in service until ONLINE, so no step takes
// serving hosts out: the out-of-service share is not at stake.
type ScaleOutPlanner struct{}

// Kind is SCALE_OUT.
func (ScaleOutPlanner) Kind() Kind { return KindScaleOut }

// Plan picks and admits the machines and cuts the stages.
func (ScaleOutPlanner) Plan(ctx context.Context, q db.DBTX, req Request) (*Plan, error) {
	var p ScaleOutParams
	if len(req.Params) > 0 {
		if err := json.Unmarshal(req.Params, &p); err != nil {
			return nil, fault.Field("params", "SCALE_OUT parameters are not valid: %v", err)
		}
	}
	if (p.Count > 0) == (len(p.Hosts) > 0) {
		return nil, fault.Field("input.count", "give either a count of hosts or the hosts to add, not both")
	}
	policy, err := inventory.LoadClusterPolicy(ctx, q, req.ClusterID)
	if err != nil {
		return nil, err
	}
	n := max(p.Count, len(p.Hosts))
	if n < 1 || n > int(policy.AutoscaleMaxHosts) {
		return nil, fault.Field("input.count", "a scale-out of cluster %d adds 1 to %d hosts (its policy), not %d", req.ClusterID, policy.AutoscaleMaxHosts, n)
	}
	var status string
	if err := q.QueryRow(ctx, `SELECT status FROM cluster WHERE id = $1`, req.ClusterID).Scan(&status); err != nil {
		return nil, fmt.Errorf("error loading cluster %d: %w", req.ClusterID, err)
	}
	if status == "RETIRED" {
		return nil, fault.Field("input.cluster", "cluster %d is retired", req.ClusterID)
	}
	picked, err := inventory.PickSpareHosts(ctx, q, req.ClusterID, p.Count, p.Hosts)
	if err != nil {
		return nil, err
	}
	p.HostIDs, p.Pools = make([]int64, len(picked)), make([]string, len(picked))
	for i, h := range picked {
		p.HostIDs[i], p.Pools[i] = h.ID, h.Pool
	}
	if _, err := inventory.AdmitSpareHosts(ctx, q, req.ClusterID, p.HostIDs, "admitting: scale-out"); err != nil {
		return nil, err
	}
	params, _ := json.Marshal(p)
	plan := &Plan{Kind: KindScaleOut, ClusterID: req.ClusterID, Params: params, RequestedBy: req.RequestedBy,
		Reason: req.Reason, FailureBudget: req.FailureBudget, MaxOutOfServicePct: req.MaxOutOfServicePct}
	plan.Stages = hostStages("", p.HostIDs, nil, ActionAdmit, ActionInstall, ActionConfigure, ActionStart, ActionCheck, ActionOnline)
	return plan, nil
}

// Submitted makes the operation the holder of the machines Plan admitted
// (they were admitted before the operation had an id), so its tasks run on
// them while they are in MAINTENANCE.
func (ScaleOutPlanner) Submitted(ctx context.Context, tx pgx.Tx, plan *Plan, op int64) error {
	var p ScaleOutParams
	if err := json.Unmarshal(plan.Params, &p); err != nil {
		return fmt.Errorf("error decoding SCALE_OUT parameters: %w", err)
	}
	return inventory.SetHostsHeldBy(ctx, tx, op, p.HostIDs)
}

// Inverse decommissions the hosts the scale-out added that still serve the
// cluster, back to the pool each came from: DRAIN, STOP, REMOVE.
func (ScaleOutPlanner) Inverse(ctx context.Context, q db.DBTX, op *Operation) ([]PlanStage, error) {
	var p ScaleOutParams
	if err := json.Unmarshal(op.Params, &p); err != nil {
		return nil, fmt.Errorf("error decoding SCALE_OUT parameters of operation %d: %w", op.ID, err)
	}
	pools := map[int64]string{}
	for i, id := range p.HostIDs {
		if i < len(p.Pools) {
			pools[id] = p.Pools[i]
		}
	}
	rows, err := q.Query(ctx, `SELECT id FROM host WHERE id = ANY($1) AND cluster_id = $2 AND state <> 'DECOMMISSIONED' ORDER BY hostname`,
		p.HostIDs, op.ClusterID)
	if err != nil {
		return nil, fmt.Errorf("error loading hosts of operation %d: %w", op.ID, err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("error loading hosts of operation %d: %w", op.ID, err)
	}
	if len(ids) == 0 {
		return nil, fault.New(fault.Invalid, "none of the hosts operation %d added still serves cluster %d", op.ID, op.ClusterID)
	}
	remove := func(id int64) json.RawMessage {
		b, _ := json.Marshal(HostStepParams{To: ToPool, Pool: cmp.Or(pools[id], "default")})
		return b
	}
	return hostStages("undo: ", ids, map[string]func(int64) json.RawMessage{ActionRemove: remove},
		ActionDrain, ActionStop, ActionRemove), nil
}
