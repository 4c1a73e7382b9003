package aquila

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/teslaops/tesla/internal/agenttask"
)

// The steps of SELF_HEAL after DRAIN, on real hosts:
//
//	HEAL_REPAIR  RESTART_SERVICES: RESTART of every service of the host, start
//	             order; REBOOT: a REBOOT agent task (the agent runs its reboot
//	             command), then the agent's first heartbeat after it
//	HEAL_VERIFY  a fresh heartbeat, then CHECK of every service of the host
//	HEAL_RETURN  nothing on the machine: the finisher returns the host

// healRepair repairs the host as its HEAL_REPAIR says.
func (a *AgentExecutor) healRepair(ctx context.Context, t Task, addr string) (Result, error) {
	var p HealRepairParams
	if err := json.Unmarshal(t.Params, &p); err != nil {
		return Result{}, fmt.Errorf("task parameters are not valid: %w", err)
	}
	switch p.Repair {
	case RepairRestartServices:
		steps, err := a.hostServiceSteps(ctx, t, agenttask.ActionRestart)
		if err != nil {
			return Result{}, err
		}
		return a.runSteps(ctx, t, addr, steps)
	case RepairReboot:
		return a.reboot(ctx, t)
	}
	return Result{}, fmt.Errorf("task parameters are not valid: a host is repaired by %s or %s, not %q", RepairRestartServices, RepairReboot, p.Repair)
}

// reboot has the host's agent run its reboot command, then waits (RebootWait)
// for the agent to heartbeat after the agent task ended: the machine is back
// and its agent serves tasks again. The reboot may cut the agent task short:
// one the agent took and then stopped reporting (EXPIRED) is waited past
// like one it reported done. A heartbeat sent while the machine shuts down
// would count too; HEAL_VERIFY's checks, queued until the agent is back,
// catch a host that is not.
func (a *AgentExecutor) reboot(ctx context.Context, t Task) (Result, error) {
	spec := agenttask.Spec{Action: agenttask.ActionReboot, TimeoutSeconds: int(a.cfg.RebootWait.Seconds())}
	id, err := a.tasks.Dispatch(ctx, t.HostID, t.IdempotencyKey()+"/"+agenttask.ActionReboot, spec)
	if err != nil {
		return Result{}, fmt.Errorf("error dispatching REBOOT to %s: %w", t.Hostname, err)
	}
	r, err := a.tasks.Wait(ctx, id)
	if err != nil {
		return Result{}, err
	}
	out := describe(agenttask.ActionReboot, t.Hostname, "", r)
	cutShort := r.State == agenttask.StateExpired && r.ClaimedAt != nil
	if r.State != agenttask.StateSucceeded && !cutShort {
		return Result{Output: out}, fmt.Errorf("REBOOT of %s: %s %s", t.Hostname, r.State, r.Error)
	}
	back, err := a.waitHeartbeat(ctx, t, r.FinishedAt, a.cfg.RebootWait)
	if err != nil {
		return Result{Output: out}, err
	}
	return Result{Output: out + "\n" + back.Output}, nil
}

// healVerify checks the repaired host: its agent heartbeats (within
// AgentFresh, waited for up to AdmitWait: a rebooted machine may still be
// starting), then every service of it answers its health check. It fails
// naming the silence or the first service that does not answer.
func (a *AgentExecutor) healVerify(ctx context.Context, t Task, addr string) (Result, error) {
	alive, err := a.waitHeartbeat(ctx, t, nil, a.cfg.AdmitWait)
	if err != nil {
		return Result{}, err
	}
	steps, err := a.hostServiceSteps(ctx, t, agenttask.ActionCheck)
	if err != nil {
		return Result{Output: alive.Output}, err
	}
	r, err := a.runSteps(ctx, t, addr, steps)
	r.Output = strings.TrimSpace(alive.Output + "\n" + r.Output)
	return r, err
}
