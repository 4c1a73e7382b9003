package aquila

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/teslaops/tesla/internal/agentapi"
	"github.com/teslaops/tesla/internal/agenttask"
	"github.com/teslaops/tesla/internal/inventory"
	"github.com/teslaops/tesla/internal/stack"
)

// AgentExecutor runs operation tasks on real hosts through their agents'
// task queue (internal/agentapi): an UPGRADE task becomes one DEPLOY per
// service, in the task's order; STOP_SERVICE and RESTART one agent task each;
// the host steps of SCALE_OUT and DECOMMISSION (hoststeps.go) one agent task
// per service of the host or of the cluster's profile, in the stack's start
// or stop order (agent_hoststeps.go); CONFIG_APPLY's WRITE_CONFIG one
// write-only CONFIGURE of the host's effective files (agent_config.go); the
// repair and verify steps of SELF_HEAL a RESTART per service or a REBOOT, and
// a CHECK per service after a fresh heartbeat (agent_heal.go). Every agent
// task is dispatched with a key derived from the operation task's
// idempotency key, so a task re-sent after
// a crash finds the agent task it dispatched before and waits for it instead
// of deploying twice. As an Applier it records the new versions and states in
// host_component.
type AgentExecutor struct {
	pool   *pgxpool.Pool
	tasks  *agentapi.Tasks
	stacks *stack.Service
	cfg    AgentConfig
	mu     sync.Mutex
	// pkgs caches packages by id: they are immutable once registered.
	pkgs map[int64]*agentPackage
	// profiles caches the cluster profile an operation's INSTALL and ONLINE
	// tasks read, by operation: the operation holds the cluster, so it does
	// not change under it, and one read serves all its hosts.
	profiles map[int64]*cachedProfile
}

// AgentConfig shapes the agent executor's host steps.
type AgentConfig struct {
	// AdmitWait bounds how long ADMIT waits for the host's agent to show life
	// (default 2m): a machine's agent may enrol just after the machine was
	// admitted.
	AdmitWait time.Duration
	// AgentFresh is how recent the agent's last heartbeat must be for ADMIT
	// (default 1m: four beats at agentapi's 15 s).
	AgentFresh time.Duration
	// SampleFresh is how recent a host's latest sample must be for DRAIN to
	// trust its container count (default 5m).
	SampleFresh time.Duration
	// Poll is how often ADMIT and DRAIN look again (default 2s).
	Poll time.Duration
	// ProfileTTL is how long an operation's cluster profile is reused
	// (default 10m).
	ProfileTTL time.Duration
	// RebootWait bounds a self-heal's REBOOT: the agent task, and then the
	// wait for the agent's first heartbeat after it (default 15m: a server's
	// firmware alone may take minutes).
	RebootWait time.Duration
}

func (c AgentConfig) withDefaults() AgentConfig {
	c.AdmitWait = cmp.Or(c.AdmitWait, 2*time.Minute)
	c.AgentFresh = cmp.Or(c.AgentFresh, time.Minute)
	c.SampleFresh = cmp.Or(c.SampleFresh, 5*time.Minute)
	c.Poll = cmp.Or(c.Poll, 2*time.Second)
	c.ProfileTTL = cmp.Or(c.ProfileTTL, 10*time.Minute)
	c.RebootWait = cmp.Or(c.RebootWait, 15*time.Minute)
	return c
}

// NewAgentExecutor returns an executor dispatching through tasks and reading
// packages and hosts from pool.
func NewAgentExecutor(pool *pgxpool.Pool, tasks *agentapi.Tasks, cfg AgentConfig) *AgentExecutor {
	return &AgentExecutor{pool: pool, tasks: tasks, stacks: stack.NewService(pool, nil), cfg: cfg.withDefaults(),
		pkgs: map[int64]*agentPackage{}, profiles: map[int64]*cachedProfile{}}
}

// agentTemplate is the part of service_package.operations ("agent") that says
// how an agent runs the package: strings may hold {service}, {version},
// {hostname} and {ip} (the host's address: its ip, else its hostname).
//
//	{"agent": {"process": {"command": ["bin/server"], "stop_timeout_seconds": 10},
//	           "config": [{"path": "config/addr", "content": "{ip}:8080\n"}],
//	           "health": {"kind": "HTTP", "url": "http://{ip}:8080/version", "expect": "{version}"}}}
//
// Without "health", the package's typed health check is used (HTTP ":port/path"
// and TCP ":port" on the host's address; COMMAND split on spaces).
type agentTemplate struct {
	Process        *agenttask.Process     `json:"process,omitempty"`
	Unit           string                 `json:"unit,omitempty"`
	Config         []agenttask.File       `json:"config,omitempty"`
	Health         *agenttask.HealthCheck `json:"health,omitempty"`
	TimeoutSeconds int                    `json:"timeout_seconds,omitempty"`
}

type agentPackage struct {
	service, version         string
	checksum, kind, uri, ref string
	healthKind, healthTarget *string
	healthTimeoutMS          *int
	template                 json.RawMessage
}

func (a *AgentExecutor) pkg(ctx context.Context, id int64) (*agentPackage, error) {
	a.mu.Lock()
	p := a.pkgs[id]
	a.mu.Unlock()
	if p != nil {
		return p, nil
	}
	p = &agentPackage{}
	var ops []byte
	err := a.pool.QueryRow(ctx, `SELECT service, version, checksum, source_kind, source_uri, source_ref,
			health_kind, health_target, health_timeout_ms, coalesce(operations -> 'agent', '{}')
		FROM service_package WHERE id = $1`, id).Scan(&p.service, &p.version, &p.checksum, &p.kind, &p.uri, &p.ref,
		&p.healthKind, &p.healthTarget, &p.healthTimeoutMS, &ops)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("package %d is not registered", id)
	}
	if err != nil {
		return nil, fmt.Errorf("error loading package %d: %w", id, err)
	}
	p.template = ops
	a.mu.Lock()
	a.pkgs[id] = p
	a.mu.Unlock()
	return p, nil
}

// spec builds the agent task of action for package p on a host.
func (p *agentPackage) spec(action, hostname, addr string) (agenttask.Spec, error) {
	raw := string(p.template)
	for k, v := range map[string]string{"service": p.service, "version": p.version, "hostname": hostname, "ip": addr} {
		esc, _ := json.Marshal(v)
		raw = strings.ReplaceAll(raw, "{"+k+"}", string(esc[1:len(esc)-1]))
	}
	var t agentTemplate
	if err := json.Unmarshal([]byte(raw), &t); err != nil {
		return agenttask.Spec{}, fmt.Errorf("package %s %s: its agent template is not valid: %w", p.service, p.version, err)
	}
	s := agenttask.Spec{Action: action, Service: p.service, Version: p.version, Process: t.Process, Unit: t.Unit,
		TimeoutSeconds: t.TimeoutSeconds}
	if action == agenttask.ActionStop {
		s.Version = ""
		return s, nil
	}
	s.Health = t.Health
	if s.Health == nil && p.healthKind != nil && p.healthTarget != nil {
		h := &agenttask.HealthCheck{Kind: *p.healthKind}
		target := *p.healthTarget
		if strings.HasPrefix(target, ":") {
			target = addr + target
		}
		switch *p.healthKind {
		case agenttask.HealthHTTP:
			if !strings.Contains(target, "://") {
				target = "http://" + target
			}
			h.URL = target
		case agenttask.HealthTCP:
			h.Address = target
		case agenttask.HealthCommand:
			h.Command = strings.Fields(target)
		}
		if p.healthTimeoutMS != nil {
			h.TimeoutMS = *p.healthTimeoutMS
		}
		s.Health = h
	}
	if action == agenttask.ActionDeploy {
		if p.kind != agenttask.SourceTar && p.kind != agenttask.SourceGit {
			return s, fmt.Errorf("package %s %s: the agent deploys TAR and GIT sources, not %s", p.service, p.version, p.kind)
		}
		s.Source = &agenttask.Source{Kind: p.kind, Location: p.uri, Ref: p.ref, Checksum: p.checksum}
		s.Config = t.Config
	}
	if action == agenttask.ActionConfigure {
		s.Config = t.Config
	}
	return s, nil
}

// Run carries out t through the host's agent and waits for the result.
func (a *AgentExecutor) Run(ctx context.Context, t Task) (Result, error) {
	switch t.Action {
	case ActionAdmit:
		return a.admit(ctx, t)
	case ActionDrain:
		return a.drain(ctx, t)
	case ActionOnline:
		return a.online(ctx, t)
	case ActionRemove:
		var p HostStepParams
		_ = json.Unmarshal(t.Params, &p)
		where := "retired"
		if p.To != ToRetire {
			where = "returned to spare pool " + cmp.Or(p.Pool, "default")
		}
		return Result{Output: fmt.Sprintf("%s: %s (recorded with this task)", t.Hostname, where)}, nil
	}
	var addr string
	if err := a.pool.QueryRow(ctx, `SELECT coalesce(nullif(ip, ''), hostname) FROM host WHERE id = $1`, t.HostID).Scan(&addr); err != nil {
		return Result{}, fmt.Errorf("error loading host %d: %w", t.HostID, err)
	}
	var steps []agentStep
	var err error
	switch t.Action {
	case ActionUpgrade:
		var tp UpgradeTaskParams
		if err := json.Unmarshal(t.Params, &tp); err != nil {
			return Result{}, fmt.Errorf("task parameters are not valid: %w", err)
		}
		for _, s := range tp.Services {
			steps = append(steps, agentStep{action: agenttask.ActionDeploy, pkg: s.PackageID, svc: s.Service})
		}
	case ActionStopService, ActionRestart:
		var sp ServiceParams
		if err := json.Unmarshal(t.Params, &sp); err != nil {
			return Result{}, fmt.Errorf("task parameters are not valid: %w", err)
		}
		id, err := a.hostPackage(ctx, t, sp.Service)
		if err != nil {
			return Result{}, err
		}
		action := agenttask.ActionRestart
		if t.Action == ActionStopService {
			action = agenttask.ActionStop
		}
		steps = append(steps, agentStep{action: action, pkg: id, svc: sp.Service})
	case ActionInstall:
		steps, err = a.installSteps(ctx, t)
	case ActionConfigure, ActionStart, ActionStop, ActionCheck:
		steps, err = a.hostServiceSteps(ctx, t, t.Action)
	case ActionWriteConfig:
		steps, err = a.writeConfigSteps(ctx, t)
	case ActionHealRepair:
		return a.healRepair(ctx, t, addr)
	case ActionHealVerify:
		return a.healVerify(ctx, t, addr)
	case ActionHealReturn:
		return Result{Output: fmt.Sprintf("%s: repaired and verified; returned to service if every step of it succeeded (recorded when the operation ends)", t.Hostname)}, nil
	case ActionInstallService, ActionRemoveService:
		steps, err = serviceChangeAgentSteps(t)
	default:
		return Result{}, fmt.Errorf("the agent executor cannot run %s tasks", t.Action)
	}
	if err != nil {
		return Result{}, err
	}
	return a.runSteps(ctx, t, addr, steps)
}

// agentStep is one agent task of an operation task: action on the service,
// run as package pkg says; edit, when set, changes the spec built from the
// package (WRITE_CONFIG's files).
type agentStep struct {
	action string
	pkg    int64
	svc    string
	edit   func(*agenttask.Spec)
}

// hostPackage is the registered package of the version of svc that t's host
// runs: it says how the agent runs the service there.
func (a *AgentExecutor) hostPackage(ctx context.Context, t Task, svc string) (int64, error) {
	var id int64
	err := a.pool.QueryRow(ctx, `SELECT p.id FROM host_component c JOIN service_package p ON p.service = c.service AND p.version = c.version
		WHERE c.host_id = $1 AND c.service = $2 LIMIT 1`, t.HostID, svc).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, fmt.Errorf("no registered package for the version of %s that %s runs: register it and retry the task", svc, t.Hostname)
	}
	if err != nil {
		return 0, fmt.Errorf("error loading the package of %s on %s: %w", svc, t.Hostname, err)
	}
	return id, nil
}

// runSteps builds every step's agent task first (so a package the agent
// cannot run fails the task before anything is touched), then dispatches them
// one at a time, in order, each waited for: the first that does not succeed
// fails the task, and the services after it are not touched.
func (a *AgentExecutor) runSteps(ctx context.Context, t Task, addr string, steps []agentStep) (Result, error) {
	specs := make([]*agenttask.Spec, len(steps))
	var out []string
	for i, s := range steps {
		p, err := a.pkg(ctx, s.pkg)
		if err != nil {
			return Result{}, err
		}
		spec, err := p.spec(s.action, t.Hostname, addr)
		if err != nil {
			return Result{}, err
		}
		if s.edit != nil {
			s.edit(&spec)
		}
		switch {
		case s.action == agenttask.ActionConfigure && len(spec.Config) == 0 && len(spec.Remove) == 0:
			out = append(out, fmt.Sprintf("%s %s %s: skipped, its agent template has no configuration files", s.action, s.svc, p.version))
			continue
		case s.action == agenttask.ActionCheck && spec.Health == nil:
			out = append(out, fmt.Sprintf("%s %s %s: skipped, its package has no health check", s.action, s.svc, p.version))
			continue
		}
		specs[i] = &spec
	}
	if len(steps) == 0 {
		out = append(out, fmt.Sprintf("%s: no services on %s, nothing to do", t.Action, t.Hostname))
	}
	var done []string
	for i, s := range steps {
		if specs[i] == nil {
			continue
		}
		spec := *specs[i]
		key := t.IdempotencyKey() + "/" + s.svc
		id, err := a.tasks.Dispatch(ctx, t.HostID, key, spec)
		if err != nil {
			return Result{Output: strings.Join(out, "\n")}, fmt.Errorf("error dispatching %s %s to %s: %w", s.action, s.svc, t.Hostname, err)
		}
		r, err := a.tasks.Wait(ctx, id)
		if err != nil {
			// ctx ended (the engine stops): the task is re-sent with the same
			// key and waits for this agent task again.
			return Result{Output: strings.Join(out, "\n")}, err
		}
		out = append(out, describe(s.action, s.svc, spec.Version, r))
		if r.State != agenttask.StateSucceeded {
			return Result{Output: strings.Join(out, "\n")}, &serviceError{service: s.svc, done: done,
				err: fmt.Errorf("%s %s on %s: %s %s", s.action, s.svc, t.Hostname, r.State, r.Error)}
		}
		done = append(done, s.svc)
	}
	return Result{Output: strings.Join(out, "\n")}, nil
}

// serviceError is a task failed by the agent on one service, after the
// services in done succeeded: Apply records both.
type serviceError struct {
	service string
	done    []string
	err     error
}

func (e *serviceError) Error() string { return e.err.Error() }
func (e *serviceError) Unwrap() error { return e.err }

// describe is one agent task's line and steps for the operation task's output.
func describe(action, svc, version string, r agentapi.TaskResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s %s: %s (agent task %d)", action, svc, version, r.State, r.ID)
	for _, s := range r.Steps {
		fmt.Fprintf(&b, "\n  %s %s", s.Name, s.State)
		if s.Output != "" {
			fmt.Fprintf(&b, ": %s", firstLine(s.Output))
		}
	}
	if r.Output != "" {
		fmt.Fprintf(&b, "\n  %s", firstLine(r.Output))
	}
	return b.String()
}

// Apply records the batch's new versions and states in host_component, in
// one statement, in the transaction that records the tasks, and stamps a
// CONFIG_APPLY's restarted components with their configuration version (as
// the simulated executor does). Host steps that touched services (START,
// STOP, CHECK, CONFIGURE, HEAL_REPAIR, HEAL_VERIFY) and failed on one leave it
// FAILED, and the services done before it in the state the step gave them:
// applyHostSteps changes nothing for a failed step, so without this a service
// whose start failed would stay INSTALLED as if never tried.
func (a *AgentExecutor) Apply(ctx context.Context, tx pgx.Tx, done []Done) error {
	changes := upgradeChanges(done)
	for _, d := range done {
		switch d.Task.Action {
		case ActionRestart:
			var sp ServiceParams
			_ = json.Unmarshal(d.Task.Params, &sp)
			c := inventory.ComponentChange{HostID: d.Task.HostID, Service: sp.Service, State: "STARTED"}
			if d.Err != nil {
				c.State = "FAILED"
			}
			changes = append(changes, c)
		case ActionStart, ActionStop, ActionCheck, ActionConfigure, ActionHealRepair, ActionHealVerify:
			var se *serviceError
			if !errors.As(d.Err, &se) {
				continue
			}
			state := map[string]string{ActionStart: "STARTED", ActionStop: "STOPPED", ActionConfigure: "STARTED",
				ActionHealRepair: "STARTED"}[d.Task.Action]
			if state != "" {
				for _, svc := range se.done {
					changes = append(changes, inventory.ComponentChange{HostID: d.Task.HostID, Service: svc, State: state})
				}
			}
			changes = append(changes, inventory.ComponentChange{HostID: d.Task.HostID, Service: se.service, State: "FAILED"})
		}
	}
	if err := applyServiceChanges(ctx, tx, done, time.Now()); err != nil {
		return err
	}
	// A CONFIG_APPLY's restarted components now run the configuration
	// version their files came from.
	if _, err := inventory.StampConfigVersions(ctx, tx, configApplyStamps(done)); err != nil {
		return err
	}
	_, err := inventory.ApplyComponentChanges(ctx, tx, changes, time.Now())
	return err
}
