package graph

import (
	"strings"

	"github.com/teslaops/tesla/graph/model"
	"github.com/teslaops/tesla/internal/audit"
	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/inventory"
	"github.com/teslaops/tesla/internal/page"
)

func pageArgs(first *int, after *string, last *int, before *string) page.Args {
	return page.Args{First: first, After: after, Last: last, Before: before}
}

func pageInfo(i page.Info) *model.PageInfo {
	return &model.PageInfo{HasNextPage: i.HasNextPage, HasPreviousPage: i.HasPreviousPage,
		StartCursor: i.StartCursor(), EndCursor: i.EndCursor()}
}

// connection maps a page of domain items to a generated connection's parts.
func connection[D any, N any, E any](p page.Page[D], node func(D) N, edge func(cursor string, n N) E) ([]E, []N, *model.PageInfo, int) {
	nodes := make([]N, len(p.Items))
	edges := make([]E, len(p.Items))
	for i, it := range p.Items {
		nodes[i] = node(it)
		edges[i] = edge(p.Info.Cursor(i), nodes[i])
	}
	return edges, nodes, pageInfo(p.Info), p.Info.Total
}

func clusterConnection(p page.Page[*inventory.Cluster]) *model.ClusterConnection {
	c := &model.ClusterConnection{}
	c.Edges, c.Nodes, c.PageInfo, c.TotalCount = connection(p, model.FromCluster,
		func(cur string, n *model.Cluster) *model.ClusterEdge { return &model.ClusterEdge{Cursor: cur, Node: n} })
	return c
}

func hostConnection(p page.Page[*inventory.Host]) *model.HostConnection {
	c := &model.HostConnection{}
	c.Edges, c.Nodes, c.PageInfo, c.TotalCount = connection(p, model.FromHost,
		func(cur string, n *model.Host) *model.HostEdge { return &model.HostEdge{Cursor: cur, Node: n} })
	return c
}

func personConnection(p page.Page[*inventory.Person]) *model.PersonConnection {
	c := &model.PersonConnection{}
	c.Edges, c.Nodes, c.PageInfo, c.TotalCount = connection(p, model.FromPerson,
		func(cur string, n *model.Person) *model.PersonEdge { return &model.PersonEdge{Cursor: cur, Node: n} })
	return c
}

func buConnection(p page.Page[*inventory.BU]) *model.BUConnection {
	c := &model.BUConnection{}
	c.Edges, c.Nodes, c.PageInfo, c.TotalCount = connection(p, model.FromBU,
		func(cur string, n *model.BU) *model.BUEdge { return &model.BUEdge{Cursor: cur, Node: n} })
	return c
}

func stackConnection(p page.Page[*inventory.Stack]) *model.StackConnection {
	c := &model.StackConnection{}
	c.Edges, c.Nodes, c.PageInfo, c.TotalCount = connection(p, model.FromStack,
		func(cur string, n *model.Stack) *model.StackEdge { return &model.StackEdge{Cursor: cur, Node: n} })
	return c
}

func auditConnection(p page.Page[*audit.Entry]) *model.AuditEntryConnection {
	c := &model.AuditEntryConnection{}
	c.Edges, c.Nodes, c.PageInfo, c.TotalCount = connection(p, model.FromAuditEntry,
		func(cur string, n *model.AuditEntry) *model.AuditEntryEdge {
			return &model.AuditEntryEdge{Cursor: cur, Node: n}
		})
	return c
}

func tokenConnection(p page.Page[auth.Token]) *model.APITokenConnection {
	c := &model.APITokenConnection{}
	c.Edges, c.Nodes, c.PageInfo, c.TotalCount = connection(p, model.FromAPIToken,
		func(cur string, n *model.APIToken) *model.APITokenEdge {
			return &model.APITokenEdge{Cursor: cur, Node: n}
		})
	return c
}

func hostFilter(f *model.HostFilter) (inventory.HostFilter, error) {
	var out inventory.HostFilter
	if f == nil {
		return out, nil
	}
	var err error
	if out.ClusterID, err = model.ParseOptionalID("filter.clusterId", f.ClusterID, model.KindCluster); err != nil {
		return out, err
	}
	if out.BUID, err = model.ParseOptionalID("filter.buId", f.BuID, model.KindBU); err != nil {
		return out, err
	}
	if f.State != nil {
		out.States = append(out.States, string(*f.State))
	}
	for _, s := range f.States {
		out.States = append(out.States, string(s))
	}
	out.ClusterName = deref(f.ClusterName)
	out.Rack = deref(f.Rack)
	out.Search = deref(f.Search)
	return out, nil
}

func hostOrder(o *model.HostOrder) inventory.Order {
	if o == nil {
		return inventory.Order{}
	}
	return inventory.Order{Field: string(o.Field), Desc: o.Direction != nil && *o.Direction == model.OrderDirectionDesc}
}

func clusterOrder(o *model.ClusterOrder) inventory.Order {
	if o == nil {
		return inventory.Order{}
	}
	return inventory.Order{Field: string(o.Field), Desc: o.Direction != nil && *o.Direction == model.OrderDirectionDesc}
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func hostCounts(c inventory.HostCounts) *model.HostCounts {
	return &model.HostCounts{Total: c.Total, Online: c.Online, Degraded: c.Degraded, Offline: c.Offline,
		Maintenance: c.Maintenance, Decommissioned: c.Decommissioned, Repairing: c.Repairing}
}

func capacity(c inventory.Capacity) *model.ClusterCapacity {
	return &model.ClusterCapacity{CPUCores: int(c.CPUCores), MemoryBytes: float64(c.MemoryBytes),
		DiskBytes: float64(c.DiskBytes), NicBitsPerSecond: float64(c.NICBps)}
}

func mapAll[D any, N any](items []D, f func(D) N) []N {
	out := make([]N, len(items))
	for i, it := range items {
		out[i] = f(it)
	}
	return out
}

// userErrors turns a domain input or conflict error into payload userErrors, which
// is where a client expects mistakes it can fix; other errors stay GraphQL errors.
func userErrors(err error) ([]*model.UserError, error) {
	fe, ok := fault.As(err)
	if !ok || (fe.Kind != fault.Invalid && fe.Kind != fault.Conflict && fe.Kind != fault.NotFound) {
		return nil, err
	}
	ue := &model.UserError{Message: fe.Message, Code: string(fe.Kind)}
	if fe.Field != "" {
		ue.Field = strings.Split(fe.Field, ".")
	}
	return []*model.UserError{ue}, nil
}
