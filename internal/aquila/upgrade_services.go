package aquila

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/inventory"
	"github.com/teslaops/tesla/internal/stack"
)

// The task actions of the services a stack version adds or removes
// (UpgradeTaskParams: the host's services of the action, in order).
const (
	// ActionInstallService deploys and starts services new to the host: its
	// host_component rows are created (each step's components).
	ActionInstallService = "INSTALL_SERVICE"
	// ActionRemoveService stops services the version no longer holds and
	// removes them from the host: its host_component rows are deleted (each
	// step lists them, so a rollback installs them back).
	ActionRemoveService = "REMOVE_SERVICE"
)

// orderedStep is one service of the upgrade's start order: upgraded, or
// installed (added by the version).
type orderedStep struct {
	service string
	install bool
}

// resolveRemovals orders the services a full version removes (stop order,
// dependents first) and marks those to remove after the upgrade: a removed
// service that a staying service's current package needs, directly or through
// other removed services, keeps running until that service runs its new
// version (which no longer needs it — the target set is consistent). The
// others are removed before the upgrade, so they do not go through their
// dependencies' restarts for nothing.
func (st *upgradeState) resolveRemovals(base []*stack.Package, removing map[string]*stack.Package) error {
	st.lateRemove = map[string]bool{}
	if len(removing) == 0 {
		return nil
	}
	pkgs := make([]*stack.Package, 0, len(removing))
	for _, p := range removing {
		pkgs = append(pkgs, p)
	}
	order, err := stack.StopOrder(pkgs)
	if err != nil {
		return err
	}
	for _, p := range order {
		st.removed = append(st.removed, ServiceChange{Service: p.Service, From: p.Info.Version, FromPackageID: p.ID})
	}
	old := map[string]*stack.Package{}
	for _, p := range base {
		old[p.Service] = p
	}
	var queue []string
	for _, p := range base {
		if removing[p.Service] == nil {
			queue = append(queue, p.Service)
		}
	}
	seen := map[string]bool{}
	for len(queue) > 0 {
		svc := queue[0]
		queue = queue[1:]
		p := old[svc]
		if p == nil {
			continue
		}
		for _, d := range p.Ops.DependsOn {
			if removing[d.Service] != nil {
				st.lateRemove[d.Service] = true
			}
			if !seen[d.Service] {
				seen[d.Service] = true
				queue = append(queue, d.Service)
			}
		}
	}
	return nil
}

// loadRemovedComponents reads the components of the removed services, one
// row a host and service (only when the version removes any: planning an
// upgrade without removals reads no component names).
func (st *upgradeState) loadRemovedComponents(ctx context.Context, q db.DBTX) error {
	if len(st.removed) == 0 {
		return nil
	}
	services := make([]string, len(st.removed))
	for i, r := range st.removed {
		services[i] = r.Service
	}
	rows, err := q.Query(ctx, `SELECT hc.host_id, hc.service, array_agg(hc.component ORDER BY hc.component)
		FROM host_component hc JOIN host h ON h.id = hc.host_id
		WHERE h.cluster_id = $1 AND h.state <> 'DECOMMISSIONED' AND hc.service = ANY($2)
		GROUP BY hc.host_id, hc.service`, st.cluster, services)
	if err != nil {
		return fmt.Errorf("error loading components of cluster %d: %w", st.cluster, err)
	}
	st.removedComponents = map[int64]map[string][]string{}
	var host int64
	var svc string
	var comps []string
	_, err = pgx.ForEachRow(rows, []any{&host, &svc, &comps}, func() error {
		if st.removedComponents[host] == nil {
			st.removedComponents[host] = map[string][]string{}
		}
		st.removedComponents[host][svc] = comps
		comps = nil // a fresh slice for the next row
		return nil
	})
	if err != nil {
		return fmt.Errorf("error loading components of cluster %d: %w", st.cluster, err)
	}
	return nil
}

// phase is a run of steps of one action: the removals before the upgrade,
// a run of upgrades or installs of the start order, the removals after.
type phase struct {
	action   string
	services []string
	late     bool
	// idx is each service's index on the hosts (upgradeState.services), -1
	// where no host runs it; steps the step of each.
	idx   []int
	steps []ServiceStep
}

// phases are an upgrade's phases and where each added service goes, with
// the encoded task params shared by hosts needing the same steps.
type phases struct {
	st     *upgradeState
	list   []phase
	placed map[string][]bool
	cache  map[string]json.RawMessage
	key    []byte
}

// phases cuts the upgrade into phases: removals (early), the start order cut
// where it switches between upgrading and installing, removals (late).
func (st *upgradeState) phases() *phases {
	ph := &phases{st: st, cache: map[string]json.RawMessage{}}
	add := func(p phase) {
		for _, svc := range p.services {
			p.idx = append(p.idx, slices.Index(st.services, svc))
			var step ServiceStep
			if p.action == ActionRemoveService {
				for _, r := range st.removed {
					if r.Service == svc {
						step = ServiceStep{Service: svc, Version: r.From, PackageID: r.FromPackageID}
					}
				}
			} else {
				pkg := st.packages[svc]
				step = ServiceStep{Service: svc, Version: pkg.Info.Version, PackageID: pkg.ID}
				if p.action == ActionInstallService {
					// The stack registry names no components: an added service
					// is one component of its own name.
					step.Components = []string{svc}
				}
			}
			p.steps = append(p.steps, step)
		}
		ph.list = append(ph.list, p)
	}
	removals := func(late bool) {
		p := phase{action: ActionRemoveService, late: late}
		for _, r := range st.removed {
			if st.lateRemove[r.Service] == late {
				p.services = append(p.services, r.Service)
			}
		}
		if len(p.services) > 0 {
			add(p)
		}
	}
	removals(false)
	var cur *phase
	for _, o := range st.order {
		action := ActionUpgrade
		if o.install {
			action = ActionInstallService
		}
		if cur == nil || cur.action != action {
			if cur != nil {
				add(*cur)
			}
			cur = &phase{action: action}
		}
		cur.services = append(cur.services, o.service)
	}
	if cur != nil {
		add(*cur)
	}
	removals(true)
	ph.place()
	return ph
}

// place decides the hosts of each added service, in start order so that an
// added service's added dependencies are placed first: the hosts that will
// run every service it depends on; for a service depending on nothing, every
// host running a service that stays (the stack registry has no roles to
// tell masters from workers).
func (ph *phases) place() {
	st := ph.st
	ph.placed = map[string][]bool{}
	removed := map[string]bool{}
	for _, r := range st.removed {
		removed[r.Service] = true
	}
	runs := func(h clusterHost, svc string) bool {
		si := slices.Index(st.services, svc)
		return si >= 0 && si < len(h.versions) && h.versions[si] != "" && !removed[svc]
	}
	for _, a := range st.added {
		on := make([]bool, len(st.hosts))
		deps := st.packages[a.Service].Ops.DependsOn
		for i, h := range st.hosts {
			if len(deps) == 0 {
				for si, v := range h.versions {
					if v != "" && !removed[st.services[si]] {
						on[i] = true
						break
					}
				}
				continue
			}
			ok := true
			for _, d := range deps {
				if !runs(h, d.Service) && !(ph.placed[d.Service] != nil && ph.placed[d.Service][i]) {
					ok = false
					break
				}
			}
			on[i] = ok
		}
		ph.placed[a.Service] = on
	}
}

// needs reports whether host i needs service j of phase k.
func (ph *phases) needs(i, k, j int) bool {
	h := ph.st.hosts[i]
	p := &ph.list[k]
	si := p.idx[j]
	runs := si >= 0 && si < len(h.versions) && h.versions[si] != ""
	switch p.action {
	case ActionRemoveService:
		return runs
	case ActionInstallService:
		return ph.placed[p.services[j]][i]
	default:
		return runs && h.versions[si] != p.steps[j].Version
	}
}

func (ph *phases) needsAny(i int) bool {
	for k := range ph.list {
		for j := range ph.list[k].services {
			if ph.needs(i, k, j) {
				return true
			}
		}
	}
	return false
}

// params are host i's task params for phase k (false: nothing to do there).
func (ph *phases) params(i, k int) (json.RawMessage, bool) {
	return ph.encode(i, k, func(j int) bool { return ph.needs(i, k, j) })
}

// paramsOf are host i's task params for service svc of phase k alone.
func (ph *phases) paramsOf(i, k int, svc string) (json.RawMessage, bool) {
	return ph.encode(i, k, func(j int) bool { return ph.list[k].services[j] == svc && ph.needs(i, k, j) })
}

func (ph *phases) encode(i, k int, pick func(j int) bool) (json.RawMessage, bool) {
	p := &ph.list[k]
	ph.key = append(ph.key[:0], byte(k), 0xff)
	for j := range p.services {
		if pick(j) {
			ph.key = append(ph.key, byte(j))
		}
	}
	if len(ph.key) == 2 {
		return nil, false
	}
	if p.action != ActionRemoveService {
		if params, ok := ph.cache[string(ph.key)]; ok {
			return params, true
		}
	}
	tp := UpgradeTaskParams{Services: make([]ServiceStep, 0, len(ph.key)-2)}
	h := ph.st.hosts[i]
	for _, j := range ph.key[2:] {
		step := p.steps[j]
		if p.action == ActionRemoveService {
			// The host's own components of the service: what a rollback
			// installs back.
			step.Components = ph.st.removedComponents[h.id][step.Service]
		}
		tp.Services = append(tp.Services, step)
	}
	params, _ := json.Marshal(tp)
	if p.action == ActionRemoveService {
		// Components may differ between hosts: share by content.
		if shared, ok := ph.cache[string(params)]; ok {
			return shared, true
		}
		ph.cache[string(params)] = params
		return params, true
	}
	ph.cache[string(ph.key)] = params
	return params, true
}

// describe names a phase for a stage name: "remove HIVE", "install SPARK".
func (ph *phases) describe(k int) string {
	verb := map[string]string{ActionRemoveService: "remove", ActionInstallService: "install", ActionUpgrade: "upgrade"}[ph.list[k].action]
	return verb + " " + strings.Join(ph.list[k].services, ", ")
}

// serviceSteps are the steps of an INSTALL_SERVICE or REMOVE_SERVICE task.
func serviceSteps(t Task) ([]ServiceStep, error) {
	var tp UpgradeTaskParams
	if err := json.Unmarshal(t.Params, &tp); err != nil {
		return nil, err
	}
	return tp.Services, nil
}

// applyServiceChanges writes the host_component effects of a batch's
// INSTALL_SERVICE and REMOVE_SERVICE tasks through inventory (the table's
// owner), one statement per kind: an installed service's components STARTED
// at its version (FAILED when the task failed: the install is to be retried
// or rolled back), a removed service's components deleted (FAILED, kept,
// when the task failed). Executors that record component states call it
// from their Apply.
func applyServiceChanges(ctx context.Context, tx pgx.Tx, done []Done, at time.Time) error {
	var installs []inventory.PlacedComponent
	var failed []inventory.ComponentChange
	var rmHosts []int64
	var rmServices []string
	for _, d := range done {
		if d.Task.Action != ActionInstallService && d.Task.Action != ActionRemoveService {
			continue
		}
		steps, _ := serviceSteps(d.Task)
		for _, s := range steps {
			switch {
			case d.Task.Action == ActionInstallService:
				state := "STARTED"
				if d.Err != nil {
					state = "FAILED"
				}
				for _, c := range s.Components {
					installs = append(installs, inventory.PlacedComponent{HostID: d.Task.HostID, Service: s.Service,
						Component: c, Version: s.Version, State: state})
				}
			case d.Err != nil:
				failed = append(failed, inventory.ComponentChange{HostID: d.Task.HostID, Service: s.Service, State: "FAILED"})
			default:
				rmHosts = append(rmHosts, d.Task.HostID)
				rmServices = append(rmServices, s.Service)
			}
		}
	}
	if _, err := inventory.InstallComponents(ctx, tx, installs, at); err != nil {
		return err
	}
	if _, err := inventory.RemoveServices(ctx, tx, rmHosts, rmServices); err != nil {
		return err
	}
	_, err := inventory.ApplyComponentChanges(ctx, tx, failed, at)
	return err
}
