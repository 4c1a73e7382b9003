package leaderboard

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/fault"
)

// DefaultFirst and MaxFirst bound a list's entries.
const (
	DefaultFirst = 10
	MaxFirst     = 100
)

// TopOfList is how near an end of a ranking a standing must be to be on that
// end's list.
const TopOfList = 10

// Query asks for a list.
type Query struct {
	Level  Level
	List   List
	Metric Metric
	Unit   Unit
	// Start is any time in the period; zero means the latest computed period.
	Start time.Time
	// First is how many entries, 1..MaxFirst.
	First int
}

// Board is a red or black list of one period.
type Board struct {
	Level  Level
	List   List
	Metric Metric
	Unit   Unit
	// Start and End are the period's first day and the day after its last.
	Start, End time.Time
	// ComputedAt is nil when the period has not been computed.
	ComputedAt     *time.Time
	HigherIsBetter bool
	UnitName       string
	Median         *float64
	MinimumVolume  string
	RankedCount    int
	Entries        []Entry
}

// Entry is one ranked subject on a list.
type Entry struct {
	// Rank is the place on the list (1 = its top).
	Rank         int
	PreviousRank *int
	Movement     *int
	// SubjectID is the job, person or BU id, by the board's level.
	SubjectID int64
	Name      string
	Context   *string
	Value     float64
	Display   string
	// Comparison sets the value against the platform median.
	Comparison string
	Volume     float64
	Improve    string
	// ImproveJobID is the job whose findings the advice is from, if any.
	ImproveJobID *int64
}

// Standing is where one subject stands on one metric.
type Standing struct {
	Metric      Metric
	Unit        Unit
	Rank        *int
	RankedCount int
	List        *List
	Value       *float64
	Display     *string
	Comparison  *string
	Movement    *int
}

// Leaderboard returns a list. Every signed-in caller may read every list,
// names and figures; the jobs, people and BUs behind the ids keep their own
// access rules. A period not computed yet is an empty list with no
// computedAt.
func (s *Service) Leaderboard(ctx context.Context, q Query) (*Board, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	if q.Unit == "" {
		q.Unit = Week
	}
	if err := parse(q.Level, q.Metric, q.Unit); err != nil {
		return nil, err
	}
	if q.List != Red && q.List != Black {
		return nil, fault.Field("list", "unknown list %q: use RED or BLACK", q.List)
	}
	if q.First < 1 || q.First > MaxFirst {
		return nil, fault.Field("first", "first must be 1..%d", MaxFirst)
	}
	b := &Board{Level: q.Level, List: q.List, Metric: q.Metric, Unit: q.Unit, HigherIsBetter: q.Metric.HigherIsBetter(),
		UnitName: s.unitName(q.Metric), MinimumVolume: minimumVolume(s.cfg.minVolume(q.Level)), Entries: []Entry{}}
	args := pgx.NamedArgs{"level": string(q.Level), "metric": string(q.Metric), "unit": string(q.Unit)}
	sql := latestSQL
	if !q.Start.IsZero() {
		b.Start, b.End = q.Unit.Period(q.Start)
		args["start"], sql = b.Start, periodReadSQL
	}
	var minVolume float64
	var computed time.Time
	err := s.pool.QueryRow(ctx, sql, args).Scan(&b.Start, &b.End, &computed, &b.RankedCount, &b.Median, &minVolume)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		if q.Start.IsZero() {
			b.Start, b.End = q.Unit.Period(s.cfg.Now())
		}
		return b, nil
	case err != nil:
		return nil, errorf("loading the leaderboard", err)
	}
	b.ComputedAt, b.MinimumVolume = &computed, minimumVolume(minVolume)
	order := "ASC"
	if q.List == Black {
		order = "DESC"
	}
	// The two lists split the ranking at its middle (the red list takes the
	// middle one of an odd count), so that with few ranked subjects nobody is
	// on both: the red list reads ranks 1..redCount, the black list the rest.
	args["start"], args["first"] = b.Start, q.First
	args["lo"], args["hi"] = 1, redCount(b.RankedCount)
	if q.List == Black {
		args["lo"], args["hi"] = redCount(b.RankedCount)+1, b.RankedCount
	}
	rows, err := s.pool.Query(ctx, strings.ReplaceAll(entriesSQL, "{order}", order), args)
	if err != nil {
		return nil, errorf("loading the leaderboard entries", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e Entry
		var rank int
		var prevRank, prevCount *int
		var improveJob, advice string
		if err := rows.Scan(&rank, &e.SubjectID, &e.Value, &e.Volume, &prevRank, &prevCount, &e.ImproveJobID,
			&e.Name, &e.Context, &improveJob, &advice); err != nil {
			return nil, errorf("loading the leaderboard entries", err)
		}
		e.Rank = listRank(q.List, rank, b.RankedCount)
		if prevRank != nil && prevCount != nil {
			p := listRank(q.List, *prevRank, *prevCount)
			mv := p - e.Rank
			e.PreviousRank, e.Movement = &p, &mv
		}
		e.Display = s.display(q.Metric, e.Value)
		e.Comparison = s.comparison(q.Metric, e.Value, b.Median)
		e.Improve = s.improve(q.Level, q.Metric, e, b.Median, improveJob, advice)
		b.Entries = append(b.Entries, e)
	}
	if err := rows.Err(); err != nil {
		return nil, errorf("loading the leaderboard entries", err)
	}
	return b, nil
}

// Standing returns where the person or BU id stands on every metric of its
// level in the latest computed period of unit u, for any signed-in caller.
func (s *Service) Standing(ctx context.Context, level Level, id int64, u Unit) ([]Standing, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	if u == "" {
		u = Week
	}
	if err := parse(level, Efficiency, u); err != nil {
		return nil, err
	}
	metrics := make([]string, len(Metrics))
	for i, m := range Metrics {
		metrics[i] = string(m)
	}
	rows, err := s.pool.Query(ctx, standingSQL, pgx.NamedArgs{"level": string(level), "unit": string(u), "subject": id, "metrics": metrics})
	if err != nil {
		return nil, errorf("loading the standing", err)
	}
	defer rows.Close()
	var out []Standing
	for rows.Next() {
		var m string
		var start *time.Time
		var median, value, volume *float64
		var rank, prev *int
		st := Standing{Unit: u}
		if err := rows.Scan(&m, &start, &st.RankedCount, &median, &rank, &value, &volume, &prev); err != nil {
			return nil, errorf("loading the standing", err)
		}
		st.Metric = Metric(m)
		if rank != nil && value != nil {
			st.Rank, st.Value = rank, value
			d, c := s.display(st.Metric, *value), s.comparison(st.Metric, *value, median)
			st.Display, st.Comparison = &d, &c
			switch {
			case *rank <= TopOfList && *rank <= redCount(st.RankedCount):
				l := Red
				st.List = &l
			case *rank > redCount(st.RankedCount) && st.RankedCount-*rank+1 <= TopOfList:
				l := Black
				st.List = &l
			}
			if prev != nil {
				mv := *prev - *rank
				st.Movement = &mv
			}
		}
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return nil, errorf("loading the standing", err)
	}
	return out, nil
}

// redCount is how many of count ranked subjects the red list holds: the
// better half, and the middle one of an odd count; the black list holds the
// rest.
func redCount(count int) int {
	return (count + 1) / 2
}

// listRank turns a rank from the best into the rank on list: the black
// list counts from the worst.
func listRank(l List, rank, count int) int {
	if l == Black {
		return count - rank + 1
	}
	return rank
}

// unitName is what a metric's values are in.
func (s *Service) unitName(m Metric) string {
	switch m {
	case Efficiency, FailureRate:
		// value is a fraction; display shows it in percent.
		return "fraction (0–1)"
	case CostPerUnit:
		return s.cfg.Currency + "/core-h"
	case Findings:
		return "severity per job"
	}
	return "score"
}

// display formats a value as people read it.
func (s *Service) display(m Metric, v float64) string {
	switch m {
	case Efficiency, FailureRate:
		return fmt.Sprintf("%.0f%%", 100*v)
	case CostPerUnit:
		return fmt.Sprintf("%s %s/core-h", significant(v), s.cfg.Currency)
	case Findings:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.0f", v)
}

// significant formats a price with two significant digits past the zeros
// (0.042, 1.3), at least two decimals.
func significant(v float64) string {
	if v == 0 {
		return "0.00"
	}
	d := max(2, 1-int(math.Floor(math.Log10(math.Abs(v)))))
	return fmt.Sprintf("%.*f", d, v)
}

// metricName is how a comparison names a metric.
var metricName = map[Metric]string{Efficiency: "efficiency", CostPerUnit: "cost", FailureRate: "failure rate",
	Findings: "findings severity", Health: "health"}

// comparison sets a value against the median of its ranking.
func (s *Service) comparison(m Metric, v float64, median *float64) string {
	if median == nil {
		return fmt.Sprintf("%s %s", metricName[m], s.display(m, v))
	}
	return fmt.Sprintf("%s %s against a platform median of %s", metricName[m], s.display(m, v), s.display(m, *median))
}

// improve says what to do: the advice of the improve job's worst finding,
// else a sentence from the entry's own figures.
func (s *Service) improve(l Level, m Metric, e Entry, median *float64, job, advice string) string {
	if advice != "" {
		if l == Job || job == "" {
			return advice
		}
		return fmt.Sprintf("its worst job, %s: %s", job, advice)
	}
	better := median != nil && ((m.HigherIsBetter() && e.Value >= *median) || (!m.HigherIsBetter() && e.Value <= *median))
	if better {
		return fmt.Sprintf("%s is at or better than the platform median: nothing pressing", s.display(m, e.Value))
	}
	switch m {
	case Efficiency:
		return fmt.Sprintf("uses %s of the resources it requests over %.0f core-hours used: lower the requests toward the use", s.display(m, e.Value), e.Volume)
	case CostPerUnit:
		return fmt.Sprintf("each core-hour used costs %s: release requests it does not use, or run where capacity is cheaper", s.display(m, e.Value))
	case FailureRate:
		return fmt.Sprintf("%s of finished runs failed or were aborted: look at the failed runs' errors", s.display(m, e.Value))
	case Findings:
		return "see the job analysis for its findings"
	}
	return fmt.Sprintf("health %s: see the health score's components", s.display(m, e.Value))
}

// minimumVolume says a minimum in words.
func minimumVolume(v float64) string {
	return fmt.Sprintf("at least %s core-hours used", strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", v), "0"), "."))
}
