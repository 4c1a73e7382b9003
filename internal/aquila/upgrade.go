package aquila

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/inventory"
	"github.com/teslaops/tesla/internal/stack"
)

// Strategy is how an upgrade takes hosts out of service.
type Strategy string

// The upgrade strategies.
const (
	// StrategyRolling upgrades batches of hosts, each host's changing
	// services in dependency order, so the rest of the cluster keeps serving.
	StrategyRolling Strategy = "ROLLING"
	// StrategyExpress stops every changing service everywhere (dependents
	// first), then upgrades and starts them (dependencies first): faster, and
	// the cluster is down meanwhile.
	StrategyExpress Strategy = "EXPRESS"
)

// ActionUpgrade deploys new package versions on a host (UpgradeTaskParams);
// ActionStopService stops one service on a host (ServiceParams), where
// ActionStop (a decommission's host step) stops all of them.
const (
	ActionUpgrade     = "UPGRADE"
	ActionStopService = "STOP_SERVICE"
)

// UpgradeParams are an UPGRADE's parameters, as requested and, once planned,
// with what the planner recorded for the rollback.
type UpgradeParams struct {
	// StackVersionID is the stack version to apply (full or partial).
	StackVersionID int64 `json:"stackVersionId"`
	// Services restricts the upgrade to some of the services the version
	// changes; empty means all of them.
	Services []string `json:"services,omitempty"`
	// Strategy is ROLLING (default) or EXPRESS.
	Strategy Strategy `json:"strategy,omitempty"`
	// BatchPercent is a rolling batch's share of the cluster's hosts
	// (default 10), capped by the operation's out-of-service share.
	BatchPercent int `json:"batchPercent,omitempty"`
	// MaxFailures is how many hosts may fail before the operation pauses
	// (the failure budget; the larger of it and Request.FailureBudget).
	MaxFailures int `json:"maxFailures,omitempty"`
	// PauseAfterFirstBatch pauses the operation after its first batch (the
	// canaries) until an operator resumes it.
	PauseAfterFirstBatch bool `json:"pauseAfterFirstBatch,omitempty"`
	// MaxConcurrent, when set (UpgradeClusters), lowers the platform's limit
	// of running upgrades for this one: it starts only while fewer upgrades
	// run.
	MaxConcurrent int `json:"maxConcurrent,omitempty"`

	// PreviousStackVersionID is the cluster's stack version when planned
	// (recorded by the planner): a rollback sets it back.
	PreviousStackVersionID *int64 `json:"previousStackVersionId,omitempty"`
	// Changes are the services upgraded, in upgrade (start) order, with the
	// packages on both sides (recorded by the planner, for the rollback).
	Changes []ServiceChange `json:"changes,omitempty"`
	// Added are the services the version adds, installed (start order; From
	// empty); Removed those a full version no longer holds, stopped and
	// removed (stop order; To empty). Recorded by the planner.
	Added   []ServiceChange `json:"added,omitempty"`
	Removed []ServiceChange `json:"removed,omitempty"`
}

// ServiceChange is one service an upgrade moves from one package to another.
type ServiceChange struct {
	Service       string `json:"service"`
	From          string `json:"from"`
	To            string `json:"to"`
	FromPackageID int64  `json:"fromPackageId,omitempty"`
	ToPackageID   int64  `json:"toPackageId"`
}

// UpgradeTaskParams are an UPGRADE task's parameters: the services to deploy
// on the host, in order (dependencies first). One task per host, not one per
// host × service: the tasks of a stage run in parallel, so only a single task
// keeps a host's services in dependency order, and the host is out of service
// once per batch instead of once per service.
type UpgradeTaskParams struct {
	Services []ServiceStep `json:"services"`
}

// ServiceStep is one service of an UPGRADE task: the version to deploy and
// its package (source, checksum and agent templates).
type ServiceStep struct {
	Service   string `json:"service"`
	Version   string `json:"version"`
	PackageID int64  `json:"packageId"`
	// Components are the host_component rows an INSTALL_SERVICE creates and
	// a REMOVE_SERVICE removes (restored by its rollback); empty for UPGRADE.
	Components []string `json:"components,omitempty"`
}

// UpgradePlanner plans UPGRADE operations: a cluster from what it runs to a
// stack version, rolling or express; its Inverse plans the way back.
type UpgradePlanner struct{}

// Kind is UPGRADE.
func (UpgradePlanner) Kind() Kind { return KindUpgrade }

// parseUpgradeParams decodes and defaults an upgrade's parameters.
func parseUpgradeParams(raw json.RawMessage) (UpgradeParams, error) {
	var p UpgradeParams
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &p); err != nil {
			return p, fault.Field("params", "UPGRADE parameters are not valid: %v", err)
		}
	}
	p.Strategy = Strategy(strings.ToUpper(string(cmp.Or(p.Strategy, StrategyRolling))))
	p.BatchPercent = cmp.Or(p.BatchPercent, 10)
	switch {
	case p.StackVersionID <= 0:
		return p, fault.Field("params.stackVersionId", "a stack version is required")
	case p.Strategy != StrategyRolling && p.Strategy != StrategyExpress:
		return p, fault.Field("params.strategy", "the strategy must be ROLLING or EXPRESS, got %q", p.Strategy)
	case p.BatchPercent < 1 || p.BatchPercent > 100:
		return p, fault.Field("params.batchPercent", "the batch share must be between 1 and 100 percent")
	case p.MaxFailures < 0:
		return p, fault.Field("params.maxFailures", "the failure budget cannot be negative")
	case p.MaxConcurrent < 0:
		return p, fault.Field("params.maxConcurrent", "the concurrency limit cannot be negative")
	}
	for i, s := range p.Services {
		p.Services[i] = strings.ToUpper(strings.TrimSpace(s))
	}
	return p, nil
}

// clusterHost is a host of the cluster with the versions of its services.
type clusterHost struct {
	id          int64
	maintenance bool
	// versions by service index (upgradeState.services); "" where the host
	// does not run the service.
	versions []string
}

// upgradeState is what planning and the pre-checks know of a cluster and its
// upgrade: read once, used by both.
type upgradeState struct {
	params   UpgradeParams
	cluster  int64
	previous *int64
	target   *stack.Version
	// total counts the cluster's hosts (DECOMMISSIONED aside).
	total int
	hosts []clusterHost
	// services are the services the hosts run, by index.
	services []string
	// changes are the services the upgrade changes, in start order, and
	// packages the new packages by service.
	changes  []ServiceChange
	packages map[string]*stack.Package
	// stop is the changing services in stop order.
	stop []string
	// added and removed are the services the version adds (start order) and
	// removes (stop order); order is the changing and added services in one
	// start order, so an install and an upgrade that need each other come in
	// the right order.
	added, removed []ServiceChange
	order          []orderedStep
	// lateRemove marks the removed services a staying service's current
	// package needs (directly or not): removed after the upgrade.
	lateRemove map[string]bool
	// removedComponents are the components of the removed services, by host
	// and service: what a rollback installs back.
	removedComponents map[int64]map[string][]string
}

// loadUpgrade reads the cluster, its hosts and their services (one query),
// the target and current stack versions and the packages the cluster runs,
// and resolves the upgrade. Errors are faults naming the input at fault; an
// unknown stack version comes with the state read so far (target nil).
func loadUpgrade(ctx context.Context, q db.DBTX, req Request) (*upgradeState, error) {
	p, err := parseUpgradeParams(req.Params)
	if err != nil {
		return nil, err
	}
	st := &upgradeState{params: p, cluster: req.ClusterID}
	err = q.QueryRow(ctx, `SELECT c.stack_version_id,
			(SELECT count(*) FROM host h WHERE h.cluster_id = c.id AND h.state <> 'DECOMMISSIONED')
		FROM cluster c WHERE c.id = $1`, req.ClusterID).Scan(&st.previous, &st.total)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fault.NotFoundf("cluster %d not found", req.ClusterID)
	}
	if err != nil {
		return nil, fmt.Errorf("error loading cluster %d: %w", req.ClusterID, err)
	}
	ids := []int64{p.StackVersionID}
	if st.previous != nil {
		ids = append(ids, *st.previous)
	}
	stacks := stack.NewService(q, nil)
	versions, err := stacks.VersionsByIDs(ctx, ids)
	if err != nil {
		return nil, err
	}
	if st.target = versions[p.StackVersionID]; st.target == nil {
		return st, fault.Field("params.stackVersionId", "stack version %d does not exist", p.StackVersionID)
	}
	// The version the cluster is on is no upgrade, even where its hosts
	// drifted from it (a service the version holds that no host runs): that
	// is a scale-out's or a next version's to place.
	if st.previous != nil && *st.previous == p.StackVersionID {
		return st, fault.Field("params.stackVersionId", "cluster %d is already on stack version %s %s: nothing to upgrade",
			req.ClusterID, st.target.Stack, st.target.Version)
	}
	if err := st.loadHosts(ctx, q); err != nil {
		return nil, err
	}
	base, err := st.base(ctx, stacks, versions)
	if err != nil {
		return nil, err
	}
	res, err := stack.Resolve(base, st.target)
	if err != nil {
		return nil, err
	}
	if err := st.resolve(base, res); err != nil {
		return nil, err
	}
	return st, st.loadRemovedComponents(ctx, q)
}

// loadHosts reads the cluster's hosts with their services' versions in one
// statement, in hostname order (the rolling order): one row a host with its
// components aggregated (hashed by host, not sorted), so a 20,000-host
// cluster sends 20,000 rows and sorts 20,000 hostnames rather than its
// 240,000 components.
func (st *upgradeState) loadHosts(ctx context.Context, q db.DBTX) error {
	rows, err := q.Query(ctx, `SELECT h.id, h.state = 'MAINTENANCE', c.services, c.versions
		FROM host h JOIN (
			SELECT hc.host_id, array_agg(hc.service) AS services, array_agg(hc.version) AS versions
			FROM host_component hc JOIN host hh ON hh.id = hc.host_id
			WHERE hh.cluster_id = $1 GROUP BY hc.host_id) c ON c.host_id = h.id
		WHERE h.cluster_id = $1 AND h.state <> 'DECOMMISSIONED'
		ORDER BY h.hostname`, st.cluster)
	if err != nil {
		return fmt.Errorf("error loading hosts of cluster %d: %w", st.cluster, err)
	}
	defer rows.Close()
	index := map[string]int{}
	var (
		id                 int64
		maint              bool
		services, versions []string
	)
	for rows.Next() {
		if err := rows.Scan(&id, &maint, &services, &versions); err != nil {
			return fmt.Errorf("error loading hosts of cluster %d: %w", st.cluster, err)
		}
		h := clusterHost{id: id, maintenance: maint, versions: make([]string, len(st.services), len(st.services)+4)}
		for k, service := range services {
			i, ok := index[service]
			if !ok {
				i = len(st.services)
				index[service] = i
				st.services = append(st.services, service)
			}
			for len(h.versions) <= i {
				h.versions = append(h.versions, "")
			}
			// Several components of one service: the lowest version, so a
			// host half upgraded is upgraded again.
			if v := versions[k]; h.versions[i] == "" || v < h.versions[i] {
				h.versions[i] = v
			}
		}
		st.hosts = append(st.hosts, h)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("error loading hosts of cluster %d: %w", st.cluster, err)
	}
	return nil
}

// base is the set of packages the cluster runs: per service the version most
// of its hosts run, as a registered package; a service whose version is no
// registered package takes its package from the cluster's stack version, if
// that has one, and is otherwise left out (nothing to resolve it against).
func (st *upgradeState) base(ctx context.Context, stacks *stack.Service, versions map[int64]*stack.Version) ([]*stack.Package, error) {
	counts := make([]map[string]int, len(st.services))
	for i := range counts {
		counts[i] = map[string]int{}
	}
	for _, h := range st.hosts {
		for i, v := range h.versions {
			if v != "" {
				counts[i][v]++
			}
		}
	}
	refs := make([]stack.PackageRef, 0, len(st.services))
	for i, svc := range st.services {
		best, n := "", 0
		for v, c := range counts[i] {
			if c > n || (c == n && v > best) {
				best, n = v, c
			}
		}
		refs = append(refs, stack.PackageRef{Service: svc, Version: best})
	}
	pkgs, err := stacks.PackagesByKey(ctx, refs)
	if err != nil {
		return nil, err
	}
	var fallback map[string]*stack.Package
	if st.previous != nil && versions[*st.previous] != nil && !versions[*st.previous].Partial {
		fallback = map[string]*stack.Package{}
		for _, p := range versions[*st.previous].Packages {
			fallback[p.Service] = p
		}
	}
	base := make([]*stack.Package, 0, len(pkgs))
	for i, p := range pkgs {
		if p == nil {
			p = fallback[st.services[i]]
		}
		if p != nil {
			base = append(base, p)
		}
	}
	return base, nil
}

// resolve keeps the changes the request asks for — services the hosts run,
// to a new package; services the version adds; services a full version
// removes — and orders them.
func (st *upgradeState) resolve(base []*stack.Package, res *stack.Resolution) error {
	byService := map[string]*stack.Package{}
	for _, p := range res.Packages {
		byService[p.Service] = p
	}
	old := map[string]*stack.Package{}
	for _, p := range base {
		old[p.Service] = p
	}
	runs := map[string]bool{}
	for _, s := range st.services {
		runs[s] = true
	}
	want := map[string]bool{}
	for _, s := range st.params.Services {
		want[s] = true
	}
	changing := map[string]stack.Change{}
	adding := map[string]stack.Change{}
	removing := map[string]*stack.Package{}
	for _, c := range res.Changes {
		if len(want) > 0 && !want[c.Service] {
			continue
		}
		switch {
		case c.To == "":
			// A full version without the service: it is stopped and removed
			// where it runs.
			if old[c.Service] != nil {
				removing[c.Service] = old[c.Service]
			}
		case !runs[c.Service]:
			// No host runs it: installed where it belongs (placeAdded).
			adding[c.Service] = c
		default:
			changing[c.Service] = c
		}
	}
	for s := range want {
		_, a := changing[s]
		_, b := adding[s]
		if _, c := removing[s]; !a && !b && !c {
			return fault.Field("params.services", "stack version %s %s does not change service %s on cluster %d",
				st.target.Stack, st.target.Version, s, st.cluster)
		}
	}
	if len(changing)+len(adding)+len(removing) == 0 {
		return fault.Field("params.stackVersionId", "cluster %d already runs what stack version %s %s holds: nothing to upgrade",
			st.cluster, st.target.Stack, st.target.Version)
	}
	// A subset of the changes must leave a consistent set on its own.
	if len(want) > 0 {
		eff := make([]*stack.Package, 0, len(base)+len(changing)+len(adding))
		for _, p := range base {
			_, ch := changing[p.Service]
			if _, rm := removing[p.Service]; !ch && !rm {
				eff = append(eff, p)
			}
		}
		for s := range changing {
			eff = append(eff, byService[s])
		}
		for s := range adding {
			eff = append(eff, byService[s])
		}
		if err := stack.CheckSet(eff); err != nil {
			return err
		}
	}
	// Upgrades and installs in one start order; stops of the upgraded
	// services in stop order.
	pkgs := make([]*stack.Package, 0, len(changing)+len(adding))
	var upgraded []*stack.Package
	for s := range changing {
		pkgs = append(pkgs, byService[s])
		upgraded = append(upgraded, byService[s])
	}
	for s := range adding {
		pkgs = append(pkgs, byService[s])
	}
	start, err := stack.StartOrder(pkgs)
	if err != nil {
		return err
	}
	stop, err := stack.StopOrder(upgraded)
	if err != nil {
		return err
	}
	st.packages = make(map[string]*stack.Package, len(pkgs))
	for _, p := range start {
		st.packages[p.Service] = p
		if c, ok := changing[p.Service]; ok {
			sc := ServiceChange{Service: p.Service, From: c.From, To: c.To, ToPackageID: p.ID}
			if o := old[p.Service]; o != nil {
				sc.FromPackageID = o.ID
			}
			st.changes = append(st.changes, sc)
			st.order = append(st.order, orderedStep{service: p.Service})
			continue
		}
		st.added = append(st.added, ServiceChange{Service: p.Service, To: p.Info.Version, ToPackageID: p.ID})
		st.order = append(st.order, orderedStep{service: p.Service, install: true})
	}
	for _, p := range stop {
		st.stop = append(st.stop, p.Service)
	}
	return st.resolveRemovals(base, removing)
}

// batchSize is how many in-service hosts a rolling batch takes.
func batchSize(total, batchPct, maxPct int) int {
	return max(total*min(batchPct, maxPct)/100, 1)
}

// Plan plans the upgrade (see docs/aquila.md, "Upgrades"). Hosts already at
// the target version of a service get no step for it, so planning again
// after a partial run upgrades only what is left.
func (UpgradePlanner) Plan(ctx context.Context, q db.DBTX, req Request) (*Plan, error) {
	st, err := loadUpgrade(ctx, q, req)
	if err != nil {
		return nil, err
	}
	return st.plan(req)
}

func (st *upgradeState) plan(req Request) (*Plan, error) {
	p := st.params
	p.PreviousStackVersionID = st.previous
	p.Changes = st.changes
	p.Added, p.Removed = st.added, st.removed
	maxPct := cmp.Or(req.MaxOutOfServicePct, DefaultMaxOutOfServicePct)
	if p.Strategy == StrategyExpress {
		// Express takes the whole cluster down by definition.
		maxPct = 100
	}
	params, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("error encoding upgrade parameters: %w", err)
	}
	plan := &Plan{Kind: KindUpgrade, ClusterID: st.cluster, Params: params, RequestedBy: req.RequestedBy,
		Reason: req.Reason, FailureBudget: max(req.FailureBudget, p.MaxFailures), MaxOutOfServicePct: maxPct}
	ph := st.phases()
	if p.Strategy == StrategyExpress {
		plan.Stages = st.express(ph)
	} else {
		plan.Stages = st.rolling(ph, batchSize(st.total, p.BatchPercent, maxPct), p.PauseAfterFirstBatch)
	}
	if len(plan.Stages) == 0 {
		return nil, fault.Field("params.stackVersionId", "every host of cluster %d already runs the target versions: nothing to upgrade", st.cluster)
	}
	return plan, nil
}

// rolling cuts the hosts that need a step into batches of `batch` hosts in
// service (MAINTENANCE hosts ride along, skipped by the engine). A batch is
// one stage per phase it has work in (usually one: UPGRADE), one task a host
// listing its services of the phase in order; the batch's hosts go through
// its phases one after another before the next batch starts. Hosts needing
// the same steps share one encoded params value.
func (st *upgradeState) rolling(ph *phases, batch int, pauseFirst bool) []PlanStage {
	var batches [][]int // host indexes
	var cur []int
	inService := 0
	for i, h := range st.hosts {
		if !ph.needsAny(i) {
			continue
		}
		if !h.maintenance && inService == batch {
			batches = append(batches, cur)
			cur, inService = nil, 0
		}
		cur = append(cur, i)
		if !h.maintenance {
			inService++
		}
	}
	if len(cur) > 0 {
		batches = append(batches, cur)
	}
	var stages []PlanStage
	for b, hosts := range batches {
		first := len(stages)
		var kinds []int // the phase of each of the batch's stages
		for k := range ph.list {
			s := PlanStage{Name: fmt.Sprintf("upgrade batch %d/%d", b+1, len(batches))}
			for _, i := range hosts {
				if params, ok := ph.params(i, k); ok {
					s.Tasks = append(s.Tasks, PlanTask{HostID: st.hosts[i].id, Action: ph.list[k].action, Params: params})
				}
			}
			if len(s.Tasks) > 0 {
				stages = append(stages, s)
				kinds = append(kinds, k)
			}
		}
		// A batch that only upgrades keeps the plain name.
		if own := stages[first:]; len(own) > 1 || ph.list[kinds[0]].action != ActionUpgrade {
			for j := range own {
				own[j].Name += ": " + ph.describe(kinds[j])
			}
		}
		if b == 0 && pauseFirst && len(batches) > 1 {
			stages[len(stages)-1].PauseAfter = true
		}
	}
	return stages
}

// express stops each upgraded service on every host running it (dependents
// first), then deploys and starts each (dependencies first): one stage per
// service and phase. Removed services are removed first (those a staying
// service needs until its upgrade: after the stops), added ones installed in
// the start order among the deploys.
func (st *upgradeState) express(ph *phases) []PlanStage {
	var stages []PlanStage
	one := func(name, action string, k int, svc string) {
		s := PlanStage{Name: name}
		for i, h := range st.hosts {
			if params, ok := ph.paramsOf(i, k, svc); ok {
				s.Tasks = append(s.Tasks, PlanTask{HostID: h.id, Action: action, Params: params})
			}
		}
		if len(s.Tasks) > 0 {
			stages = append(stages, s)
		}
	}
	removal := func(late bool) {
		for k, p := range ph.list {
			if p.action == ActionRemoveService && p.late == late {
				for _, svc := range p.services {
					one("remove "+svc, ActionRemoveService, k, svc)
				}
			}
		}
	}
	removal(false)
	for _, svc := range st.stop {
		params, _ := json.Marshal(ServiceParams{Service: svc})
		si := slices.Index(st.services, svc)
		to := st.packages[svc].Info.Version
		s := PlanStage{Name: "stop " + svc}
		for _, h := range st.hosts {
			if si >= 0 && si < len(h.versions) && h.versions[si] != "" && h.versions[si] != to {
				s.Tasks = append(s.Tasks, PlanTask{HostID: h.id, Action: ActionStopService, Params: params})
			}
		}
		if len(s.Tasks) > 0 {
			stages = append(stages, s)
		}
	}
	removal(true)
	for k, p := range ph.list {
		if p.action == ActionRemoveService {
			continue
		}
		for _, svc := range p.services {
			v := st.packages[svc].Info.Version
			if p.action == ActionInstallService {
				one(fmt.Sprintf("install %s %s", svc, v), ActionInstallService, k, svc)
			} else {
				one(fmt.Sprintf("deploy %s %s", svc, v), ActionUpgrade, k, svc)
			}
		}
	}
	return stages
}

// Inverse upgrades the hosts the operation touched back to the packages they
// ran, the same way (rolling: the same batches, last first, each host's
// services in reverse order; express: stop, then deploy the old packages).
func (UpgradePlanner) Inverse(ctx context.Context, q db.DBTX, op *Operation) ([]PlanStage, error) {
	p, err := parseUpgradeParams(op.Params)
	if err != nil {
		return nil, err
	}
	back := map[string]ServiceStep{}
	for _, c := range p.Changes {
		if c.FromPackageID == 0 {
			return nil, fault.New(fault.Invalid, "operation %d cannot be rolled back: %s ran version %q, which is no registered package",
				op.ID, c.Service, c.From)
		}
		back[c.Service] = ServiceStep{Service: c.Service, Version: c.From, PackageID: c.FromPackageID}
	}
	// The forward tasks that ran (or may have), by stage: what to undo.
	rows, err := q.Query(ctx, `SELECT s.position, t.host_id, t.action, t.params FROM operation_task t
		JOIN operation_stage s ON s.id = t.stage_id
		WHERE t.operation_id = $1 AND NOT s.rollback AND t.state IN ('SUCCEEDED', 'FAILED', 'RUNNING')
		ORDER BY s.position DESC, t.id`, op.ID)
	if err != nil {
		return nil, fmt.Errorf("error loading tasks of operation %d: %w", op.ID, err)
	}
	type done struct {
		pos    int
		host   int64
		action string
		params []byte
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (done, error) {
		var d done
		return d, r.Scan(&d.pos, &d.host, &d.action, &d.params)
	})
	if err != nil {
		return nil, fmt.Errorf("error loading tasks of operation %d: %w", op.ID, err)
	}
	if p.Strategy == StrategyExpress {
		return expressInverse(p, back, func(yield func(host int64, action string, params []byte)) {
			for _, d := range list {
				yield(d.host, d.action, d.params)
			}
		})
	}
	var stages []PlanStage
	last := -1
	for _, d := range list {
		// Each forward stage is undone by one stage: an upgrade by the old
		// packages, an install by a removal, a removal by an install of what
		// was removed (its components as they were); each host's services in
		// reverse order.
		action := map[string]string{ActionUpgrade: ActionUpgrade,
			ActionInstallService: ActionRemoveService, ActionRemoveService: ActionInstallService}[d.action]
		if action == "" {
			continue
		}
		var tp UpgradeTaskParams
		if err := json.Unmarshal(d.params, &tp); err != nil {
			return nil, fmt.Errorf("error reading task params of operation %d: %w", op.ID, err)
		}
		rev := UpgradeTaskParams{Services: make([]ServiceStep, 0, len(tp.Services))}
		for i := len(tp.Services) - 1; i >= 0; i-- {
			step := tp.Services[i]
			if d.action == ActionUpgrade {
				step = back[step.Service]
			}
			rev.Services = append(rev.Services, step)
		}
		params, _ := json.Marshal(rev)
		if d.pos != last {
			stages = append(stages, PlanStage{})
			last = d.pos
		}
		s := &stages[len(stages)-1]
		s.Tasks = append(s.Tasks, PlanTask{HostID: d.host, Action: action, Params: params})
	}
	for i := range stages {
		stages[i].Name = fmt.Sprintf("roll back batch %d/%d", i+1, len(stages))
	}
	return stages, nil
}

// expressInverse stops, on every host the forward run touched, each changed
// service (reverse of the upgrade order), then deploys the old packages in
// the order they started before.
func expressInverse(p UpgradeParams, back map[string]ServiceStep, tasks func(func(int64, string, []byte))) ([]PlanStage, error) {
	hosts := map[string][]int64{}
	seen := map[string]map[int64]bool{}
	// Installs and removals are undone host by host with the steps they ran.
	type hostStep struct {
		host int64
		step ServiceStep
	}
	undo := map[string][]hostStep{}
	tasks(func(host int64, action string, raw []byte) {
		var svcs []string
		if action == ActionInstallService || action == ActionRemoveService {
			var tp UpgradeTaskParams
			_ = json.Unmarshal(raw, &tp)
			for _, s := range tp.Services {
				undo[s.Service] = append(undo[s.Service], hostStep{host, s})
			}
			return
		}
		if action == ActionStopService {
			var sp ServiceParams
			_ = json.Unmarshal(raw, &sp)
			svcs = []string{sp.Service}
		} else {
			var tp UpgradeTaskParams
			_ = json.Unmarshal(raw, &tp)
			for _, s := range tp.Services {
				svcs = append(svcs, s.Service)
			}
		}
		for _, s := range svcs {
			if seen[s] == nil {
				seen[s] = map[int64]bool{}
			}
			if !seen[s][host] {
				seen[s][host] = true
				hosts[s] = append(hosts[s], host)
			}
		}
	})
	var stages []PlanStage
	perHost := func(name, action, svc string) {
		s := PlanStage{Name: name}
		for _, hs := range undo[svc] {
			params, _ := json.Marshal(UpgradeTaskParams{Services: []ServiceStep{hs.step}})
			s.Tasks = append(s.Tasks, PlanTask{HostID: hs.host, Action: action, Params: params})
		}
		if len(s.Tasks) > 0 {
			stages = append(stages, s)
		}
	}
	// The added services go first (dependents first), the removed ones come
	// back last (dependencies first), once the old versions run again.
	for i := len(p.Added) - 1; i >= 0; i-- {
		perHost("remove "+p.Added[i].Service, ActionRemoveService, p.Added[i].Service)
	}
	for i := len(p.Changes) - 1; i >= 0; i-- {
		svc := p.Changes[i].Service
		params, _ := json.Marshal(ServiceParams{Service: svc})
		s := PlanStage{Name: "stop " + svc}
		for _, h := range hosts[svc] {
			s.Tasks = append(s.Tasks, PlanTask{HostID: h, Action: ActionStopService, Params: params})
		}
		if len(s.Tasks) > 0 {
			stages = append(stages, s)
		}
	}
	for _, c := range p.Changes {
		step := back[c.Service]
		params, _ := json.Marshal(UpgradeTaskParams{Services: []ServiceStep{step}})
		s := PlanStage{Name: fmt.Sprintf("deploy %s %s", step.Service, step.Version)}
		for _, h := range hosts[c.Service] {
			s.Tasks = append(s.Tasks, PlanTask{HostID: h, Action: ActionUpgrade, Params: params})
		}
		if len(s.Tasks) > 0 {
			stages = append(stages, s)
		}
	}
	for i := len(p.Removed) - 1; i >= 0; i-- {
		r := p.Removed[i]
		perHost(fmt.Sprintf("install %s %s", r.Service, r.From), ActionInstallService, r.Service)
	}
	return stages, nil
}

// finishers run in the transaction that ends an operation of their kind.
var finishers = map[Kind]func(ctx context.Context, tx pgx.Tx, op, cluster int64, params []byte, final State) error{
	KindUpgrade: finishUpgrade,
}

// finishUpgrade records the cluster's stack version: the target once an
// upgrade succeeded, the previous one once it was rolled back.
func finishUpgrade(ctx context.Context, tx pgx.Tx, op, cluster int64, params []byte, final State) error {
	var p UpgradeParams
	if err := json.Unmarshal(params, &p); err != nil {
		return fmt.Errorf("error reading parameters of operation %d: %w", op, err)
	}
	if p.StackVersionID == 0 || len(p.Changes)+len(p.Added)+len(p.Removed) == 0 {
		// Not planned by UpgradePlanner: no stack version to record.
		return nil
	}
	var version *int64
	switch final {
	case Succeeded:
		version = &p.StackVersionID
	case RolledBack:
		version = p.PreviousStackVersionID
	default:
		return nil
	}
	return inventory.SetClusterStackVersion(ctx, tx, cluster, version)
}

// errNoSlot is the platform's upgrade limit reached: the start job snoozes.
var errNoSlot = errors.New("no free upgrade slot")

// upgradeSlotLock serialises the slot checks of every replica (an advisory
// transaction lock): two pending upgrades cannot both take the last slot.
const upgradeSlotLock = 0x7e51a_0001

// upgradeSlot returns errNoSlot when the platform already runs as many
// upgrades as its limit (or this upgrade's own, lower, maxConcurrent).
func (e *Engine) upgradeSlot(ctx context.Context, tx pgx.Tx, op int64, params []byte) error {
	var p UpgradeParams
	_ = json.Unmarshal(params, &p)
	limit := e.cfg.MaxRunningUpgrades
	if p.MaxConcurrent > 0 {
		limit = min(limit, p.MaxConcurrent)
	}
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(upgradeSlotLock)); err != nil {
		return fmt.Errorf("error locking the upgrade slots: %w", err)
	}
	var running int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM operation WHERE kind = 'UPGRADE' AND state IN ('RUNNING', 'PAUSED') AND id <> $1`,
		op).Scan(&running); err != nil {
		return fmt.Errorf("error counting running upgrades: %w", err)
	}
	if running >= limit {
		return errNoSlot
	}
	return nil
}

// upgradeChanges turns a batch of finished UPGRADE tasks into component
// changes: every listed service at its new version and STARTED, or FAILED
// (version unchanged) when the task failed.
func upgradeChanges(done []Done) []inventory.ComponentChange {
	var out []inventory.ComponentChange
	for _, d := range done {
		switch d.Task.Action {
		case ActionUpgrade:
			var tp UpgradeTaskParams
			_ = json.Unmarshal(d.Task.Params, &tp)
			for _, s := range tp.Services {
				c := inventory.ComponentChange{HostID: d.Task.HostID, Service: s.Service, State: "STARTED", Version: s.Version}
				if d.Err != nil {
					c.State, c.Version = "FAILED", ""
				}
				out = append(out, c)
			}
		case ActionStopService:
			var sp ServiceParams
			_ = json.Unmarshal(d.Task.Params, &sp)
			if sp.Service == "" {
				continue
			}
			c := inventory.ComponentChange{HostID: d.Task.HostID, Service: sp.Service, State: "STOPPED"}
			if d.Err != nil {
				c.State = "FAILED"
			}
			out = append(out, c)
		}
	}
	return out
}
