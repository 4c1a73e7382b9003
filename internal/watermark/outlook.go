package watermark

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/teslaops/tesla/internal/db"
)

// MinForecastDays is the least history (complete days) a forecast is fitted
// on; a cluster with less has no projection, and callers say so.
const MinForecastDays = minForecastDays

// Outlook is one dimension of a cluster as an operation that takes capacity
// out of service sees it before it starts: the latest level, the cluster's
// threshold, and the highest peak the stored forecast projects over the time
// the operation is expected to run.
type Outlook struct {
	Dimension Dimension
	// Current is the latest complete minute's utilisation (0..1); nil when
	// the cluster has no recent level in this dimension.
	Current *float64
	// Threshold is the cluster's kind's threshold now (not the one the
	// forecast was fitted against, which an ADMIN may have changed since).
	Threshold float64
	// DaysOfHistory is how many complete days the forecast was fitted on (0:
	// no forecast stored).
	DaysOfHistory int
	// Peak is the highest fitted daily peak of the projection on the days the
	// window touches, and PeakAt that day; nil when there is no forecast
	// (fewer than MinForecastDays days of history) or its projection does not
	// reach the window.
	Peak   *float64
	PeakAt *time.Time
}

// ClusterOutlook returns the outlook of the cluster's dims over the window
// from..to, in the order of dims; a dimension with neither a level nor a
// forecast is left out. It reads through q, so a caller's transaction sees
// the levels and forecasts as the rest of its checks do. The projection is
// daily (each point a day's fitted peak, at midnight UTC), so every day the
// window touches counts, today's included.
func ClusterOutlook(ctx context.Context, q db.DBTX, cluster int64, dims []Dimension, from, to time.Time) ([]Outlook, error) {
	rows, err := q.Query(ctx, `
		SELECT d.dim, CASE WHEN l.capacity > 0 THEN l.used / l.capacity END, t.threshold,
		       coalesce(f.days_of_history, 0), coalesce(f.projection, '[]'), l.cluster_id IS NOT NULL OR f.cluster_id IS NOT NULL
		FROM unnest($2::text[]) WITH ORDINALITY AS d (dim, n)
		JOIN cluster c ON c.id = $1
		JOIN watermark_threshold t ON t.kind = c.kind
		LEFT JOIN watermark_latest l ON l.cluster_id = $1 AND l.dimension = d.dim
		LEFT JOIN watermark_forecast f ON f.cluster_id = $1 AND f.dimension = d.dim
		ORDER BY d.n`, cluster, dimensionStrings(dims))
	if err != nil {
		return nil, fmt.Errorf("error loading the outlook of cluster %d: %w", cluster, err)
	}
	defer rows.Close()
	first := from.UTC().Truncate(day)
	var out []Outlook
	for rows.Next() {
		var o Outlook
		var proj []byte
		var known bool
		if err := rows.Scan(&o.Dimension, &o.Current, &o.Threshold, &o.DaysOfHistory, &proj, &known); err != nil {
			return nil, fmt.Errorf("error loading the outlook of cluster %d: %w", cluster, err)
		}
		if !known {
			continue
		}
		var points []ForecastPoint
		if err := json.Unmarshal(proj, &points); err != nil {
			return nil, fmt.Errorf("error decoding the forecast of cluster %d: %w", cluster, err)
		}
		for _, p := range points {
			if p.TS.Before(first) || p.TS.After(to) {
				continue
			}
			if o.Peak == nil || p.Value > *o.Peak {
				o.Peak, o.PeakAt = ptr(p.Value), ptr(p.TS.UTC())
			}
		}
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("error loading the outlook of cluster %d: %w", cluster, err)
	}
	return out, nil
}
