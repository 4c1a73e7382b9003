package stack

import (
	"container/heap"
	"slices"
	"strings"

	"github.com/teslaops/tesla/internal/fault"
)

// Change is one service whose package a resolution changes. From is empty
// for a service added, To for one removed.
type Change struct {
	Service string
	From    string
	To      string
}

// Resolution is the effective set of packages once a stack version is applied
// to a cluster's current one, and what changes.
type Resolution struct {
	// Packages are the effective packages, by service name.
	Packages []*Package
	// Changes are the services whose version changes, by service name.
	Changes []Change
}

// Resolve applies target to base (a cluster's current packages): a full
// version replaces base; a partial one overlays base, replacing only the
// services it contains. The result must be consistent (CheckSet): every
// dependency satisfied, no cycle; otherwise Resolve returns the reason as a
// BAD_USER_INPUT naming the package and constraint, or the cycle.
func Resolve(base []*Package, target *Version) (*Resolution, error) {
	eff := target.Packages
	if target.Partial {
		byService := make(map[string]*Package, len(base)+len(target.Packages))
		for _, p := range base {
			byService[p.Service] = p
		}
		for _, p := range target.Packages {
			byService[p.Service] = p
		}
		eff = make([]*Package, 0, len(byService))
		for _, p := range byService {
			eff = append(eff, p)
		}
	} else {
		eff = slices.Clone(eff)
	}
	slices.SortFunc(eff, func(a, b *Package) int { return strings.Compare(a.Service, b.Service) })
	if err := CheckSet(eff); err != nil {
		return nil, err
	}
	res := &Resolution{Packages: eff}
	old := make(map[string]string, len(base))
	for _, p := range base {
		old[p.Service] = p.Info.Version
	}
	for _, p := range eff {
		if from, ok := old[p.Service]; !ok || from != p.Info.Version {
			res.Changes = append(res.Changes, Change{Service: p.Service, From: from, To: p.Info.Version})
		}
		delete(old, p.Service)
	}
	for svc, from := range old {
		res.Changes = append(res.Changes, Change{Service: svc, From: from})
	}
	slices.SortFunc(res.Changes, func(a, b Change) int { return strings.Compare(a.Service, b.Service) })
	return res, nil
}

// CheckSet checks a whole set of packages (one per service): every dependency
// of every package is present and satisfies its constraint, and the
// dependencies form no cycle.
func CheckSet(pkgs []*Package) error {
	byService := make(map[string]*Package, len(pkgs))
	for _, p := range pkgs {
		byService[p.Service] = p
	}
	// Stacks repeat the same few constraints and versions many times: parse
	// each once.
	constraints := make(map[string]Constraint)
	versions := make(map[string]SemVer, len(pkgs))
	for _, p := range pkgs {
		for _, d := range p.Ops.DependsOn {
			dep, ok := byService[d.Service]
			if !ok {
				return fault.Field("input.packages", "%s depends on %s %s, which the stack version does not contain",
					p.Label(), d.Service, d.Constraint)
			}
			c, ok := constraints[d.Constraint]
			if !ok {
				var err error
				if c, err = ParseConstraint(d.Constraint); err != nil {
					return fault.Field("input.packages", "%s has a bad constraint on %s: %v", p.Label(), d.Service, err)
				}
				constraints[d.Constraint] = c
			}
			v, ok := versions[dep.Info.Version]
			if !ok {
				var err error
				if v, err = ParseSemVer(dep.Info.Version); err != nil {
					return fault.Field("input.packages", "%s has a bad version: %v", dep.Label(), err)
				}
				versions[dep.Info.Version] = v
			}
			if !c.Allows(v) {
				return fault.Field("input.packages", "%s needs %s %s, which %s does not satisfy",
					p.Label(), d.Service, d.Constraint, dep.Label())
			}
		}
	}
	_, err := order(pkgs, false)
	return err
}

// StartOrder orders pkgs so that every package comes after the packages it
// depends on (dependencies on services outside pkgs are ignored); among
// packages the dependencies leave unordered, lower StartOrder first, then by
// service name. A cycle is refused, named.
func StartOrder(pkgs []*Package) ([]*Package, error) { return order(pkgs, false) }

// StopOrder orders pkgs so that every package comes before the packages it
// depends on (the reverse of the start rule); ties by lower StopOrder, then by
// service name.
func StopOrder(pkgs []*Package) ([]*Package, error) { return order(pkgs, true) }

// order is Kahn's algorithm with a heap for the tie-break, O((n+e) log n).
func order(pkgs []*Package, stop bool) ([]*Package, error) {
	idx := make(map[string]int, len(pkgs))
	for i, p := range pkgs {
		idx[p.Service] = i
	}
	// next[i] are the nodes that may only come after i; indeg counts what must
	// come before each node.
	next := make([][]int, len(pkgs))
	indeg := make([]int, len(pkgs))
	for i, p := range pkgs {
		for _, d := range p.Ops.DependsOn {
			j, ok := idx[d.Service]
			if !ok {
				continue
			}
			if stop {
				next[i] = append(next[i], j)
				indeg[j]++
			} else {
				next[j] = append(next[j], i)
				indeg[i]++
			}
		}
	}
	h := &readyHeap{pkgs: pkgs, stop: stop}
	for i := range pkgs {
		if indeg[i] == 0 {
			h.items = append(h.items, i)
		}
	}
	heap.Init(h)
	out := make([]*Package, 0, len(pkgs))
	for h.Len() > 0 {
		i := heap.Pop(h).(int)
		out = append(out, pkgs[i])
		for _, j := range next[i] {
			if indeg[j]--; indeg[j] == 0 {
				heap.Push(h, j)
			}
		}
	}
	if len(out) < len(pkgs) {
		return nil, fault.Field("input.packages", "dependency cycle: %s", cycle(pkgs, idx))
	}
	return out, nil
}

// cycle names one cycle of the dependencies among pkgs, found by a depth-first
// search from the services in name order, dependencies in name order:
// "HDFS → ZOOKEEPER → HDFS". It is only called once Kahn's algorithm has left
// nodes unplaced, so a cycle exists.
func cycle(pkgs []*Package, idx map[string]int) string {
	byName := make([]int, len(pkgs))
	for i := range byName {
		byName[i] = i
	}
	slices.SortFunc(byName, func(a, b int) int { return strings.Compare(pkgs[a].Service, pkgs[b].Service) })
	deps := make([][]int, len(pkgs))
	for i, p := range pkgs {
		for _, d := range p.Ops.DependsOn {
			if j, ok := idx[d.Service]; ok {
				deps[i] = append(deps[i], j)
			}
		}
		slices.SortFunc(deps[i], func(a, b int) int { return strings.Compare(pkgs[a].Service, pkgs[b].Service) })
	}
	const (
		white = iota
		grey
		black
	)
	color := make([]int, len(pkgs))
	var path []int
	var found []int
	var visit func(i int) bool
	visit = func(i int) bool {
		color[i] = grey
		path = append(path, i)
		for _, j := range deps[i] {
			switch color[j] {
			case grey:
				at := slices.Index(path, j)
				found = append(slices.Clone(path[at:]), j)
				return true
			case white:
				if visit(j) {
					return true
				}
			}
		}
		color[i] = black
		path = path[:len(path)-1]
		return false
	}
	for _, i := range byName {
		if color[i] == white && visit(i) {
			break
		}
	}
	names := make([]string, len(found))
	for k, i := range found {
		names[k] = pkgs[i].Service
	}
	return strings.Join(names, " → ")
}

type readyHeap struct {
	pkgs  []*Package
	stop  bool
	items []int
}

func (h *readyHeap) Len() int { return len(h.items) }
func (h *readyHeap) Less(a, b int) bool {
	pa, pb := h.pkgs[h.items[a]], h.pkgs[h.items[b]]
	oa, ob := pa.Ops.StartOrder, pb.Ops.StartOrder
	if h.stop {
		oa, ob = pa.Ops.StopOrder, pb.Ops.StopOrder
	}
	if oa != ob {
		return oa < ob
	}
	return pa.Service < pb.Service
}
func (h *readyHeap) Swap(a, b int) { h.items[a], h.items[b] = h.items[b], h.items[a] }
func (h *readyHeap) Push(x any)    { h.items = append(h.items, x.(int)) }
func (h *readyHeap) Pop() any {
	n := len(h.items) - 1
	x := h.items[n]
	h.items = h.items[:n]
	return x
}

// Graph is a stack version's dependency graph for a UI: one node per package,
// one edge per dependency (from the dependent to the package depended on).
type Graph struct {
	Nodes []GraphNode
	Edges []GraphEdge
}

// GraphNode is one package of a Graph.
type GraphNode struct {
	PackageID int64
	Service   string
	Version   string
	// Position is the node's place in the start order (0 first), or -1 when the
	// graph has a cycle.
	Position int
}

// GraphEdge is one dependency of a Graph. Missing is set when the version has
// no package of To; Satisfied when To's version meets Constraint.
type GraphEdge struct {
	From, To   string
	Constraint string
	Missing    bool
	Satisfied  bool
}

// BuildGraph returns the dependency graph of pkgs.
func BuildGraph(pkgs []*Package) *Graph {
	g := &Graph{}
	pos := map[string]int{}
	if ordered, err := StartOrder(pkgs); err == nil {
		for i, p := range ordered {
			pos[p.Service] = i
		}
	}
	byService := make(map[string]*Package, len(pkgs))
	for _, p := range pkgs {
		byService[p.Service] = p
	}
	for _, p := range pkgs {
		at, ok := pos[p.Service]
		if !ok {
			at = -1
		}
		g.Nodes = append(g.Nodes, GraphNode{PackageID: p.ID, Service: p.Service, Version: p.Info.Version, Position: at})
		for _, d := range p.Ops.DependsOn {
			e := GraphEdge{From: p.Service, To: d.Service, Constraint: d.Constraint}
			if dep, ok := byService[d.Service]; !ok {
				e.Missing = true
			} else if c, err := ParseConstraint(d.Constraint); err == nil {
				if v, err := ParseSemVer(dep.Info.Version); err == nil {
					e.Satisfied = c.Allows(v)
				}
			}
			g.Edges = append(g.Edges, e)
		}
	}
	return g
}
