// Package healing heals sick hosts on its own: a scheduled pass finds hosts
// with missed heartbeats, open hardware faults, failed health checks or severe
// open anomaly episodes and, within each cluster's healing budget (hosts at
// once, hosts a day) and never below its minimum capacity, runs a SELF_HEAL
// operation (internal/aquila: drain → repair → verify → return to service)
// over them, or hands the host to a person through a hardware repair ticket
// when it cannot be healed automatically or failed healing twice. Every step
// is audited with its reason. Rules and defaults: docs/healing.md.
//
// The package owns healing_attempt and healing_wait.
package healing

import (
	"cmp"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/teslaops/tesla/internal/aquila"
	"github.com/teslaops/tesla/internal/audit"
	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/hardware"
	"github.com/teslaops/tesla/internal/inventory"
	"github.com/teslaops/tesla/internal/notify"
)

var (
	//go:embed sql/sick.sql
	sqlSick string
	//go:embed sql/cluster_facts.sql
	sqlClusterFacts string
	//go:embed sql/attempts.sql
	sqlAttempts string
	//go:embed sql/count_attempts.sql
	sqlCountAttempts string
	//go:embed sql/rate.sql
	sqlRate string
)

// Actor is the audit actor, operation requester and ticket opener of
// self-healing.
const Actor = "system:healing"

// Channel carries the id of a host whose healing changed (started, ended,
// handed over), for the Self-healing view and the big screen.
const Channel = "tesla_healing"

// The signals that make a host sick.
const (
	SignalHeartbeat     = "HEARTBEAT"
	SignalHardwareFault = "HARDWARE_FAULT"
	SignalHealthCheck   = "HEALTH_CHECK"
	SignalAnomaly       = "ANOMALY"
)

// Attempt states.
const (
	StateHealing    = "HEALING"
	StateHealed     = "HEALED"
	StateFailed     = "FAILED"
	StateHandedOver = "HANDED_OVER"
)

// RepairTicket is the repair of a host handed to a person.
const RepairTicket = "TICKET"

// Config tunes the healing pass. Zero fields take the defaults.
type Config struct {
	// MissedHeartbeat: a host in service silent for longer is sick (default
	// 2m: eight missed 15-second beats; OFFLINE hosts are sick anyway).
	MissedHeartbeat time.Duration
	// MinHealthScore: a host whose health score is under it is sick
	// (default 30; the health job's POOR starts at 60).
	MinHealthScore float64
	// FailWindow and MaxFailures: a host whose healing failed MaxFailures
	// times within FailWindow goes to a person (defaults 24h, 2).
	FailWindow  time.Duration
	MaxFailures int
	// Policies by cluster kind (STREAMING, BATCH, ONLINE); a kind not given
	// takes DefaultPolicies, zero numbers of a given one too.
	Policies map[string]Policy
	// Cooldown: a host healed less than this ago is not healed again
	// (default 30m): some signals (health scores, anomaly episodes) follow a
	// repair only at their next computation.
	Cooldown time.Duration
	// DrainTimeout bounds each host's drain (default 10m).
	DrainTimeout time.Duration
	// ThroughAgents says the operations run on the hosts' agents
	// (TESLA_OPERATIONS=agent): a host whose agent has been silent for
	// MissedHeartbeat (or never reported) gets no agent step — a REBOOT or a
	// restart would only wait for its task to expire — and goes to a person
	// at once. Off, the simulated fleet, which has no agents, heals as before.
	ThroughAgents bool
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Defaults of Config.
const (
	DefaultMissedHeartbeat = 2 * time.Minute
	DefaultMinHealthScore  = 30
	DefaultFailWindow      = 24 * time.Hour
	DefaultMaxFailures     = 2
	DefaultDrainTimeout    = 10 * time.Minute
	DefaultCooldown        = 30 * time.Minute
)

// WithDefaults fills the zero fields.
func (c Config) WithDefaults() Config {
	c.MissedHeartbeat = cmp.Or(c.MissedHeartbeat, DefaultMissedHeartbeat)
	c.MinHealthScore = cmp.Or(c.MinHealthScore, DefaultMinHealthScore)
	c.FailWindow = cmp.Or(c.FailWindow, DefaultFailWindow)
	c.MaxFailures = cmp.Or(c.MaxFailures, DefaultMaxFailures)
	c.DrainTimeout = cmp.Or(c.DrainTimeout, DefaultDrainTimeout)
	c.Cooldown = cmp.Or(c.Cooldown, DefaultCooldown)
	pol := map[string]Policy{}
	for k, def := range DefaultPolicies {
		if p, ok := c.Policies[k]; ok {
			pol[k] = p.withDefaults(def)
		} else {
			pol[k] = def
		}
	}
	c.Policies = pol
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// policy is the policy of a cluster kind.
func (c Config) policy(kind string) Policy {
	if p, ok := c.Policies[kind]; ok {
		return p
	}
	return Policy{}.withDefaults(DefaultPolicies["BATCH"])
}

// Result counts what a pass did.
type Result struct {
	// Sick hosts found (not healing already, not with a person).
	Sick int
	// Started hosts' healing in Operations SELF_HEAL operations.
	Started, Operations int
	// HandedOver hosts to people (repair tickets).
	HandedOver int
	// Waiting sick hosts, with why (healing_wait).
	Waiting int
	// Healed and Failed count the attempts that ended this pass.
	Healed, Failed int
}

// Healer runs healing passes. One pass at a time (the job's lock).
type Healer struct {
	pool   *pgxpool.Pool
	engine *aquila.Engine
	cfg    Config
	logger *slog.Logger
}

// NewHealer returns a healer submitting SELF_HEAL operations through engine
// (an insert-only engine will do: any replica's workers run them).
func NewHealer(pool *pgxpool.Pool, engine *aquila.Engine, cfg Config, logger *slog.Logger) *Healer {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Healer{pool: pool, engine: engine, cfg: cfg.WithDefaults(), logger: logger}
}

// sickHost is a host found sick, with its signals.
type sickHost struct {
	id, cluster     int64
	kind, hostname  string
	state           string
	since           *time.Time
	healedAt        *time.Time
	agentBeat       *time.Time
	signals         []string
	details         []string
	hardware        bool
	heartbeat       bool
	waitReason      string
	repair          string
	repairReasoning string
}

func (h *sickHost) describe() string {
	return strings.Join(h.details, "; ")
}

// RunOnce runs one pass: it records how the SELF_HEAL operations of earlier
// passes ended (handing hosts that failed twice to people), finds the sick
// hosts, and per cluster starts healing those within its budget and minimum
// capacity, recording why the others wait.
func (h *Healer) RunOnce(ctx context.Context) (Result, error) {
	var res Result
	now := h.cfg.Now()
	changed, err := h.collect(ctx, now, &res)
	if err != nil {
		return res, err
	}
	sick, err := h.findSick(ctx, now)
	if err != nil {
		return res, err
	}
	res.Sick = len(sick)
	byCluster := map[int64][]*sickHost{}
	var clusters []int64
	for _, s := range sick {
		if _, ok := byCluster[s.cluster]; !ok {
			clusters = append(clusters, s.cluster)
		}
		byCluster[s.cluster] = append(byCluster[s.cluster], s)
	}
	facts, err := h.clusterFacts(ctx, clusters, now)
	if err != nil {
		return res, err
	}
	var waiting []*sickHost
	for _, c := range clusters {
		started, err := h.healCluster(ctx, now, facts[c], byCluster[c], &res)
		if err != nil {
			return res, err
		}
		changed = append(changed, started...)
		for _, s := range byCluster[c] {
			if s.waitReason != "" {
				waiting = append(waiting, s)
			}
		}
	}
	res.Waiting = len(waiting)
	if err := h.recordWaiting(ctx, now, waiting); err != nil {
		return res, err
	}
	if err := notify.NotifyIDs(ctx, h.pool, Channel, changed); err != nil {
		return res, err
	}
	h.logger.InfoContext(ctx, "healing pass", "sick", res.Sick, "started", res.Started, "operations", res.Operations,
		"handed_over", res.HandedOver, "waiting", res.Waiting, "healed", res.Healed, "failed", res.Failed)
	return res, nil
}

// findSick reads the sick hosts in one statement and keeps those whose
// signals their cluster's policy counts.
func (h *Healer) findSick(ctx context.Context, now time.Time) ([]*sickHost, error) {
	rows, err := h.pool.Query(ctx, sqlSick, now.Add(-h.cfg.MissedHeartbeat), h.cfg.MinHealthScore)
	if err != nil {
		return nil, fmt.Errorf("error finding sick hosts: %w", err)
	}
	var out []*sickHost
	var cur *sickHost
	var id, cluster int64
	var kind, hostname, state, signal, severity, detail string
	var since, healedAt, agentBeat *time.Time
	_, err = pgx.ForEachRow(rows, []any{&id, &cluster, &kind, &hostname, &state, &since, &healedAt, &agentBeat, &signal, &severity, &detail}, func() error {
		if signal == SignalAnomaly && severityRank(severity) < severityRank(h.cfg.policy(kind).AnomalySeverity) {
			return nil
		}
		if cur == nil || cur.id != id {
			cur = &sickHost{id: id, cluster: cluster, kind: kind, hostname: hostname, state: state, since: since, healedAt: healedAt, agentBeat: agentBeat}
			out = append(out, cur)
		}
		if !slices.Contains(cur.signals, signal) {
			cur.signals = append(cur.signals, signal)
		}
		cur.details = append(cur.details, signal+": "+detail)
		cur.hardware = cur.hardware || signal == SignalHardwareFault
		cur.heartbeat = cur.heartbeat || signal == SignalHeartbeat
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("error finding sick hosts: %w", err)
	}
	return out, nil
}

type clusterFacts struct {
	id                       int64
	hosts, healing, startedD int
	opID                     *int64
	opKind, opState          *string
	constrained              bool
	own                      clusterOverride
}

// clusterOverride is a cluster's own policy row (nil fields: the kind's).
type clusterOverride struct {
	enabled                         bool
	maxAtOnce, maxAtOncePct, perDay *int32
	allowReboot                     *bool
	by                              string
}

// apply returns p with the cluster's own settings over it.
func (o clusterOverride) apply(p Policy) Policy {
	if o.maxAtOnce != nil {
		p.MaxAtOnce = int(*o.maxAtOnce)
	}
	if o.maxAtOncePct != nil {
		p.MaxAtOncePct = int(*o.maxAtOncePct)
	}
	if o.perDay != nil {
		p.MaxPerDay = int(*o.perDay)
	}
	if o.allowReboot != nil {
		p.AllowReboot = *o.allowReboot
	}
	return p
}

func (h *Healer) clusterFacts(ctx context.Context, clusters []int64, now time.Time) (map[int64]*clusterFacts, error) {
	out := map[int64]*clusterFacts{}
	if len(clusters) == 0 {
		return out, nil
	}
	rows, err := h.pool.Query(ctx, sqlClusterFacts, clusters, now.Add(-24*time.Hour))
	if err != nil {
		return nil, fmt.Errorf("error loading clusters of sick hosts: %w", err)
	}
	var f clusterFacts
	_, err = pgx.ForEachRow(rows, []any{&f.id, &f.hosts, &f.healing, &f.startedD, &f.opID, &f.opKind, &f.opState, &f.constrained,
		&f.own.enabled, &f.own.maxAtOnce, &f.own.maxAtOncePct, &f.own.perDay, &f.own.allowReboot, &f.own.by}, func() error {
		c := f
		out[f.id] = &c
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("error loading clusters of sick hosts: %w", err)
	}
	return out, nil
}

// priority orders a cluster's sick hosts: hardware faults first (they go to a
// person and need no operation), then silent hosts, then the longest waiting.
func priority(a, b *sickHost) int {
	rank := func(s *sickHost) int {
		switch {
		case s.hardware:
			return 0
		case s.heartbeat:
			return 1
		}
		return 2
	}
	if c := rank(a) - rank(b); c != 0 {
		return c
	}
	switch {
	case a.since != nil && b.since == nil:
		return -1
	case a.since == nil && b.since != nil:
		return 1
	case a.since != nil && b.since != nil && !a.since.Equal(*b.since):
		return a.since.Compare(*b.since)
	}
	return cmp.Compare(a.id, b.id)
}

// healCluster decides, for one cluster's sick hosts, which start healing now
// and why the others wait, then starts them: one SELF_HEAL operation for the
// hosts repaired by restarts or reboots, a repair ticket for each host that
// goes to a person. It returns the hosts started.
func (h *Healer) healCluster(ctx context.Context, now time.Time, f *clusterFacts, sick []*sickHost, res *Result) ([]int64, error) {
	if f == nil {
		return nil, nil
	}
	pol := f.own.apply(h.cfg.policy(sick[0].kind))
	slices.SortFunc(sick, priority)
	if !f.own.enabled {
		for _, s := range sick {
			s.waitReason = fmt.Sprintf("healing is turned off for this cluster (by %s)", f.own.by)
		}
		return nil, nil
	}
	slots := pol.atOnce(f.hosts) - f.healing
	daily := pol.MaxPerDay - f.startedD
	var heal, tickets []*sickHost
	var out []int64
	for _, s := range sick {
		switch {
		case s.hardware:
			s.repair, s.repairReasoning = RepairTicket, "an open hardware fault needs a person"
		case s.heartbeat && !pol.AllowReboot:
			s.repair, s.repairReasoning = RepairTicket, fmt.Sprintf("the host is silent and %s clusters are not rebooted automatically", s.kind)
		case s.heartbeat:
			s.repair, s.repairReasoning = aquila.RepairReboot, "the host is silent: reboot through its agent"
		default:
			s.repair, s.repairReasoning = aquila.RepairRestartServices, "restart its services"
		}
		if s.repair != RepairTicket && h.cfg.ThroughAgents {
			if silent := agentSilence(s.agentBeat, now, h.cfg.MissedHeartbeat); silent != "" {
				s.repair, s.repairReasoning = RepairTicket, fmt.Sprintf("%s: its %s would not reach the host", silent, s.repair)
			}
		}
		sickFor := time.Duration(0)
		if s.since != nil {
			sickFor = now.Sub(*s.since)
		}
		switch {
		case s.healedAt != nil && now.Sub(*s.healedAt) < h.cfg.Cooldown:
			s.waitReason = fmt.Sprintf("cooling down: healed %s ago; signals such as health scores follow a repair at their next computation",
				now.Sub(*s.healedAt).Round(time.Second))
			continue
		case sickFor < pol.SickFor:
			s.waitReason = fmt.Sprintf("confirming: sick for %s of the %s a %s cluster waits before healing", sickFor.Round(time.Second), pol.SickFor, s.kind)
			continue
		case daily <= 0:
			s.waitReason = fmt.Sprintf("healing budget: %d hosts a day on this %s cluster, all spent", pol.MaxPerDay, s.kind)
			continue
		case s.repair != RepairTicket && f.opID != nil:
			s.waitReason = fmt.Sprintf("cluster held by operation %d (%s, %s)", *f.opID, *f.opKind, *f.opState)
			continue
		case s.repair != RepairTicket && slots <= 0:
			s.waitReason = fmt.Sprintf("healing budget: at most %d hosts at once on this %s cluster of %d hosts, %d healing",
				pol.atOnce(f.hosts), s.kind, f.hosts, pol.atOnce(f.hosts)-slots)
			continue
		}
		// Never below the cluster's minimum capacity: the hosts taken out so
		// far and this one must leave enough in service. A host going to a
		// person gets its ticket anyway; handOver leaves it in service when
		// taking it out would break the minimum.
		if f.constrained {
			ids := []int64{s.id}
			for _, x := range slices.Concat(heal, tickets) {
				ids = append(ids, x.id)
			}
			err := inventory.CheckRemoval(ctx, h.pool, f.id, ids)
			if _, refused := fault.As(err); err != nil && !refused {
				return nil, err
			}
			if err != nil && s.repair != RepairTicket {
				s.waitReason = "minimum capacity: " + err.Error()
				continue
			}
		}
		daily--
		if s.repair == RepairTicket {
			tickets = append(tickets, s)
		} else {
			slots--
			heal = append(heal, s)
		}
	}
	for _, s := range tickets {
		ok, err := h.handOver(ctx, now, s.id, s.cluster, f.constrained, s.signals, s.describe(), s.repairReasoning)
		if err != nil {
			return nil, err
		}
		if ok {
			res.HandedOver++
			out = append(out, s.id)
		}
	}
	if len(heal) > 0 {
		started, err := h.startOperation(ctx, now, f, pol, heal)
		if err != nil {
			return nil, err
		}
		if started {
			res.Operations++
			res.Started += len(heal)
			for _, s := range heal {
				out = append(out, s.id)
			}
		}
	}
	return out, nil
}

// agentSilence says why a host's agent cannot be reached — "agent silent
// since <time>", or that none ever reported — or "" when it heartbeat within
// missed of now.
func agentSilence(beat *time.Time, now time.Time, missed time.Duration) string {
	switch {
	case beat == nil:
		return "agent silent: no agent has ever reported from this host"
	case now.Sub(*beat) > missed:
		return "agent silent since " + beat.UTC().Format("2006-01-02 15:04:05") + " UTC"
	}
	return ""
}

// startOperation submits one SELF_HEAL over hosts and records their attempts
// in the same transaction, audited per host with its reason. A refusal (an
// operation took the cluster meanwhile) leaves the hosts waiting.
func (h *Healer) startOperation(ctx context.Context, now time.Time, f *clusterFacts, pol Policy, hosts []*sickHost) (bool, error) {
	params := aquila.SelfHealParams{DrainTimeoutSeconds: int(h.cfg.DrainTimeout / time.Second)}
	for _, s := range hosts {
		params.Hosts = append(params.Hosts, aquila.SelfHealHost{HostID: s.id, Repair: s.repair, Reason: s.describe()})
	}
	raw, _ := json.Marshal(params)
	req := aquila.Request{Kind: aquila.KindSelfHeal, ClusterID: f.id, Params: raw, RequestedBy: Actor,
		Reason: fmt.Sprintf("self-healing %d sick host(s)", len(hosts)), MaxOutOfServicePct: max(pol.MaxAtOncePct, 1)}
	if f.hosts > 0 {
		// The engine caps a stage at the share of the cluster; the budget
		// already bounds the hosts, so the share is what they amount to.
		req.MaxOutOfServicePct = max(req.MaxOutOfServicePct, (100*len(hosts)+f.hosts-1)/f.hosts)
	}
	var op int64
	err := db.InTx(ctx, h.pool, func(tx pgx.Tx) error {
		plan, err := aquila.SelfHealPlanner{}.Plan(ctx, tx, req)
		if err != nil {
			return err
		}
		op, err = h.engine.Submit(ctx, tx, *plan)
		if err != nil {
			return err
		}
		if err := audit.RecordSystem(ctx, tx, Actor, "startOperation", fmt.Sprintf("operation:%d", op),
			map[string]any{"kind": aquila.KindSelfHeal, "clusterId": f.id, "hosts": len(hosts)}); err != nil {
			return err
		}
		for _, s := range hosts {
			reason := fmt.Sprintf("%s: %s (%s)", s.repair, s.repairReasoning, s.describe())
			var id int64
			if err := tx.QueryRow(ctx, `INSERT INTO healing_attempt (host_id, cluster_id, signals, detail, repair, state, operation_id, reason, started_at)
				VALUES ($1, $2, $3, $4, $5, 'HEALING', $6, $7, $8) RETURNING id`,
				s.id, s.cluster, s.signals, s.describe(), s.repair, op, reason, now).Scan(&id); err != nil {
				return fmt.Errorf("error recording the healing of host %d: %w", s.id, err)
			}
			if err := audit.RecordSystem(ctx, tx, Actor, "startSelfHeal", fmt.Sprintf("host:%d", s.id),
				map[string]any{"attempt": id, "operation": op, "signals": s.signals, "repair": s.repair, "reason": reason}); err != nil {
				return err
			}
		}
		return nil
	})
	if fe, ok := fault.As(err); ok {
		for _, s := range hosts {
			s.waitReason = "operation refused: " + fe.Message
		}
		h.logger.WarnContext(ctx, "self-heal not started", "cluster_id", f.id, "error", err)
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, nil
}

// handOver gives host to a person: a repair ticket (internal/hardware), the
// host taken out of service when its cluster's minimum capacity allows (else
// it stays, the ticket saying so), and a HANDED_OVER attempt, audited. A host
// that has an unfinished ticket already is left to it (false).
//
// constrained says whether the cluster has a minimum capacity or quorum to
// check at all.
func (h *Healer) handOver(ctx context.Context, now time.Time, host, cluster int64, constrained bool, signals []string, detail, why string) (bool, error) {
	var ticket *hardware.Ticket
	err := db.InTx(ctx, h.pool, func(tx pgx.Tx) error {
		var takeOut error
		if constrained {
			takeOut = inventory.CheckRemoval(ctx, tx, cluster, []int64{host})
			if _, ok := fault.As(takeOut); takeOut != nil && !ok {
				return takeOut
			}
		}
		note := fmt.Sprintf("self-healing hands this host to a person: %s (%s)", why, detail)
		if takeOut != nil {
			note += "; the host stays in service: " + takeOut.Error()
		}
		var err error
		ticket, err = hardware.OpenSystemTicket(ctx, tx, host, Actor, note, now)
		if err != nil {
			return err
		}
		if takeOut == nil {
			moved, err := inventory.TakeHostsOut(ctx, tx, []int64{host}, fmt.Sprintf("repair ticket %d: handed over by self-healing", ticket.ID))
			if err != nil {
				return err
			}
			if len(moved) > 0 {
				if err := audit.RecordSystem(ctx, tx, Actor, "setHostState", fmt.Sprintf("host:%d", host),
					map[string]any{"state": "REPAIRING", "ticket": ticket.ID}); err != nil {
					return err
				}
			}
		}
		reason := fmt.Sprintf("%s: %s", why, detail)
		var id int64
		if err := tx.QueryRow(ctx, `INSERT INTO healing_attempt (host_id, cluster_id, signals, detail, repair, state, ticket_id, reason, started_at, ended_at)
			VALUES ($1, $2, $3, $4, 'TICKET', 'HANDED_OVER', $5, $6, $7, $7) RETURNING id`,
			host, cluster, signals, detail, ticket.ID, reason, now).Scan(&id); err != nil {
			return fmt.Errorf("error recording the hand-over of host %d: %w", host, err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM healing_wait WHERE host_id = $1`, host); err != nil {
			return fmt.Errorf("error recording the hand-over of host %d: %w", host, err)
		}
		return audit.RecordSystem(ctx, tx, Actor, "handOverHost", fmt.Sprintf("host:%d", host),
			map[string]any{"attempt": id, "ticket": ticket.ID, "signals": signals, "reason": reason})
	})
	if fe, ok := fault.As(err); ok && fe.Kind == fault.Conflict {
		h.logger.InfoContext(ctx, "host not handed over", "host_id", host, "error", err)
		return false, nil
	}
	return err == nil, err
}

// collect records how the SELF_HEAL operations of HEALING attempts ended:
// HEALED, or FAILED with the failed step, and a host that failed
// MaxFailures times within FailWindow is handed to a person.
func (h *Healer) collect(ctx context.Context, now time.Time, res *Result) ([]int64, error) {
	rows, err := h.pool.Query(ctx, `SELECT DISTINCT operation_id FROM healing_attempt WHERE state = 'HEALING' AND operation_id IS NOT NULL`)
	if err != nil {
		return nil, fmt.Errorf("error loading healing attempts: %w", err)
	}
	ops, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("error loading healing attempts: %w", err)
	}
	if len(ops) == 0 {
		return nil, nil
	}
	outs, err := aquila.SelfHealOutcomes(ctx, h.pool, ops)
	if err != nil {
		return nil, err
	}
	type failedHost struct {
		host, cluster int64
		signals       []string
		detail        string
		failures      int
	}
	var changed []int64
	var handOver []failedHost
	for _, o := range outs {
		err := db.InTx(ctx, h.pool, func(tx pgx.Tx) error {
			a, err := endAttempt(ctx, tx, o, now)
			if a == nil || err != nil {
				return err
			}
			changed = append(changed, o.HostID)
			if a.state == StateHealed {
				res.Healed++
				return nil
			}
			res.Failed++
			var failures int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM healing_attempt WHERE host_id = $1 AND state = 'FAILED' AND ended_at > $2`,
				o.HostID, now.Add(-h.cfg.FailWindow)).Scan(&failures); err != nil {
				return fmt.Errorf("error counting failed healings of host %d: %w", o.HostID, err)
			}
			if failures >= h.cfg.MaxFailures {
				handOver = append(handOver, failedHost{o.HostID, a.cluster, a.signals, a.detail, failures})
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	for _, f := range handOver {
		ok, err := h.handOver(ctx, now, f.host, f.cluster, true, f.signals, f.detail,
			fmt.Sprintf("healing failed %d times within %s", f.failures, h.cfg.FailWindow))
		if err != nil {
			return nil, err
		}
		if ok {
			res.HandedOver++
		}
	}
	return changed, nil
}

// endedAttempt is a HEALING attempt endAttempt ended.
type endedAttempt struct {
	id, cluster   int64
	state, repair string
	signals       []string
	detail        string
}

// endAttempt records how host o.HostID fared in the SELF_HEAL o.OperationID
// that ended: its HEALING attempt HEALED, or FAILED with the first failed
// step, audited. Nil when the host has no HEALING attempt of the operation
// (recorded already, or not healing's).
func endAttempt(ctx context.Context, tx pgx.Tx, o aquila.SelfHealOutcome, now time.Time) (*endedAttempt, error) {
	a := endedAttempt{state: StateHealed}
	reason := fmt.Sprintf("operation %d: every step succeeded", o.OperationID)
	if !o.Healed {
		a.state, reason = StateFailed, fmt.Sprintf("operation %d %s: %s", o.OperationID, o.State, firstLine(cmp.Or(o.Failure, "a step did not succeed")))
	}
	err := tx.QueryRow(ctx, `UPDATE healing_attempt SET state = $3, reason = reason || ' → ' || $4, ended_at = $5
		WHERE operation_id = $1 AND host_id = $2 AND state = 'HEALING' RETURNING id, cluster_id, signals, detail, repair`,
		o.OperationID, o.HostID, a.state, reason, now).Scan(&a.id, &a.cluster, &a.signals, &a.detail, &a.repair)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("error recording the healing of host %d: %w", o.HostID, err)
	}
	if err := audit.RecordSystem(ctx, tx, Actor, "selfHealResult", fmt.Sprintf("host:%d", o.HostID),
		map[string]any{"attempt": a.id, "operation": o.OperationID, "state": a.state, "reason": reason}); err != nil {
		return nil, err
	}
	return &a, nil
}

// RecordRetry is the aquila.RetryHook of SELF_HEAL (wired by the app): an
// operator retrying a failed self-heal starts a new healing attempt of each
// host it runs again, so the retry ends HEALED or FAILED like any attempt —
// counted in the healing rate, and a failed retry counting towards the
// hand-over. A failure the passes had not recorded yet is recorded first
// (FAILED), so the count does not depend on when the pass ran. Hosts with no
// attempt of the operation (a self-heal healing did not start) are left
// alone, and so is an operation that had not ended (a paused one: its
// attempts are still HEALING).
func RecordRetry(ctx context.Context, tx pgx.Tx, op *aquila.Operation, hosts []int64) error {
	if op.Kind != aquila.KindSelfHeal || op.State.Active() {
		return nil
	}
	outs, err := aquila.SelfHealOutcomes(ctx, tx, []int64{op.ID})
	if err != nil {
		return err
	}
	now := time.Now()
	by := "an operator"
	if p, ok := auth.FromContext(ctx); ok {
		by = p.Login
	}
	var changed []int64
	for _, o := range outs {
		if !slices.Contains(hosts, o.HostID) {
			continue
		}
		if _, err := endAttempt(ctx, tx, o, now); err != nil {
			return err
		}
		var last endedAttempt
		err := tx.QueryRow(ctx, `SELECT id, cluster_id, state, repair, signals, detail FROM healing_attempt
			WHERE operation_id = $1 AND host_id = $2 ORDER BY id DESC LIMIT 1`, op.ID, o.HostID).
			Scan(&last.id, &last.cluster, &last.state, &last.repair, &last.signals, &last.detail)
		if errors.Is(err, pgx.ErrNoRows) || (err == nil && last.state != StateFailed) {
			continue
		}
		if err != nil {
			return fmt.Errorf("error loading the healing of host %d: %w", o.HostID, err)
		}
		reason := fmt.Sprintf("%s: retry of operation %d by %s after attempt %d failed (%s)", last.repair, op.ID, by, last.id, last.detail)
		var id int64
		if err := tx.QueryRow(ctx, `INSERT INTO healing_attempt (host_id, cluster_id, signals, detail, repair, state, operation_id, reason, started_at)
			VALUES ($1, $2, $3, $4, $5, 'HEALING', $6, $7, $8) RETURNING id`,
			o.HostID, last.cluster, last.signals, last.detail, last.repair, op.ID, reason, now).Scan(&id); err != nil {
			return fmt.Errorf("error recording the healing of host %d: %w", o.HostID, err)
		}
		if err := audit.RecordSystem(ctx, tx, Actor, "startSelfHeal", fmt.Sprintf("host:%d", o.HostID),
			map[string]any{"attempt": id, "operation": op.ID, "signals": last.signals, "repair": last.repair, "reason": reason, "retryOf": last.id}); err != nil {
			return err
		}
		changed = append(changed, o.HostID)
	}
	return notify.NotifyIDs(ctx, tx, Channel, changed)
}

// recordWaiting rewrites healing_wait: the waiting hosts with their reasons
// (keeping when each was first seen waiting), and no row for any other host.
func (h *Healer) recordWaiting(ctx context.Context, now time.Time, waiting []*sickHost) error {
	n := len(waiting)
	ids, clusters := make([]int64, n), make([]int64, n)
	reasons, signals := make([]string, n), make([]string, n)
	for i, s := range waiting {
		ids[i], clusters[i], reasons[i] = s.id, s.cluster, s.waitReason+" ("+s.describe()+")"
		signals[i] = strings.Join(s.signals, ",")
	}
	return db.InTx(ctx, h.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM healing_wait WHERE NOT (host_id = ANY($1))`, ids); err != nil {
			return fmt.Errorf("error recording waiting hosts: %w", err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO healing_wait (host_id, cluster_id, signals, reason, since, updated_at)
			SELECT u.host_id, u.cluster_id, string_to_array(u.signals, ','), u.reason, $5, $5
			FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[]) AS u (host_id, cluster_id, signals, reason)
			ON CONFLICT (host_id) DO UPDATE SET cluster_id = EXCLUDED.cluster_id, signals = EXCLUDED.signals,
				reason = EXCLUDED.reason, updated_at = EXCLUDED.updated_at`, ids, clusters, signals, reasons, now); err != nil {
			return fmt.Errorf("error recording waiting hosts: %w", err)
		}
		return nil
	})
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
