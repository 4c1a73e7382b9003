package aquila

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/inventory"
)

// The host steps of SELF_HEAL, after DRAIN: repair, verify, return.
const (
	// ActionHealRepair repairs a drained host: its services restarted
	// (RESTART_SERVICES) or the machine rebooted through its agent (REBOOT).
	ActionHealRepair = "HEAL_REPAIR"
	// ActionHealVerify checks the repaired host: heartbeats, components.
	ActionHealVerify = "HEAL_VERIFY"
	// ActionHealReturn returns the host to service. Its inventory effect is
	// the finisher's, which sees every step of the host: only a host whose
	// steps all succeeded returns ONLINE.
	ActionHealReturn = "HEAL_RETURN"
)

// How a self-heal repairs a host.
const (
	RepairRestartServices = "RESTART_SERVICES"
	RepairReboot          = "REBOOT"
)

// SelfHealHost is one host of a SELF_HEAL and how it is repaired.
type SelfHealHost struct {
	HostID int64  `json:"hostId"`
	Repair string `json:"repair"`
	// Reason says why the host is healed (its signals), kept in the task.
	Reason string `json:"reason,omitempty"`
}

// SelfHealParams are a SELF_HEAL's parameters.
type SelfHealParams struct {
	Hosts []SelfHealHost `json:"hosts"`
	// DrainTimeoutSeconds bounds each DRAIN's wait (default 600).
	DrainTimeoutSeconds int `json:"drainTimeoutSeconds,omitempty"`
}

// HealRepairParams are a HEAL_REPAIR task's parameters.
type HealRepairParams struct {
	Repair string `json:"repair"`
	Reason string `json:"reason,omitempty"`
}

// MaxSelfHealHosts bounds one SELF_HEAL (the healing budgets keep it far
// lower).
const MaxSelfHealHosts = 1000

// SelfHealPlanner plans SELF_HEAL: several sick hosts of one cluster healed
// together, each DRAIN → HEAL_REPAIR → HEAL_VERIFY → HEAL_RETURN, one stage
// per step over all of them. One operation holds the cluster (the
// one-disruptive-operation rule stands), so the healing job gathers a
// cluster's hosts of one pass into one operation; the hosts are the job's
// choice within the cluster's healing budget, and the engine still refuses a
// stage taking more than the out-of-service share. The failure budget is the
// number of hosts: one host failing does not stop the others; the finisher
// decides per host (the engine runs a host's later steps even after one
// failed, and the finisher returns only hosts whose steps all succeeded
// ONLINE, the others DEGRADED).
type SelfHealPlanner struct{}

// Kind is SELF_HEAL.
func (SelfHealPlanner) Kind() Kind { return KindSelfHeal }

// Plan checks the hosts and cuts the four stages.
func (SelfHealPlanner) Plan(ctx context.Context, q db.DBTX, req Request) (*Plan, error) {
	var p SelfHealParams
	if len(req.Params) > 0 {
		if err := json.Unmarshal(req.Params, &p); err != nil {
			return nil, fault.Field("params", "SELF_HEAL parameters are not valid: %v", err)
		}
	}
	p.DrainTimeoutSeconds = cmp.Or(p.DrainTimeoutSeconds, DefaultDrainTimeoutSeconds)
	if len(p.Hosts) == 0 || len(p.Hosts) > MaxSelfHealHosts {
		return nil, fault.Field("params.hosts", "between 1 and %d hosts may be healed at once", MaxSelfHealHosts)
	}
	ids := make([]int64, len(p.Hosts))
	for i, h := range p.Hosts {
		if h.Repair != RepairRestartServices && h.Repair != RepairReboot {
			return nil, fault.Field(fmt.Sprintf("params.hosts.%d.repair", i), "a host is repaired by RESTART_SERVICES or REBOOT, not %q", h.Repair)
		}
		if slices.Contains(ids[:i], h.HostID) {
			return nil, fault.Field(fmt.Sprintf("params.hosts.%d.hostId", i), "host %d is listed twice", h.HostID)
		}
		ids[i] = h.HostID
	}
	rows, err := q.Query(ctx, `SELECT id, hostname, cluster_id, state, held_by_operation IS NOT NULL FROM host WHERE id = ANY($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("error loading hosts to heal: %w", err)
	}
	var id, cluster int64
	var name, state string
	var held bool
	seen := map[int64]bool{}
	_, err = pgx.ForEachRow(rows, []any{&id, &name, &cluster, &state, &held}, func() error {
		switch {
		case cluster != req.ClusterID:
			return fault.Field("params.hosts", "host %s is not in cluster %d", name, req.ClusterID)
		case state == "DECOMMISSIONED" || state == "REPAIRING" || state == "MAINTENANCE":
			return fault.Field("params.hosts", "host %s is %s: it is not healed", name, state)
		case held:
			return fault.Field("params.hosts", "host %s is held by an operation", name)
		}
		seen[id] = true
		return nil
	})
	if err != nil {
		if _, ok := fault.As(err); ok {
			return nil, err
		}
		return nil, fmt.Errorf("error loading hosts to heal: %w", err)
	}
	for _, id := range ids {
		if !seen[id] {
			return nil, fault.NotFoundf("host %d not found", id)
		}
	}
	drain, _ := json.Marshal(HostStepParams{DrainTimeoutSeconds: p.DrainTimeoutSeconds})
	repair := map[int64]json.RawMessage{}
	for _, h := range p.Hosts {
		repair[h.HostID], _ = json.Marshal(HealRepairParams{Repair: h.Repair, Reason: h.Reason})
	}
	params, _ := json.Marshal(p)
	plan := &Plan{Kind: KindSelfHeal, ClusterID: req.ClusterID, Params: params, RequestedBy: req.RequestedBy, Reason: req.Reason,
		FailureBudget: max(req.FailureBudget, len(ids)), MaxOutOfServicePct: req.MaxOutOfServicePct}
	plan.Stages = hostStages("", ids, map[string]func(int64) json.RawMessage{
		ActionDrain:      func(int64) json.RawMessage { return drain },
		ActionHealRepair: func(id int64) json.RawMessage { return repair[id] },
	}, ActionDrain, ActionHealRepair, ActionHealVerify, ActionHealReturn)
	for i, name := range []string{"drain", "repair", "verify", "return to service"} {
		plan.Stages[i].Name = name
	}
	return plan, nil
}

// Inverse refuses: a repair is not undone; abort a self-heal to stop it.
func (SelfHealPlanner) Inverse(context.Context, db.DBTX, *Operation) ([]PlanStage, error) {
	return nil, fault.New(fault.Invalid, "a SELF_HEAL cannot be rolled back: repairs are not undone; abort it to stop the remaining steps")
}

func init() {
	finishers[KindSelfHeal] = finishSelfHeal
	retriers[KindSelfHeal] = retrySelfHeal
}

// selfHealFailedReason is the state reason of a host a SELF_HEAL returned
// DEGRADED; a retry of the operation finds the hosts it let go of by it.
func selfHealFailedReason(op int64) string {
	return fmt.Sprintf("self-heal failed: operation %d", op)
}

// retrySelfHeal plans the retry of a SELF_HEAL. The finisher of the failed
// operation let go of its hosts (DEGRADED, back in service), so a retry of
// only their failed steps would repair a host that serves again, and the
// finisher of the retry — which returns the hosts the operation holds —
// would leave it DEGRADED even when the repair succeeded. A host the
// operation let go of, or whose drain failed, is therefore taken through all
// of its steps again: drained (held by the operation), repaired, verified and
// returned, exactly as the first time. A host that has since become someone
// else's (handed to a person, held by another operation, put in maintenance
// by an operator, healed since) keeps its failed steps failed, saying why.
func retrySelfHeal(ctx context.Context, tx pgx.Tx, op *Operation) (retryPlan, error) {
	rows, err := tx.Query(ctx, `SELECT h.id, h.hostname, h.state, h.state_reason, h.held_by_operation,
			bool_or(t.action = $2 AND t.state = 'SUCCEEDED')
		FROM operation_task t JOIN host h ON h.id = t.host_id
		WHERE t.operation_id = $1 AND t.host_id IN (SELECT host_id FROM operation_task WHERE operation_id = $1 AND state = 'FAILED')
		GROUP BY h.id ORDER BY h.id`, op.ID, ActionDrain)
	if err != nil {
		return retryPlan{}, fmt.Errorf("error loading hosts of operation %d: %w", op.ID, err)
	}
	var plan retryPlan
	var id int64
	var name, state, reason string
	var held *int64
	var drained bool
	_, err = pgx.ForEachRow(rows, []any{&id, &name, &state, &reason, &held, &drained}, func() error {
		switch {
		case held != nil && *held == op.ID:
			// Still held (a paused operation): its failed steps run again.
		case held == nil && state == "DEGRADED" && reason == selfHealFailedReason(op.ID),
			held == nil && !drained && (state == "ONLINE" || state == "DEGRADED" || state == "OFFLINE"):
			plan.again = append(plan.again, id)
		default:
			why := fmt.Sprintf("host %s is %s", name, state)
			if held != nil {
				why += fmt.Sprintf(", held by operation %d", *held)
			}
			if reason != "" {
				why += " (" + reason + ")"
			}
			plan.skip = append(plan.skip, id)
			plan.notes = append(plan.notes, why+": it is no longer this self-heal's, its failed steps are not retried")
		}
		return nil
	})
	if err != nil {
		return retryPlan{}, fmt.Errorf("error loading hosts of operation %d: %w", op.ID, err)
	}
	return plan, nil
}

// finishSelfHeal runs in the transaction that ends a SELF_HEAL: hosts whose
// steps all succeeded have their components desired STARTED recorded running
// and return ONLINE; the others leave the operation's hold DEGRADED, saying
// so, for the healing job to try again or hand them to a person.
func finishSelfHeal(ctx context.Context, tx pgx.Tx, op, _ int64, _ []byte, _ State) error {
	rows, err := tx.Query(ctx, `SELECT host_id, bool_and(state = 'SUCCEEDED') FROM operation_task WHERE operation_id = $1 GROUP BY host_id`, op)
	if err != nil {
		return fmt.Errorf("error loading tasks of operation %d: %w", op, err)
	}
	var healed, failed []int64
	var host int64
	var ok bool
	if _, err := pgx.ForEachRow(rows, []any{&host, &ok}, func() error {
		if ok {
			healed = append(healed, host)
		} else {
			failed = append(failed, host)
		}
		return nil
	}); err != nil {
		return fmt.Errorf("error loading tasks of operation %d: %w", op, err)
	}
	if len(healed) > 0 {
		if _, err := inventory.StartDesiredComponents(ctx, tx, healed, time.Now()); err != nil {
			return err
		}
		if _, err := inventory.ReleaseHostsAs(ctx, tx, op, healed, "ONLINE", ""); err != nil {
			return err
		}
	}
	if len(failed) > 0 {
		if _, err := inventory.ReleaseHostsAs(ctx, tx, op, failed, "DEGRADED", selfHealFailedReason(op)); err != nil {
			return err
		}
	}
	return nil
}

// SelfHealOutcome is how one host fared in a SELF_HEAL that ended.
type SelfHealOutcome struct {
	OperationID int64
	State       State
	HostID      int64
	// Healed: every step of the host succeeded.
	Healed bool
	// Failure is the first failed step's action and output, when not healed.
	Failure string
}

// SelfHealOutcomes returns, for the operations of ops that ended, how each of
// their hosts fared: one statement, for the healing job's pass.
func SelfHealOutcomes(ctx context.Context, q db.DBTX, ops []int64) ([]SelfHealOutcome, error) {
	rows, err := q.Query(ctx, `SELECT o.id, o.state, t.host_id, bool_and(t.state = 'SUCCEEDED'),
			coalesce((array_agg(t.action || ' ' || t.state || ': ' || t.output ORDER BY t.id) FILTER (WHERE t.state <> 'SUCCEEDED'))[1], '')
		FROM operation o JOIN operation_task t ON t.operation_id = o.id
		WHERE o.id = ANY($1) AND o.state NOT IN ('PENDING', 'RUNNING', 'PAUSED')
		GROUP BY o.id, o.state, t.host_id ORDER BY o.id, t.host_id`, ops)
	if err != nil {
		return nil, fmt.Errorf("error loading self-heal outcomes: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (SelfHealOutcome, error) {
		var o SelfHealOutcome
		err := r.Scan(&o.OperationID, &o.State, &o.HostID, &o.Healed, &o.Failure)
		return o, err
	})
	if err != nil {
		return nil, fmt.Errorf("error loading self-heal outcomes: %w", err)
	}
	return out, nil
}
