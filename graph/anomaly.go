package graph

import (
	"fmt"
	"strconv"
	"time"

	"github.com/teslaops/tesla/graph/model"
	"github.com/teslaops/tesla/internal/anomaly"
	"github.com/teslaops/tesla/internal/fault"
)

func anomalyModel(e *anomaly.Episode) *model.Anomaly {
	out := &model.Anomaly{ID: model.GlobalID(model.KindAnomaly, e.ID), DBID: e.ID, HostID: e.HostID, ClusterID: e.ClusterID,
		AcknowledgedByID: e.AcknowledgedBy, Metric: model.AnomalyMetric(e.Metric), Kind: model.AnomalyKind(e.Kind),
		Status: model.AnomalyStatus(e.Status), Severity: model.AnomalySeverity(e.Severity), StartedAt: e.StartedAt,
		LastSeenAt: e.LastSeenAt, EndedAt: e.EndedAt, Points: e.Points, PeakScore: e.PeakScore, PeakAt: e.PeakAt,
		PeakValue: e.PeakValue, Expected: e.Baseline, AcknowledgedAt: e.AcknowledgedAt, Note: e.Note}
	return out
}

func anomalyFilter(f *model.AnomalyFilter) (anomaly.Filter, error) {
	var out anomaly.Filter
	if f == nil {
		return out, nil
	}
	var err error
	if out.ClusterID, err = model.ParseOptionalID("filter.clusterId", f.ClusterID, model.KindCluster); err != nil {
		return out, err
	}
	if out.HostID, err = model.ParseOptionalID("filter.hostId", f.HostID, model.KindHost); err != nil {
		return out, err
	}
	for _, s := range f.Statuses {
		out.Statuses = append(out.Statuses, string(s))
	}
	if f.MinSeverity != nil {
		out.MinSeverity = string(*f.MinSeverity)
	}
	if f.Metric != nil {
		out.Metric = string(*f.Metric)
	}
	if f.Kind != nil {
		out.Kind = string(*f.Kind)
	}
	out.Since = f.Since
	return out, nil
}

// maxAnomalyWindow bounds a cluster analysis' window.
const maxAnomalyWindow = 7 * 24 * time.Hour

func anomalyWindow(w *model.Duration) (time.Duration, error) {
	if w == nil {
		return 24 * time.Hour, nil
	}
	d := time.Duration(*w)
	if d <= 0 || d > maxAnomalyWindow {
		return 0, fault.Field("window", "window must be more than 0 and at most 7 days")
	}
	return d, nil
}

func clusterAnomalyAnalysis(a *anomaly.ClusterAnalysis) *model.ClusterAnomalyAnalysis {
	out := &model.ClusterAnomalyAnalysis{UnresolvedCount: a.Unresolved, HostCount: a.Hosts, ClusterHostCount: a.ClusterHosts,
		Metrics: []*model.AnomalyMetricSummary{}, Onsets: []*model.AnomalyOnset{}}
	for _, m := range a.Metrics {
		out.Metrics = append(out.Metrics, &model.AnomalyMetricSummary{Metric: model.AnomalyMetric(m.Metric), HostCount: m.Hosts,
			Worst: model.AnomalySeverity(m.Worst), Since: m.Since})
	}
	for _, o := range a.Onsets {
		mo := &model.AnomalyOnset{Metric: model.AnomalyMetric(o.Metric), Start: o.Start, End: o.End, Scope: model.OnsetScope(o.Scope),
			HostIDs: o.Hosts}
		if o.Rack != "" {
			mo.Rack = &o.Rack
		}
		if o.Component != "" {
			mo.Component, mo.Version = &o.Component, &o.Version
		}
		out.Onsets = append(out.Onsets, mo)
	}
	return out
}

// anomalyFinding words an unresolved episode as a machine-analysis finding:
// HIGH and CRITICAL need action, the rest are worth a look.
func anomalyFinding(e *anomaly.Episode) *model.Finding {
	sev := model.FindingSeverityWarning
	if e.Severity == "HIGH" || e.Severity == "CRITICAL" {
		sev = model.FindingSeverityProblem
	}
	against := "its own history"
	if e.Kind == anomaly.KindPeer {
		against = "its peers"
	}
	text := fmt.Sprintf("%s anomaly (%s) against %s since %s", e.Metric, e.Severity, against,
		e.StartedAt.UTC().Format("2006-01-02 15:04 MST"))
	if e.PeakValue != nil && e.Baseline != nil {
		text += fmt.Sprintf(": %s where about %s was expected", strconv.FormatFloat(*e.PeakValue, 'g', 4, 64),
			strconv.FormatFloat(*e.Baseline, 'g', 4, 64))
	}
	if e.Status == anomaly.StatusAcknowledged {
		text += " (acknowledged)"
	}
	return &model.Finding{Severity: sev, Text: text}
}
