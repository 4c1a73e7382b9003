package watermark

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/fault"
)

// Point is one step of a series. Over a step coarser than a minute, Used,
// Capacity and Utilization are means over the minutes present, Peak is the
// highest minute utilisation, P95, Max and Hosts the highest over the minutes.
type Point struct {
	TS                          time.Time
	Used, Capacity, Utilization float64
	P95, Max                    *float64
	Hosts                       int
	// Peak is the highest minute utilisation within the step (Utilization itself
	// at a 1-minute step): the figure capacity planning watches.
	Peak float64
}

// Series is one dimension of one cluster over time.
type Series struct {
	ClusterID int64
	Dimension Dimension
	Unit      string
	// Step is the step of the points returned, at least the one asked for.
	Step      time.Duration
	Threshold float64
	Points    []Point
}

// Limits of Series.
const (
	MaxSeriesRange  = 400 * day
	MaxSeriesPoints = 10000
	// DefaultSeriesRange is the range of a series whose from is left out: the
	// schema documents "the last 24 hours".
	DefaultSeriesRange = day
)

// niceSteps are the steps Series coarsens through, each a whole number of the
// source table's step, so buckets line up with the rows beneath them.
var niceSteps = []time.Duration{
	time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour,
	day, 2 * day, 7 * day, 14 * day, 28 * day,
}

// source is a rollup table and the queries that read it: raw when the step asked
// for is the table's own, bucketed otherwise. The table names come from this
// fixed list, never from input. Neither query sorts: rows go to their series in
// Go and each series is sorted there, which is cheaper than sorting on a text
// column under a non-C collation.
type source struct {
	step          time.Duration
	raw, bucketed string
}

var (
	source1m = source{
		step: time.Minute,
		raw: `
		SELECT dimension, ts, used, capacity,
		       CASE WHEN capacity > 0 THEN used / capacity ELSE 0 END,
		       CASE WHEN capacity > 0 THEN used / capacity ELSE 0 END,
		       p95, max, hosts
		FROM watermark_1m
		WHERE cluster_id = $1 AND dimension = ANY ($2) AND ts >= $3 AND ts < $4`,
		bucketed: `
		SELECT dimension, date_bin($5 * interval '1 second', ts, $6) AS b,
		       avg(used), avg(capacity),
		       avg(CASE WHEN capacity > 0 THEN used / capacity ELSE 0 END),
		       max(CASE WHEN capacity > 0 THEN used / capacity ELSE 0 END),
		       max(p95), max(max), max(hosts)
		FROM watermark_1m
		WHERE cluster_id = $1 AND dimension = ANY ($2) AND ts >= $3 AND ts < $4
		GROUP BY 1, 2`,
	}
	source1h = coarseSource(time.Hour, "watermark_1h")
	source1d = coarseSource(day, "watermark_1d")
)

func coarseSource(step time.Duration, table string) source {
	return source{
		step: step,
		raw: `
		SELECT dimension, ts, used, capacity, utilization, peak, p95, max, hosts
		FROM ` + table + `
		WHERE cluster_id = $1 AND dimension = ANY ($2) AND ts >= $3 AND ts < $4`,
		bucketed: `
		SELECT dimension, date_bin($5 * interval '1 second', ts, $6) AS b,
		       sum(used * minutes) / sum(minutes), sum(capacity * minutes) / sum(minutes),
		       sum(utilization * minutes) / sum(minutes), max(peak),
		       max(p95), max(max), max(hosts)
		FROM ` + table + `
		WHERE cluster_id = $1 AND dimension = ANY ($2) AND ts >= $3 AND ts < $4
		GROUP BY 1, 2`,
	}
}

// sourceFor picks the coarsest table whose step divides step.
func sourceFor(step time.Duration) source {
	switch {
	case step%day == 0:
		return source1d
	case step%time.Hour == 0:
		return source1h
	}
	return source1m
}

// chooseStep returns the step of the points, the table to read and the origin of
// the buckets for a series over [from, to) of at most maxPoints points. step 0
// means the finest step that fits; a step asked for is rounded up to whole
// minutes and coarsened only if it would give too many points. Buckets start at
// from truncated to the source's step, so there are at most
// ceil((to − origin) / step) of them.
func chooseStep(from, to time.Time, step time.Duration, maxPoints int) (time.Duration, source, time.Time) {
	s := max(step, time.Minute)
	if r := s % time.Minute; r != 0 {
		s += time.Minute - r
	}
	for {
		src := sourceFor(s)
		origin := from.Truncate(src.step)
		span := to.Sub(origin)
		if n := (span + s - 1) / s; n <= time.Duration(maxPoints) {
			return s, src, origin
		}
		next := time.Duration(0)
		for _, c := range niceSteps {
			if c > s {
				next = c
				break
			}
		}
		if next == 0 {
			// Beyond the nice steps: whole days, enough of them to fit.
			days := (span + day - 1) / day
			per := (days + time.Duration(maxPoints) - 1) / time.Duration(maxPoints)
			next = max(per*day, s+day)
		}
		s = next
	}
}

// Series returns one series per dimension (dims empty: all) of a cluster, or of
// the platform with PlatformID, over [from, to), with at most maxPoints points
// each. A zero to is now and a zero from is DefaultSeriesRange before to, the
// defaults the API documents for arguments left out. It reads the 1-minute,
// hourly or daily table, whichever is the coarsest that the step divides, and
// buckets further in SQL. Inputs are checked first: from before to, a range of at
// most 400 days, maxPoints in 1..10000, a step not negative; an unknown cluster
// is NotFound.
func (s *Service) Series(ctx context.Context, clusterID int64, dims []Dimension, from, to time.Time, step time.Duration, maxPoints int) ([]Series, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	dims, err := parseDimensions("dimensions", dims)
	if err != nil {
		return nil, err
	}
	if to.IsZero() {
		to = s.now()
	}
	if from.IsZero() {
		from = to.Add(-DefaultSeriesRange)
	}
	switch {
	case !from.Before(to):
		return nil, fault.Field("to", "to (%s) must be after from (%s)", to.Format(time.RFC3339), from.Format(time.RFC3339))
	case to.Sub(from) > MaxSeriesRange:
		return nil, fault.Field("from", "the range may span at most %d days", int(MaxSeriesRange/day))
	case maxPoints < 1 || maxPoints > MaxSeriesPoints:
		return nil, fault.Field("maxPoints", "maxPoints must be between 1 and %d, got %d", MaxSeriesPoints, maxPoints)
	case step < 0:
		return nil, fault.Field("step", "step must not be negative")
	}
	from, to = from.UTC(), to.UTC()
	thresholds, err := thresholdsOf(ctx, s.pool, []int64{clusterID})
	if err != nil {
		return nil, err
	}
	threshold, ok := thresholds[clusterID]
	if !ok {
		return nil, fault.NotFoundf("cluster %d not found", clusterID)
	}
	eff, src, origin := chooseStep(from, to, step, maxPoints)
	out := make([]Series, len(dims))
	index := map[Dimension]int{}
	for i, d := range dims {
		out[i] = Series{ClusterID: clusterID, Dimension: d, Unit: d.Unit(), Step: eff, Threshold: threshold, Points: []Point{}}
		index[d] = i
	}
	if err := readSeries(ctx, s.pool, src, clusterID, dims, from, to, eff, origin, out, index); err != nil {
		return nil, fmt.Errorf("error loading water-level series of cluster %d: %w", clusterID, err)
	}
	return out, nil
}

func readSeries(ctx context.Context, q db.DBTX, src source, clusterID int64, dims []Dimension, from, to time.Time,
	step time.Duration, origin time.Time, out []Series, index map[Dimension]int) error {
	var rows pgx.Rows
	var err error
	if step == src.step {
		rows, err = q.Query(ctx, src.raw, clusterID, dimensionStrings(dims), from, to)
	} else {
		rows, err = q.Query(ctx, src.bucketed, clusterID, dimensionStrings(dims), from, to, int64(step/time.Second), origin)
	}
	if err != nil {
		return err
	}
	var dim Dimension
	var p Point
	var p95, mx *float64
	_, err = pgx.ForEachRow(rows, []any{&dim, &p.TS, &p.Used, &p.Capacity, &p.Utilization, &p.Peak, &p95, &mx, &p.Hosts}, func() error {
		pt := p
		pt.TS = pt.TS.UTC()
		if p95 != nil {
			pt.P95 = ptr(*p95)
		}
		if mx != nil {
			pt.Max = ptr(*mx)
		}
		i := index[dim]
		out[i].Points = append(out[i].Points, pt)
		return nil
	})
	if err != nil {
		return err
	}
	for i := range out {
		slices.SortFunc(out[i].Points, func(a, b Point) int { return a.TS.Compare(b.TS) })
	}
	return nil
}
