package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/account"
	"github.com/teslaops/tesla/internal/audit"
	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/fixture"
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
