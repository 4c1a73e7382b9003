package aquila

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/internal/inventory"
)

// The host-level steps of SCALE_OUT and DECOMMISSION. The executor does the
// work on the machine (install packages, drain the node manager…); the
// inventory bookkeeping each step implies — a host held in MAINTENANCE, its
// components, its move to the pool — is Tesla's own, so the engine applies it
// for every executor in the transaction recording the tasks (applyHostSteps),
// exactly once with their results.
const (
	// ActionAdmit prepares a machine admitted into the cluster (agent
	// enrolment); the move itself happened when the scale-out was planned.
	ActionAdmit = "ADMIT"
	// ActionInstall installs the cluster's worker components (host_component
	// rows desired STARTED at the cluster's versions).
	ActionInstall = "INSTALL"
	// ActionConfigure applies the cluster's configuration.
	ActionConfigure = "CONFIGURE"
	// ActionStart starts every component of the host.
	ActionStart = "START"
	// ActionCheck health-checks the host's components.
	ActionCheck = "CHECK"
	// ActionOnline admits the host to serve: ONLINE, no longer held.
	ActionOnline = "ONLINE"
	// ActionDrain stops new work reaching the host and waits for running work
	// (or the drain time-out): MAINTENANCE, held by the operation.
	ActionDrain = "DRAIN"
	// ActionStop stops every component of the host.
	ActionStop = "STOP"
	// ActionRemove takes the host out of the cluster: to the pool or retired.
	ActionRemove = "REMOVE"
)

// Where a decommission sends hosts.
const (
	ToPool   = "POOL"
	ToRetire = "RETIRE"
)

// HostStepParams are a host step's parameters.
type HostStepParams struct {
	// DrainTimeoutSeconds bounds a DRAIN's wait for running work.
	DrainTimeoutSeconds int `json:"drainTimeoutSeconds,omitempty"`
	// To is where REMOVE sends the host: POOL or RETIRE.
	To string `json:"to,omitempty"`
	// Pool names the pool a REMOVE to POOL returns the host to.
	Pool string `json:"pool,omitempty"`
}

type stepKey struct {
	action  string
	op      int64
	cluster int64
	to      string
	pool    string
}

// applyHostSteps writes the inventory effects of the batch's succeeded host
// steps: one statement per (action, operation, destination), whatever the
// number of hosts. Failed steps change nothing (a failed INSTALL leaves the
// host held, for a retry or a rollback).
func applyHostSteps(ctx context.Context, tx pgx.Tx, done []Done) error {
	groups := map[stepKey][]int64{}
	var order []stepKey
	for _, d := range done {
		if d.Err != nil {
			continue
		}
		switch d.Task.Action {
		case ActionInstall, ActionStart, ActionOnline, ActionDrain, ActionStop, ActionRemove:
		default:
			continue
		}
		k := stepKey{action: d.Task.Action, op: d.Task.OperationID, cluster: d.Task.ClusterID}
		if d.Task.Action == ActionRemove {
			var p HostStepParams
			_ = json.Unmarshal(d.Task.Params, &p)
			k.to, k.pool = p.To, p.Pool
		}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], d.Task.HostID)
	}
	now := time.Now()
	for _, k := range order {
		ids := groups[k]
		var err error
		switch k.action {
		case ActionInstall:
			_, err = inventory.InstallClusterProfile(ctx, tx, k.cluster, ids, now)
		case ActionStart:
			_, err = inventory.SetHostComponentsState(ctx, tx, ids, "STARTED", now)
		case ActionStop:
			_, err = inventory.SetHostComponentsState(ctx, tx, ids, "STOPPED", now)
		case ActionOnline:
			_, err = inventory.ReleaseHosts(ctx, tx, k.op, ids)
		case ActionDrain:
			_, err = inventory.HoldHosts(ctx, tx, k.op, ids, fmt.Sprintf("draining: operation %d", k.op))
		case ActionRemove:
			if k.to == ToRetire {
				_, err = inventory.RetireHeldHosts(ctx, tx, ids, fmt.Sprintf("retired by operation %d", k.op))
			} else {
				_, err = inventory.ReturnHostsToPool(ctx, tx, ids, k.pool, fmt.Sprintf("returned to spare pool %s by operation %d", k.pool, k.op))
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// hostStages makes one stage per action over the same hosts, each task with
// params (nil: none).
func hostStages(prefix string, ids []int64, params map[string]func(id int64) json.RawMessage, actions ...string) []PlanStage {
	var out []PlanStage
	for _, a := range actions {
		st := PlanStage{Name: prefix + strings.ToLower(a)}
		for _, id := range ids {
			t := PlanTask{HostID: id, Action: a}
			if f := params[a]; f != nil {
				t.Params = f(id)
			}
			st.Tasks = append(st.Tasks, t)
		}
		if len(st.Tasks) > 0 {
			out = append(out, st)
		}
	}
	return out
}
