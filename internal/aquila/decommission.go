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

// DecommissionParams are a DECOMMISSION's parameters.
type DecommissionParams struct {
	HostIDs []int64 `json:"hostIds"`
	// To is POOL (default: back to the spare pool) or RETIRE.
	To string `json:"to,omitempty"`
	// Pool is the pool hosts return to (default "default").
	Pool string `json:"pool,omitempty"`
	// DrainTimeoutSeconds bounds each DRAIN's wait for running work
	// (default 600).
	DrainTimeoutSeconds int `json:"drainTimeoutSeconds,omitempty"`
}

// DefaultDrainTimeoutSeconds is a drain's default time-out.
const DefaultDrainTimeoutSeconds = 600

// MaxDecommissionHosts bounds one decommission, as a page of hosts is bounded.
const MaxDecommissionHosts = 5000

// DecommissionPlanner plans DECOMMISSION: it refuses a removal that would
// leave the cluster under its minimum hosts or cores or a service under its
// quorum, then cuts the hosts into rolling batches of at most the
// out-of-service share, each batch DRAIN, STOP, REMOVE before the next
// starts. Hosts an operator put in MAINTENANCE keep tasks, which the engine
// skips (they stay as they are), and do not count toward a batch.
type DecommissionPlanner struct{}

// Kind is DECOMMISSION.
func (DecommissionPlanner) Kind() Kind { return KindDecommission }

// Plan checks the hosts and the cluster's limits and cuts the batches.
func (DecommissionPlanner) Plan(ctx context.Context, q db.DBTX, req Request) (*Plan, error) {
	var p DecommissionParams
	if len(req.Params) > 0 {
		if err := json.Unmarshal(req.Params, &p); err != nil {
			return nil, fault.Field("params", "DECOMMISSION parameters are not valid: %v", err)
		}
	}
	p.To = cmp.Or(p.To, ToPool)
	p.Pool = cmp.Or(p.Pool, "default")
	p.DrainTimeoutSeconds = cmp.Or(p.DrainTimeoutSeconds, DefaultDrainTimeoutSeconds)
	switch {
	case p.To != ToPool && p.To != ToRetire:
		return nil, fault.Field("input.to", "hosts go to POOL or RETIRE, not %q", p.To)
	case len(p.HostIDs) == 0 || len(p.HostIDs) > MaxDecommissionHosts:
		return nil, fault.Field("input.hostIds", "between 1 and %d hosts may be decommissioned at once", MaxDecommissionHosts)
	case p.DrainTimeoutSeconds < 0:
		return nil, fault.Field("input.drainTimeoutSeconds", "the drain time-out cannot be negative")
	}
	maxPct := cmp.Or(req.MaxOutOfServicePct, DefaultMaxOutOfServicePct)
	rows, err := q.Query(ctx, `SELECT id, hostname, cluster_id, state FROM host WHERE id = ANY($1) ORDER BY hostname`, p.HostIDs)
	if err != nil {
		return nil, fmt.Errorf("error loading hosts to decommission: %w", err)
	}
	type hostRow struct {
		id          int64
		name        string
		cluster     int64
		maintenance bool
	}
	var hosts []hostRow
	var h hostRow
	var state string
	seen := map[int64]bool{}
	_, err = pgx.ForEachRow(rows, []any{&h.id, &h.name, &h.cluster, &state}, func() error {
		switch {
		case h.cluster != req.ClusterID:
			return fault.Field("input.hostIds", "host %s is not in cluster %d", h.name, req.ClusterID)
		case state == "DECOMMISSIONED":
			return fault.Field("input.hostIds", "host %s is already DECOMMISSIONED", h.name)
		}
		h.maintenance = state == "MAINTENANCE"
		seen[h.id] = true
		hosts = append(hosts, h)
		return nil
	})
	if err != nil {
		if _, ok := fault.As(err); ok {
			return nil, err
		}
		return nil, fmt.Errorf("error loading hosts to decommission: %w", err)
	}
	for _, id := range p.HostIDs {
		if !seen[id] {
			return nil, fault.NotFoundf("host %d not found", id)
		}
	}
	if err := inventory.CheckRemoval(ctx, q, req.ClusterID, p.HostIDs); err != nil {
		return nil, err
	}
	var total int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM host WHERE cluster_id = $1 AND state <> 'DECOMMISSIONED'`, req.ClusterID).Scan(&total); err != nil {
		return nil, fmt.Errorf("error counting hosts of cluster %d: %w", req.ClusterID, err)
	}
	batch := max(total*maxPct/100, 1)
	var batches [][]int64
	var cur []int64
	inService := 0
	for _, h := range hosts {
		if !h.maintenance && inService == batch {
			batches, cur, inService = append(batches, cur), nil, 0
		}
		cur = append(cur, h.id)
		if !h.maintenance {
			inService++
		}
	}
	batches = append(batches, cur)

	drain, _ := json.Marshal(HostStepParams{DrainTimeoutSeconds: p.DrainTimeoutSeconds})
	remove, _ := json.Marshal(HostStepParams{To: p.To, Pool: p.Pool})
	params, _ := json.Marshal(p)
	plan := &Plan{Kind: KindDecommission, ClusterID: req.ClusterID, Params: params, RequestedBy: req.RequestedBy,
		Reason: req.Reason, FailureBudget: req.FailureBudget, MaxOutOfServicePct: maxPct}
	for i, b := range batches {
		plan.Stages = append(plan.Stages, hostStages(fmt.Sprintf("batch %d/%d: ", i+1, len(batches)), b,
			map[string]func(int64) json.RawMessage{
				ActionDrain:  func(int64) json.RawMessage { return drain },
				ActionRemove: func(int64) json.RawMessage { return remove },
			}, ActionDrain, ActionStop, ActionRemove)...)
	}
	return plan, nil
}

// Inverse brings the hosts back: those the decommission returned to the pool
// and still there are admitted again (INSTALL, CONFIGURE), and with those it
// stopped but did not remove yet they are started, checked and put ONLINE.
// Retired hosts, and pool machines another scale-out took meanwhile, stay
// where they are.
func (DecommissionPlanner) Inverse(ctx context.Context, q db.DBTX, op *Operation) ([]PlanStage, error) {
	var p DecommissionParams
	if err := json.Unmarshal(op.Params, &p); err != nil {
		return nil, fmt.Errorf("error decoding DECOMMISSION parameters of operation %d: %w", op.ID, err)
	}
	rows, err := q.Query(ctx, `SELECT id FROM spare_host WHERE id = ANY($1) AND last_cluster_id = $2 AND state = 'READY' ORDER BY hostname FOR UPDATE`,
		p.HostIDs, op.ClusterID)
	if err != nil {
		return nil, fmt.Errorf("error loading pool hosts of operation %d: %w", op.ID, err)
	}
	inPool, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("error loading pool hosts of operation %d: %w", op.ID, err)
	}
	if len(inPool) > 0 {
		if _, err := inventory.AdmitSpareHosts(ctx, q, op.ClusterID, inPool, fmt.Sprintf("re-admitting: rollback of operation %d", op.ID)); err != nil {
			return nil, err
		}
		if err := inventory.SetHostsHeldBy(ctx, q, op.ID, inPool); err != nil {
			return nil, err
		}
	}
	rows, err = q.Query(ctx, `SELECT id FROM host WHERE id = ANY($1) AND cluster_id = $2 AND held_by_operation = $3 ORDER BY hostname`,
		p.HostIDs, op.ClusterID, op.ID)
	if err != nil {
		return nil, fmt.Errorf("error loading held hosts of operation %d: %w", op.ID, err)
	}
	held, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("error loading held hosts of operation %d: %w", op.ID, err)
	}
	if len(held) == 0 {
		return nil, fault.New(fault.Invalid, "none of the hosts of operation %d can come back: retired, or taken from the pool by another cluster", op.ID)
	}
	stages := hostStages("undo: ", inPool, nil, ActionInstall, ActionConfigure)
	return append(stages, hostStages("undo: ", held, nil, ActionStart, ActionCheck, ActionOnline)...), nil
}

// DecommissionHostsInput asks to decommission hosts of one cluster.
type DecommissionHostsInput struct {
	ClusterID int64 `json:"clusterId"`
	DecommissionParams
	Reason             string `json:"reason"`
	FailureBudget      int    `json:"failureBudget"`
	MaxOutOfServicePct int    `json:"maxOutOfServicePercent"`
}

// DecommissionHosts submits a DECOMMISSION of in.HostIDs (OPERATOR, audited
// as startOperation): drained, stopped and sent to the pool or retired in
// rolling batches, refused when it would break the cluster's minimum
// capacity or a service's quorum.
//
// ClusterID may be 0: the hosts' cluster is taken (they must share one).
func (s *Service) DecommissionHosts(ctx context.Context, in DecommissionHostsInput) (*Operation, error) {
	if in.ClusterID == 0 && len(in.HostIDs) > 0 {
		if _, err := requireOperator(ctx, "starting an operation"); err != nil {
			return nil, err
		}
		var clusters []int64
		if err := s.pool.QueryRow(ctx, `SELECT coalesce(array_agg(DISTINCT cluster_id), '{}') FROM host WHERE id = ANY($1)`,
			in.HostIDs).Scan(&clusters); err != nil {
			return nil, fmt.Errorf("error loading clusters of hosts: %w", err)
		}
		switch len(clusters) {
		case 0:
			return nil, fault.NotFoundf("hosts not found")
		case 1:
			in.ClusterID = clusters[0]
		default:
			return nil, fault.Field("input.hostIds", "the hosts belong to %d clusters; a decommission works on one", len(clusters))
		}
	}
	params, _ := json.Marshal(in.DecommissionParams)
	return s.Submit(ctx, Request{Kind: KindDecommission, ClusterID: in.ClusterID, Params: params, Reason: in.Reason,
		FailureBudget: in.FailureBudget, MaxOutOfServicePct: in.MaxOutOfServicePct})
}

// ScaleOutInput asks to add hosts from the pool to a cluster: Count of them,
// or the named Hosts, or the pool machines SpareHostIDs (spare_host ids,
// which are the ids the hosts keep).
type ScaleOutInput struct {
	ClusterID          int64    `json:"clusterId"`
	Count              int      `json:"count"`
	Hosts              []string `json:"hosts"`
	SpareHostIDs       []int64  `json:"spareHostIds"`
	Reason             string   `json:"reason"`
	FailureBudget      int      `json:"failureBudget"`
	MaxOutOfServicePct int      `json:"maxOutOfServicePercent"`
}

// ScaleOutCluster submits a SCALE_OUT (OPERATOR, audited as
// startOperation).
func (s *Service) ScaleOutCluster(ctx context.Context, in ScaleOutInput) (*Operation, error) {
	if len(in.SpareHostIDs) > 0 {
		if _, err := requireOperator(ctx, "starting an operation"); err != nil {
			return nil, err
		}
		var names []string
		if err := s.pool.QueryRow(ctx, `SELECT coalesce(array_agg(hostname ORDER BY hostname), '{}') FROM spare_host WHERE id = ANY($1)`,
			in.SpareHostIDs).Scan(&names); err != nil {
			return nil, fmt.Errorf("error loading spare hosts: %w", err)
		}
		if len(names) < len(in.SpareHostIDs) {
			return nil, fault.Field("input.hosts", "%d of the %d hosts are not in the spare pool", len(in.SpareHostIDs)-len(names), len(in.SpareHostIDs))
		}
		in.Hosts = append(in.Hosts, names...)
	}
	params, _ := json.Marshal(ScaleOutParams{Count: in.Count, Hosts: in.Hosts})
	return s.Submit(ctx, Request{Kind: KindScaleOut, ClusterID: in.ClusterID, Params: params, Reason: in.Reason,
		FailureBudget: in.FailureBudget, MaxOutOfServicePct: in.MaxOutOfServicePct})
}

// DecommissionHost retires one host through a DECOMMISSION operation: what
// inventory's SetHostState(DECOMMISSIONED) does once the server wires the
// operation service in (inventory.Decommissioner). A host already
// DECOMMISSIONED is left as it is.
func (s *Service) DecommissionHost(ctx context.Context, hostID int64, reason string) error {
	if _, err := requireOperator(ctx, "decommissioning a host"); err != nil {
		return err
	}
	var cluster int64
	var state string
	err := s.pool.QueryRow(ctx, `SELECT cluster_id, state FROM host WHERE id = $1`, hostID).Scan(&cluster, &state)
	if err != nil {
		return db.Interpret(err, "host")
	}
	if state == "DECOMMISSIONED" {
		return nil
	}
	_, err = s.DecommissionHosts(ctx, DecommissionHostsInput{ClusterID: cluster, Reason: reason,
		DecommissionParams: DecommissionParams{HostIDs: []int64{hostID}, To: ToRetire}})
	return err
}
