package graph

import (
	"context"
	"slices"
	"time"

	"github.com/teslaops/tesla/graph/model"
	"github.com/teslaops/tesla/internal/watermark"
)

// Watermark values cross the API unchanged; these functions only reshape them.

func dims(ds []model.WatermarkDimension) []watermark.Dimension {
	out := make([]watermark.Dimension, len(ds))
	for i, d := range ds {
		out[i] = watermark.Dimension(d)
	}
	return out
}

func level(l watermark.Level) *model.WatermarkLevel {
	return &model.WatermarkLevel{Dimension: model.WatermarkDimension(l.Dimension), Unit: l.Unit, Ts: l.TS, Used: l.Used,
		Capacity: l.Capacity, Utilization: l.Utilization, P95: l.P95, Max: l.Max, Hosts: l.Hosts, Threshold: l.Threshold,
		Status: model.WatermarkStatus(l.Status)}
}

func levels(ls []watermark.Level) []*model.WatermarkLevel {
	out := make([]*model.WatermarkLevel, len(ls))
	for i, l := range ls {
		out[i] = level(l)
	}
	return out
}

// severity orders levels by how close they are to (or how far over) their
// threshold.
func severity(l *model.WatermarkLevel) float64 {
	if l == nil || l.Threshold <= 0 {
		return -1
	}
	return l.Utilization / l.Threshold
}

func clusterWatermark(id int64, ls []watermark.Level) *model.ClusterWatermark {
	cw := &model.ClusterWatermark{ClusterID: id, Levels: levels(ls)}
	for _, l := range cw.Levels {
		if severity(l) > severity(cw.Worst) {
			cw.Worst = l
		}
	}
	return cw
}

func series(ss []watermark.Series) []*model.WatermarkSeries {
	out := make([]*model.WatermarkSeries, len(ss))
	for i, s := range ss {
		ms := &model.WatermarkSeries{Dimension: model.WatermarkDimension(s.Dimension), Unit: s.Unit,
			Step: model.Duration(s.Step), Threshold: s.Threshold, Points: make([]*model.WatermarkPoint, len(s.Points))}
		for j, p := range s.Points {
			ms.Points[j] = &model.WatermarkPoint{Ts: p.TS, Used: p.Used, Capacity: p.Capacity, Utilization: p.Utilization,
				P95: p.P95, Max: p.Max, Hosts: p.Hosts, Peak: p.Peak}
		}
		out[i] = ms
	}
	return out
}

func forecasts(fs []watermark.Forecast) []*model.WatermarkForecast {
	out := make([]*model.WatermarkForecast, len(fs))
	for i, f := range fs {
		mf := &model.WatermarkForecast{Dimension: model.WatermarkDimension(f.Dimension), Method: f.Method, Threshold: f.Threshold,
			DaysOfHistory: f.DaysOfHistory, CurrentPeak: f.CurrentPeak, SlopePerDay: f.SlopePerDay, CrossesAt: f.CrossesAt,
			CrossesAtEarliest: f.CrossesAtEarliest, CrossesAtLatest: f.CrossesAtLatest, ComputedAt: f.ComputedAt,
			Projection: make([]*model.ForecastPoint, len(f.Projection))}
		for j, p := range f.Projection {
			mf.Projection[j] = &model.ForecastPoint{Ts: p.TS, Value: p.Value, Low: p.Low, High: p.High}
		}
		out[i] = mf
	}
	return out
}

func risk(r watermark.Risk) *model.ClusterRisk {
	return &model.ClusterRisk{ClusterID: r.ClusterID, Dimension: model.WatermarkDimension(r.Dimension), Utilization: r.Utilization,
		Threshold: r.Threshold, CrossesAt: r.CrossesAt, DaysToThreshold: r.DaysToThreshold, Reason: r.Reason}
}

// platformWatermarks returns every cluster's current levels, most at risk first.
func (r *Resolver) platformWatermarks(ctx context.Context, dimensions []model.WatermarkDimension) ([]*model.ClusterWatermark, error) {
	clusters, err := r.Inventory.AllClusters(ctx)
	if err != nil {
		return nil, err
	}
	// The clusters are at hand: prime the loader so each row's cluster costs nothing.
	l := r.loaders(ctx)
	ids := make([]int64, len(clusters))
	for i, c := range clusters {
		ids[i] = c.ID
		l.Cluster.Prime(c.ID, c)
	}
	now, err := r.Watermark.Now(ctx, ids, dims(dimensions))
	if err != nil {
		return nil, err
	}
	out := make([]*model.ClusterWatermark, 0, len(ids))
	for _, id := range ids {
		out = append(out, clusterWatermark(id, now[id]))
	}
	slices.SortStableFunc(out, func(a, b *model.ClusterWatermark) int {
		switch sa, sb := severity(a.Worst), severity(b.Worst); {
		case sa > sb:
			return -1
		case sa < sb:
			return 1
		}
		return 0
	})
	return out, nil
}

func schedulerRun(rec *jobsRunRecord) *model.SchedulerRun {
	if rec == nil {
		return nil
	}
	out := &model.SchedulerRun{ID: model.GlobalID("SchedulerRun", rec.ID), Job: rec.Job, Replica: rec.Replica,
		StartedAt: rec.StartedAt, FinishedAt: rec.FinishedAt, Rows: float64(rec.Rows), Error: rec.Error}
	if d := rec.Duration(); d != nil {
		md := model.Duration(*d)
		out.Duration = &md
	}
	return out
}

// Platform pulses: at most one per pulseMinGap however busy the platform, at
// least one per pulseHeartbeat however quiet.
const (
	pulseMinGap    = 2 * time.Second
	pulseHeartbeat = 30 * time.Second
)

// parsePulse reads the time a rollup announced, falling back to now.
func parsePulse(payload string) time.Time {
	if t, err := time.Parse(time.RFC3339Nano, payload); err == nil {
		return t.UTC()
	}
	return time.Now().UTC()
}
