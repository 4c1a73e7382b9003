package graph

import (
	"context"

	"github.com/teslaops/tesla/graph/model"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/lineage"
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
