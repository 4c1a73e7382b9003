package aquila

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/internal/agenttask"
	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/inventory"
	"github.com/teslaops/tesla/internal/stack"
	"github.com/teslaops/tesla/internal/telemetry"
)

// The host steps of SCALE_OUT and DECOMMISSION on real hosts. The inventory
// bookkeeping of each step (holds, components, pool moves) stays with
// applyHostSteps; here is only the work on the machine:
//
//	ADMIT      the host's agent heartbeated recently (waited for, bounded)
//	INSTALL    DEPLOY of every service of the cluster's profile, start order
//	CONFIGURE  CONFIGURE of every service of the host, start order
//	START      START of every service of the host, start order
//	CHECK      CHECK of every service of the host
//	STOP       STOP of every service of the host, stop order
//	DRAIN      wait for the host's reported containers to reach 0, bounded
//	ONLINE     nothing on the machine; refused unless the host is ready
//	REMOVE     nothing on the machine

// ExecutorActor is the principal the agent executor reads the stacks as.
const ExecutorActor = "system:agent-executor"

// cachedProfile is a cluster's worker profile as an operation read it.
type cachedProfile struct {
	at    time.Time
	comps []inventory.ProfileComponent
}

// admit waits until the host's agent has heartbeated within AgentFresh, for
// at most AdmitWait: an agent that heartbeats is enrolled (its credential
// works, which a DECOMMISSIONED host's does not) and running, so its task
// queue will be served.
func (a *AgentExecutor) admit(ctx context.Context, t Task) (Result, error) {
	return a.waitHeartbeat(ctx, t, nil, a.cfg.AdmitWait)
}

// waitHeartbeat waits, for at most wait, until the host's agent has
// heartbeated within AgentFresh (and after after, when given: a rebooted
// machine's agent beating again).
func (a *AgentExecutor) waitHeartbeat(ctx context.Context, t Task, after *time.Time, wait time.Duration) (Result, error) {
	deadline := time.Now().Add(wait)
	for {
		var beat *time.Time
		var version string
		var now time.Time
		// The database's clock judges the beat it recorded.
		if err := a.pool.QueryRow(ctx, `SELECT agent_heartbeat_at, agent_version, now() FROM host WHERE id = $1`,
			t.HostID).Scan(&beat, &version, &now); err != nil {
			return Result{}, fmt.Errorf("error loading host %d: %w", t.HostID, err)
		}
		if beat != nil && now.Sub(*beat) <= a.cfg.AgentFresh && (after == nil || beat.After(*after)) {
			return Result{Output: fmt.Sprintf("agent %s of %s is alive: last heartbeat %s ago",
				cmp.Or(version, "(unknown version)"), t.Hostname, now.Sub(*beat).Round(time.Second))}, nil
		}
		if !time.Now().Before(deadline) {
			switch {
			case beat == nil:
				return Result{}, fmt.Errorf("the agent of %s has never reported (waited %s): enrol its agent (docs/agent.md) and retry the task",
					t.Hostname, wait)
			case after != nil && !beat.After(*after):
				return Result{}, fmt.Errorf("the agent of %s is silent since the reboot: no heartbeat after %s (waited %s)",
					t.Hostname, after.UTC().Format(time.RFC3339), wait)
			}
			return Result{}, fmt.Errorf("the agent of %s is not alive: its last heartbeat was %s ago, more than %s (waited %s)",
				t.Hostname, now.Sub(*beat).Round(time.Second), a.cfg.AgentFresh, wait)
		}
		if err := sleepCtx(ctx, min(a.cfg.Poll, time.Until(deadline))); err != nil {
			return Result{}, err
		}
	}
}

// drain waits for the work running on the host to leave: its latest sample's
// container count reaching 0, looked at every Poll, for at most the step's
// DrainTimeoutSeconds. A host with no recent sample, or one that does not
// report containers, has nothing known to wait for. At the time-out the step
// succeeds, saying how many containers were still running: the drain bounds
// the wait, it does not veto the decommission.
func (a *AgentExecutor) drain(ctx context.Context, t Task) (Result, error) {
	var p HostStepParams
	if len(t.Params) > 0 {
		if err := json.Unmarshal(t.Params, &p); err != nil {
			return Result{}, fmt.Errorf("task parameters are not valid: %w", err)
		}
	}
	timeout := time.Duration(cmp.Or(p.DrainTimeoutSeconds, DefaultDrainTimeoutSeconds)) * time.Second
	began := time.Now()
	deadline := began.Add(timeout)
	for {
		latest, err := telemetry.LatestByHost(ctx, a.pool, []int64{t.HostID}, time.Now().Add(-a.cfg.SampleFresh))
		if err != nil {
			return Result{}, err
		}
		s := latest[t.HostID]
		switch {
		case s == nil || s.Containers == nil:
			return Result{Output: fmt.Sprintf("%s reports no containers (no sample in the last %s says): nothing to wait for",
				t.Hostname, a.cfg.SampleFresh)}, nil
		case *s.Containers == 0:
			return Result{Output: fmt.Sprintf("%s drained: 0 containers at %s, after %s",
				t.Hostname, s.TS.UTC().Format(time.RFC3339), time.Since(began).Round(time.Second))}, nil
		case !time.Now().Before(deadline):
			return Result{Output: fmt.Sprintf("drain of %s timed out after %s with %d containers still running (at %s): going on",
				t.Hostname, timeout, *s.Containers, s.TS.UTC().Format(time.RFC3339))}, nil
		}
		if err := sleepCtx(ctx, min(a.cfg.Poll, time.Until(deadline))); err != nil {
			return Result{}, err
		}
	}
}

// online checks that the host is ready to serve before applyHostSteps brings
// it ONLINE (recorded with this task): every component of it STARTED, and
// some components at all when the cluster's profile has any. Under a failure
// budget above 0 a host whose INSTALL or START failed still reaches this
// step; refusing it keeps the host held in MAINTENANCE instead of serving
// half-installed.
func (a *AgentExecutor) online(ctx context.Context, t Task) (Result, error) {
	var total int
	var notStarted []string
	if err := a.pool.QueryRow(ctx, `SELECT count(*),
			coalesce(array_agg(DISTINCT service || ' ' || actual_state ORDER BY service || ' ' || actual_state)
				FILTER (WHERE actual_state <> 'STARTED'), '{}')
		FROM host_component WHERE host_id = $1`, t.HostID).Scan(&total, &notStarted); err != nil {
		return Result{}, fmt.Errorf("error loading components of %s: %w", t.Hostname, err)
	}
	if len(notStarted) > 0 {
		return Result{}, fmt.Errorf("%s is not ready to serve (%s): it stays held in MAINTENANCE", t.Hostname, strings.Join(notStarted, ", "))
	}
	if total == 0 {
		profile, err := a.profile(ctx, t)
		if err != nil {
			return Result{}, err
		}
		if len(profile) > 0 {
			return Result{}, fmt.Errorf("%s has none of the %d components of cluster %d's profile installed: it stays held in MAINTENANCE",
				t.Hostname, len(profile), t.ClusterID)
		}
	}
	return Result{Output: fmt.Sprintf("%s: %d components STARTED; ONLINE in cluster %d, no longer held (recorded with this task)",
		t.Hostname, total, t.ClusterID)}, nil
}

// profile is the cluster's worker profile for t's operation
// (inventory.ClusterProfile, what applyHostSteps records), read once per
// operation: a scan of the cluster's components, while the operation holds
// the cluster so that it does not change under it.
func (a *AgentExecutor) profile(ctx context.Context, t Task) ([]inventory.ProfileComponent, error) {
	now := time.Now()
	a.mu.Lock()
	for op, p := range a.profiles {
		if now.Sub(p.at) > a.cfg.ProfileTTL {
			delete(a.profiles, op)
		}
	}
	cached := a.profiles[t.OperationID]
	a.mu.Unlock()
	if cached != nil {
		return cached.comps, nil
	}
	comps, err := inventory.ClusterProfile(ctx, a.pool, t.ClusterID, t.OperationID)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	a.profiles[t.OperationID] = &cachedProfile{at: now, comps: comps}
	a.mu.Unlock()
	return comps, nil
}

// installSteps are the DEPLOYs of an INSTALL: every service of the cluster's
// profile at its version, in the stack's start order. The packages are
// resolved at each task, so one registered after a failure is found by the
// retry.
func (a *AgentExecutor) installSteps(ctx context.Context, t Task) ([]agentStep, error) {
	comps, err := a.profile(ctx, t)
	if err != nil {
		return nil, err
	}
	what := fmt.Sprintf("a service of cluster %d's profile", t.ClusterID)
	refs, err := serviceRefs(len(comps), func(i int) (string, string) { return comps[i].Service, comps[i].Version }, what)
	if err != nil {
		return nil, err
	}
	return a.ordered(ctx, agenttask.ActionDeploy, refs, what)
}

// hostServiceSteps are the agent tasks of action (CONFIGURE, START, STOP,
// CHECK, RESTART): one per service the host's components run, at the version
// it runs, STOP in the stack's stop order and the others in its start order.
func (a *AgentExecutor) hostServiceSteps(ctx context.Context, t Task, action string) ([]agentStep, error) {
	rows, err := a.pool.Query(ctx, `SELECT service, version FROM host_component WHERE host_id = $1 ORDER BY service, version`, t.HostID)
	if err != nil {
		return nil, fmt.Errorf("error loading components of %s: %w", t.Hostname, err)
	}
	type comp struct{ service, version string }
	var comps []comp
	var c comp
	if _, err := pgx.ForEachRow(rows, []any{&c.service, &c.version}, func() error { comps = append(comps, c); return nil }); err != nil {
		return nil, fmt.Errorf("error loading components of %s: %w", t.Hostname, err)
	}
	what := "a service of " + t.Hostname
	refs, err := serviceRefs(len(comps), func(i int) (string, string) { return comps[i].service, comps[i].version }, what)
	if err != nil {
		return nil, err
	}
	return a.ordered(ctx, action, refs, what)
}

// serviceRefs collapses components to their services, refusing a service at
// two versions (the agent keeps one current version of a service).
func serviceRefs(n int, at func(int) (string, string), what string) ([]stack.PackageRef, error) {
	seen := map[string]string{}
	var refs []stack.PackageRef
	for i := range n {
		svc, ver := at(i)
		if v, ok := seen[svc]; ok {
			if v != ver {
				return nil, fmt.Errorf("%s (%s) is at two versions, %s and %s; the agent runs one version of a service", svc, what, v, ver)
			}
			continue
		}
		seen[svc] = ver
		refs = append(refs, stack.PackageRef{Service: svc, Version: ver})
	}
	return refs, nil
}

// ordered resolves refs to their registered packages and orders them for
// action: STOP in the stack's stop order, the rest in its start order. A
// service without a registered package fails the task, named.
func (a *AgentExecutor) ordered(ctx context.Context, action string, refs []stack.PackageRef, what string) ([]agentStep, error) {
	if len(refs) == 0 {
		return nil, nil
	}
	rctx := auth.WithPrincipal(ctx, &auth.Principal{Login: ExecutorActor, Role: auth.Viewer})
	pkgs, err := a.stacks.PackagesByKey(rctx, refs)
	if err != nil {
		return nil, err
	}
	for i, p := range pkgs {
		if p == nil {
			return nil, fmt.Errorf("no package is registered for %s %s (%s): register it and retry the task",
				refs[i].Service, refs[i].Version, what)
		}
	}
	if action == agenttask.ActionStop {
		pkgs, err = stack.StopOrder(pkgs)
	} else {
		pkgs, err = stack.StartOrder(pkgs)
	}
	if err != nil {
		return nil, err
	}
	steps := make([]agentStep, len(pkgs))
	for i, p := range pkgs {
		steps[i] = agentStep{action: action, pkg: p.ID, svc: p.Service}
	}
	return steps, nil
}

// sleepCtx waits d, or returns ctx's error when it ends first.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(max(d, 0))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
