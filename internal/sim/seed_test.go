package sim

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/fault"
)

// smallConfig is the fleet most database tests seed: every kind of cluster,
// every sick state, a day of history — about 17,000 samples.
var smallConfig = Config{Clusters: 3, Hosts: 60, People: 12, Days: 1, Now: testNow}

func seed(t *testing.T, cfg Config) (*pgxpool.Pool, Stats) {
	t.Helper()
	pool := dbtest.New(t)
	st, err := Seed(context.Background(), pool, cfg, testLogger(t))
	require.NoError(t, err)
	return pool, st
}

func count(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) int64 {
	t.Helper()
	var n int64
	require.NoError(t, pool.QueryRow(context.Background(), sql, args...).Scan(&n))
	return n
}

func TestSeedHonoursSizesAndShape(t *testing.T) {
	t.Parallel()
	pool, st := seed(t, smallConfig)

	require.Equal(t, int64(3), st.Clusters)
	require.Equal(t, int64(60), st.Hosts)
	require.Equal(t, int64(12), st.People)
	require.Equal(t, int64(len(buTree)), st.BUs)
	require.Equal(t, int64(2), st.Stacks)
	require.Equal(t, int64(5), st.StackVersions)
	for table, want := range map[string]int64{
		"bu": st.BUs, "person": st.People, "stack": st.Stacks, "stack_version": st.StackVersions,
		"service_package": st.Packages, "cluster": st.Clusters, "host": st.Hosts,
		"host_component": st.Components, "host_metric": st.Samples, "spare_host": st.SpareHosts,
	} {
		require.Equal(t, want, count(t, pool, `SELECT count(*) FROM `+table), "rows in %s", table)
	}
	require.Equal(t, int64(3), count(t, pool, `SELECT count(DISTINCT kind) FROM cluster`))

	// Demo logins, with their roles and BUs.
	rows, err := pool.Query(context.Background(), `
		SELECT p.login, p.role, b.code, coalesce(pb.code, '')
		FROM person p JOIN bu b ON b.id = p.bu_id LEFT JOIN bu pb ON pb.id = b.parent_id
		WHERE p.login = ANY($1)`, []string{DemoAdminLogin, DemoOperatorLogin, DemoBULeadLogin, DemoViewerLogin})
	require.NoError(t, err)
	type demo struct{ role, bu, parent string }
	got := map[string]demo{}
	var login string
	var d demo
	_, err = pgx.ForEachRow(rows, []any{&login, &d.role, &d.bu, &d.parent}, func() error { got[login] = d; return nil })
	require.NoError(t, err)
	require.Equal(t, map[string]demo{
		DemoAdminLogin:    {roleAdmin, "PLAT", "CO"},
		DemoOperatorLogin: {roleOperator, "PLAT", "CO"},
		DemoBULeadLogin:   {roleBUAdmin, "ADS", "CO"},
		DemoViewerLogin:   {roleViewer, "ADS-RANK", "ADS"},
	}, got)
	for l, role := range DemoLogins() {
		require.Equal(t, role, got[l].role)
	}
	require.Positive(t, count(t, pool, `SELECT count(*) FROM bu WHERE parent_id = (SELECT id FROM bu WHERE code = 'ADS')`),
		"the BU lead's BU has sub-BUs")
	require.Positive(t, count(t, pool, `
		SELECT count(*) FROM cluster c JOIN bu b ON b.id = c.owner_bu_id
		WHERE b.code = 'ADS' OR b.parent_id = (SELECT id FROM bu WHERE code = 'ADS')`),
		"the BU lead's subtree owns clusters")

	// Every host has components, every cluster a stack version, and component
	// versions are those of the cluster's stack version.
	require.Zero(t, count(t, pool, `SELECT count(*) FROM host h WHERE NOT EXISTS (SELECT 1 FROM host_component hc WHERE hc.host_id = h.id)`))
	require.Zero(t, count(t, pool, `SELECT count(*) FROM cluster WHERE stack_version_id IS NULL`))
	require.Zero(t, count(t, pool, `
		SELECT count(*) FROM host_component hc
		JOIN host h ON h.id = hc.host_id JOIN cluster c ON c.id = h.cluster_id
		WHERE NOT EXISTS (
			SELECT 1 FROM stack_version_package svp JOIN service_package sp ON sp.id = svp.service_package_id
			WHERE svp.stack_version_id = c.stack_version_id AND sp.service = hc.service AND sp.version = hc.version)`))
	require.Equal(t, int64(4), count(t, pool, `SELECT count(DISTINCT source_kind) FROM service_package`))
	require.Zero(t, count(t, pool, `SELECT count(*) FROM service_package WHERE health_kind IS NULL OR operations->>'start' IS NULL`))
	require.Zero(t, count(t, pool, `SELECT count(*) FROM service_package sp WHERE sp.service <> 'ZOOKEEPER'
		AND NOT EXISTS (SELECT 1 FROM service_package_dependency d WHERE d.package_id = sp.id)`), "every service but ZooKeeper depends on something")

	// Samples: every reporting host has every step; OFFLINE hosts stop at their
	// last heartbeat; DECOMMISSIONED hosts have none.
	steps := int64(smallConfig.Days * 24 * 12)
	var expected int64
	hostRows, err := pool.Query(context.Background(), `SELECT state, last_heartbeat FROM host`)
	require.NoError(t, err)
	var state string
	var beat time.Time
	states := map[string]int{}
	_, err = pgx.ForEachRow(hostRows, []any{&state, &beat}, func() error {
		states[state]++
		switch state {
		case stateDecommissioned:
		case stateOffline:
			first := testNow.Add(-time.Duration(steps-1) * 5 * time.Minute)
			if !beat.Before(first) {
				expected += int64(beat.Sub(first)/(5*time.Minute)) + 1
			}
		default:
			expected += steps
		}
		return nil
	})
	require.NoError(t, err)
	for _, s := range sickStates {
		require.Positive(t, states[s.state], "the small fleet has a %s host", s.state)
	}
	require.Equal(t, expected, st.Samples)
	require.Equal(t, expected, count(t, pool, `SELECT count(*) FROM host_metric`))
	require.Zero(t, count(t, pool, `
		SELECT count(*) FROM host_metric m JOIN host h ON h.id = m.host_id
		WHERE m.ts > h.last_heartbeat AND h.state = 'OFFLINE'`))
	require.Equal(t, testNow, queryTime(t, pool, `SELECT max(ts) FROM host_metric`))
	require.Equal(t, testNow.Add(-time.Duration(steps-1)*5*time.Minute), queryTime(t, pool, `SELECT min(ts) FROM host_metric`))
	require.Zero(t, count(t, pool, `SELECT count(*) FROM host WHERE state IN ('ONLINE', 'DEGRADED') AND last_heartbeat < $1`,
		testNow.Add(-time.Minute)), "reporting hosts have a fresh heartbeat")
	require.Zero(t, count(t, pool, `SELECT count(*) FROM host WHERE state = 'ONLINE' AND state_reason <> ''`))
	require.Zero(t, count(t, pool, `SELECT count(*) FROM host WHERE state <> 'ONLINE' AND state_reason = ''`))
}

func queryTime(t *testing.T, pool *pgxpool.Pool, sql string) time.Time {
	t.Helper()
	var ts time.Time
	require.NoError(t, pool.QueryRow(context.Background(), sql).Scan(&ts))
	return ts.UTC()
}

// fingerprint hashes the seeded content table by table, in a fixed order, so two
// databases can be compared without shipping their rows around.
func fingerprint(t *testing.T, pool *pgxpool.Pool) map[string]string {
	t.Helper()
	out := map[string]string{}
	for name, sql := range map[string]string{
		"bu":              `SELECT md5(string_agg(t::text, '|' ORDER BY t.id)) FROM bu t`,
		"person":          `SELECT md5(string_agg(t::text, '|' ORDER BY t.id)) FROM person t`,
		"service_package": `SELECT md5(string_agg(t::text, '|' ORDER BY t.id)) FROM service_package t`,
		"cluster":         `SELECT md5(string_agg(t::text, '|' ORDER BY t.id)) FROM cluster t`,
		"host":            `SELECT md5(string_agg(t::text, '|' ORDER BY t.id)) FROM host t`,
		"host_component":  `SELECT md5(string_agg(t::text, '|' ORDER BY t.host_id, t.service, t.component)) FROM host_component t`,
		"host_metric":     `SELECT md5(string_agg(t::text, '|' ORDER BY t.host_id, t.ts)) FROM host_metric t`,
		"job": `SELECT md5(string_agg(concat_ws(',', t.id, t.namespace, t.name, t.owner_id, t.queue_id, t.kind, t.priority,
			t.schedule, t.created_at), '|' ORDER BY t.id)) FROM job t`,
		"job_usage_1h": `SELECT md5(string_agg(t::text, '|' ORDER BY t.job_id, t.hour)) FROM job_usage_1h t`,
		"queue_usage":  `SELECT md5(string_agg(t::text, '|' ORDER BY t.queue_id, t.ts)) FROM queue_usage t`,
		"run_io":       `SELECT md5(string_agg(t::text, '|' ORDER BY t.job_id, t.run_id, t.dataset_id, t.direction)) FROM run_io t`,
	} {
		var h string
		require.NoError(t, pool.QueryRow(context.Background(), sql).Scan(&h), name)
		out[name] = h
	}
	return out
}

func TestSeedIsDeterministic(t *testing.T) {
	t.Parallel()
	cfg := Config{Clusters: 4, Hosts: 80, People: 20, Days: 1, Step: 10 * time.Minute, Now: testNow}
	a, _ := seed(t, cfg)
	b, _ := seed(t, cfg)
	cfg.Seed = 2
	c, _ := seed(t, cfg)

	fa, fb, fc := fingerprint(t, a), fingerprint(t, b), fingerprint(t, c)
	require.Equal(t, fa, fb, "the same config seeds the same fleet")
	require.Equal(t, runsFingerprint(t, a), runsFingerprint(t, b), "and the same runs")
	require.NotEqual(t, runsFingerprint(t, a), runsFingerprint(t, c))
	require.NotEqual(t, fa["host"], fc["host"], "another seed gives other hosts")
	require.NotEqual(t, fa["host_metric"], fc["host_metric"])
	require.Equal(t, fa["bu"], fc["bu"], "the organisation is fixed")
}

func TestSeedRefusesANonEmptyDatabase(t *testing.T) {
	t.Parallel()
	pool, _ := seed(t, Config{Clusters: 1, Hosts: 2, People: 4, Days: 1, Step: time.Hour, Now: testNow})
	ctx := context.Background()
	empty, err := IsEmpty(ctx, pool)
	require.NoError(t, err)
	require.False(t, empty)

	before := count(t, pool, `SELECT count(*) FROM host_metric`)
	_, err = Seed(ctx, pool, Config{Clusters: 1, Hosts: 2, People: 4, Days: 1, Seed: 9, Now: testNow}, testLogger(t))
	require.ErrorIs(t, err, ErrNotEmpty)
	require.True(t, fault.Is(err, fault.Conflict))
	require.Equal(t, before, count(t, pool, `SELECT count(*) FROM host_metric`))
	require.Equal(t, int64(1), count(t, pool, `SELECT count(*) FROM cluster`))
}

func TestSeedRejectsABadConfigBeforeTouchingTheDatabase(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := context.Background()
	_, err := Seed(ctx, pool, Config{Clusters: 5, Hosts: 4, Now: testNow}, testLogger(t))
	require.ErrorContains(t, err, "Hosts")
	fe, ok := fault.As(err)
	require.True(t, ok)
	require.Equal(t, "Hosts", fe.Field)
	empty, err := IsEmpty(ctx, pool)
	require.NoError(t, err)
	require.True(t, empty)
	require.Zero(t, count(t, pool, `SELECT count(*) FROM bu`))
}

// TestSeedLeavesNothingBehindOnFailure makes the very last step fail (the day of
// Now has a table that is not a partition, so COPY finds no partition for its
// rows) and checks that none of the inventory written before it survives.
func TestSeedLeavesNothingBehindOnFailure(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := context.Background()
	_, err := pool.Exec(ctx, `CREATE TABLE host_metric_20260311 (x int)`)
	require.NoError(t, err)
	_, err = Seed(ctx, pool, smallConfig, testLogger(t))
	require.ErrorContains(t, err, "error copying host metric history")
	for _, table := range []string{"bu", "person", "stack", "service_package", "cluster", "host", "host_component", "host_metric", "queue", "job", "job_run", "dataset"} {
		require.Zero(t, count(t, pool, `SELECT count(*) FROM `+table), "%s is empty after a failed seed", table)
	}
	empty, err := IsEmpty(ctx, pool)
	require.NoError(t, err)
	require.True(t, empty, "a failed seed can be retried")
}
