package watermark

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ForecastMethod names how forecasts are fitted, for clients to display.
const ForecastMethod = "Theil-Sen on daily peaks (95% CI)"

// minForecastDays is the least history a trend is fitted on: two days always
// make a line, three at least let one disagree.
const minForecastDays = 3

// maxCrossingAhead caps how far ahead a crossing is reported: a slope of a
// hundredth of a point per day "crosses" in decades, which is no forecast.
const maxCrossingAhead = 5 * 365 * 24 * time.Hour

const day = 24 * time.Hour

// ForecastPoint is one day of a projection: the fitted daily peak and its band.
type ForecastPoint struct {
	TS    time.Time `json:"ts"`
	Value float64   `json:"value"`
	Low   float64   `json:"low"`
	High  float64   `json:"high"`
}

// Forecast is the trend of one cluster's daily peak utilisation in one dimension
// and when it is expected to reach the threshold.
type Forecast struct {
	ClusterID     int64
	Dimension     Dimension
	Method        string
	Threshold     float64
	DaysOfHistory int
	// CurrentPeak is the latest complete day's peak utilisation (0..1).
	CurrentPeak *float64
	// SlopePerDay is the fitted change of the daily peak per day; nil below three
	// days of history.
	SlopePerDay *float64
	// CrossesAt is when the fitted line reaches the threshold: nil when the trend
	// is not rising, history is under three days, or the crossing is more than
	// five years out. It lies in the past when the peaks are already above — at
	// the earliest on the first day of history.
	CrossesAt *time.Time
	// CrossesAtEarliest and CrossesAtLatest bound CrossesAt from the slope's 95%
	// confidence interval; CrossesAtLatest is nil when the interval admits a flat
	// or falling trend (the crossing may never come).
	CrossesAtEarliest, CrossesAtLatest *time.Time
	// Projection runs daily from the last day of history to 14 days ahead.
	Projection []ForecastPoint
	ComputedAt time.Time
}

// DailyPeak is one day's peak utilisation, the input of a forecast.
type DailyPeak struct {
	Day  time.Time
	Peak float64
}

// Fit computes the forecast of peaks (oldest first, one per day) against
// threshold, projecting to horizon after now. It is pure so that it can be tested
// on synthetic series and reused by callers with their own data.
func Fit(peaks []DailyPeak, threshold float64, now time.Time, horizon time.Duration) Forecast {
	f, _, _ := fit(peaks, threshold, now, horizon)
	return f
}

// fit is Fit that also returns the fitted trend (ok false when there is none).
func fit(peaks []DailyPeak, threshold float64, now time.Time, horizon time.Duration) (Forecast, trend, bool) {
	f := Forecast{Method: ForecastMethod, Threshold: threshold, DaysOfHistory: len(peaks), ComputedAt: now}
	if len(peaks) == 0 {
		return f, trend{}, false
	}
	last := peaks[len(peaks)-1]
	f.CurrentPeak = ptr(last.Peak)
	if len(peaks) < minForecastDays {
		return f, trend{}, false
	}
	origin := peaks[0].Day
	x := make([]float64, len(peaks))
	y := make([]float64, len(peaks))
	for i, p := range peaks {
		x[i] = p.Day.Sub(origin).Hours() / 24
		y[i] = p.Peak
	}
	t, ok := theilSen(x, y, 0.95)
	if !ok {
		return f, trend{}, false
	}
	f.SlopePerDay = ptr(t.slope)
	xLast := x[len(x)-1]
	crossing := func(slope, intercept float64) *time.Time {
		if slope <= 0 {
			return nil
		}
		xc := (threshold - intercept) / slope
		if (xc-xLast)*float64(day) > float64(maxCrossingAhead) {
			return nil
		}
		// A line already over the threshold before the first day says only
		// that the peaks have been over for all the history there is.
		xc = max(xc, 0)
		return ptr(origin.Add(time.Duration(xc * float64(day))).Round(time.Second).UTC())
	}
	if f.CrossesAt = crossing(t.slope, t.intercept); f.CrossesAt != nil {
		// Ahead of the data the steeper band line crosses first, behind it last,
		// so the band is the earliest and latest of the three crossings. With a
		// flat or falling lower slope the crossing may never come: no latest.
		steep, shallow := crossing(t.slopeHigh, t.interceptHigh), crossing(t.slopeLow, t.interceptLow)
		f.CrossesAtEarliest, f.CrossesAtLatest = f.CrossesAt, f.CrossesAt
		for _, c := range []*time.Time{steep, shallow} {
			if c != nil && c.Before(*f.CrossesAtEarliest) {
				f.CrossesAtEarliest = c
			}
			if c != nil && c.After(*f.CrossesAtLatest) {
				f.CrossesAtLatest = c
			}
		}
		if steep == nil || shallow == nil {
			f.CrossesAtLatest = nil
		}
	}
	end := now.UTC().Truncate(day).Add(horizon)
	for d := last.Day; !d.After(end); d = d.Add(day) {
		xd := d.Sub(origin).Hours() / 24
		lo, hi := t.band(xd)
		f.Projection = append(f.Projection, ForecastPoint{
			TS: d, Value: max(t.at(xd), 0), Low: max(lo, 0), High: max(hi, 0),
		})
	}
	return f, t, true
}

func ptr[T any](v T) *T { return &v }

// ForecastConfig tunes Forecaster. Zero fields take the defaults.
type ForecastConfig struct {
	// HistoryDays is how many days of daily peaks are fitted (default 28): four
	// weeks, so weekly cycles weigh evenly and last quarter's growth does not.
	HistoryDays int
	// MinHours is how many hours a day needs to count (default 20): a partial
	// day (the first of a cluster's history, or today) may miss its peak hours
	// and would bend the trend down.
	MinHours int
	// Horizon is how far past today the projection runs (default 14 days).
	Horizon time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

func (c ForecastConfig) withDefaults() ForecastConfig {
	c.HistoryDays = cmp.Or(c.HistoryDays, 28)
	c.MinHours = cmp.Or(c.MinHours, 20)
	c.Horizon = cmp.Or(c.Horizon, 14*day)
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// ForecastResult counts what one forecast run did.
type ForecastResult struct {
	// Forecasts written, of which Rising have a positive slope and Crossing a
	// crossing date; Removed forecasts of series that no longer have history.
	Forecasts, Rising, Crossing, Removed int64
}

// Forecaster fits every cluster's (and the platform's) daily peaks per dimension
// and stores the result in watermark_forecast, replacing the previous run's.
type Forecaster struct {
	pool *pgxpool.Pool
	cfg  ForecastConfig
}

// NewForecaster returns a Forecaster on pool.
func NewForecaster(pool *pgxpool.Pool, cfg ForecastConfig) *Forecaster {
	return &Forecaster{pool: pool, cfg: cfg.withDefaults()}
}

// RunOnce computes and stores all forecasts. Only complete days before today
// (UTC) with at least MinHours hours are fitted.
func (f *Forecaster) RunOnce(ctx context.Context) (ForecastResult, error) {
	var res ForecastResult
	now := f.cfg.Now().UTC()
	today := now.Truncate(day)
	thresholds, err := thresholdsOf(ctx, f.pool, nil)
	if err != nil {
		return res, err
	}
	rows, err := f.pool.Query(ctx, `
		SELECT cluster_id, dimension, ts, peak FROM watermark_1d
		WHERE ts >= $1 AND ts < $2 AND hours >= $3
		ORDER BY cluster_id, dimension, ts`,
		today.Add(-time.Duration(f.cfg.HistoryDays)*day), today, f.cfg.MinHours)
	if err != nil {
		return res, fmt.Errorf("error loading daily peaks: %w", err)
	}
	type key struct {
		cluster int64
		dim     string
	}
	series := map[key][]DailyPeak{}
	var order []key
	var k key
	var p DailyPeak
	_, err = pgx.ForEachRow(rows, []any{&k.cluster, &k.dim, &p.Day, &p.Peak}, func() error {
		if _, seen := series[k]; !seen {
			order = append(order, k)
		}
		p.Day = p.Day.UTC()
		series[k] = append(series[k], p)
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("error loading daily peaks: %w", err)
	}

	var (
		ids                           []int64
		dims, methods                 []string
		thr                           []float64
		days                          []int32
		peak, slope, slopeLo, slopeHi []*float64
		crosses, earliest, latest     []*time.Time
		projections                   []string
	)
	for _, k := range order {
		threshold, ok := thresholds[k.cluster]
		if !ok {
			continue // a deleted cluster's history: nothing to plan for
		}
		fc, t, fitted := fit(series[k], threshold, now, f.cfg.Horizon)
		if fc.Projection == nil {
			fc.Projection = []ForecastPoint{}
		}
		proj, err := json.Marshal(fc.Projection)
		if err != nil {
			return res, fmt.Errorf("error encoding projection: %w", err)
		}
		var lo, hi *float64
		if fitted {
			lo, hi = ptr(t.slopeLow), ptr(t.slopeHigh)
			if *fc.SlopePerDay > 0 {
				res.Rising++
			}
		}
		if fc.CrossesAt != nil {
			res.Crossing++
		}
		ids = append(ids, k.cluster)
		dims = append(dims, k.dim)
		methods = append(methods, fc.Method)
		thr = append(thr, threshold)
		days = append(days, int32(fc.DaysOfHistory))
		peak = append(peak, fc.CurrentPeak)
		slope = append(slope, fc.SlopePerDay)
		slopeLo = append(slopeLo, lo)
		slopeHi = append(slopeHi, hi)
		crosses = append(crosses, fc.CrossesAt)
		earliest = append(earliest, fc.CrossesAtEarliest)
		latest = append(latest, fc.CrossesAtLatest)
		projections = append(projections, string(proj))
	}
	err = pgx.BeginFunc(ctx, f.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `
			INSERT INTO watermark_forecast AS f (cluster_id, dimension, method, threshold, days_of_history,
				current_peak, slope_per_day, slope_low, slope_high, crosses_at, crosses_at_earliest,
				crosses_at_latest, projection, computed_at)
			SELECT u.cluster_id, u.dimension, u.method, u.threshold, u.days, u.peak, u.slope, u.slope_lo,
				u.slope_hi, u.crosses, u.earliest, u.latest, u.projection::jsonb, $14
			FROM unnest($1::bigint[], $2::text[], $3::text[], $4::float8[], $5::int[], $6::float8[],
				$7::float8[], $8::float8[], $9::float8[], $10::timestamptz[], $11::timestamptz[],
				$12::timestamptz[], $13::text[])
				AS u (cluster_id, dimension, method, threshold, days, peak, slope, slope_lo, slope_hi,
					crosses, earliest, latest, projection)
			ON CONFLICT (cluster_id, dimension) DO UPDATE SET
				method = EXCLUDED.method, threshold = EXCLUDED.threshold,
				days_of_history = EXCLUDED.days_of_history, current_peak = EXCLUDED.current_peak,
				slope_per_day = EXCLUDED.slope_per_day, slope_low = EXCLUDED.slope_low,
				slope_high = EXCLUDED.slope_high, crosses_at = EXCLUDED.crosses_at,
				crosses_at_earliest = EXCLUDED.crosses_at_earliest,
				crosses_at_latest = EXCLUDED.crosses_at_latest, projection = EXCLUDED.projection,
				computed_at = EXCLUDED.computed_at`,
			ids, dims, methods, thr, days, peak, slope, slopeLo, slopeHi, crosses, earliest, latest, projections, now)
		if err != nil {
			return err
		}
		res.Forecasts = tag.RowsAffected()
		tag, err = tx.Exec(ctx, `DELETE FROM watermark_forecast WHERE computed_at < $1`, now)
		res.Removed = tag.RowsAffected()
		return err
	})
	if err != nil {
		return res, fmt.Errorf("error storing forecasts: %w", err)
	}
	return res, nil
}
