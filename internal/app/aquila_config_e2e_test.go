package app

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/sim"
)

// TestBrowserAquilaConfig drives the configuration page (a refused file naming
// its line, a valid change reviewed by a second operator, applied through a
// CONFIG_APPLY that succeeds, the history, a compare and a rollback, a
// rejection, an admin's approvals and config group, a regrouping's stale
// services reapplied, and a viewer's view), the self-healing page and the cluster page's healing policy
// in Chromium against a demo server running a working operation engine with
// quick tasks. The demo seeds no configuration (the script makes version 1
// through the API) and its healing job does nothing without agents, so the
// healing rows are written here as the healing job writes them.
func TestBrowserAquilaConfig(t *testing.T) {
	t.Parallel()
	frontendReady(t)
	requireChromium(t)
	ds := newDemoServer(t)
	ds.start(t, "127.0.0.1:0")
	ctx := cliContext(context.Background())
	startSimulatedEngine(t, ds, 50*time.Millisecond)
	// A second operator, so a change has a reviewer other than its author.
	const secondOperator = "ops-two"
	_, err := ds.d.Pool.Exec(ctx, `INSERT INTO person (login, name, bu_id, role)
		SELECT $1, 'Second Operator', bu_id, 'OPERATOR' FROM person WHERE login = $2`, secondOperator, sim.DemoOperatorLogin)
	require.NoError(t, err)
	operator, err := createTokenFor(ctx, ds.d.Pool, ds.logger, sim.DemoOperatorLogin, auth.Operator, "e2e", time.Hour)
	require.NoError(t, err)
	operator2, err := createTokenFor(ctx, ds.d.Pool, ds.logger, secondOperator, auth.Operator, "e2e", time.Hour)
	require.NoError(t, err)
	admin, err := createTokenFor(ctx, ds.d.Pool, ds.logger, sim.DemoAdminLogin, auth.Admin, "e2e", time.Hour)
	require.NoError(t, err)
	viewer, err := createTokenFor(ctx, ds.d.Pool, ds.logger, sim.DemoViewerLogin, auth.Viewer, "e2e", time.Hour)
	require.NoError(t, err)

	// The cluster with the fewest hosts, all ONLINE, running a service with a
	// known file (HDFS when it runs both): its CONFIG_APPLY has hosts to write.
	var cluster, service string
	require.NoError(t, ds.d.Pool.QueryRow(ctx, `SELECT c.name, min(hc.service) FROM cluster c
		JOIN host h ON h.cluster_id = c.id
		JOIN host_component hc ON hc.host_id = h.id AND hc.service IN ('HDFS', 'KAFKA')
		WHERE NOT EXISTS (SELECT 1 FROM host x WHERE x.cluster_id = c.id AND x.state <> 'ONLINE')
		GROUP BY c.id, c.name ORDER BY count(DISTINCT h.id), c.name LIMIT 1`).Scan(&cluster, &service))

	// Healing on another cluster's hosts: one healing now, two healed (today and
	// yesterday, for the rate), one failed, one handed over with its ticket, one
	// waiting, and a component keep-alive restarted three times with its open alert.
	rows, err := ds.d.Pool.Query(ctx, `SELECT h.id, h.hostname, h.cluster_id FROM host h JOIN cluster c ON c.id = h.cluster_id
		WHERE c.name <> $1 ORDER BY c.name, h.hostname LIMIT 7`, cluster)
	require.NoError(t, err)
	type hostRow struct {
		id, cluster int64
		name        string
	}
	var hosts []hostRow
	for rows.Next() {
		var h hostRow
		require.NoError(t, rows.Scan(&h.id, &h.name, &h.cluster))
		hosts = append(hosts, h)
	}
	require.NoError(t, rows.Err())
	require.Len(t, hosts, 7)
	now := time.Now().UTC()
	for i, a := range []struct {
		state, repair, reason string
		started, ended        time.Duration
	}{
		{"HEALING", "RESTART_SERVICES", "missed heartbeats: restart its services", 5 * time.Minute, 0},
		{"HEALED", "RESTART_SERVICES", "its services run again", 2 * time.Hour, time.Hour},
		{"HEALED", "REBOOT", "back after a reboot", 26 * time.Hour, 25 * time.Hour},
		{"FAILED", "REBOOT", "HEAL_VERIFY FAILED: NODEMANAGER did not start", 3 * time.Hour, 2 * time.Hour},
	} {
		var ended *time.Time
		if a.ended > 0 {
			e := now.Add(-a.ended)
			ended = &e
		}
		_, err := ds.d.Pool.Exec(ctx, `INSERT INTO healing_attempt (host_id, cluster_id, signals, detail, repair, state, reason, started_at, ended_at)
			VALUES ($1, $2, ARRAY['HEARTBEAT'], 'no heartbeat for 4m', $3, $4, $5, $6, $7)`,
			hosts[i].id, hosts[i].cluster, a.repair, a.state, a.reason, now.Add(-a.started), ended)
		require.NoError(t, err)
	}
	_, err = ds.d.Pool.Exec(ctx, `WITH t AS (INSERT INTO repair_ticket (host_id, origin) VALUES ($1, 'system') RETURNING id)
		INSERT INTO healing_attempt (host_id, cluster_id, signals, detail, repair, state, ticket_id, reason, started_at, ended_at)
		SELECT $1, $2, ARRAY['HARDWARE_FAULT'], 'DISK CRITICAL', 'TICKET', 'HANDED_OVER', t.id, 'a hardware fault needs a person', $3, $3 FROM t`,
		hosts[4].id, hosts[4].cluster, now.Add(-30*time.Minute))
	require.NoError(t, err)
	_, err = ds.d.Pool.Exec(ctx, `INSERT INTO healing_wait (host_id, cluster_id, signals, reason, since, updated_at)
		VALUES ($1, $2, ARRAY['HEALTH_CHECK'], 'the cluster heals 1 host at once: 1 healing', $3, $4)`,
		hosts[5].id, hosts[5].cluster, now.Add(-10*time.Minute), now)
	require.NoError(t, err)
	_, err = ds.d.Pool.Exec(ctx, `INSERT INTO keepalive_alert (host_id, cluster_id, service, component, raised_at, restarts, window_seconds, message)
		VALUES ($1, $2, 'YARN', 'NODEMANAGER', $3, 3, 3600, 'NODEMANAGER restarted 3 times in 1h0m0s and still does not run')`,
		hosts[6].id, hosts[6].cluster, now.Add(-15*time.Minute))
	require.NoError(t, err)
	_, err = ds.d.Pool.Exec(ctx, `INSERT INTO component_restart (host_id, service, component, at, reason, outcome)
		SELECT $1, 'YARN', 'NODEMANAGER', $2::timestamptz - make_interval(mins => n * 10), 'NODEMANAGER was FAILED (desired STARTED): restart ' || n || ' of 3 in 1h0m0s', 'SUCCEEDED'
		FROM generate_series(1, 3) n`, hosts[6].id, now)
	require.NoError(t, err)

	runNode(t, "e2e/aquila-config.e2e.mjs", "TESLA_URL=http://"+ds.addr, "TESLA_TOKEN="+operator, "TESLA_OPERATOR2_TOKEN="+operator2,
		"TESLA_ADMIN_TOKEN="+admin, "TESLA_VIEWER_TOKEN="+viewer, "TESLA_CLUSTER="+cluster, "TESLA_CONFIG_SERVICE="+service,
		"TESLA_HEALING_HOST="+hosts[0].name, "TESLA_ALERT_HOST="+hosts[6].name, "E2E_ARTIFACTS="+artifactsDir())
	requireScreenshots(t, "config-refused.png", "config-compare.png", "healing-page.png", "screen-healing.png", "healing-policy.png")

	// What the screens did is recorded: four versions (one a rollback, one the
	// group's file), the reviews, the group, the approvals, the reapply and the
	// policy, each audited.
	var versions, rollbacks int
	require.NoError(t, ds.d.Pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE v.rollback_of IS NOT NULL)
		FROM config_version v JOIN cluster c ON c.id = v.cluster_id WHERE c.name = $1`, cluster).Scan(&versions, &rollbacks))
	require.Equal(t, 4, versions, "version 1, the reviewed change, the rollback and the group's file")
	require.Equal(t, 1, rollbacks)
	var audited int
	require.NoError(t, ds.d.Pool.QueryRow(ctx, `SELECT count(DISTINCT action) FROM audit_log
		WHERE action IN ('proposeConfigChange', 'reviewConfigChange', 'applyConfigChange', 'rollbackConfig',
			'setConfigGroup', 'setRequiredConfigApprovals', 'reapplyConfig', 'setHealingPolicy') AND outcome = 'OK'`).Scan(&audited))
	require.Equal(t, 8, audited)
	var rejected int
	require.NoError(t, ds.d.Pool.QueryRow(ctx, `SELECT count(*) FROM config_change WHERE state = 'REJECTED'`).Scan(&rejected))
	require.Equal(t, 1, rejected)
}
