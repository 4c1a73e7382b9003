// Package leaderboard ranks jobs, people and BUs per calendar period on five
// metrics — efficiency, cost per core-hour, failure rate, job-analysis
// findings and health — into red (best) and black (worst) lists. The
// `leaderboards` job computes each period's full ranking once (Computer) and
// stores it; reads (Service) are index lookups of the stored rankings. The
// metrics, formulas, minimum volume, schedule and retention: docs/leaderboards.md.
//
// The package owns leaderboard_period, leaderboard_entry and the daily
// rollup it ranks from, leaderboard_job_day and leaderboard_day. It reads, without
// writing, job_usage_1h, job_run, job and job_finding/job_score
// (internal/workload), bill_line (internal/cost) and, through HealthSource,
// the health scores.
package leaderboard

import (
	"cmp"
	"context"
	_ "embed"
	"fmt"
	"log/slog"
	"time"

	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/fault"
)

var (
	//go:embed sql/rollup.sql
	rollupSQL string
	//go:embed sql/fingerprint.sql
	fingerprintSQL string
	//go:embed sql/jobs.sql
	jobsSQL string
	//go:embed sql/subjects.sql
	subjectsSQL string
	//go:embed sql/rank.sql
	rankSQL string
	//go:embed sql/latest.sql
	latestSQL string
	//go:embed sql/period_read.sql
	periodReadSQL string
	//go:embed sql/entries.sql
	entriesSQL string
	//go:embed sql/standing.sql
	standingSQL string
)

// Level is what a ranking ranks.
type Level string

// The levels.
const (
	Job    Level = "JOB"
	Person Level = "PERSON"
	BU     Level = "BU"
)

// Levels are every level, in display order.
var Levels = []Level{Job, Person, BU}

// List is an end of a ranking.
type List string

// The lists.
const (
	// Red is the best end of a ranking.
	Red List = "RED"
	// Black is the worst end.
	Black List = "BLACK"
)

// Metric is what a ranking orders by.
type Metric string

// The metrics (docs/leaderboards.md has their formulas).
const (
	// Efficiency is used ÷ requested CPU and memory, weighted by their prices.
	Efficiency Metric = "EFFICIENCY"
	// CostPerUnit is the bill (usage and idle share) per core-hour used.
	CostPerUnit Metric = "COST_PER_UNIT"
	// FailureRate is failed and aborted runs ÷ finished runs.
	FailureRate Metric = "FAILURE_RATE"
	// Findings is the job-analysis score (Σ severity × tasks) per job.
	Findings Metric = "FINDINGS"
	// Health is the health score 0–100.
	Health Metric = "HEALTH"
)

// Metrics are every metric, in display order.
var Metrics = []Metric{Efficiency, CostPerUnit, FailureRate, Findings, Health}

// HigherIsBetter says which way a metric ranks.
func (m Metric) HigherIsBetter() bool { return m == Efficiency || m == Health }

// Unit is the length of a calendar period; a week starts on Monday.
type Unit string

// The period units.
const (
	Day   Unit = "DAY"
	Week  Unit = "WEEK"
	Month Unit = "MONTH"
)

// Units are every unit, shortest first.
var Units = []Unit{Day, Week, Month}

// Period returns the period of unit containing t: its first day and the day
// after its last (UTC midnights).
func (u Unit) Period(t time.Time) (start, end time.Time) {
	s := t.UTC().Truncate(24 * time.Hour)
	switch u {
	case Week:
		s = s.AddDate(0, 0, -((int(s.Weekday()) + 6) % 7))
		return s, s.AddDate(0, 0, 7)
	case Month:
		s = time.Date(s.Year(), s.Month(), 1, 0, 0, 0, 0, time.UTC)
		return s, s.AddDate(0, 1, 0)
	}
	return s, s.AddDate(0, 0, 1)
}

// Previous returns the start of the period before the one starting at start.
func (u Unit) Previous(start time.Time) time.Time {
	switch u {
	case Week:
		return start.AddDate(0, 0, -7)
	case Month:
		return start.AddDate(0, -1, 0)
	}
	return start.AddDate(0, 0, -1)
}

func (u Unit) valid() bool { return u == Day || u == Week || u == Month }

// Config tunes the rankings and the job that computes them.
type Config struct {
	// MinJobCoreHours, MinPersonCoreHours and MinBUCoreHours are the core-hours
	// a job, person or BU must have used in a period to be ranked (defaults
	// 10, 100 and 1,000), so that a few minutes of work cannot top a list.
	MinJobCoreHours, MinPersonCoreHours, MinBUCoreHours float64
	// CoreHourWeight and GBHourWeight weigh CPU against memory in the
	// efficiency of a job without bill lines in the period (defaults 0.04
	// and 0.005, the default batch card's prices); a billed job is weighed
	// by its own average prices.
	CoreHourWeight, GBHourWeight float64
	// KeepDays, KeepWeeks and KeepMonths say how long rankings are kept
	// (defaults 90 days, 104 weeks, months forever: 0 keeps them all).
	KeepDays, KeepWeeks, KeepMonths int
	// Currency names the unit of cost per core-hour (default USD).
	Currency string
	// RefreshEvery is how stale a period's findings and health may grow: the
	// hourly pass recomputes a period whose days did not change only when it
	// was computed longer ago than this (default 6 hours).
	RefreshEvery time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// WithDefaults returns c with its zero fields set to the defaults.
func (c Config) WithDefaults() Config {
	c.MinJobCoreHours = cmp.Or(c.MinJobCoreHours, 10)
	c.MinPersonCoreHours = cmp.Or(c.MinPersonCoreHours, 100)
	c.MinBUCoreHours = cmp.Or(c.MinBUCoreHours, 1000)
	c.CoreHourWeight = cmp.Or(c.CoreHourWeight, 0.04)
	c.GBHourWeight = cmp.Or(c.GBHourWeight, 0.005)
	c.KeepDays = cmp.Or(c.KeepDays, 90)
	c.KeepWeeks = cmp.Or(c.KeepWeeks, 104)
	c.Currency = cmp.Or(c.Currency, "USD")
	c.RefreshEvery = cmp.Or(c.RefreshEvery, 6*time.Hour)
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// minVolume is the level's minimum core-hours.
func (c Config) minVolume(l Level) float64 {
	switch l {
	case Person:
		return c.MinPersonCoreHours
	case BU:
		return c.MinBUCoreHours
	}
	return c.MinJobCoreHours
}

// HealthSource gives the latest health score (0–100) of every job, person or
// BU of a level that has one, by id. internal/health provides it; without a
// source the HEALTH rankings stay empty.
type HealthSource interface {
	HealthScores(ctx context.Context, level Level) (map[int64]float64, error)
}

// Service reads the stored rankings for any signed-in caller.
type Service struct {
	pool db.DBTX
	cfg  Config
}

// NewService returns a Service on pool.
func NewService(pool db.DBTX, cfg Config) *Service {
	return &Service{pool: pool, cfg: cfg.WithDefaults()}
}

// logger falls back to a discarding logger.
func logger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}

// parse checks a level, metric and unit given by a caller.
func parse(l Level, m Metric, u Unit) error {
	switch l {
	case Job, Person, BU:
	default:
		return fault.Field("level", "unknown level %q: use JOB, PERSON or BU", l)
	}
	switch m {
	case Efficiency, CostPerUnit, FailureRate, Findings, Health:
	default:
		return fault.Field("metric", "unknown metric %q: use EFFICIENCY, COST_PER_UNIT, FAILURE_RATE, FINDINGS or HEALTH", m)
	}
	if !u.valid() {
		return fault.Field("period", "unknown period unit %q: use DAY, WEEK or MONTH", u)
	}
	return nil
}

func errorf(what string, err error) error { return fmt.Errorf("error %s: %w", what, err) }
