package leaderboard_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/cost"
	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/leaderboard"
)

// day1 is a Monday; day2 the Tuesday after.
var (
	day1 = time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	day2 = day1.AddDate(0, 0, 1)
)

// board is the constructed data set: two BUs, three people, six jobs whose
// efficiency the test knows (used ÷ requested core-hours, no memory).
type board struct {
	pool                   *pgxpool.Pool
	buA, buB               int64
	pa1, pa2, pb1          int64
	j1, j2, j3, j4, j5, j6 int64
	ctx                    context.Context
	reader                 context.Context
	svc                    *leaderboard.Service
}

// usage: job → (requested, used) core-hours on a day.
type usage map[*int64][2]float64

func newBoard(t *testing.T) *board {
	t.Helper()
	pool := dbtest.New(t)
	ctx := context.Background()
	b := &board{pool: pool, ctx: ctx}
	q := func(dst *int64, sql string, args ...any) {
		t.Helper()
		require.NoError(t, pool.QueryRow(ctx, sql, args...).Scan(dst))
	}
	q(&b.buA, `INSERT INTO bu (name, code) VALUES ('Ads', 'ADS') RETURNING id`)
	q(&b.buB, `INSERT INTO bu (name, code) VALUES ('Search', 'SEARCH') RETURNING id`)
	q(&b.pa1, `INSERT INTO person (login, name, bu_id) VALUES ('pa1', 'Ann', $1) RETURNING id`, b.buA)
	q(&b.pa2, `INSERT INTO person (login, name, bu_id) VALUES ('pa2', 'Abe', $1) RETURNING id`, b.buA)
	q(&b.pb1, `INSERT INTO person (login, name, bu_id) VALUES ('pb1', 'Bea', $1) RETURNING id`, b.buB)
	var cluster int64
	q(&cluster, `INSERT INTO cluster (name, region, kind, owner_bu_id) VALUES ('c1', 'r', 'BATCH', $1) RETURNING id`, b.buA)
	for _, j := range []struct {
		dst   *int64
		name  string
		owner int64
	}{{&b.j1, "j1", b.pa1}, {&b.j2, "j2", b.pa1}, {&b.j3, "j3", b.pa2}, {&b.j4, "j4", b.pb1}, {&b.j5, "j5", b.pb1}, {&b.j6, "j6", b.pb1}} {
		q(j.dst, `INSERT INTO job (namespace, name, owner_id, cluster_id) VALUES ('t', $1, $2, $3) RETURNING id`, j.name, j.owner, cluster)
	}
	_, err := cost.SeedRateCards(ctx, pool, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	b.reader = auth.WithPrincipal(ctx, &auth.Principal{PersonID: b.pb1, BUID: b.buB, Role: auth.Viewer})
	b.svc = leaderboard.NewService(pool, leaderboard.Config{MinPersonCoreHours: 10, MinBUCoreHours: 10})
	return b
}

// use writes a day's usage (one hour per job) and bills the day.
func (b *board) use(t *testing.T, day time.Time, u usage) {
	t.Helper()
	for job, ru := range u {
		_, err := b.pool.Exec(b.ctx, `INSERT INTO job_usage_1h (job_id, hour, runs, requested_core_seconds, used_core_seconds) VALUES ($1, $2, 1, $3, $4)`,
			*job, day.Add(time.Hour), ru[0]*3600, ru[1]*3600)
		require.NoError(t, err)
	}
	_, err := cost.NewBiller(b.pool, cost.Config{}, cost.BillingConfig{}, nil).Bill(b.ctx, day, day.AddDate(0, 0, 1), day.AddDate(0, 0, 1))
	require.NoError(t, err)
}

func (b *board) run(t *testing.T, job int64, day time.Time, state string) {
	t.Helper()
	_, err := b.pool.Exec(b.ctx, `INSERT INTO job_run (job_id, run_uuid, state, started_at, ended_at, updated_at)
		VALUES ($1, gen_random_uuid(), $2, $3::timestamptz, $3 + interval '1 hour', $3 + interval '1 hour')`, job, state, day.Add(2*time.Hour))
	require.NoError(t, err)
}

func (b *board) list(t *testing.T, l leaderboard.Level, list leaderboard.List, m leaderboard.Metric, start time.Time) *leaderboard.Board {
	t.Helper()
	bd, err := b.svc.Leaderboard(b.reader, leaderboard.Query{Level: l, List: list, Metric: m, Unit: leaderboard.Day, Start: start, First: 100})
	require.NoError(t, err)
	return bd
}

func ids(bd *leaderboard.Board) []int64 {
	out := []int64{}
	for _, e := range bd.Entries {
		out = append(out, e.SubjectID)
	}
	return out
}

type fakeHealth map[leaderboard.Level]map[int64]float64

func (f fakeHealth) HealthScores(_ context.Context, l leaderboard.Level) (map[int64]float64, error) {
	return f[l], nil
}

// The constructed day: the red list is the best first, the black list the
// same ranking from the worst; the tiny job is left out; equal values go to
// the lower id; the median is over the ranked; people and BUs add up their
// jobs; the second day's movement is the previous day's rank on the same list
// minus today's.
func TestRankingOfAConstructedFleet(t *testing.T) {
	t.Parallel()
	b := newBoard(t)
	b.use(t, day1, usage{&b.j1: {100, 80}, &b.j2: {100, 40}, &b.j3: {50, 20}, &b.j4: {200, 20}, &b.j5: {10, 5}, &b.j6: {30, 30}})
	b.run(t, b.j1, day1, "COMPLETED")
	b.run(t, b.j1, day1, "COMPLETED")
	b.run(t, b.j1, day1, "COMPLETED")
	b.run(t, b.j1, day1, "FAILED")
	b.run(t, b.j4, day1, "FAILED")
	b.run(t, b.j4, day1, "ABORTED")
	b.run(t, b.j4, day1, "RUNNING")
	_, err := b.pool.Exec(b.ctx, `INSERT INTO job_score (job_id, score, wasted_core_hours_per_day, wasted_gb_hours_per_day, waste, worst_severity, runs_analyzed, hours_analyzed, analyzed_at)
		VALUES ($1, 30, 0, 0, 0, 3, 2, 0, now()), ($2, 5, 0, 0, 0, 1, 4, 0, now())`, b.j4, b.j1)
	require.NoError(t, err)
	_, err = b.pool.Exec(b.ctx, `INSERT INTO job_finding (job_id, heuristic, severity, advice, analyzed_at) VALUES
		($1, 'executor memory', 3, 'lower executor memory from 16 GB to 4 GB', now()), ($1, 'skew', 1, 'split the skewed key', now())`, b.j4)
	require.NoError(t, err)

	health := fakeHealth{leaderboard.Job: {b.j1: 90, b.j4: 40}, leaderboard.Person: {b.pa1: 70}}
	comp := leaderboard.NewComputer(b.pool, leaderboard.Config{MinPersonCoreHours: 10, MinBUCoreHours: 10}, health, nil)
	_, err = comp.Compute(b.ctx, leaderboard.Day, day1)
	require.NoError(t, err)

	red := b.list(t, leaderboard.Job, leaderboard.Red, leaderboard.Efficiency, day1)
	require.Equal(t, []int64{b.j6, b.j1, b.j2}, ids(red), "j5 has 5 core-hours, under the minimum of 10; j2 and j3 tie at 40%%, j2 has the lower id; the red list is the better half and the middle one")
	require.Equal(t, 5, red.RankedCount)
	require.NotNil(t, red.ComputedAt)
	require.InDelta(t, 0.4, *red.Median, 1e-9)
	require.Equal(t, "100%", red.Entries[0].Display)
	require.Equal(t, "at least 10 core-hours used", red.MinimumVolume)
	require.Nil(t, red.Entries[0].Movement, "no previous day")
	black := b.list(t, leaderboard.Job, leaderboard.Black, leaderboard.Efficiency, day1)
	require.Equal(t, []int64{b.j4, b.j3}, ids(black), "the black list is the rest, from the worst: nobody is on both")
	require.Equal(t, 1, black.Entries[0].Rank)
	require.Equal(t, "efficiency 10% against a platform median of 40%", black.Entries[0].Comparison)
	require.Equal(t, "lower executor memory from 16 GB to 4 GB", black.Entries[0].Improve, "the worst finding's advice")
	require.Equal(t, b.j4, *black.Entries[0].ImproveJobID)
	require.Equal(t, "Bea", *black.Entries[0].Context)
	require.Equal(t, "t/j4", black.Entries[0].Name)

	// Cost per core-hour used is requested ÷ used at one price: the
	// efficiency ranking reversed in value, the same in order.
	cpu := b.list(t, leaderboard.Job, leaderboard.Red, leaderboard.CostPerUnit, day1)
	require.Equal(t, []int64{b.j6, b.j1, b.j2}, ids(cpu))
	require.Equal(t, "0.040 USD/core-h", cpu.Entries[0].Display)

	people := b.list(t, leaderboard.Person, leaderboard.Red, leaderboard.Efficiency, day1)
	require.Equal(t, []int64{b.pa1, b.pa2}, ids(people))
	require.InDelta(t, 120.0/200, people.Entries[0].Value, 1e-9)
	require.Equal(t, "Ads", *people.Entries[0].Context)
	people = b.list(t, leaderboard.Person, leaderboard.Black, leaderboard.Efficiency, day1)
	require.Equal(t, []int64{b.pb1}, ids(people))
	require.InDelta(t, 55.0/240, people.Entries[0].Value, 1e-9)
	require.Equal(t, "its worst job, t/j4: lower executor memory from 16 GB to 4 GB", people.Entries[0].Improve)
	bus := b.list(t, leaderboard.BU, leaderboard.Black, leaderboard.Efficiency, day1)
	require.Equal(t, []int64{b.buB}, ids(bus))
	bus = b.list(t, leaderboard.BU, leaderboard.Red, leaderboard.Efficiency, day1)
	require.Equal(t, []int64{b.buA}, ids(bus))
	require.InDelta(t, 140.0/250, bus.Entries[0].Value, 1e-9)

	fail := b.list(t, leaderboard.Job, leaderboard.Black, leaderboard.FailureRate, day1)
	require.Equal(t, []int64{b.j4}, ids(fail), "jobs without finished runs are not ranked; the running run does not count")
	require.Equal(t, 2, fail.RankedCount)
	require.InDelta(t, 1.0, fail.Entries[0].Value, 1e-9)
	fail = b.list(t, leaderboard.Job, leaderboard.Red, leaderboard.FailureRate, day1)
	require.Equal(t, []int64{b.j1}, ids(fail))
	require.InDelta(t, 0.25, fail.Entries[0].Value, 1e-9)
	require.Equal(t, "fraction (0–1)", fail.UnitName)
	find := b.list(t, leaderboard.Person, leaderboard.Black, leaderboard.Findings, day1)
	require.Equal(t, []int64{b.pb1}, ids(find))
	find = b.list(t, leaderboard.Person, leaderboard.Red, leaderboard.Findings, day1)
	require.Equal(t, []int64{b.pa1}, ids(find))
	hl := b.list(t, leaderboard.Job, leaderboard.Red, leaderboard.Health, day1)
	require.Equal(t, []int64{b.j1}, ids(hl))
	require.Equal(t, "90", hl.Entries[0].Display)

	// Day two: j4 becomes the most efficient, j6 drops.
	b.use(t, day2, usage{&b.j1: {100, 80}, &b.j2: {100, 40}, &b.j3: {50, 20}, &b.j4: {20, 20}, &b.j6: {30, 15}})
	_, err = leaderboard.NewComputer(b.pool, leaderboard.Config{MinPersonCoreHours: 10, MinBUCoreHours: 10}, nil, nil).Compute(b.ctx, leaderboard.Day, day2)
	require.NoError(t, err)
	red = b.list(t, leaderboard.Job, leaderboard.Red, leaderboard.Efficiency, day2)
	require.Equal(t, []int64{b.j4, b.j1, b.j6}, ids(red))
	require.Equal(t, 5, *red.Entries[0].PreviousRank)
	require.Equal(t, 4, *red.Entries[0].Movement, "j4 climbed from 5th to 1st")
	require.Equal(t, -2, *red.Entries[2].Movement, "j6 fell from 1st to 3rd")
	black = b.list(t, leaderboard.Job, leaderboard.Black, leaderboard.Efficiency, day2)
	require.Equal(t, []int64{b.j3, b.j2}, ids(black))
	require.Equal(t, 2, *black.Entries[0].PreviousRank, "j3 was second on yesterday's black list")
	require.Equal(t, 1, *black.Entries[0].Movement)

	// Without a health source HEALTH is computed, and empty.
	hl = b.list(t, leaderboard.Job, leaderboard.Red, leaderboard.Health, day2)
	require.NotNil(t, hl.ComputedAt)
	require.Zero(t, hl.RankedCount)
	require.Empty(t, hl.Entries)

	// The latest period when start is absent; a standing per metric.
	latest, err := b.svc.Leaderboard(b.reader, leaderboard.Query{Level: leaderboard.Job, List: leaderboard.Red, Metric: leaderboard.Efficiency, Unit: leaderboard.Day, First: 10})
	require.NoError(t, err)
	require.Equal(t, day2, latest.Start)
	st, err := b.svc.Standing(b.reader, leaderboard.Person, b.pb1, leaderboard.Day)
	require.NoError(t, err)
	require.Len(t, st, len(leaderboard.Metrics))
	require.Equal(t, leaderboard.Efficiency, st[0].Metric)
	require.NotNil(t, st[0].Rank)
	require.NotNil(t, st[0].List)
	require.Nil(t, st[4].Rank, "no health source on day two")
}

// Computing a period again replaces it: the same entries, no duplicates,
// and a change of usage shows.
func TestRecomputeReplacesThePeriod(t *testing.T) {
	t.Parallel()
	b := newBoard(t)
	b.use(t, day1, usage{&b.j1: {100, 80}, &b.j2: {100, 40}})
	comp := leaderboard.NewComputer(b.pool, leaderboard.Config{}, nil, nil)
	snapshot := func() []string {
		var out []string
		rows, err := b.pool.Query(b.ctx, `SELECT concat_ws(' ', level, metric, unit, start, rank, subject_id, value, volume, previous_rank, improve_job_id)
			FROM leaderboard_entry ORDER BY 1`)
		require.NoError(t, err)
		for rows.Next() {
			var s string
			require.NoError(t, rows.Scan(&s))
			out = append(out, s)
		}
		require.NoError(t, rows.Err())
		return out
	}
	for _, u := range leaderboard.Units {
		_, err := comp.Compute(b.ctx, u, day1)
		require.NoError(t, err)
	}
	first := snapshot()
	require.NotEmpty(t, first)
	for _, u := range leaderboard.Units {
		_, err := comp.Compute(b.ctx, u, day1)
		require.NoError(t, err)
	}
	require.Equal(t, first, snapshot())
	var periods int
	require.NoError(t, b.pool.QueryRow(b.ctx, `SELECT count(*) FROM leaderboard_period`).Scan(&periods))
	require.Equal(t, len(leaderboard.Units)*len(leaderboard.Levels)*len(leaderboard.Metrics), periods)

	_, err := b.pool.Exec(b.ctx, `UPDATE job_usage_1h SET used_core_seconds = 100 * 3600 WHERE job_id = $1`, b.j2)
	require.NoError(t, err)
	_, err = comp.Compute(b.ctx, leaderboard.Day, day1)
	require.NoError(t, err)
	red := b.list(t, leaderboard.Job, leaderboard.Red, leaderboard.Efficiency, day1)
	require.Equal(t, []int64{b.j2}, ids(red))
	black := b.list(t, leaderboard.Job, leaderboard.Black, leaderboard.Efficiency, day1)
	require.Equal(t, []int64{b.j1}, ids(black))
}

// The hourly pass rolls a day up again only while it is not final (until a
// pass after the end of the day after it): a late change to a final day's
// usage stays out of the job's rankings, and an operator's Compute takes it.
func TestHourlyPassRollsUpOnlyDaysNotFinal(t *testing.T) {
	t.Parallel()
	b := newBoard(t)
	b.use(t, day1, usage{&b.j1: {100, 80}, &b.j2: {100, 40}})
	at := func(now time.Time) {
		t.Helper()
		_, err := leaderboard.NewComputer(b.pool, leaderboard.Config{Now: func() time.Time { return now }}, nil, nil).RunOnce(b.ctx)
		require.NoError(t, err)
	}
	weekRed := func() []int64 {
		t.Helper()
		bd, err := b.svc.Leaderboard(b.reader, leaderboard.Query{Level: leaderboard.Job, List: leaderboard.Red, Metric: leaderboard.Efficiency, Unit: leaderboard.Week, Start: day1, First: 10})
		require.NoError(t, err)
		return ids(bd)
	}
	setUsed := func(job int64, coreHours float64) {
		t.Helper()
		_, err := b.pool.Exec(b.ctx, `UPDATE job_usage_1h SET used_core_seconds = $2 * 3600 WHERE job_id = $1`, job, coreHours)
		require.NoError(t, err)
	}
	at(day1.Add(12 * time.Hour)) // day one rolled up while it runs
	require.Equal(t, []int64{b.j1}, weekRed())

	setUsed(b.j2, 100) // a late change while day one is not final
	at(day1.AddDate(0, 0, 3))
	require.Equal(t, []int64{b.j2}, weekRed(), "rolled up again: it was rolled up before the end of the day after it")

	setUsed(b.j2, 10) // a change after day one became final
	at(day1.AddDate(0, 0, 4))
	require.Equal(t, []int64{b.j2}, weekRed(), "a final day is not rolled up again by the hourly pass")
	var rolledAt time.Time
	require.NoError(t, b.pool.QueryRow(b.ctx, `SELECT rolled_at FROM leaderboard_day WHERE day = $1::date`, day1).Scan(&rolledAt))
	require.True(t, rolledAt.Equal(day1.AddDate(0, 0, 3)), "rolled at %s", rolledAt)

	_, err := leaderboard.NewComputer(b.pool, leaderboard.Config{Now: func() time.Time { return day1.AddDate(0, 0, 4) }}, nil, nil).Compute(b.ctx, leaderboard.Week, day1)
	require.NoError(t, err)
	require.Equal(t, []int64{b.j1}, weekRed(), "an operator's recomputation rolls every day up again")
}

// The hourly pass leaves a period as it was when none of its days changed
// since it was computed: a second pass with nothing new computes nothing, a
// change to today recomputes the periods holding today and not yesterday's.
func TestHourlyPassSkipsUnchangedPeriods(t *testing.T) {
	t.Parallel()
	b := newBoard(t)
	b.use(t, day1, usage{&b.j1: {100, 80}, &b.j2: {100, 40}})
	b.use(t, day2, usage{&b.j1: {100, 80}, &b.j2: {100, 40}})
	now := day2.Add(12 * time.Hour) // Tuesday: yesterday and today share the week and month
	comp := leaderboard.NewComputer(b.pool, leaderboard.Config{Now: func() time.Time { return now }}, nil, nil)
	res, err := comp.RunOnce(b.ctx)
	require.NoError(t, err)
	require.Equal(t, 4, res.Periods, "yesterday, today, the week, the month")
	res, err = comp.RunOnce(b.ctx)
	require.NoError(t, err)
	require.Equal(t, 0, res.Periods, "nothing changed")
	require.Equal(t, 4, res.Skipped)

	_, err = b.pool.Exec(b.ctx, `UPDATE job_usage_1h SET used_core_seconds = 100 * 3600 WHERE job_id = $1 AND hour >= $2`, b.j2, day2)
	require.NoError(t, err)
	res, err = comp.RunOnce(b.ctx)
	require.NoError(t, err)
	require.Equal(t, 3, res.Periods, "today, the week and the month; not yesterday")
	require.Equal(t, 1, res.Skipped)
	red := b.list(t, leaderboard.Job, leaderboard.Red, leaderboard.Efficiency, day2)
	require.Equal(t, []int64{b.j2}, ids(red), "today's ranking took the change")
	red = b.list(t, leaderboard.Job, leaderboard.Red, leaderboard.Efficiency, day1)
	require.Equal(t, []int64{b.j1}, ids(red))
}

// The hourly pass rolls a day that is not final up again only when what it is
// rolled up from moved: billing re-billing yesterday to the same lines leaves
// it as it was (stamped checked, so it still becomes final), a late run or a
// changed bill line is rolled up.
func TestHourlyPassRollsUpOnlyDaysWhoseSourcesChanged(t *testing.T) {
	t.Parallel()
	b := newBoard(t)
	b.use(t, day1, usage{&b.j1: {100, 80}, &b.j2: {100, 40}})
	b.use(t, day2, usage{&b.j1: {100, 80}, &b.j2: {100, 40}})
	pass := func(now time.Time) {
		t.Helper()
		_, err := leaderboard.NewComputer(b.pool, leaderboard.Config{Now: func() time.Time { return now }}, nil, nil).RunOnce(b.ctx)
		require.NoError(t, err)
	}
	day := func() (version int64, rolledAt time.Time, failed int, cost float64) {
		t.Helper()
		require.NoError(t, b.pool.QueryRow(b.ctx, `SELECT d.version, d.rolled_at,
				(SELECT coalesce(sum(failed), 0) FROM leaderboard_job_day WHERE day = d.day),
				(SELECT coalesce(sum(cost), 0)::float8 FROM leaderboard_job_day WHERE day = d.day)
			FROM leaderboard_day d WHERE d.day = $1::date`, day1).Scan(&version, &rolledAt, &failed, &cost))
		return
	}
	pass(day2.Add(12 * time.Hour))
	v0, _, _, cost0 := day()
	require.Positive(t, cost0)

	// A mark the rollup would overwrite shows whether it read the day again.
	_, err := b.pool.Exec(b.ctx, `UPDATE leaderboard_job_day SET finished = 99 WHERE day = $1::date AND job_id = $2`, day1, b.j1)
	require.NoError(t, err)
	_, err = cost.NewBiller(b.pool, cost.Config{}, cost.BillingConfig{}, nil).Bill(b.ctx, day1, day2, day2)
	require.NoError(t, err)
	pass(day2.Add(13 * time.Hour))
	v, at, _, _ := day()
	var finished int
	require.NoError(t, b.pool.QueryRow(b.ctx, `SELECT finished FROM leaderboard_job_day WHERE day = $1::date AND job_id = $2`, day1, b.j1).Scan(&finished))
	require.Equal(t, 99, finished, "re-billed to the same lines: not rolled up again")
	require.True(t, at.Equal(day2.Add(13*time.Hour)), "but stamped checked at %s", at)

	b.run(t, b.j1, day1, "FAILED") // a run reported late
	pass(day2.Add(14 * time.Hour))
	v, _, failed, _ := day()
	require.Greater(t, v, v0, "a late run is rolled up")
	require.Equal(t, 1, failed)
	require.NoError(t, b.pool.QueryRow(b.ctx, `SELECT finished FROM leaderboard_job_day WHERE day = $1::date AND job_id = $2`, day1, b.j1).Scan(&finished))
	require.Equal(t, 1, finished, "the day read again whole")

	_, err = b.pool.Exec(b.ctx, `UPDATE bill_line SET amount = amount + 1 WHERE day = $1::date AND job_id = $2 AND resource = 'CPU'`, day1, b.j2)
	require.NoError(t, err)
	pass(day2.Add(15 * time.Hour))
	v1, _, _, cost1 := day()
	require.Greater(t, v1, v, "a changed bill line is rolled up")
	require.InDelta(t, cost0+1, cost1, 1e-9)

	pass(day1.AddDate(0, 0, 2).Add(time.Hour)) // day one's last check, after the day after it
	v2, at, _, _ := day()
	require.Equal(t, v1, v2)
	require.True(t, at.Equal(day1.AddDate(0, 0, 2).Add(time.Hour)), "checked after the day after it ended: final")
	_, err = b.pool.Exec(b.ctx, `UPDATE job_usage_1h SET used_core_seconds = 1 WHERE job_id = $1 AND hour < $2`, b.j1, day2)
	require.NoError(t, err)
	pass(day1.AddDate(0, 0, 2).Add(2 * time.Hour))
	v3, _, _, _ := day()
	require.Equal(t, v2, v3, "a final day is not looked at again")
}

// A job list keeps only its ends as entries (no list reads further than
// MaxFirst) and the whole ranking as the period's array: 250 ranked jobs
// store 200 entries, either list reads its first 100, and a job from the
// unstored middle that climbs to the top moves by its rank in the array.
func TestJobRankingKeepsTheEndsAndMovesFromTheMiddle(t *testing.T) {
	t.Parallel()
	b := newBoard(t)
	var cluster int64
	require.NoError(t, b.pool.QueryRow(b.ctx, `SELECT min(id) FROM cluster`).Scan(&cluster))
	_, err := b.pool.Exec(b.ctx, `INSERT INTO job (namespace, name, owner_id, cluster_id)
		SELECT 'many', 'm' || lpad(g::text, 3, '0'), $1, $2 FROM generate_series(1, 250) g`, b.pa1, cluster)
	require.NoError(t, err)
	useDay := func(day time.Time, climber string) {
		t.Helper()
		// Job m<i> uses 10 + i of 1,000 requested core-hours; climber uses all.
		_, err := b.pool.Exec(b.ctx, `INSERT INTO job_usage_1h (job_id, hour, runs, requested_core_seconds, used_core_seconds)
			SELECT id, $1, 1, 1000 * 3600, CASE WHEN name = $2 THEN 1000 ELSE 10 + substr(name, 2)::int END * 3600
			FROM job WHERE namespace = 'many'`, day.Add(time.Hour), climber)
		require.NoError(t, err)
	}
	comp := leaderboard.NewComputer(b.pool, leaderboard.Config{}, nil, nil)
	useDay(day1, "")
	_, err = comp.Compute(b.ctx, leaderboard.Day, day1)
	require.NoError(t, err)
	var stored int
	require.NoError(t, b.pool.QueryRow(b.ctx, `SELECT count(*) FROM leaderboard_entry WHERE level = 'JOB' AND metric = 'EFFICIENCY' AND start = $1::date`, day1).Scan(&stored))
	require.Equal(t, 2*leaderboard.MaxFirst, stored)
	red := b.list(t, leaderboard.Job, leaderboard.Red, leaderboard.Efficiency, day1)
	require.Equal(t, 250, red.RankedCount)
	require.Len(t, red.Entries, leaderboard.MaxFirst)
	require.Equal(t, "many/m250", red.Entries[0].Name)
	black := b.list(t, leaderboard.Job, leaderboard.Black, leaderboard.Efficiency, day1)
	require.Len(t, black.Entries, leaderboard.MaxFirst)
	require.Equal(t, "many/m001", black.Entries[0].Name)
	require.Equal(t, "many/m100", black.Entries[99].Name)

	useDay(day2, "many/m125"[5:])
	_, err = comp.Compute(b.ctx, leaderboard.Day, day2)
	require.NoError(t, err)
	red = b.list(t, leaderboard.Job, leaderboard.Red, leaderboard.Efficiency, day2)
	require.Equal(t, "many/m125", red.Entries[0].Name)
	require.NotNil(t, red.Entries[0].PreviousRank, "its day-one rank comes from the array, not from a stored entry")
	require.Equal(t, 126, *red.Entries[0].PreviousRank)
	require.Equal(t, 125, *red.Entries[0].Movement)
	require.Equal(t, "many/m250", red.Entries[1].Name)
	require.Equal(t, -1, *red.Entries[1].Movement)
}

// Bad input names the field; nobody signed in is refused; an uncomputed
// period is an empty list.
func TestLeaderboardInput(t *testing.T) {
	t.Parallel()
	b := newBoard(t)
	_, err := b.svc.Leaderboard(b.reader, leaderboard.Query{Level: leaderboard.Job, List: leaderboard.Red, Metric: leaderboard.Efficiency, First: 101})
	require.ErrorContains(t, err, "first must be 1..100")
	_, err = b.svc.Leaderboard(b.reader, leaderboard.Query{Level: "HOST", List: leaderboard.Red, Metric: leaderboard.Efficiency, First: 10})
	require.ErrorContains(t, err, "unknown level")
	_, err = b.svc.Leaderboard(b.ctx, leaderboard.Query{Level: leaderboard.Job, List: leaderboard.Red, Metric: leaderboard.Efficiency})
	require.ErrorContains(t, err, "authentication required")
	bd, err := b.svc.Leaderboard(b.reader, leaderboard.Query{Level: leaderboard.Job, List: leaderboard.Red, Metric: leaderboard.Efficiency, Unit: leaderboard.Week, Start: day2, First: 10})
	require.NoError(t, err)
	require.Nil(t, bd.ComputedAt)
	require.Equal(t, day1, bd.Start)
	require.Empty(t, bd.Entries)
}

// HEALTH ranks the latest scores the health job stored in health_score.
func TestHealthFromTheHealthTable(t *testing.T) {
	t.Parallel()
	b := newBoard(t)
	b.use(t, day1, usage{&b.j1: {100, 80}, &b.j2: {100, 40}, &b.j3: {50, 20}})
	_, err := b.pool.Exec(b.ctx, `INSERT INTO health_score (level, subject_id, score, components, components_hash, computed_at) VALUES
		('JOB', $1, 55, '[]', 0, now()), ('JOB', $2, 95, '[]', 0, now()), ('JOB', $3, 75, '[]', 0, now()), ('PERSON', $4, 60, '[]', 0, now())`, b.j1, b.j2, b.j3, b.pa1)
	require.NoError(t, err)
	_, err = leaderboard.NewComputer(b.pool, leaderboard.Config{MinPersonCoreHours: 10, MinBUCoreHours: 10}, leaderboard.NewHealthTable(b.pool), nil).Compute(b.ctx, leaderboard.Day, day1)
	require.NoError(t, err)
	hl := b.list(t, leaderboard.Job, leaderboard.Red, leaderboard.Health, day1)
	require.Equal(t, []int64{b.j2, b.j3}, ids(hl))
	require.InDelta(t, 75, *hl.Median, 1e-9)
	hl = b.list(t, leaderboard.Job, leaderboard.Black, leaderboard.Health, day1)
	require.Equal(t, []int64{b.j1}, ids(hl))
	require.Equal(t, "health 55 against a platform median of 75", hl.Entries[0].Comparison)
	people := b.list(t, leaderboard.Person, leaderboard.Red, leaderboard.Health, day1)
	require.Equal(t, []int64{b.pa1}, ids(people))
}

// A week's and a month's final days are added up once per job (the period's
// base) and extended as days become final: after a week of hourly passes the
// rankings are the ones a recomputation from nothing gives, and a final day
// changed by an operator's recomputation makes the base be built again.
func TestBaseOfFinalDaysGivesTheRankingsOfAllDays(t *testing.T) {
	t.Parallel()
	b := newBoard(t)
	jobs := []*int64{&b.j1, &b.j2, &b.j3, &b.j4, &b.j5, &b.j6}
	for d := range 5 {
		u := usage{}
		for i, j := range jobs {
			u[j] = [2]float64{100, float64(10 + (i*37+d*11)%90)}
		}
		b.use(t, day1.AddDate(0, 0, d), u)
		if d%2 == 0 {
			b.run(t, *jobs[d], day1.AddDate(0, 0, d), "FAILED")
		}
	}
	snapshot := func() []string {
		t.Helper()
		rows, err := b.pool.Query(b.ctx, `SELECT concat_ws(' ', level, metric, unit, start, rank, subject_id, round(value::numeric, 9),
				round(volume::numeric, 9), previous_rank, improve_job_id)
			FROM leaderboard_entry WHERE unit <> 'DAY'
			UNION ALL
			SELECT concat_ws(' ', level, metric, unit, start, ranked_count, round(median::numeric, 9), ranking)
			FROM leaderboard_period WHERE unit <> 'DAY' ORDER BY 1`)
		require.NoError(t, err)
		out, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		return out
	}
	base := func(u leaderboard.Unit) (through time.Time) {
		t.Helper()
		start, _ := u.Period(day1)
		err := b.pool.QueryRow(b.ctx, `SELECT through FROM leaderboard_base WHERE unit = $1 AND start = $2::date`, string(u), start).Scan(&through)
		require.NoError(t, err)
		return through.UTC()
	}
	var comp *leaderboard.Computer
	for d := range 7 { // an hourly pass each day at noon, Monday to Sunday
		now := day1.AddDate(0, 0, d).Add(12 * time.Hour)
		comp = leaderboard.NewComputer(b.pool, leaderboard.Config{Now: func() time.Time { return now }}, nil, nil)
		_, err := comp.RunOnce(b.ctx)
		require.NoError(t, err)
	}
	// On Sunday Monday to Friday are final: each was rolled up again on or
	// after the end of the day after it.
	require.Equal(t, day1.AddDate(0, 0, 5), base(leaderboard.Week))
	require.Equal(t, day1.AddDate(0, 0, 5), base(leaderboard.Month))
	incremental := snapshot()
	require.NotEmpty(t, incremental)

	// From nothing: no base, every day rolled up again and read one by one.
	now := day1.AddDate(0, 0, 6).Add(12 * time.Hour)
	for _, u := range []leaderboard.Unit{leaderboard.Week, leaderboard.Month} {
		_, err := b.pool.Exec(b.ctx, `DELETE FROM leaderboard_base WHERE unit = $1`, string(u)) // its job sums with it
		require.NoError(t, err)
		_, err = leaderboard.NewComputer(b.pool, leaderboard.Config{Now: func() time.Time { return now }}, nil, nil).Compute(b.ctx, u, day1)
		require.NoError(t, err)
	}
	require.Equal(t, incremental, snapshot())
	require.Equal(t, day1.AddDate(0, 0, 5), base(leaderboard.Week), "built again by the recomputation")

	// A final day changed by an operator's recomputation: the base is built
	// again (its days' versions changed), not extended from the stale sums.
	var before float64
	require.NoError(t, b.pool.QueryRow(b.ctx, `SELECT used_core_h FROM leaderboard_job_base WHERE unit = 'WEEK' AND job_id = $1`, b.j1).Scan(&before))
	_, err := b.pool.Exec(b.ctx, `UPDATE job_usage_1h SET used_core_seconds = used_core_seconds + 3600 WHERE job_id = $1 AND hour < $2`, b.j1, day1.AddDate(0, 0, 1))
	require.NoError(t, err)
	_, err = leaderboard.NewComputer(b.pool, leaderboard.Config{Now: func() time.Time { return now }}, nil, nil).Compute(b.ctx, leaderboard.Week, day1)
	require.NoError(t, err)
	var after float64
	require.NoError(t, b.pool.QueryRow(b.ctx, `SELECT used_core_h FROM leaderboard_job_base WHERE unit = 'WEEK' AND job_id = $1`, b.j1).Scan(&after))
	require.Equal(t, before+1, after)
}
