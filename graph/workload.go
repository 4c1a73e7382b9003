package graph

import (
	"context"
	"time"

	"github.com/teslaops/tesla/graph/model"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/lineage"
	"github.com/teslaops/tesla/internal/workload"
)

// job loads one job as a GraphQL Job.
func (r *Resolver) job(ctx context.Context, id int64) (*model.Job, error) {
	j, err := r.Workload.Job(ctx, id)
	if err != nil {
		return nil, err
	}
	return model.FromJob(j), nil
}

// workloadNode fetches the workload schema's Node kinds for node(id); ok is
// false for another kind.
func (r *Resolver) workloadNode(ctx context.Context, kind string, id int64) (n model.Node, ok bool, err error) {
	switch kind {
	case model.KindJob:
		j, err := r.job(ctx, id)
		return j, true, err
	case model.KindJobRun:
		run, err := r.Workload.Run(ctx, id)
		if err != nil {
			return nil, true, err
		}
		return model.FromJobRun(run), true, nil
	case model.KindQueue:
		q, err := r.queue(ctx, id)
		return q, true, err
	case model.KindDataset:
		ds, err := r.LineageService.DatasetsByIDs(ctx, []int64{id})
		if err != nil {
			return nil, true, err
		}
		if ds[id] == nil {
			return nil, true, fault.NotFoundf("dataset not found")
		}
		return model.FromDataset(ds[id]), true, nil
	}
	return nil, false, nil
}

// lineageNode decodes the id of a job or a dataset.
func lineageNode(field, gid string) (lineage.Node, error) {
	kind, id, err := model.DecodeGlobalID(field, gid)
	if err != nil {
		return lineage.Node{}, err
	}
	switch kind {
	case model.KindJob:
		return lineage.Node{Kind: lineage.JobNode, ID: id}, nil
	case model.KindDataset:
		return lineage.Node{Kind: lineage.DatasetNode, ID: id}, nil
	}
	return lineage.Node{}, fault.Field(field, "%s is the id of a %s; lineage starts at a Job or a Dataset", field, kind)
}

func lineageDirection(d *model.LineageDirection) lineage.Direction {
	if d == nil {
		return lineage.Both
	}
	switch *d {
	case model.LineageDirectionUpstream:
		return lineage.Upstream
	case model.LineageDirectionDownstream:
		return lineage.Downstream
	}
	return lineage.Both
}

func orDefault(v *int, def int) int {
	if v == nil {
		return def
	}
	return *v
}

// lineageGraph maps a walk: nodes in the walk's order, edges from where the
// data comes from to where it goes.
func lineageGraph(g *lineage.Graph) *model.LineageGraph {
	out := &model.LineageGraph{Truncated: g.Truncated, Nodes: make([]model.LineageNode, 0, len(g.Nodes)),
		Edges: make([]*model.LineageEdge, len(g.Edges))}
	for _, n := range g.Nodes {
		switch n.Kind {
		case lineage.JobNode:
			if j := g.Jobs[n.ID]; j != nil {
				out.Nodes = append(out.Nodes, model.FromJob(j))
			}
		case lineage.DatasetNode:
			if d := g.Datasets[n.ID]; d != nil {
				out.Nodes = append(out.Nodes, model.FromDataset(d))
			}
		}
	}
	for i, e := range g.Edges {
		job, ds := model.GlobalID(model.KindJob, e.JobID), model.GlobalID(model.KindDataset, e.DatasetID)
		if e.Direction == "READ" {
			out.Edges[i] = &model.LineageEdge{Kind: model.LineageEdgeKindRead, From: ds, To: job}
		} else {
			out.Edges[i] = &model.LineageEdge{Kind: model.LineageEdgeKindWrite, From: job, To: ds}
		}
	}
	return out
}

// jobFilter decodes a job listing's filter.
func jobFilter(f *model.JobFilter) (workload.JobFilter, error) {
	var out workload.JobFilter
	if f == nil {
		return out, nil
	}
	ids := []struct {
		field, kind string
		gid         *string
		dst         **int64
	}{
		{"filter.owner", model.KindPerson, f.Owner, &out.OwnerID},
		{"filter.bu", model.KindBU, f.Bu, &out.BUID},
		{"filter.cluster", model.KindCluster, f.Cluster, &out.ClusterID},
		{"filter.queue", model.KindQueue, f.Queue, &out.QueueID},
	}
	for _, id := range ids {
		if id.gid == nil {
			continue
		}
		v, err := model.ParseID(id.field, *id.gid, id.kind)
		if err != nil {
			return out, err
		}
		*id.dst = &v
	}
	if f.Kind != nil {
		out.Kind = string(*f.Kind)
	}
	if f.Priority != nil {
		out.Priority = string(*f.Priority)
	}
	out.HasFindings = f.HasFindings
	return out, nil
}

func jobOrder(o *model.JobOrder) workload.JobOrder {
	if o == nil {
		return workload.JobOrder{}
	}
	return workload.JobOrder{Field: string(o.Field), Desc: o.Direction != nil && *o.Direction == model.OrderDirectionDesc}
}

// jobs lists jobs as a connection.
func (r *Resolver) jobs(ctx context.Context, f workload.JobFilter, first *int, after *string, o *model.JobOrder) (*model.JobConnection, error) {
	p, err := r.Workload.Jobs(ctx, f, jobOrder(o), connectionArgs(ctx, first, after, nil, nil))
	if err != nil {
		return nil, err
	}
	c := &model.JobConnection{}
	c.Edges, c.Nodes, c.PageInfo, c.TotalCount = connection(p, model.FromJob,
		func(cur string, n *model.Job) *model.JobEdge { return &model.JobEdge{Cursor: cur, Node: n} })
	return c, nil
}

// window resolves an optional [from, to) the way every workload window does:
// to defaults to now, from to def before to.
func window(from, to *time.Time, def time.Duration) (time.Time, time.Time) {
	end := time.Now()
	if to != nil {
		end = *to
	}
	start := end.Add(-def)
	if from != nil {
		start = *from
	}
	return start, end
}

// Default windows of queue fields.
const (
	defaultQueueUsageRange = 24 * time.Hour
	defaultQueueShareRange = 7 * 24 * time.Hour
)

func queueUsage(points []*workload.QueuePoint, step time.Duration) *model.QueueUsage {
	out := &model.QueueUsage{Step: model.Duration(step), Points: make([]*model.QueueUsagePoint, len(points))}
	for i, p := range points {
		out.Points[i] = &model.QueueUsagePoint{Ts: p.Bin, UsedVcores: p.UsedVcores, MaxUsedVcores: p.MaxUsedVcores,
			UsedMemoryBytes: p.UsedMemoryBytes, RunningApps: p.RunningApps, PendingApps: p.PendingApps,
			PendingVcores: p.PendingVcores, PendingMemoryBytes: p.PendingMemoryBytes}
	}
	return out
}

func jobUsageHour(u *workload.UsageRow) *model.JobUsageHour {
	return &model.JobUsageHour{Hour: u.Hour, Runs: int(u.Runs), RequestedCoreSeconds: u.RequestedCoreSeconds,
		UsedCoreSeconds: u.UsedCoreSeconds, RequestedMemoryByteSeconds: u.RequestedMemoryByteSeconds,
		UsedMemoryByteSeconds: u.UsedMemoryByteSeconds, PeakMemoryBytes: float64(u.PeakMemoryBytes)}
}

// queue loads one queue as a GraphQL Queue, through the request's loader so
// the queues of a page of jobs cost one statement.
func (r *Resolver) queue(ctx context.Context, id int64) (*model.Queue, error) {
	q, err := r.loaders(ctx).Queue.Load(ctx, id)
	if err != nil {
		return nil, notFound(err, "queue")
	}
	return model.FromQueue(q), nil
}
