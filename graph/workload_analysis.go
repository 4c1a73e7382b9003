package graph

import (
	"github.com/teslaops/tesla/graph/model"
	"github.com/teslaops/tesla/internal/workload"
)

// jobFinding maps a job finding.
func jobFinding(f *workload.JobFinding) *model.JobFinding {
	out := &model.JobFinding{Heuristic: f.Heuristic, Severity: model.JobFindingSeverity(f.Severity.String()),
		Advice: f.Advice, AnalyzedAt: f.AnalyzedAt, Evidence: make([]*model.JobFindingEvidence, len(f.Evidence))}
	for i, e := range f.Evidence {
		out.Evidence[i] = &model.JobFindingEvidence{Key: e.Key, Value: e.Value, Unit: e.Unit}
	}
	return out
}

func worstBy(by *model.WorstJobsBy) workload.WorstBy {
	if by != nil && *by == model.WorstJobsByWaste {
		return workload.WorstByWaste
	}
	return workload.WorstByScore
}

// worstFilter decodes worstJobs' bu and cluster ids.
func worstFilter(bu, cluster *string) (workload.WorstFilter, error) {
	var f workload.WorstFilter
	if bu != nil {
		id, err := model.ParseID("bu", *bu, model.KindBU)
		if err != nil {
			return f, err
		}
		f.BU = &id
	}
	if cluster != nil {
		id, err := model.ParseID("cluster", *cluster, model.KindCluster)
		if err != nil {
			return f, err
		}
		f.Cluster = &id
	}
	return f, nil
}
