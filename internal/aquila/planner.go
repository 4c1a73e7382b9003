package aquila

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/fault"
)

// Request is an operator's request for an operation, before planning.
type Request struct {
	Kind      Kind
	ClusterID int64
	// Params are the kind's typed parameters as JSON (RestartParams…).
	Params             json.RawMessage
	Reason             string
	FailureBudget      int
	MaxOutOfServicePct int
	// RequestedBy is filled in by the Service from the caller.
	RequestedBy string
}

// Planner plans the operations of one kind. The UPGRADE, SCALE_OUT and
// DECOMMISSION planners plug in through Service.RegisterPlanner.
type Planner interface {
	// Kind is the kind the planner plans.
	Kind() Kind
	// Plan turns a request into stages of host tasks, reading the inventory
	// through q (the transaction that will store the plan).
	Plan(ctx context.Context, q db.DBTX, req Request) (*Plan, error)
	// Inverse returns the stages that undo op (its state and params as
	// stored; q reads its tasks), or a BAD_USER_INPUT fault saying why op
	// cannot be rolled back.
	Inverse(ctx context.Context, q db.DBTX, op *Operation) ([]PlanStage, error)
}

// RestartParams are a RESTART's parameters.
type RestartParams struct {
	// Services to restart; empty means every service on the cluster's hosts.
	Services []string `json:"services,omitempty"`
	// BatchPercent is the share of the cluster's hosts restarted at once
	// (default 10), capped by the operation's out-of-service share.
	BatchPercent int `json:"batchPercent,omitempty"`
}

// ServiceParams are a host task's parameters when it acts on one service.
type ServiceParams struct {
	Service string `json:"service"`
	Version string `json:"version,omitempty"`
}

// ActionRestart restarts one service's components on a host.
const ActionRestart = "RESTART"

// ServiceOrder gives the order services are stopped in on a cluster (the
// stack's dependency order, dependents first); services it does not name
// follow in name order.
type ServiceOrder func(ctx context.Context, q db.DBTX, cluster int64) ([]string, error)

// RestartPlanner plans rolling restarts: one run of stages per service, in
// stop order, each stage a batch of BatchPercent of the cluster's hosts that
// run the service.
type RestartPlanner struct {
	// Order, when set, gives the services' stop order; otherwise name order.
	Order ServiceOrder
}

// Kind is RESTART.
func (RestartPlanner) Kind() Kind { return KindRestart }

// Plan reads the cluster's hosts and their services in one query and cuts the
// rolling batches. Hosts in MAINTENANCE keep a task, which the engine skips,
// and do not count toward a batch: they are out of service already by
// choice. DECOMMISSIONED hosts get no task.
func (rp RestartPlanner) Plan(ctx context.Context, q db.DBTX, req Request) (*Plan, error) {
	var p RestartParams
	if len(req.Params) > 0 {
		if err := json.Unmarshal(req.Params, &p); err != nil {
			return nil, fault.Field("params", "RESTART parameters are not valid: %v", err)
		}
	}
	p.BatchPercent = cmp.Or(p.BatchPercent, 10)
	if p.BatchPercent < 1 || p.BatchPercent > 100 {
		return nil, fault.Field("params.batchPercent", "the batch share must be between 1 and 100 percent")
	}
	maxPct := cmp.Or(req.MaxOutOfServicePct, DefaultMaxOutOfServicePct)
	var exists bool
	if err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM cluster WHERE id = $1)`, req.ClusterID).Scan(&exists); err != nil {
		return nil, fmt.Errorf("error loading cluster %d: %w", req.ClusterID, err)
	}
	if !exists {
		return nil, fault.NotFoundf("cluster %d not found", req.ClusterID)
	}
	rows, err := q.Query(ctx, `SELECT h.id, h.state, c.service
		FROM host h JOIN host_component c ON c.host_id = h.id
		WHERE h.cluster_id = $1 AND h.state <> 'DECOMMISSIONED'
		GROUP BY h.id, h.state, h.hostname, c.service
		ORDER BY c.service, h.hostname`, req.ClusterID)
	if err != nil {
		return nil, fmt.Errorf("error loading hosts of cluster %d: %w", req.ClusterID, err)
	}
	type hostRow struct {
		id          int64
		maintenance bool
	}
	byService := map[string][]hostRow{}
	all := map[int64]bool{}
	for rows.Next() {
		var h hostRow
		var state, svc string
		if err := rows.Scan(&h.id, &state, &svc); err != nil {
			rows.Close()
			return nil, fmt.Errorf("error loading hosts of cluster %d: %w", req.ClusterID, err)
		}
		h.maintenance = state == "MAINTENANCE"
		byService[svc] = append(byService[svc], h)
		all[h.id] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("error loading hosts of cluster %d: %w", req.ClusterID, err)
	}
	var total int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM host WHERE cluster_id = $1 AND state <> 'DECOMMISSIONED'`, req.ClusterID).Scan(&total); err != nil {
		return nil, fmt.Errorf("error counting hosts of cluster %d: %w", req.ClusterID, err)
	}
	services := p.Services
	if len(services) == 0 {
		for s := range byService {
			services = append(services, s)
		}
	}
	for _, s := range services {
		if len(byService[s]) == 0 {
			return nil, fault.Field("params.services", "no host of cluster %d runs service %q", req.ClusterID, s)
		}
	}
	services = rp.order(ctx, q, req.ClusterID, services)
	batch := max(total*min(p.BatchPercent, maxPct)/100, 1)

	params, _ := json.Marshal(p)
	plan := &Plan{Kind: KindRestart, ClusterID: req.ClusterID, Params: params, RequestedBy: req.RequestedBy,
		Reason: req.Reason, FailureBudget: req.FailureBudget, MaxOutOfServicePct: maxPct}
	for _, svc := range services {
		tp, _ := json.Marshal(ServiceParams{Service: svc})
		hosts := byService[svc]
		var stages []PlanStage
		var cur PlanStage
		inService := 0
		for _, h := range hosts {
			if !h.maintenance && inService == batch {
				stages = append(stages, cur)
				cur, inService = PlanStage{}, 0
			}
			cur.Tasks = append(cur.Tasks, PlanTask{HostID: h.id, Action: ActionRestart, Params: tp})
			if !h.maintenance {
				inService++
			}
		}
		stages = append(stages, cur)
		for i := range stages {
			stages[i].Name = fmt.Sprintf("restart %s %d/%d", svc, i+1, len(stages))
		}
		plan.Stages = append(plan.Stages, stages...)
	}
	return plan, nil
}

func (rp RestartPlanner) order(ctx context.Context, q db.DBTX, cluster int64, services []string) []string {
	slices.Sort(services)
	if rp.Order == nil {
		return services
	}
	known, err := rp.Order(ctx, q, cluster)
	if err != nil {
		// The stop order is a refinement; name order is safe.
		return services
	}
	rank := map[string]int{}
	for i, s := range known {
		rank[s] = i
	}
	slices.SortStableFunc(services, func(a, b string) int {
		ra, oka := rank[a]
		rb, okb := rank[b]
		switch {
		case oka && okb:
			return ra - rb
		case oka:
			return -1
		case okb:
			return 1
		}
		return 0
	})
	return services
}

// Inverse refuses: a restart cannot be undone, only stopped (abortOperation).
func (RestartPlanner) Inverse(context.Context, db.DBTX, *Operation) ([]PlanStage, error) {
	return nil, fault.New(fault.Invalid, "a RESTART cannot be rolled back: restarted services cannot be un-restarted; abort it to stop the remaining hosts")
}
