package watermark

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/fault"
)

// Service answers water-level queries from the precomputed tables. Water levels
// are platform data: every signed-in role may read them, so each method checks
// only that there is a principal.
type Service struct {
	pool   *pgxpool.Pool
	now    func() time.Time
	events Events
	logger *slog.Logger
}

// NewService returns a Service on pool that hears of rollups from events (for
// Watch).
func NewService(pool *pgxpool.Pool, events Events, logger *slog.Logger) *Service {
	return &Service{pool: pool, now: time.Now, events: events, logger: logger}
}

// Level is the latest complete minute of one cluster's dimension, with its
// threshold and status.
type Level struct {
	ClusterID   int64
	Dimension   Dimension
	Unit        string
	TS          time.Time
	Used        float64
	Capacity    float64
	Utilization float64
	P95, Max    *float64
	Hosts       int
	Threshold   float64
	// Status is OK, WARN or CRITICAL (see StatusOf).
	Status string
}

// Risk is a cluster dimension over its threshold now or expected to cross it.
type Risk struct {
	ClusterID   int64
	Dimension   Dimension
	Utilization float64
	Threshold   float64
	CrossesAt   *time.Time
	// DaysToThreshold is 0 when already over, nil when no crossing is expected.
	DaysToThreshold *float64
	Reason          string
}

// Thresholds returns the utilisation threshold of each cluster kind, and of the
// platform under PlatformKind.
func (s *Service) Thresholds(ctx context.Context) (map[string]float64, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `SELECT kind, threshold FROM watermark_threshold`)
	if err != nil {
		return nil, fmt.Errorf("error loading thresholds: %w", err)
	}
	out := map[string]float64{}
	var kind string
	var t float64
	if _, err := pgx.ForEachRow(rows, []any{&kind, &t}, func() error { out[kind] = t; return nil }); err != nil {
		return nil, fmt.Errorf("error loading thresholds: %w", err)
	}
	return out, nil
}

// ClusterThresholds returns the threshold of each given cluster (PlatformID
// allowed), for the Cluster.watermarkThreshold dataloader. Unknown ids are absent.
func (s *Service) ClusterThresholds(ctx context.Context, clusterIDs []int64) (map[int64]float64, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	return thresholdsOf(ctx, s.pool, clusterIDs)
}

// thresholdsOf maps the given cluster ids (nil: every cluster and PlatformID) to
// their kind's threshold.
func thresholdsOf(ctx context.Context, q db.DBTX, clusterIDs []int64) (map[int64]float64, error) {
	rows, err := q.Query(ctx, `
		SELECT c.id, t.threshold FROM cluster c JOIN watermark_threshold t ON t.kind = c.kind
		WHERE $1::bigint[] IS NULL OR c.id = ANY ($1)
		UNION ALL
		SELECT 0, threshold FROM watermark_threshold
		WHERE kind = 'PLATFORM' AND ($1::bigint[] IS NULL OR 0 = ANY ($1))`, clusterIDs)
	if err != nil {
		return nil, fmt.Errorf("error loading thresholds: %w", err)
	}
	out := map[int64]float64{}
	var id int64
	var t float64
	if _, err := pgx.ForEachRow(rows, []any{&id, &t}, func() error { out[id] = t; return nil }); err != nil {
		return nil, fmt.Errorf("error loading thresholds: %w", err)
	}
	return out, nil
}

// Now returns the latest complete minute of each cluster's dimensions (dims empty:
// all), keyed by every requested id, levels in dimension order. A cluster without
// levels (new, or unknown) maps to an empty slice, so a dataloader gets an answer
// for every key. PlatformID gives the platform-wide levels.
func (s *Service) Now(ctx context.Context, clusterIDs []int64, dims []Dimension) (map[int64][]Level, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	dims, err := parseDimensions("dimensions", dims)
	if err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `
		SELECT l.cluster_id, l.dimension, l.ts, l.used, l.capacity, l.p95, l.max, l.hosts, t.threshold
		FROM watermark_latest l
		LEFT JOIN cluster c ON c.id = l.cluster_id
		JOIN watermark_threshold t ON t.kind = CASE WHEN l.cluster_id = 0 THEN 'PLATFORM' ELSE c.kind END
		WHERE l.cluster_id = ANY ($1) AND l.dimension = ANY ($2)`, clusterIDs, dimensionStrings(dims))
	if err != nil {
		return nil, fmt.Errorf("error loading current water levels: %w", err)
	}
	out := make(map[int64][]Level, len(clusterIDs))
	for _, id := range clusterIDs {
		out[id] = []Level{}
	}
	var l Level
	var p95, mx *float32
	_, err = pgx.ForEachRow(rows, []any{&l.ClusterID, &l.Dimension, &l.TS, &l.Used, &l.Capacity, &p95, &mx, &l.Hosts, &l.Threshold}, func() error {
		lv := l
		lv.Unit = lv.Dimension.Unit()
		lv.Utilization = utilization(lv.Used, lv.Capacity)
		lv.P95, lv.Max = widen(p95), widen(mx)
		lv.Status = StatusOf(lv.Utilization, lv.Threshold)
		out[lv.ClusterID] = append(out[lv.ClusterID], lv)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("error loading current water levels: %w", err)
	}
	for id, levels := range out {
		slices.SortFunc(levels, func(a, b Level) int {
			return dimensionIndex(a.Dimension) - dimensionIndex(b.Dimension)
		})
		out[id] = levels
	}
	return out, nil
}

// Forecasts returns the stored forecasts of each cluster's dimensions (dims empty:
// all), keyed by every requested id like Now.
func (s *Service) Forecasts(ctx context.Context, clusterIDs []int64, dims []Dimension) (map[int64][]Forecast, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	dims, err := parseDimensions("dimensions", dims)
	if err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `
		SELECT cluster_id, dimension, method, threshold, days_of_history, current_peak, slope_per_day,
		       crosses_at, crosses_at_earliest, crosses_at_latest, projection, computed_at
		FROM watermark_forecast
		WHERE cluster_id = ANY ($1) AND dimension = ANY ($2)`, clusterIDs, dimensionStrings(dims))
	if err != nil {
		return nil, fmt.Errorf("error loading forecasts: %w", err)
	}
	out := make(map[int64][]Forecast, len(clusterIDs))
	for _, id := range clusterIDs {
		out[id] = []Forecast{}
	}
	for rows.Next() {
		var f Forecast
		var proj []byte
		if err := rows.Scan(&f.ClusterID, &f.Dimension, &f.Method, &f.Threshold, &f.DaysOfHistory, &f.CurrentPeak,
			&f.SlopePerDay, &f.CrossesAt, &f.CrossesAtEarliest, &f.CrossesAtLatest, &proj, &f.ComputedAt); err != nil {
			return nil, fmt.Errorf("error loading forecasts: %w", err)
		}
		if err := json.Unmarshal(proj, &f.Projection); err != nil {
			return nil, fmt.Errorf("error decoding forecast projection: %w", err)
		}
		out[f.ClusterID] = append(out[f.ClusterID], f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("error loading forecasts: %w", err)
	}
	for id, fs := range out {
		slices.SortFunc(fs, func(a, b Forecast) int {
			return dimensionIndex(a.Dimension) - dimensionIndex(b.Dimension)
		})
		out[id] = fs
	}
	return out, nil
}

// MaxRiskHorizon bounds ClustersAtRisk's horizon: forecasts fit four weeks of
// history, and extrapolating them much past a year says nothing.
const MaxRiskHorizon = 400 * day

// ClustersAtRisk lists cluster dimensions over their threshold now (worst first,
// by utilisation relative to the threshold), then those whose daily peak is
// forecast to cross it within horizon (soonest first; a forecast crossing already
// passed means the daily peaks are over even if the current minute is not).
// Retired clusters and the platform pseudo cluster are left out.
func (s *Service) ClustersAtRisk(ctx context.Context, horizon time.Duration) ([]Risk, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	if horizon <= 0 || horizon > MaxRiskHorizon {
		return nil, fault.Field("horizonDays", "horizon must be between 1 and %d days", int(MaxRiskHorizon/day))
	}
	now := s.now().UTC()
	rows, err := s.pool.Query(ctx, `
		SELECT l.cluster_id, l.dimension, l.used / l.capacity AS util, t.threshold
		FROM watermark_latest l
		JOIN cluster c ON c.id = l.cluster_id AND c.status <> 'RETIRED'
		JOIN watermark_threshold t ON t.kind = c.kind
		WHERE l.capacity > 0 AND l.used / l.capacity > t.threshold
		ORDER BY l.used / l.capacity / t.threshold DESC, l.cluster_id, l.dimension`)
	if err != nil {
		return nil, fmt.Errorf("error loading clusters over threshold: %w", err)
	}
	type key struct {
		id  int64
		dim Dimension
	}
	seen := map[key]bool{}
	var out []Risk
	var r Risk
	_, err = pgx.ForEachRow(rows, []any{&r.ClusterID, &r.Dimension, &r.Utilization, &r.Threshold}, func() error {
		rk := r
		rk.DaysToThreshold = ptr(0.0)
		rk.Reason = fmt.Sprintf("%s at %s of capacity, over the %s threshold",
			rk.Dimension, percent(rk.Utilization), percent(rk.Threshold))
		seen[key{rk.ClusterID, rk.Dimension}] = true
		out = append(out, rk)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("error loading clusters over threshold: %w", err)
	}

	rows, err = s.pool.Query(ctx, `
		SELECT f.cluster_id, f.dimension, coalesce(l.used / nullif(l.capacity, 0), f.current_peak, 0),
		       f.threshold, f.crosses_at, f.crosses_at_earliest, f.crosses_at_latest, f.slope_per_day
		FROM watermark_forecast f
		JOIN cluster c ON c.id = f.cluster_id AND c.status <> 'RETIRED'
		LEFT JOIN watermark_latest l ON l.cluster_id = f.cluster_id AND l.dimension = f.dimension
		WHERE f.crosses_at IS NOT NULL AND f.crosses_at <= $1
		ORDER BY f.crosses_at, f.cluster_id, f.dimension`, now.Add(horizon))
	if err != nil {
		return nil, fmt.Errorf("error loading forecast crossings: %w", err)
	}
	var earliest, latest *time.Time
	var slope *float64
	_, err = pgx.ForEachRow(rows, []any{&r.ClusterID, &r.Dimension, &r.Utilization, &r.Threshold, &r.CrossesAt, &earliest, &latest, &slope}, func() error {
		if seen[key{r.ClusterID, r.Dimension}] {
			return nil
		}
		rk := r
		rk.CrossesAt = ptr(rk.CrossesAt.UTC())
		days := max(rk.CrossesAt.Sub(now).Hours()/24, 0)
		rk.DaysToThreshold = &days
		rk.Reason = crossingReason(rk, slope, earliest, latest, now)
		out = append(out, rk)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("error loading forecast crossings: %w", err)
	}
	return out, nil
}

func crossingReason(r Risk, slope *float64, earliest, latest *time.Time, now time.Time) string {
	trend := ""
	if slope != nil {
		trend = fmt.Sprintf(", trend %+.1f points/day", *slope*100)
	}
	if !r.CrossesAt.After(now) {
		return fmt.Sprintf("%s daily peak is already above the %s threshold%s", r.Dimension, percent(r.Threshold), trend)
	}
	band := ""
	if earliest != nil && latest != nil {
		band = fmt.Sprintf(" (between %s and %s)", earliest.UTC().Format(time.DateOnly), latest.UTC().Format(time.DateOnly))
	} else if earliest != nil {
		band = fmt.Sprintf(" (at the earliest %s)", earliest.UTC().Format(time.DateOnly))
	}
	return fmt.Sprintf("%s daily peak expected to cross the %s threshold in %.1f days, around %s%s%s",
		r.Dimension, percent(r.Threshold), *r.DaysToThreshold, r.CrossesAt.Format(time.DateOnly), band, trend)
}

// widen turns a stored real into the API's float64.
func widen(v *float32) *float64 {
	if v == nil {
		return nil
	}
	return ptr(float64(*v))
}
