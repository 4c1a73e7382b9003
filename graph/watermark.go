package graph

import (
	"context"

	"github.com/teslaops/tesla/graph/model"
	"github.com/teslaops/tesla/internal/inventory"
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

func clusterWatermark(cl watermark.ClusterLevels) *model.ClusterWatermark {
	cw := &model.ClusterWatermark{ClusterID: cl.ClusterID, Levels: levels(cl.Levels)}
	if cl.Worst != nil {
		cw.Worst = level(*cl.Worst)
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

func thresholds(ts map[string]float64) []*model.WatermarkThreshold {
	out := make([]*model.WatermarkThreshold, 0, len(ts))
	for _, k := range model.AllThresholdKind {
		if t, ok := ts[string(k)]; ok {
			out = append(out, &model.WatermarkThreshold{Kind: k, Threshold: t})
		}
	}
	return out
}

func hostComponent(c *inventory.HostComponent) *model.HostComponent {
	return &model.HostComponent{Service: c.Service, Component: c.Component, Version: c.Version,
		DesiredState: c.DesiredState, ActualState: c.ActualState, UpdatedAt: c.UpdatedAt}
}

// mapChan maps a subscription's domain values to its GraphQL ones until in closes
// or ctx ends.
func mapChan[D any, N any](ctx context.Context, in <-chan D, f func(D) N) <-chan N {
	out := make(chan N)
	go func() {
		defer close(out)
		for d := range in {
			select {
			case out <- f(d):
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}
