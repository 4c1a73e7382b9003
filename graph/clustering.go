package graph

import (
	"slices"

	"github.com/teslaops/tesla/graph/model"
	"github.com/teslaops/tesla/internal/clustering"
)

// machineFeatures names clustering.Feature's columns in the schema's enum.
var machineFeatures = []model.MachineFeature{
	model.MachineFeatureCPUMean, model.MachineFeatureCPUP95,
	model.MachineFeatureMemoryMean, model.MachineFeatureMemoryP95,
	model.MachineFeatureIoMean, model.MachineFeatureIoP95,
	model.MachineFeatureNetInMean, model.MachineFeatureNetInP95,
	model.MachineFeatureContainersMean, model.MachineFeatureContainersP95,
}

func machineClustering(v *clustering.View) *model.MachineClustering {
	if v == nil {
		return nil
	}
	r := v.Run
	out := &model.MachineClustering{View: v, ComputedAt: r.ComputedAt, WindowFrom: r.From, WindowTo: r.To,
		ChosenK: r.K, Quality: r.Quality, HostCount: v.Hosts, FleetHostCount: r.Hosts, ExplainedVariance: r.Explained}
	ks := make([]int, 0, len(r.Silhouettes))
	for k := range r.Silhouettes {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	for _, k := range ks {
		out.Candidates = append(out.Candidates, &model.ClusteringCandidate{K: k, Silhouette: r.Silhouettes[k]})
	}
	for _, g := range v.Groups {
		mg := &model.MachineGroup{Label: g.Label, Description: g.Description, HostCount: g.Hosts, FleetHostCount: g.FleetHosts}
		for i, f := range machineFeatures {
			if i < len(g.Centroid) && i < len(g.Z) {
				mg.Centroid = append(mg.Centroid, &model.MachineFeatureValue{Feature: f, Value: g.Centroid[i], Deviation: g.Z[i]})
			}
		}
		out.Groups = append(out.Groups, mg)
	}
	return out
}

func machinePoint(p clustering.Point) *model.MachinePoint {
	return &model.MachinePoint{HostID: p.HostID, Hostname: p.Hostname, ClusterName: p.Cluster, X: p.X, Y: p.Y, Group: p.Label, Distance: p.Distance, Outlier: p.Outlier}
}

func clusteringFilter(f *model.MachineClusteringFilter) (clustering.Filter, error) {
	var out clustering.Filter
	if f == nil {
		return out, nil
	}
	for _, gid := range f.ClusterIds {
		id, err := model.ParseID("filter.clusterIds", gid, model.KindCluster)
		if err != nil {
			return out, err
		}
		out.ClusterIDs = append(out.ClusterIDs, id)
	}
	for _, k := range f.Kinds {
		out.Kinds = append(out.Kinds, string(k))
	}
	var err error
	if out.BUID, err = model.ParseOptionalID("filter.buId", f.BuID, model.KindBU); err != nil {
		return out, err
	}
	out.Rack = f.Rack
	return out, nil
}

func machineChart(ps []clustering.Point) *model.MachineChart {
	c := &model.MachineChart{Hostnames: make([]string, len(ps)), ClusterNames: make([]string, len(ps)),
		X: make([]float64, len(ps)), Y: make([]float64, len(ps)), Groups: make([]int, len(ps)), Outliers: make([]bool, len(ps))}
	for i, p := range ps {
		c.Hostnames[i], c.ClusterNames[i], c.X[i], c.Y[i], c.Groups[i], c.Outliers[i] = p.Hostname, p.Cluster, p.X, p.Y, p.Label, p.Outlier
	}
	return c
}
