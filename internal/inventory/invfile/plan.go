package invfile

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/inventory"
)

// Entity is what a change is about.
type Entity string

// The entities.
const (
	EntityBU      Entity = "BU"
	EntityPerson  Entity = "PERSON"
	EntityCluster Entity = "CLUSTER"
	EntityHost    Entity = "HOST"
)

// Action is what a change does.
type Action string

// The actions. DEACTIVATE deactivates a BU or person, retires a cluster and
// decommissions a host.
const (
	Create     Action = "CREATE"
	Update     Action = "UPDATE"
	Deactivate Action = "DEACTIVATE"
)

// Change is one change the file makes: the entity, its natural key (BU code,
// login, cluster name, hostname), the action and the fields that change.
type Change struct {
	Entity Entity                  `json:"entity"`
	Key    string                  `json:"key"`
	Action Action                  `json:"action"`
	Fields []inventory.FieldChange `json:"fields,omitempty"`
}

func (c Change) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-10s %-7s %s", c.Action, c.Entity, c.Key)
	for i, f := range c.Fields {
		if i == 0 {
			b.WriteString(":")
		} else {
			b.WriteString(",")
		}
		if c.Action == Create {
			fmt.Fprintf(&b, " %s=%q", f.Field, f.To)
		} else {
			fmt.Fprintf(&b, " %s %q → %q", f.Field, f.From, f.To)
		}
	}
	return b.String()
}

// Options steer an import.
type Options struct {
	// DryRun computes the changes without writing them.
	DryRun bool
	// Prune deactivates the people and BUs, retires the clusters and
	// decommissions the hosts that the file does not list.
	Prune bool
	// Role is the importer's role: the file may grant no role above it.
	Role auth.Role
	// Self is the importer's login (empty for the command line): pruning
	// never deactivates the importer.
	Self string
}

// Result is what an import did (or, with DryRun, would do).
type Result struct {
	Applied   bool
	Changes   []Change
	Unchanged int
}

func roleOf(s string) auth.Role { return auth.Role(strings.ToUpper(strings.TrimSpace(s))) }

// planner compares a file with a snapshot and, when writing, applies each
// change as it finds it, in an order that keeps every reference valid: BUs
// parents first, then people, clusters, hosts, and what pruning ends last.
type planner struct {
	ctx   context.Context
	tx    db.DBTX
	file  *File
	snap  *inventory.Snapshot
	opt   Options
	write bool
	errs  *collector
	res   *Result

	buByCode      map[string]*inventory.BU
	buCode        map[int64]string
	clusterByName map[string]*inventory.Cluster
	clusterName   map[int64]string
	stackLabel    map[int64]string
	fileBU        map[string]*BU
	fileCluster   map[string]bool
}

// Apply compares file with the database through tx and writes the changes
// (unless opt.DryRun). It checks the references between entries (unknown BUs
// and clusters, BU cycles, roles above the importer's) before writing anything;
// any problem refuses the whole file, as Errors. The caller owns tx: on error it
// must roll back, so nothing is half-applied.
func Apply(ctx context.Context, tx db.DBTX, file *File, opt Options) (*Result, error) {
	hostnames := make([]string, len(file.Hosts))
	for i, h := range file.Hosts {
		hostnames[i] = h.Hostname
	}
	snap, err := inventory.LoadSnapshot(ctx, tx, hostnames, opt.Prune)
	if err != nil {
		return nil, err
	}
	p := &planner{ctx: ctx, tx: tx, file: file, snap: snap, opt: opt, errs: &collector{}, res: &Result{}}
	p.index()
	p.checkReferences()
	if err := p.errs.err(); err != nil {
		return nil, err
	}
	// The first pass only plans (and finds the problems that depend on the
	// whole plan, such as the last admin); the second writes.
	if err := p.run(); err != nil {
		return nil, err
	}
	if err := p.errs.err(); err != nil {
		return nil, err
	}
	if opt.DryRun || len(p.res.Changes) == 0 {
		return p.res, nil
	}
	p.write, p.res = true, &Result{}
	if err := p.run(); err != nil {
		return nil, err
	}
	p.res.Applied = true
	return p.res, nil
}

func (p *planner) index() {
	p.buByCode, p.buCode = map[string]*inventory.BU{}, map[int64]string{}
	for _, b := range p.snap.BUs {
		p.buByCode[b.Code], p.buCode[b.ID] = b, b.Code
	}
	p.clusterByName, p.clusterName = map[string]*inventory.Cluster{}, map[int64]string{}
	for _, c := range p.snap.Clusters {
		p.clusterByName[c.Name], p.clusterName[c.ID] = c, c.Name
	}
	p.stackLabel = map[int64]string{}
	for label, id := range p.snap.StackVersions {
		p.stackLabel[id] = label
	}
	p.fileBU, p.fileCluster = map[string]*BU{}, map[string]bool{}
	for i := range p.file.BUs {
		p.fileBU[p.file.BUs[i].Code] = &p.file.BUs[i]
	}
	for _, c := range p.file.Clusters {
		p.fileCluster[c.Name] = true
	}
}

// knownBU reports whether code names a BU the import may refer to: one in the
// file, or (unless pruning, which would deactivate it) one in the database.
func (p *planner) knownBU(code string) bool {
	if p.fileBU[code] != nil {
		return true
	}
	return !p.opt.Prune && p.buByCode[code] != nil
}

func (p *planner) knownCluster(name string) bool {
	if p.fileCluster[name] {
		return true
	}
	return !p.opt.Prune && p.clusterByName[name] != nil
}

func (p *planner) unknown(kind, name string) string {
	if p.opt.Prune && ((kind == "BU" && p.buByCode[name] != nil) || (kind == "cluster" && p.clusterByName[name] != nil)) {
		return fmt.Sprintf("%s %s is not in the file, so --prune would retire it; list it in the file", kind, name)
	}
	return fmt.Sprintf("unknown %s %s: neither in the file nor in Tesla", kind, name)
}

// checkReferences finds unknown references, BU cycles and roles above the
// importer's own.
func (p *planner) checkReferences() {
	for _, b := range p.file.BUs {
		if b.Parent != "" && !p.knownBU(b.Parent) {
			p.errs.add(b.Line, "BU %s: parent: %s", b.Code, p.unknown("BU", b.Parent))
		}
	}
	p.checkCycles()
	for _, pe := range p.file.People {
		if pe.BU != "" && !p.knownBU(pe.BU) {
			p.errs.add(pe.Line, "person %s: bu: %s", pe.Login, p.unknown("BU", pe.BU))
		}
		role := roleOf(pe.Role)
		if pe.Role == "" {
			role = auth.Viewer
		}
		if role.Valid() && !p.opt.Role.AtLeast(role) {
			p.errs.add(pe.Line, "person %s: role %s is above your own (%s)", pe.Login, role, p.opt.Role)
		}
	}
	for _, c := range p.file.Clusters {
		if c.OwnerBU != nil && *c.OwnerBU != "" && !p.knownBU(*c.OwnerBU) {
			p.errs.add(c.Line, "cluster %s: owner_bu: %s", c.Name, p.unknown("BU", *c.OwnerBU))
		}
		if c.Stack != nil && *c.Stack != "" {
			if _, ok := p.snap.StackVersions[*c.Stack]; !ok {
				p.errs.add(c.Line, "cluster %s: unknown stack version %q (write it as \"STACK VERSION\", e.g. \"TDP 3.1.0\")", c.Name, *c.Stack)
			}
		}
	}
	for _, h := range p.file.Hosts {
		if h.Cluster != "" && !p.knownCluster(h.Cluster) {
			p.errs.add(h.Line, "host %s: cluster: %s", h.Hostname, p.unknown("cluster", h.Cluster))
		}
	}
	if p.opt.Prune && p.opt.Self != "" && !slices.ContainsFunc(p.file.People, func(pe Person) bool { return pe.Login == p.opt.Self }) {
		p.errs.add(0, "the file does not list you (%s): pruning would deactivate you", p.opt.Self)
	}
}

// parentOf is a BU's parent code once the file is applied.
func (p *planner) parentOf(code string) string {
	if b := p.fileBU[code]; b != nil {
		return b.Parent
	}
	if b := p.buByCode[code]; b != nil && b.ParentID != nil {
		return p.buCode[*b.ParentID]
	}
	return ""
}

// checkCycles refuses a file whose BU tree, merged with the database's, has a
// cycle, naming it ("A → B → A") at the line of the first BU in it.
func (p *planner) checkCycles() {
	reported := map[string]bool{}
	for _, b := range p.file.BUs {
		path := []string{b.Code}
		at := map[string]int{b.Code: 0}
		for cur := p.parentOf(b.Code); cur != ""; cur = p.parentOf(cur) {
			if i, seen := at[cur]; seen {
				cycle := append(slices.Clone(path[i:]), cur)
				key := slices.Min(cycle)
				if !reported[key] {
					reported[key] = true
					// Named at the line of the first BU of the cycle the file lists.
					ln := b.Line
					for _, code := range cycle {
						if fb := p.fileBU[code]; fb != nil {
							ln = fb.Line
							break
						}
					}
					p.errs.add(ln, "BU cycle: %s", strings.Join(cycle, " → "))
				}
				break
			}
			at[cur] = len(path)
			path = append(path, cur)
		}
	}
}

// depth is a file BU's depth in the final tree, so parents are written first.
func (p *planner) depth(code string) int {
	d := 0
	for cur := p.parentOf(code); cur != "" && d < 1000; cur = p.parentOf(cur) {
		d++
	}
	return d
}

func (p *planner) change(c Change) {
	if c.Action == Update && len(c.Fields) == 0 {
		p.res.Unchanged++
		return
	}
	p.res.Changes = append(p.res.Changes, c)
}

// run walks the file once, recording each change and, when writing, making it.
func (p *planner) run() error {
	steps := []func() error{p.runBUs, p.runPeople, p.runClusters, p.runHosts, p.prune}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

func diff(fields *[]inventory.FieldChange, name, from, to string) {
	if from != to {
		*fields = append(*fields, inventory.FieldChange{Field: name, From: from, To: to})
	}
}

func (p *planner) runBUs() error {
	order := slices.Clone(p.file.BUs)
	sort.SliceStable(order, func(i, j int) bool { return p.depth(order[i].Code) < p.depth(order[j].Code) })
	for _, b := range order {
		var parentID *int64
		if b.Parent != "" {
			if pb := p.buByCode[b.Parent]; pb != nil {
				parentID = &pb.ID
			}
		}
		cur := p.buByCode[b.Code]
		if cur == nil {
			p.change(Change{Entity: EntityBU, Key: b.Code, Action: Create, Fields: creates("name", b.Name, "parent", b.Parent)})
			if p.write {
				id, err := inventory.InsertBU(p.ctx, p.tx, parentID, b.Name, b.Code)
				if err != nil {
					return p.lineErr(b.Line, err)
				}
				nb := &inventory.BU{ID: id, ParentID: parentID, Name: b.Name, Code: b.Code, Active: true}
				p.buByCode[b.Code], p.buCode[id] = nb, b.Code
			}
			continue
		}
		var fields []inventory.FieldChange
		curParent := ""
		if cur.ParentID != nil {
			curParent = p.buCode[*cur.ParentID]
		}
		diff(&fields, "name", cur.Name, b.Name)
		diff(&fields, "parent", curParent, b.Parent)
		diff(&fields, "active", fmt.Sprint(cur.Active), "true")
		p.change(Change{Entity: EntityBU, Key: b.Code, Action: Update, Fields: fields})
		if p.write && len(fields) > 0 {
			if err := inventory.UpdateBU(p.ctx, p.tx, cur.ID, parentID, b.Name, b.Code, true); err != nil {
				return p.lineErr(b.Line, err)
			}
			cur.ParentID, cur.Name, cur.Active = parentID, b.Name, true
		}
	}
	return nil
}

// creates lists the fields of a new entity (name, value pairs), leaving out
// empty values.
func creates(kv ...string) []inventory.FieldChange {
	var out []inventory.FieldChange
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			out = append(out, inventory.FieldChange{Field: kv[i], To: kv[i+1]})
		}
	}
	return out
}

func deref(s *string, def string) string {
	if s == nil {
		return def
	}
	return *s
}

// buID is the id of a BU by code while writing (0 while only planning).
func (p *planner) buID(code string) int64 {
	if b := p.buByCode[code]; b != nil {
		return b.ID
	}
	return 0
}

func (p *planner) runPeople() error {
	people := map[string]*inventory.Person{}
	for _, pe := range p.snap.People {
		people[pe.Login] = pe
	}
	for _, pe := range p.file.People {
		role := roleOf(pe.Role)
		if pe.Role == "" {
			role = auth.Viewer
		}
		cur := people[pe.Login]
		if cur == nil {
			p.change(Change{Entity: EntityPerson, Key: pe.Login, Action: Create,
				Fields: creates("name", pe.Name, "email", deref(pe.Email, ""), "bu", pe.BU, "role", string(role))})
			if p.write {
				if _, err := inventory.InsertPerson(p.ctx, p.tx, inventory.CreatePersonInput{Login: pe.Login, Name: pe.Name,
					Email: deref(pe.Email, ""), BUID: p.buID(pe.BU), Role: role}); err != nil {
					return p.lineErr(pe.Line, err)
				}
			}
			continue
		}
		next := *cur
		next.Name, next.Email, next.Role, next.Active = pe.Name, deref(pe.Email, cur.Email), role, true
		var fields []inventory.FieldChange
		diff(&fields, "name", cur.Name, next.Name)
		diff(&fields, "email", cur.Email, next.Email)
		diff(&fields, "bu", p.buCode[cur.BUID], pe.BU)
		diff(&fields, "role", string(cur.Role), string(next.Role))
		diff(&fields, "active", fmt.Sprint(cur.Active), "true")
		p.change(Change{Entity: EntityPerson, Key: pe.Login, Action: Update, Fields: fields})
		if p.write && len(fields) > 0 {
			next.BUID = p.buID(pe.BU)
			if _, err := inventory.UpdatePerson(p.ctx, p.tx, &next); err != nil {
				return p.lineErr(pe.Line, err)
			}
		}
	}
	return p.checkAdmins(people)
}

// checkAdmins refuses a file after which no active ADMIN would be left.
func (p *planner) checkAdmins(people map[string]*inventory.Person) error {
	if p.write {
		return nil
	}
	listed := map[string]bool{}
	admins := 0
	for _, pe := range p.file.People {
		listed[pe.Login] = true
		if roleOf(pe.Role) == auth.Admin {
			admins++
		}
	}
	for login, pe := range people {
		if !listed[login] && pe.Active && pe.Role == auth.Admin && !p.opt.Prune {
			admins++
		}
	}
	if admins == 0 {
		p.errs.add(0, "after this import no active ADMIN would be left; keep at least one person with role ADMIN")
	}
	return nil
}

func (p *planner) runClusters() error {
	for _, c := range p.file.Clusters {
		kind := strings.ToUpper(c.Kind)
		cur := p.clusterByName[c.Name]
		var owner, stack *int64
		if c.OwnerBU != nil && *c.OwnerBU != "" {
			if b := p.buByCode[*c.OwnerBU]; b != nil {
				owner = &b.ID
			}
		}
		if c.Stack != nil && *c.Stack != "" {
			id := p.snap.StackVersions[*c.Stack]
			stack = &id
		}
		if cur == nil {
			p.change(Change{Entity: EntityCluster, Key: c.Name, Action: Create, Fields: creates("region", c.Region, "kind", kind,
				"ownerBu", deref(c.OwnerBU, ""), "stack", deref(c.Stack, ""), "description", deref(c.Description, ""))})
			if p.write {
				nc, err := inventory.InsertCluster(p.ctx, p.tx, &inventory.Cluster{Name: c.Name, Region: c.Region, Kind: kind,
					OwnerBUID: owner, StackVersionID: stack, Description: deref(c.Description, "")})
				if err != nil {
					return p.lineErr(c.Line, err)
				}
				p.clusterByName[c.Name], p.clusterName[nc.ID] = nc, nc.Name
			}
			continue
		}
		next := *cur
		next.Region, next.Kind, next.Description = c.Region, kind, deref(c.Description, cur.Description)
		var fields []inventory.FieldChange
		diff(&fields, "region", cur.Region, next.Region)
		diff(&fields, "kind", cur.Kind, next.Kind)
		if c.OwnerBU != nil {
			next.OwnerBUID = owner
			diff(&fields, "ownerBu", p.codeOf(cur.OwnerBUID), *c.OwnerBU)
		}
		if c.Stack != nil {
			next.StackVersionID = stack
			diff(&fields, "stack", p.stackOf(cur.StackVersionID), *c.Stack)
		}
		diff(&fields, "description", cur.Description, next.Description)
		if cur.Status == "RETIRED" {
			next.Status = "ACTIVE"
			diff(&fields, "status", cur.Status, next.Status)
		}
		p.change(Change{Entity: EntityCluster, Key: c.Name, Action: Update, Fields: fields})
		if p.write && len(fields) > 0 {
			if _, err := inventory.UpdateCluster(p.ctx, p.tx, &next); err != nil {
				return p.lineErr(c.Line, err)
			}
		}
	}
	return nil
}

func (p *planner) codeOf(id *int64) string {
	if id == nil {
		return ""
	}
	return p.buCode[*id]
}

func (p *planner) stackOf(id *int64) string {
	if id == nil {
		return ""
	}
	return p.stackLabel[*id]
}

// runHosts updates hosts one by one but inserts the new ones in one statement:
// registering a fleet from a file is mostly new hosts.
func (p *planner) runHosts() error {
	var created []inventory.NewHost
	for _, h := range p.file.Hosts {
		cur := p.snap.Hosts[h.Hostname]
		if cur == nil {
			_, facts := h.HostFacts.Apply(&inventory.Host{})
			p.change(Change{Entity: EntityHost, Key: h.Hostname, Action: Create,
				Fields: append([]inventory.FieldChange{{Field: "cluster", To: h.Cluster}}, facts...)})
			if p.write {
				created = append(created, inventory.NewHost{ClusterID: p.clusterByName[h.Cluster].ID,
					HostSpec: inventory.HostSpec{Hostname: h.Hostname, HostFacts: h.HostFacts}})
			}
			continue
		}
		next, fields := h.HostFacts.Apply(cur)
		if from := p.clusterName[cur.ClusterID]; from != h.Cluster {
			fields = append([]inventory.FieldChange{{Field: "cluster", From: from, To: h.Cluster}}, fields...)
		}
		p.change(Change{Entity: EntityHost, Key: h.Hostname, Action: Update, Fields: fields})
		if p.write && len(fields) > 0 {
			next.ClusterID = p.clusterByName[h.Cluster].ID
			if _, err := inventory.UpdateHostFacts(p.ctx, p.tx, &next); err != nil {
				return p.lineErr(h.Line, err)
			}
		}
	}
	if _, err := inventory.InsertHosts(p.ctx, p.tx, created); err != nil {
		if fe, ok := fault.As(err); ok {
			return Errors{fe}
		}
		return err
	}
	return nil
}

// pruneReason is the state reason of hosts an import decommissions.
const pruneReason = "not in the inventory file (import --prune)"

// prune ends what the file does not list: hosts, then clusters, people, BUs.
func (p *planner) prune() error {
	if !p.opt.Prune {
		return nil
	}
	var ids []int64
	for _, h := range p.snap.Unlisted {
		p.change(Change{Entity: EntityHost, Key: h.Hostname, Action: Deactivate,
			Fields: []inventory.FieldChange{{Field: "state", To: "DECOMMISSIONED"}}})
		ids = append(ids, h.ID)
	}
	if p.write && len(ids) > 0 {
		if _, err := inventory.DecommissionHosts(p.ctx, p.tx, ids, pruneReason); err != nil {
			return err
		}
	}
	for _, c := range p.snap.Clusters {
		if p.fileCluster[c.Name] || c.Status == "RETIRED" {
			continue
		}
		p.change(Change{Entity: EntityCluster, Key: c.Name, Action: Deactivate,
			Fields: []inventory.FieldChange{{Field: "status", From: c.Status, To: "RETIRED"}}})
		if p.write {
			next := *c
			next.Status = "RETIRED"
			if _, err := inventory.UpdateCluster(p.ctx, p.tx, &next); err != nil {
				return err
			}
		}
	}
	listed := map[string]bool{}
	for _, pe := range p.file.People {
		listed[pe.Login] = true
	}
	for _, pe := range p.snap.People {
		if listed[pe.Login] || !pe.Active {
			continue
		}
		p.change(Change{Entity: EntityPerson, Key: pe.Login, Action: Deactivate,
			Fields: []inventory.FieldChange{{Field: "active", From: "true", To: "false"}}})
		if p.write {
			next := *pe
			next.Active = false
			if _, err := inventory.UpdatePerson(p.ctx, p.tx, &next); err != nil {
				return err
			}
		}
	}
	for _, b := range p.snap.BUs {
		if p.fileBU[b.Code] != nil || !b.Active {
			continue
		}
		p.change(Change{Entity: EntityBU, Key: b.Code, Action: Deactivate,
			Fields: []inventory.FieldChange{{Field: "active", From: "true", To: "false"}}})
		if p.write {
			if err := inventory.UpdateBU(p.ctx, p.tx, b.ID, b.ParentID, b.Name, b.Code, false); err != nil {
				return err
			}
		}
	}
	return nil
}

// lineErr names the file line in a domain error met while writing (a conflict
// with a concurrent change, say); other errors pass unchanged.
func (p *planner) lineErr(line int, err error) error {
	if fe, ok := fault.As(err); ok {
		return Errors{{Kind: fe.Kind, Field: fmt.Sprintf("content.line %d", line), Message: fmt.Sprintf("line %d: %s", line, fe.Message)}}
	}
	return err
}
