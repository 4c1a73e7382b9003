package health_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/fixture"
	"github.com/teslaops/tesla/internal/health"
)

// scenario is the fixture fleet with something wrong in each level: a failed
// component, a critical hardware fault and an open anomaly episode on three
// hosts; alice's job failing half its runs and late, bob's running well; and
// a week of bill lines weighing them.
type scenario struct {
	pool *pgxpool.Pool
	f    *fixture.Fleet
	now  time.Time
	jobs map[string]int64
}

func newScenario(t *testing.T) *scenario {
	t.Helper()
	pool := dbtest.New(t)
	f := fixture.New(t, pool)
	ctx := context.Background()
	now := time.Now().UTC()
	s := &scenario{pool: pool, f: f, now: now, jobs: map[string]int64{}}
	exec := func(sql string, args ...any) {
		t.Helper()
		_, err := pool.Exec(ctx, sql, args...)
		require.NoError(t, err, sql)
	}
	exec(`UPDATE host_component SET actual_state = 'FAILED' WHERE host_id = $1 AND service = 'HDFS'`, f.Hosts["rt-ads-1-n01"])
	exec(`INSERT INTO hardware_fault (host_id, component, kind, severity, detected_at, source) VALUES ($1, 'DISK', 'SMART_FAIL', 'CRITICAL', $2, 'import')`,
		f.Hosts["batch-wh-1-n01"], now.Add(-time.Hour))
	exec(`INSERT INTO anomaly_episode (host_id, cluster_id, metric, kind, severity, started_at, last_seen_at, peak_score, peak_at)
		VALUES ($1, $2, 'CPU', 'SELF', 'HIGH', $3, $3, 9, $3)`, f.Hosts["online-1-n01"], f.Clusters["online-1"], now.Add(-time.Hour))
	for _, j := range []struct {
		name, owner, cluster string
		failed, late         int
		cost                 float64
	}{{"a", fixture.Viewer, "batch-wh-1", 2, 1, 30}, {"b", fixture.Outsider, "batch-wh-1", 0, 0, 10}, {"l", fixture.BULead, "rt-ads-1", 0, 0, 10}} {
		var id int64
		require.NoError(t, pool.QueryRow(ctx, `INSERT INTO job (namespace, name, owner_id, cluster_id) VALUES ('t', $1, $2, $3) RETURNING id`,
			j.name, f.People[j.owner], f.Clusters[j.cluster]).Scan(&id))
		s.jobs[j.name] = id
		for i := range 4 {
			state := "COMPLETED"
			if i < j.failed {
				state = "FAILED"
			}
			end := now.Add(-time.Duration(i+1) * time.Hour)
			nominal := end.Add(time.Minute)
			if i < j.late {
				nominal = end.Add(-time.Minute)
			}
			exec(`INSERT INTO job_run (job_id, run_uuid, state, started_at, ended_at, nominal_end) VALUES ($1, gen_random_uuid(), $2, $3, $4, $5)`,
				id, state, end.Add(-30*time.Minute), end, nominal)
		}
		exec(`INSERT INTO job_usage_1h (job_id, hour, runs, requested_core_seconds, used_core_seconds) VALUES ($1, $2, 1, 3600, 3000)`,
			id, now.Truncate(time.Hour).Add(-2*time.Hour))
		exec(`INSERT INTO bill_line (day, cluster_id, resource, job_id, person_id, bu_id, quantity, unit, unit_price, amount)
			VALUES ($1, $2, 'CPU', $3, $4, (SELECT bu_id FROM person WHERE id = $4), 1, 'core-hour', $5, $5)`,
			now.Truncate(24*time.Hour).AddDate(0, 0, -1), f.Clusters[j.cluster], id, f.People[j.owner], j.cost)
	}
	return s
}

func (s *scenario) computer(now time.Time) *health.Computer {
	return health.NewComputer(s.pool, health.Config{Now: func() time.Time { return now }})
}

type stored struct {
	Score      float64
	Components []health.Component
	Worst      string
	Reason     string
}

func (s *scenario) score(t *testing.T, level health.Level, id int64) *stored {
	t.Helper()
	var st stored
	err := s.pool.QueryRow(context.Background(), `SELECT score, worst, reason FROM health_score WHERE level = $1 AND subject_id = $2`,
		string(level), id).Scan(&st.Score, &st.Worst, &st.Reason)
	if err == pgx.ErrNoRows {
		return nil
	}
	require.NoError(t, err)
	got, err := health.NewService(s.pool).ScoresOf(as(s.f, fixture.Admin, auth.Admin, "PLATFORM"), level, []int64{id})
	require.NoError(t, err)
	require.Equal(t, st.Score, got[id].Score)
	st.Components = got[id].Components
	return &st
}

func (st *stored) component(t *testing.T, name string) health.Component {
	t.Helper()
	for _, c := range st.Components {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no component %s", name)
	return health.Component{}
}

func TestComputeScoresEveryLevel(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	res, err := s.computer(s.now).RunOnce(context.Background())
	require.NoError(t, err)
	// 18 hosts less the decommissioned one; 3 clusters; 3 jobs; 5 people; 4 BUs.
	require.Equal(t, map[health.Level]int{health.Host: 17, health.Cluster: 3, health.Job: 3, health.Person: 5, health.BU: 4}, res.Scored)
	f := s.f

	h := s.score(t, health.Host, f.Hosts["rt-ads-1-n01"])
	require.Equal(t, "components", h.Worst)
	require.Contains(t, h.Reason, "HDFS/DATANODE FAILED")
	require.Equal(t, 75.0, h.component(t, "components").Score)
	require.Equal(t, 100.0, h.component(t, "state").Score)

	h = s.score(t, health.Host, f.Hosts["batch-wh-1-n01"])
	require.Equal(t, 0.0, h.component(t, "hardware").Score)
	require.Equal(t, "1 open hardware fault (1 CRITICAL)", h.component(t, "hardware").Reason)
	require.Equal(t, 90.0, h.Score)

	h = s.score(t, health.Host, f.Hosts["online-1-n01"])
	require.Equal(t, 70.0, h.component(t, "findings").Score)

	h = s.score(t, health.Host, f.Hosts["rt-ads-1-n05"]) // OFFLINE, no samples
	require.Equal(t, 0.0, h.component(t, "state").Score)
	require.Equal(t, "host is OFFLINE", h.component(t, "state").Reason)
	require.Nil(t, s.score(t, health.Host, f.Hosts["batch-wh-1-n07"]), "a decommissioned host has no score")

	c := s.score(t, health.Cluster, f.Clusters["rt-ads-1"])
	require.Len(t, c.Components, 4)
	require.Contains(t, c.component(t, "components").Reason, "1 of 12 components")

	a := s.score(t, health.Job, s.jobs["a"])
	require.Equal(t, 0.0, a.component(t, "success").Score)
	require.Equal(t, "2 of 4 runs failed in 7 days (50%)", a.component(t, "success").Reason)
	require.Equal(t, 50.0, a.component(t, "deadlines").Score)
	require.Equal(t, 100.0, a.component(t, "efficiency").Score)
	require.Equal(t, 52.5, a.Score)
	require.Equal(t, 100.0, s.score(t, health.Job, s.jobs["b"]).Score)

	// alice owns job a alone; ADS-SEARCH holds it, ADS it and lead's job l
	// (cost 30 against 10), COMPANY all three (30, 10, 10).
	require.Equal(t, 52.5, s.score(t, health.Person, f.People[fixture.Viewer]).component(t, "jobs").Score)
	require.Equal(t, 100.0, s.score(t, health.Person, f.People[fixture.Admin]).Score)
	require.Equal(t, "no budget", s.score(t, health.Person, f.People[fixture.Admin]).component(t, "budget").Reason)
	ads := s.score(t, health.BU, f.BUs["ADS"]).component(t, "jobs")
	require.InDelta(t, (30*52.5+10*100)/40, ads.Score, 0.05)
	require.Contains(t, ads.Reason, "2 jobs score 64.4 on average, weighted by their cost over 7 days (40.00 USD); worst t/a at 52.5")
	require.InDelta(t, (30*52.5+10*100+10*100)/50, s.score(t, health.BU, f.BUs["COMPANY"]).component(t, "jobs").Score, 0.05)
	require.Equal(t, 100.0, s.score(t, health.BU, f.BUs["PLATFORM"]).component(t, "jobs").Score)
}

// budgets is a fixed BudgetSource.
type budgets struct{ people, bus map[int64]float64 }

func (b budgets) Adherence(context.Context, time.Time) (map[int64]float64, map[int64]float64, error) {
	return b.people, b.bus, nil
}

func TestComputeBudgetAdherence(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	c := s.computer(s.now)
	c.SetBudget(budgets{people: map[int64]float64{s.f.People[fixture.Outsider]: 1.25}, bus: map[int64]float64{s.f.BUs["ADS"]: 0.5}})
	_, err := c.RunOnce(context.Background())
	require.NoError(t, err)
	b := s.score(t, health.Person, s.f.People[fixture.Outsider]).component(t, "budget")
	require.Equal(t, 35.0, b.Score)
	require.Equal(t, "spent 125% of the month's budget", b.Reason)
	require.Equal(t, health.Component{Name: "budget", Weight: 0.3, Score: 100}, s.score(t, health.BU, s.f.BUs["ADS"]).component(t, "budget"))
	require.Equal(t, "no budget", s.score(t, health.BU, s.f.BUs["PLATFORM"]).component(t, "budget").Reason)
}

// Recomputing at the same time stores the same rows; the history keeps the
// last score of each day and drops days past the level's retention.
func TestComputeIdempotentWithDailyHistory(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	ctx := context.Background()
	dump := func() []string {
		rows, err := s.pool.Query(ctx, `SELECT format('%s %s %s %s %s %s %s', level, subject_id, score, components, computed_at, worst, reason)
			FROM health_score ORDER BY level, subject_id`)
		require.NoError(t, err)
		out, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		return out
	}
	history := func(level health.Level, id int64) map[string]float64 {
		rows, err := s.pool.Query(ctx, `SELECT day::text, score FROM health_history WHERE level = $1 AND subject_id = $2`, string(level), id)
		require.NoError(t, err)
		out := map[string]float64{}
		var day string
		var v float64
		_, err = pgx.ForEachRow(rows, []any{&day, &v}, func() error { out[day] = v; return nil })
		require.NoError(t, err)
		return out
	}
	host := s.f.Hosts["batch-wh-1-n02"]
	_, err := s.pool.Exec(ctx, `INSERT INTO health_history (level, subject_id, day, score) VALUES
		('HOST', $1, $3::date - 91, 50), ('HOST', $1, $3::date - 89, 50), ('CLUSTER', $2, $3::date - 200, 50)`,
		host, s.f.Clusters["batch-wh-1"], s.now)
	require.NoError(t, err)

	_, err = s.computer(s.now).RunOnce(ctx)
	require.NoError(t, err)
	first := dump()
	res, err := s.computer(s.now).RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, first, dump())
	require.Equal(t, map[health.Level]int{health.Host: 0, health.Cluster: 0, health.Job: 0, health.Person: 0, health.BU: 0}, res.Changed,
		"nothing changed, nothing written")

	today := s.now.Format(time.DateOnly)
	h := history(health.Host, host)
	require.Len(t, h, 2, "the day 91 days back is past the hosts' 90 days")
	require.Equal(t, 100.0, h[today])
	require.Len(t, history(health.Cluster, s.f.Clusters["batch-wh-1"]), 2, "clusters keep 400 days")

	// Later the same day the host gets a fault: today's point follows the
	// last score. The next day adds a point.
	_, err = s.pool.Exec(ctx, `INSERT INTO hardware_fault (host_id, component, kind, severity, detected_at, source) VALUES ($1, 'NIC', 'LINK_FLAP', 'MEDIUM', $2, 'import')`, host, s.now)
	require.NoError(t, err)
	_, err = s.computer(s.now.Add(time.Second)).RunOnce(ctx)
	require.NoError(t, err)
	h = history(health.Host, host)
	require.Len(t, h, 2)
	require.Equal(t, 97.5, h[today])
	_, err = s.computer(s.now.Add(24 * time.Hour)).RunOnce(ctx)
	require.NoError(t, err)
	h = history(health.Host, host)
	require.Len(t, h, 3)
	require.Equal(t, 97.5, h[today])

	svc := health.NewService(s.pool)
	admin := as(s.f, fixture.Admin, auth.Admin, "PLATFORM")
	pts, err := svc.History(admin, health.Host, []int64{host}, 30, s.now.Add(24*time.Hour))
	require.NoError(t, err)
	require.Len(t, pts[host], 2)
	require.True(t, pts[host][0].Day.Before(pts[host][1].Day), "oldest first")
	_, err = svc.History(admin, health.Host, []int64{host}, 401, s.now)
	require.ErrorContains(t, err, "days must be between 1 and 400")
}

// The budgets source reads the budgets in force and the month's spend from
// the bills' daily sums (a BU's over its subtree), and the job scores them.
func TestBudgetsFromTables(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	ctx := context.Background()
	month := time.Date(s.now.Year(), s.now.Month(), 1, 0, 0, 0, 0, time.UTC)
	today := s.now.Truncate(24 * time.Hour)
	f := s.f
	for _, sql := range []string{
		`INSERT INTO budget (person_id, valid_from, amount, thresholds) VALUES (@bob, @month::date - interval '1 month', 200, '{100}')`,
		`INSERT INTO budget (person_id, valid_from, amount, thresholds) VALUES (@bob, @month, 100, '{100}')`,
		`INSERT INTO budget (bu_id, valid_from, amount, thresholds) VALUES (@ads, @month, 100, '{100}')`,
		`INSERT INTO bill_person_day (day, person_id, bu_id, resource, quantity, amount) VALUES (@today, @bob, @platform, 'CPU', 1, 125)`,
		`INSERT INTO bill_bu_day (day, bu_id, resource, quantity, amount) VALUES (@today, @search, 'CPU', 1, 80),
			(@month::date - 1, @search, 'CPU', 1, 1000)`,
	} {
		_, err := s.pool.Exec(ctx, sql, pgx.NamedArgs{"bob": f.People[fixture.Outsider], "ads": f.BUs["ADS"], "search": f.BUs["ADS-SEARCH"],
			"platform": f.BUs["PLATFORM"], "month": month, "today": today})
		require.NoError(t, err, sql)
	}
	people, bus, err := health.NewBudgets(s.pool).Adherence(ctx, s.now)
	require.NoError(t, err)
	require.Equal(t, map[int64]float64{f.People[fixture.Outsider]: 1.25}, people)
	require.Equal(t, map[int64]float64{f.BUs["ADS"]: 0.8}, bus)

	c := health.NewComputer(s.pool, health.Config{Now: func() time.Time { return s.now }, Budget: health.NewBudgets(s.pool)})
	_, err = c.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, "spent 125% of the month's budget", s.score(t, health.Person, f.People[fixture.Outsider]).component(t, "budget").Reason)
	require.Equal(t, health.Component{Name: "budget", Weight: 0.3, Score: 100}, s.score(t, health.BU, f.BUs["ADS"]).component(t, "budget"))
	require.Equal(t, "no budget", s.score(t, health.BU, f.BUs["PLATFORM"]).component(t, "budget").Reason)
}
