package app

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/account"
	"github.com/teslaops/tesla/internal/audit"
	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/fixture"
	"github.com/teslaops/tesla/internal/inventory"
	"github.com/teslaops/tesla/jobs"
)

// agentPost posts a JSON body to an agent endpoint with a bearer secret and
// decodes the answer.
func (e *testEnv) agentPost(t *testing.T, path, secret string, body any) (int, map[string]any) {
	t.Helper()
	var raw []byte
	switch b := body.(type) {
	case string:
		raw = []byte(b)
	default:
		raw, _ = json.Marshal(b)
	}
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+path, bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	if secret != "" {
		req.Header.Set("Authorization", "Bearer "+secret)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	require.NoError(t, json.Unmarshal(b, &out), "body: %s", b)
	return resp.StatusCode, out
}

// enrollToken creates an enrollment token of cluster as the fixture operator.
func (e *testEnv) enrollToken(t *testing.T, cluster string, lifetime *time.Duration) string {
	t.Helper()
	ctx := auth.WithPrincipal(context.Background(), &auth.Principal{
		PersonID: e.fleet.People[fixture.Operator], Login: fixture.Operator, Role: auth.Operator, Method: auth.MethodToken})
	accounts := account.NewService(e.db.Pool, audit.New(e.db.Pool, slog.New(slog.DiscardHandler)), 0)
	_, secret, err := accounts.CreateEnrollmentToken(ctx, account.EnrollmentTokenInput{
		ClusterID: e.fleet.Clusters[cluster], Name: "rack 7", ExpiresIn: lifetime})
	require.NoError(t, err)
	return secret
}

func facts(hostname, serial string) map[string]any {
	return map[string]any{
		"hostname": hostname, "serial": serial, "vendor": "Dell Inc.", "model": "PowerEdge R740",
		"cpu_cores": 32, "memory_bytes": int64(137438953472), "disk_bytes": int64(4000000000000),
		"disks":   []map[string]any{{"name": "sda", "bytes": int64(2000000000000), "rotational": true}},
		"nic_bps": int64(10000000000), "ip": "10.0.0.5", "os": "Debian GNU/Linux 12", "kernel": "6.1.0-18-amd64",
		"agent_version": "0.1.0",
	}
}

func TestAgentRegistersHeartbeatsAndReRegistersWithoutDuplicates(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	pool := e.db.Pool
	// The package of HDFS 3.2.0 says how its components are checked.
	_, err := pool.Exec(ctx, `UPDATE service_package SET operations = '{"process": "proc_{component}", "unit": "hadoop-hdfs-{component}.service",
		"checks": {"NODEMANAGER": {"unit": "yarn-nm.service"}}}' WHERE service = 'HDFS' AND version = '3.2.0'`)
	require.NoError(t, err)
	tok := e.enrollToken(t, "batch-wh-1", nil)

	// A new machine: a host is created, ONLINE, with its facts.
	status, out := e.agentPost(t, "/api/v1/agents/register", tok, facts("web-01", "ABC123"))
	require.Equal(t, http.StatusOK, status, out)
	require.Equal(t, "web-01", out["hostname"])
	require.Equal(t, "batch-wh-1", out["cluster"])
	require.EqualValues(t, 15, out["heartbeat_interval_seconds"])
	require.EqualValues(t, 60, out["sample_interval_seconds"])
	require.Equal(t, []any{}, out["components"], "a new host runs nothing yet")
	cred1 := out["credential"].(string)
	require.True(t, strings.HasPrefix(cred1, auth.HostCredentialPrefix))
	hostID := int64(out["host_id"].(float64))
	var (
		serial, vendor, state, version string
		registered, beat               *time.Time
	)
	require.NoError(t, pool.QueryRow(ctx, `SELECT serial, vendor, state, agent_version, agent_registered_at, last_heartbeat
		FROM host WHERE id = $1`, hostID).Scan(&serial, &vendor, &state, &version, &registered, &beat))
	require.Equal(t, []string{"ABC123", "Dell Inc.", "ONLINE", "0.1.0"}, []string{serial, vendor, state, version})
	require.NotNil(t, registered)
	require.NotNil(t, beat)

	// Give it components; the heartbeat reports their state and gets their checks.
	_, err = pool.Exec(ctx, `INSERT INTO host_component (host_id, service, component, version) VALUES
		($1, 'HDFS', 'DATANODE', '3.2.0'), ($1, 'HDFS', 'NODEMANAGER', '3.2.0'), ($1, 'YARN', 'RESOURCEMANAGER', '9.9')`, hostID)
	require.NoError(t, err)
	status, out = e.agentPost(t, "/api/v1/agents/heartbeat", cred1, map[string]any{
		"ts": time.Now().UTC().Format(time.RFC3339), "agent_version": "0.1.1",
		"components": []map[string]any{
			{"service": "HDFS", "component": "DATANODE", "state": "FAILED", "detail": "no process"},
			{"service": "HDFS", "component": "NOT-HERE", "state": "STARTED"},
		},
		"spool": map[string]any{"queued_bytes": 0, "queued_batches": 0, "dropped_batches": 0},
	})
	require.Equal(t, http.StatusOK, status, out)
	require.Equal(t, []any{
		map[string]any{"service": "HDFS", "component": "DATANODE", "process": "proc_datanode", "unit": "hadoop-hdfs-datanode.service"},
		map[string]any{"service": "HDFS", "component": "NODEMANAGER", "process": "proc_nodemanager", "unit": "yarn-nm.service"},
		map[string]any{"service": "YARN", "component": "RESOURCEMANAGER", "process": "", "unit": ""},
	}, out["components"])
	var actual string
	require.NoError(t, pool.QueryRow(ctx, `SELECT actual_state FROM host_component WHERE host_id = $1 AND component = 'DATANODE'`, hostID).Scan(&actual))
	require.Equal(t, "FAILED", actual)
	require.NoError(t, pool.QueryRow(ctx, `SELECT agent_version FROM host WHERE id = $1`, hostID).Scan(&version))
	require.Equal(t, "0.1.1", version)

	// The same machine again (same serial, new name): same host, renamed, new
	// credential; the old one is dead.
	status, out = e.agentPost(t, "/api/v1/agents/register", tok, facts("web-01b", "ABC123"))
	require.Equal(t, http.StatusOK, status, out)
	require.EqualValues(t, hostID, out["host_id"])
	require.Equal(t, "web-01b", out["hostname"])
	cred2 := out["credential"].(string)
	status, _ = e.agentPost(t, "/api/v1/agents/heartbeat", cred1, map[string]any{})
	require.Equal(t, http.StatusUnauthorized, status, "re-registration revokes the previous credential")
	status, out = e.agentPost(t, "/api/v1/agents/heartbeat", cred2, map[string]any{})
	require.Equal(t, http.StatusOK, status, out)

	// Without a serial, the hostname identifies the machine.
	status, out = e.agentPost(t, "/api/v1/agents/register", tok, facts("web-01b", ""))
	require.Equal(t, http.StatusOK, status, out)
	require.EqualValues(t, hostID, out["host_id"])
	var n int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM host WHERE hostname LIKE 'web-01%'`).Scan(&n))
	require.Equal(t, 1, n, "never a duplicate")

	// Registrations are audited under the token's person.
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action = 'agent.register' AND outcome = 'OK'
		AND actor = $1`, fixture.Operator).Scan(&n))
	require.Equal(t, 3, n)

	// A retired host's credential stops working, and the host cannot register again.
	_, err = pool.Exec(ctx, `UPDATE host SET state = 'DECOMMISSIONED' WHERE id = $1`, hostID)
	require.NoError(t, err)
	status, _ = e.agentPost(t, "/api/v1/agents/heartbeat", cred2, map[string]any{})
	require.Equal(t, http.StatusUnauthorized, status)
	status, out = e.agentPost(t, "/api/v1/agents/register", tok, facts("web-01b", "ABC123"))
	require.Equal(t, http.StatusForbidden, status, out)
	require.Contains(t, out["error"], "decommissioned")
}

func TestAgentRegistrationRefusesBadTokensOtherClustersAndBadFields(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	pool := e.db.Pool
	tok := e.enrollToken(t, "batch-wh-1", nil)

	// Wrong, expired and revoked tokens: 401.
	status, out := e.agentPost(t, "/api/v1/agents/register", "tsl_nosuchtoken", facts("x-1", ""))
	require.Equal(t, http.StatusUnauthorized, status, out)
	short := time.Millisecond
	expired := e.enrollToken(t, "batch-wh-1", &short)
	time.Sleep(5 * time.Millisecond)
	status, _ = e.agentPost(t, "/api/v1/agents/register", expired, facts("x-1", ""))
	require.Equal(t, http.StatusUnauthorized, status)
	revoked := e.enrollToken(t, "batch-wh-1", nil)
	_, err := pool.Exec(ctx, `UPDATE api_token SET revoked_at = now() WHERE token_hash = $1`, auth.HashSecret(revoked))
	require.NoError(t, err)
	status, _ = e.agentPost(t, "/api/v1/agents/register", revoked, facts("x-1", ""))
	require.Equal(t, http.StatusUnauthorized, status)
	status, _ = e.agentPost(t, "/api/v1/agents/register", "", facts("x-1", ""))
	require.Equal(t, http.StatusUnauthorized, status)

	// Not an enrollment token: 403, even an admin's.
	status, out = e.agentPost(t, "/api/v1/agents/register", e.as(fixture.Admin), facts("x-1", ""))
	require.Equal(t, http.StatusForbidden, status, out)
	require.Contains(t, out["error"], "enrollment token")

	// Another cluster's host: 403 naming it, nothing changed.
	status, out = e.agentPost(t, "/api/v1/agents/register", tok, facts("online-1-n01", ""))
	require.Equal(t, http.StatusForbidden, status, out)
	require.Contains(t, out["error"], `"online-1-n01"`)
	require.Contains(t, out["error"], `"online-1"`)
	var cores int
	require.NoError(t, pool.QueryRow(ctx, `SELECT cpu_cores FROM host WHERE hostname = 'online-1-n01'`).Scan(&cores))
	require.NotEqual(t, 32*1000, cores)

	// Bad fields: 400 naming the field, nothing stored.
	for field, f := range map[string]func(map[string]any){
		"hostname":      func(m map[string]any) { m["hostname"] = "bad name!" },
		"cpu_cores":     func(m map[string]any) { m["cpu_cores"] = 0 },
		"memory_bytes":  func(m map[string]any) { m["memory_bytes"] = "lots" },
		"ip":            func(m map[string]any) { m["ip"] = "10.0.0.300" },
		"disks[0].name": func(m map[string]any) { m["disks"] = []map[string]any{{"bytes": 1}} },
	} {
		body := facts("x-2", "")
		f(body)
		status, out := e.agentPost(t, "/api/v1/agents/register", tok, body)
		require.Equal(t, http.StatusBadRequest, status, field)
		require.Equal(t, field, out["field"], out)
	}
	status, out = e.agentPost(t, "/api/v1/agents/register", tok, `{"hostname": "x-2"`)
	require.Equal(t, http.StatusBadRequest, status, out)
	var n int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM host WHERE hostname LIKE 'x-%'`).Scan(&n))
	require.Zero(t, n)

	// A cluster retired since the token was made takes no more hosts.
	_, err = pool.Exec(ctx, `UPDATE cluster SET status = 'RETIRED' WHERE name = 'batch-wh-1'`)
	require.NoError(t, err)
	status, out = e.agentPost(t, "/api/v1/agents/register", tok, facts("x-3", ""))
	require.Equal(t, http.StatusForbidden, status, out)
	require.Contains(t, out["error"], "retired")
	_, err = pool.Exec(ctx, `UPDATE cluster SET status = 'ACTIVE' WHERE name = 'batch-wh-1'`)
	require.NoError(t, err)

	// An enrollment token opens nothing else: not heartbeats, ingestion or GraphQL.
	status, _ = e.agentPost(t, "/api/v1/agents/heartbeat", tok, map[string]any{})
	require.Equal(t, http.StatusForbidden, status)
	r := e.gql(t, tok, `{ me { login } }`, nil)
	require.Equal(t, http.StatusForbidden, r.Status)
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/api/v1/metrics/hosts", strings.NewReader(""))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
}

func TestHostCredentialOpensOnlyTheAgentSurfaces(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.enrollToken(t, "batch-wh-1", nil)
	status, out := e.agentPost(t, "/api/v1/agents/register", tok, facts("web-09", ""))
	require.Equal(t, http.StatusOK, status, out)
	cred := out["credential"].(string)

	// Not GraphQL, not sign-in, not a websocket's connection_init.
	r := e.gql(t, cred, `{ me { login } }`, nil)
	require.Equal(t, http.StatusForbidden, r.Status, r.Raw)
	body, _ := json.Marshal(map[string]string{"token": cred})
	resp, err := http.Post(e.srv.URL+"/api/v1/session", "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	_, err = auth.Identify(context.Background(), e.db.Pool, auth.SurfaceGraphQL, auth.Credentials{Token: cred})
	require.Error(t, err, "websockets authenticate through Identify on the GraphQL surface")
	// Nor registration.
	status, _ = e.agentPost(t, "/api/v1/agents/register", cred, facts("web-09", ""))
	require.Equal(t, http.StatusForbidden, status)

	// An owner demoted below OPERATOR takes the token's power to enrol with them.
	_, err = e.db.Pool.Exec(context.Background(), `UPDATE person SET role = 'VIEWER' WHERE login = $1`, fixture.Operator)
	require.NoError(t, err)
	status, out = e.agentPost(t, "/api/v1/agents/register", tok, facts("web-11", ""))
	require.Equal(t, http.StatusForbidden, status, out)
	require.Contains(t, out["error"], "no longer an operator")

	// Deactivating the person who enrolled the host leaves the agent working.
	_, err = e.db.Pool.Exec(context.Background(), `UPDATE person SET active = false WHERE login = $1`, fixture.Operator)
	require.NoError(t, err)
	status, out = e.agentPost(t, "/api/v1/agents/heartbeat", cred, map[string]any{"ts": "not a time"})
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, "ts", out["field"])
	status, out = e.agentPost(t, "/api/v1/agents/heartbeat", cred, map[string]any{
		"components": []map[string]any{{"service": "HDFS", "component": "DATANODE", "state": "RUNNING"}}})
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, "components[0].state", out["field"])
	status, out = e.agentPost(t, "/api/v1/agents/heartbeat", cred, map[string]any{})
	require.Equal(t, http.StatusOK, status, out)
	// …while the enrollment token died with its person.
	status, _ = e.agentPost(t, "/api/v1/agents/register", tok, facts("web-10", ""))
	require.Equal(t, http.StatusUnauthorized, status)
}

func TestHostCredentialIngestsOnlyItsOwnHostAndSamplesAreHeartbeats(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	pool := e.db.Pool
	tok := e.enrollToken(t, "batch-wh-1", nil)
	status, out := e.agentPost(t, "/api/v1/agents/register", tok, facts("web-20", ""))
	require.Equal(t, http.StatusOK, status, out)
	cred, self := out["credential"].(string), int64(out["host_id"].(float64))
	// Silent for a while: marked OFFLINE, with old heartbeats.
	_, err := pool.Exec(ctx, `UPDATE host SET last_heartbeat = now() - interval '1 hour', state = 'OFFLINE' WHERE id = $1`, self)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `UPDATE host SET last_heartbeat = now() - interval '1 hour' WHERE hostname = 'batch-wh-1-n01'`)
	require.NoError(t, err)

	ts := time.Now().UTC().Add(-2 * time.Minute).Truncate(time.Second).Format(time.RFC3339)
	body := `{"hostname":"web-20","ts":"` + ts + `","cpu":12.5,"mem":40.1,"disk_io":3.2,"net_in":1.2e6,"net_out":8e5,"containers":3}
{"hostname":"batch-wh-1-n01","ts":"` + ts + `","cpu":99}
{"host_id":` + strconv.FormatInt(e.fleet.Hosts["batch-wh-1-n01"], 10) + `,"ts":"` + ts + `","cpu":99}
`
	post := func(secret string) (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/api/v1/metrics/hosts", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-ndjson")
		req.Header.Set("Authorization", "Bearer "+secret)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var out map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
		return resp.StatusCode, out
	}
	status, out = post(cred)
	require.Equal(t, http.StatusOK, status, out)
	require.EqualValues(t, 1, out["accepted"])
	require.EqualValues(t, 2, out["rejected"])
	require.Equal(t, "hostname", dig(out, "errors", 0, "field"))
	require.Contains(t, dig(out, "errors", 0, "reason"), `speaks for host "web-20" only`)
	require.Equal(t, "host_id", dig(out, "errors", 1, "field"))
	var n int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM host_metric WHERE host_id = $1`, e.fleet.Hosts["batch-wh-1-n01"]).Scan(&n))
	require.Equal(t, 3, n, "only the fixture's samples: the other host's lines were refused")

	// The agent's own host beats at now whatever the sample's age, and is ONLINE again.
	var (
		state string
		age   time.Duration
	)
	require.NoError(t, pool.QueryRow(ctx, `SELECT state, now() - last_heartbeat FROM host WHERE id = $1`, self).Scan(&state, &age))
	require.Equal(t, "ONLINE", state)
	require.Less(t, age, 30*time.Second)
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE actor = 'system:heartbeat' AND action = 'hostOnline'
		AND target = 'host:web-20'`).Scan(&n))
	require.Equal(t, 1, n)
	// The refused host's heartbeat did not move.
	require.NoError(t, pool.QueryRow(ctx, `SELECT now() - last_heartbeat FROM host WHERE hostname = 'batch-wh-1-n01'`).Scan(&age))
	require.Greater(t, age, 50*time.Minute)

	// An operator's (unbound) credential may send any host's samples, which move
	// that host's heartbeat to the sample's time.
	status, out = post(e.as(fixture.Operator))
	require.Equal(t, http.StatusOK, status, out)
	require.EqualValues(t, 1, out["accepted"])
	require.NoError(t, pool.QueryRow(ctx, `SELECT now() - last_heartbeat FROM host WHERE hostname = 'batch-wh-1-n01'`).Scan(&age))
	require.InDelta(t, 2*time.Minute.Seconds(), age.Seconds(), 20)
}

func TestHostOfflineJobMarksSilentHostsAndHeartbeatsBringThemBack(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	pool := e.db.Pool
	tok := e.enrollToken(t, "online-1", nil)
	status, out := e.agentPost(t, "/api/v1/agents/register", tok, facts("web-30", ""))
	require.Equal(t, http.StatusOK, status, out)
	cred := out["credential"].(string)

	// Every fixture host has beaten just now; make some silent. A simulated
	// cluster's hosts are the simulator's to judge.
	_, err := pool.Exec(ctx, `UPDATE host SET last_heartbeat = now() - interval '10 minutes'
		WHERE hostname IN ('web-30', 'online-1-n01', 'online-1-n02', 'online-1-n03', 'batch-wh-1-n06', 'batch-wh-1-n07', 'rt-ads-1-n01')`)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `UPDATE host SET state = 'MAINTENANCE' WHERE hostname = 'online-1-n01'`)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `UPDATE host SET last_heartbeat = now() - interval '3 days' WHERE hostname = 'online-1-n04'`)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `UPDATE host SET last_heartbeat = NULL WHERE hostname = 'batch-wh-1-n01'`)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `UPDATE cluster SET simulated = true WHERE name = 'rt-ads-1'`)
	require.NoError(t, err)

	job, err := jobs.Find(jobs.Default(pool, jobs.DefaultConfig{}), jobs.NameHostOffline)
	require.NoError(t, err)
	logger := slog.New(slog.DiscardHandler)
	listen, err := pool.Acquire(ctx)
	require.NoError(t, err)
	defer listen.Release()
	_, err = listen.Exec(ctx, `LISTEN `+inventory.HostStateChannel)
	require.NoError(t, err)
	res, err := jobs.Run(ctx, pool, logger, "test", job)
	require.NoError(t, err)
	// Each change is a hostStateChanged event.
	announced := map[string]bool{}
	for range 3 {
		wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		note, err := listen.Conn().WaitForNotification(wctx)
		cancel()
		require.NoError(t, err)
		announced[note.Payload] = true
	}
	require.Len(t, announced, 3)
	require.EqualValues(t, 3, res.Rows, "web-30, online-1-n02 (ONLINE) and online-1-n03 (DEGRADED)")
	states := map[string]string{}
	rows, err := pool.Query(ctx, `SELECT hostname, state FROM host WHERE hostname IN ('web-30', 'online-1-n01', 'online-1-n02', 'online-1-n03',
		'online-1-n04', 'batch-wh-1-n06', 'batch-wh-1-n07', 'rt-ads-1-n01', 'batch-wh-1-n01')`)
	require.NoError(t, err)
	for rows.Next() {
		var h, s string
		require.NoError(t, rows.Scan(&h, &s))
		states[h] = s
	}
	require.NoError(t, rows.Err())
	require.Equal(t, map[string]string{
		"web-30": "OFFLINE", "online-1-n02": "OFFLINE", "online-1-n03": "OFFLINE",
		"online-1-n01":   "MAINTENANCE",    // never touched
		"batch-wh-1-n06": "REPAIRING",      // never touched
		"batch-wh-1-n07": "DECOMMISSIONED", // never touched
		"online-1-n04":   "ONLINE",         // silent for longer than the lookback: history
		"rt-ads-1-n01":   "ONLINE",         // a simulated cluster
		"batch-wh-1-n01": "ONLINE",         // never beat
	}, states)
	var n int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE actor = 'system:heartbeat' AND action = 'hostOffline'`).Scan(&n))
	require.Equal(t, 3, n)

	// The agent beats again: ONLINE, audited.
	status, out = e.agentPost(t, "/api/v1/agents/heartbeat", cred, map[string]any{})
	require.Equal(t, http.StatusOK, status, out)
	var state, reason string
	require.NoError(t, pool.QueryRow(ctx, `SELECT state, state_reason FROM host WHERE hostname = 'web-30'`).Scan(&state, &reason))
	require.Equal(t, "ONLINE", state)
	require.Empty(t, reason)
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE actor = 'system:heartbeat' AND action = 'hostOnline' AND target = 'host:web-30'`).Scan(&n))
	require.Equal(t, 1, n)
	// A second pass finds nothing new.
	res, err = jobs.Run(ctx, pool, logger, "test", job)
	require.NoError(t, err)
	require.Zero(t, res.Rows)
}

func TestCreateEnrollmentTokenThroughGraphQL(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	const m = `mutation($c: ID!, $e: Duration) { createEnrollmentToken(input: {clusterId: $c, name: "rack 7", expiresIn: $e}) {
		token apiToken { name scopes expiresAt cluster { name } person { login } } userErrors { field message } } }`
	r := e.gql(t, e.as(fixture.Admin), `{ cluster(name: "online-1") { id } }`, nil)
	cluster := dig(r.Data, "cluster", "id").(string)

	r = e.gql(t, e.as(fixture.Operator), m, map[string]any{"c": cluster})
	require.Empty(t, r.Errors, r.Raw)
	p := dig(r.Data, "createEnrollmentToken")
	require.Equal(t, []any{}, dig(p, "userErrors"))
	require.Equal(t, []any{"enroll"}, dig(p, "apiToken", "scopes"))
	require.Equal(t, "online-1", dig(p, "apiToken", "cluster", "name"))
	require.Equal(t, fixture.Operator, dig(p, "apiToken", "person", "login"))
	expires, err := time.Parse(time.RFC3339, dig(p, "apiToken", "expiresAt").(string))
	require.NoError(t, err)
	require.InDelta(t, 7*24, time.Until(expires).Hours(), 0.1, "a week by default")
	secret := dig(p, "token").(string)

	// It registers a host into online-1, which then shows its agent.
	status, out := e.agentPost(t, "/api/v1/agents/register", secret, facts("web-40", "SN-40"))
	require.Equal(t, http.StatusOK, status, out)
	r = e.gql(t, e.as(fixture.Viewer), `{ host(hostname: "web-40") { serial vendor cluster { name } agent { version registeredAt lastHeartbeat } } }`, nil)
	require.Empty(t, r.Errors, r.Raw)
	require.Equal(t, "SN-40", dig(r.Data, "host", "serial"))
	require.Equal(t, "Dell Inc.", dig(r.Data, "host", "vendor"))
	require.Equal(t, "online-1", dig(r.Data, "host", "cluster", "name"))
	require.Equal(t, "0.1.0", dig(r.Data, "host", "agent", "version"))
	r = e.gql(t, e.as(fixture.Viewer), `{ host(hostname: "online-1-n01") { agent { version } } }`, nil)
	require.Nil(t, dig(r.Data, "host", "agent"), "no agent registered that host")

	// Fixable input: userErrors naming the field.
	r = e.gql(t, e.as(fixture.Operator), m, map[string]any{"c": cluster, "e": "2200h"})
	require.Equal(t, []any{"input", "expiresIn"}, dig(r.Data, "createEnrollmentToken", "userErrors", 0, "field"), r.Raw)
	r = e.gql(t, e.as(fixture.Operator), m, map[string]any{"c": "Cluster:999999"})
	require.Equal(t, []any{"input", "clusterId"}, dig(r.Data, "createEnrollmentToken", "userErrors", 0, "field"), r.Raw)
	// Operators and admins only.
	r = e.gql(t, e.as(fixture.BULead), m, map[string]any{"c": cluster})
	require.Equal(t, "FORBIDDEN", r.code(), r.Raw)

	var n int
	require.NoError(t, e.db.Pool.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action = 'createEnrollmentToken'`).Scan(&n))
	require.Equal(t, 4, n, "every attempt is audited")
}

// TestAgentCredentialsAreRefusedByGraphQLWebsocketAndSignIn tries both agent
// credentials on every person-facing transport: the GraphQL endpoint, a
// websocket's connection_init (header and payload) and the web sign-in.
func TestAgentCredentialsAreRefusedByGraphQLWebsocketAndSignIn(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.enrollToken(t, "batch-wh-1", nil)
	status, out := e.agentPost(t, "/api/v1/agents/register", tok, facts("web-50", ""))
	require.Equal(t, http.StatusOK, status, out)
	cred := out["credential"].(string)
	for name, secret := range map[string]string{"enrollment token": tok, "host credential": cred} {
		r := e.gql(t, secret, `{ me { login } }`, nil)
		require.Equal(t, http.StatusForbidden, r.Status, "%s on GraphQL: %s", name, r.Raw)

		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		conn := e.wsDial(t, ctx, nil)
		require.NoError(t, wsjson.Write(ctx, conn, map[string]any{"type": "connection_init", "payload": map[string]any{"authToken": secret}}))
		code, _ := wsClosed(t, ctx, conn)
		require.Equal(t, websocket.StatusCode(4403), code, "%s on a websocket (payload)", name)
		conn = e.wsDial(t, ctx, http.Header{"Authorization": {"Bearer " + secret}})
		require.NoError(t, wsjson.Write(ctx, conn, map[string]any{"type": "connection_init", "payload": map[string]any{}}))
		code, _ = wsClosed(t, ctx, conn)
		require.Equal(t, websocket.StatusCode(4403), code, "%s on a websocket (header)", name)
		cancel()

		body, _ := json.Marshal(map[string]string{"token": secret})
		resp, err := http.Post(e.srv.URL+"/api/v1/session", "application/json", bytes.NewReader(body))
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusForbidden, resp.StatusCode, "%s on sign-in", name)
	}
	var n int
	require.NoError(t, e.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_log WHERE action = 'signIn' AND outcome = 'DENIED'
		AND actor = 'host:web-50'`).Scan(&n))
	require.Equal(t, 1, n, "the refused sign-in is audited under the host, without a person")
}

// TestConcurrentRegistrationsOfOneMachineMakeOneHost races registrations of the
// same machine (and of one name without a serial): one host each, one live
// credential each.
func TestConcurrentRegistrationsOfOneMachineMakeOneHost(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.enrollToken(t, "batch-wh-1", nil)
	var wg sync.WaitGroup
	statuses := make([]int, 16)
	for i := range statuses {
		wg.Go(func() {
			serial := "RACE-1"
			if i%2 == 1 {
				serial = ""
			}
			body, _ := json.Marshal(facts(fmt.Sprintf("race-%d", i%2), serial))
			req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/api/v1/agents/register", bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				statuses[i] = resp.StatusCode
				resp.Body.Close()
			}
		})
	}
	wg.Wait()
	for i, s := range statuses {
		require.Equal(t, http.StatusOK, s, "registration %d", i)
	}
	var hosts, live int
	require.NoError(t, e.db.Pool.QueryRow(context.Background(), `SELECT count(DISTINCT h.id), count(c.id)
		FROM host h LEFT JOIN host_credential c ON c.host_id = h.id AND c.revoked_at IS NULL
		WHERE h.hostname LIKE 'race-%'`).Scan(&hosts, &live))
	require.Equal(t, 2, hosts)
	require.Equal(t, 2, live)
}
