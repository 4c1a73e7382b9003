package graph

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vikstrous/dataloadgen"

	"github.com/teslaops/tesla/graph/model"
	"github.com/teslaops/tesla/internal/inventory"
	"github.com/teslaops/tesla/internal/page"
)

// Loaders batch by time: keys that arrive within loaderWait share one query. That
// holds for small lists, but on a busy machine the resolvers of a few hundred
// hosts can straddle two windows and cost an extra statement. So list resolvers
// look ahead at what the query selects on their nodes and fetch those children
// for the whole page at once, priming the loaders; the child resolvers then hit
// the cache, and a request costs the same number of statements however large.

type selections map[string][]graphql.CollectedField

// nodeSelections returns the fields selected on the nodes of a connection field
// (given its own selection set), through `nodes { … }` and `edges { node { … } }`.
func nodeSelections(op *graphql.OperationContext, conn []graphql.CollectedField) selections {
	out := selections{}
	add := func(f graphql.CollectedField) {
		for _, c := range graphql.CollectFields(op, f.Selections, nil) {
			out[c.Name] = append(out[c.Name], c)
		}
	}
	for _, f := range conn {
		switch f.Name {
		case "nodes":
			add(f)
		case "edges":
			for _, e := range graphql.CollectFields(op, f.Selections, nil) {
				if e.Name == "node" {
					add(e)
				}
			}
		}
	}
	return out
}

// fieldNodeSelections is nodeSelections for the connection field resolving in ctx.
func fieldNodeSelections(ctx context.Context) (*graphql.OperationContext, selections) {
	if !graphql.HasOperationContext(ctx) || graphql.GetFieldContext(ctx) == nil {
		return nil, nil
	}
	op := graphql.GetOperationContext(ctx)
	return op, nodeSelections(op, graphql.CollectFieldsCtx(ctx, nil))
}

// hostWants says which children of hosts a query selects.
type hostWants struct {
	Components, LatestMetrics, Cluster bool
}

func wantsOf(sel selections) hostWants {
	return hostWants{Components: sel["components"] != nil, LatestMetrics: sel["latestMetrics"] != nil, Cluster: sel["cluster"] != nil}
}

// primeHosts fetches the wanted children of hosts in one query each.
func (r *Resolver) primeHosts(ctx context.Context, l *Loaders, hosts []*inventory.Host, w hostWants) error {
	if len(hosts) == 0 {
		return nil
	}
	ids := make([]int64, len(hosts))
	clusters := map[int64]bool{}
	for i, h := range hosts {
		ids[i] = h.ID
		clusters[h.ClusterID] = true
	}
	if w.Components {
		if err := prime(ctx, l.Components, ids, grouped(r.Inventory.ComponentsByHost)); err != nil {
			return err
		}
	}
	if w.LatestMetrics {
		if err := prime(ctx, l.LatestMetrics, ids, optional(r.Inventory.LatestMetricsByHost)); err != nil {
			return err
		}
	}
	if w.Cluster {
		var cids []int64
		for id := range clusters {
			cids = append(cids, id)
		}
		if err := prime(ctx, l.Cluster, cids, r.Inventory.ClustersByIDs); err != nil {
			return err
		}
	}
	return nil
}

// prefetchClusters loads, for a page of clusters, every child the query selects,
// including the first page of their hosts.
func (r *Resolver) prefetchClusters(ctx context.Context, clusters []*inventory.Cluster) error {
	op, sel := fieldNodeSelections(ctx)
	if len(sel) == 0 || len(clusters) == 0 {
		return nil
	}
	l := r.loaders(ctx)
	var ids, versions, owners []int64
	for _, c := range clusters {
		ids = append(ids, c.ID)
		if c.StackVersionID != nil {
			versions = append(versions, *c.StackVersionID)
		}
		if c.OwnerBUID != nil {
			owners = append(owners, *c.OwnerBUID)
		}
	}
	if sel["hostCounts"] != nil || sel["capacity"] != nil {
		if err := prime(ctx, l.ClusterStats, ids, r.Inventory.StatsByCluster); err != nil {
			return err
		}
	}
	if sel["ownerBu"] != nil && len(owners) > 0 {
		if err := prime(ctx, l.BU, owners, r.Inventory.BUsByIDs); err != nil {
			return err
		}
	}
	if fs := sel["stackVersion"]; fs != nil && len(versions) > 0 {
		svs, err := r.Inventory.StackVersionsByIDs(ctx, versions)
		if err != nil {
			return err
		}
		var stacks []int64
		for id, v := range svs {
			l.StackVersion.Prime(id, v)
			stacks = append(stacks, v.StackID)
		}
		for _, f := range fs {
			for _, c := range graphql.CollectFields(op, f.Selections, nil) {
				if c.Name == "stack" {
					if err := prime(ctx, l.Stack, stacks, r.Inventory.StacksByIDs); err != nil {
						return err
					}
				}
			}
		}
	}
	for _, f := range sel["hosts"] {
		hf, order, args, err := hostArgs(f.ArgumentMap(op.Variables))
		if err != nil {
			continue // the field resolver reports the error where it belongs
		}
		conn := graphql.CollectFields(op, f.Selections, nil)
		args.NoTotal = !selectsTotal(conn)
		w := wantsOf(nodeSelections(op, conn))
		// LoadAll puts every cluster into one batch: one page query for all.
		if _, err := l.HostPages(hf, order, args, w).LoadAll(ctx, ids); err != nil {
			continue
		}
	}
	return nil
}

// selectsTotal reports whether a connection's selection reads totalCount; when it
// does not, keyset listings skip counting.
func selectsTotal(conn []graphql.CollectedField) bool {
	for _, f := range conn {
		if f.Name == "totalCount" {
			return true
		}
	}
	return false
}

// connectionArgs are the paging arguments of the connection field resolving in
// ctx, knowing whether it selects totalCount.
func connectionArgs(ctx context.Context, first *int, after *string, last *int, before *string) page.Args {
	a := pageArgs(first, after, last, before)
	if graphql.HasOperationContext(ctx) && graphql.GetFieldContext(ctx) != nil {
		a.NoTotal = !selectsTotal(graphql.CollectFieldsCtx(ctx, nil))
	}
	return a
}

// hostArgs decodes the arguments of a hosts connection field as the resolver
// receives them, so the prefetch and the resolver share one loader.
func hostArgs(raw map[string]any) (inventory.HostFilter, inventory.Order, page.Args, error) {
	var a struct {
		First   *int              `json:"first"`
		After   *string           `json:"after"`
		Last    *int              `json:"last"`
		Before  *string           `json:"before"`
		Filter  *model.HostFilter `json:"filter"`
		OrderBy *model.HostOrder  `json:"orderBy"`
	}
	b, err := json.Marshal(raw)
	if err == nil {
		err = json.Unmarshal(b, &a)
	}
	if err != nil {
		return inventory.HostFilter{}, inventory.Order{}, page.Args{}, err
	}
	f, err := hostFilter(a.Filter)
	return f, hostOrder(a.OrderBy), pageArgs(a.First, a.After, a.Last, a.Before), err
}

// prime fetches keys with fetch and primes the loader with the results. Keys the
// fetch refuses one by one (a dataloadgen.MappedFetchError, see perKey) are left
// unprimed: their own field then loads them and reports its refusal at its own
// path, so a prefetch never turns one refused child into a failed list.
func prime[V any](ctx context.Context, ld interface{ Prime(int64, V) bool }, keys []int64,
	fetch func(context.Context, []int64) (map[int64]V, error)) error {
	m, err := fetch(ctx, keys)
	var refused dataloadgen.MappedFetchError[int64]
	if errors.As(err, &refused) {
		for k := range refused {
			delete(m, k)
		}
		err = nil
	}
	if err != nil {
		return err
	}
	for k, v := range m {
		ld.Prime(k, v)
	}
	return nil
}
