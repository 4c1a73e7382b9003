package agentapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/agent"
	"github.com/teslaops/tesla/internal/agent/agenttest"
	"github.com/teslaops/tesla/internal/agentapi"
	"github.com/teslaops/tesla/internal/agenttask"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/fixture"
)

// env is a real server (a test database, the agent handler, the task queue
// with its notifications) and hosts to run agents for.
type env struct {
	t      *testing.T
	pool   db.DBTX
	tasks  *agentapi.Tasks
	url    string
	logger *slog.Logger
	hosts  []agenttest.Host
}

func newEnv(t *testing.T, hosts int) *env {
	t.Helper()
	logger := agenttest.Logger(t, slog.LevelInfo)
	pool := dbtest.NewDatabase(t, db.Options{}).Pool
	ctx := context.Background()
	clusters := fixture.Bulk(t, pool, 1, hosts)
	rows, err := pool.Query(ctx, `SELECT id, hostname FROM host WHERE cluster_id = $1 ORDER BY id`, clusters[0])
	require.NoError(t, err)
	type host struct {
		id   int64
		name string
	}
	var hs []host
	for rows.Next() {
		var h host
		require.NoError(t, rows.Scan(&h.id, &h.name))
		hs = append(hs, h)
	}
	require.NoError(t, rows.Err())
	srv := agenttest.NewServer(t, pool, logger)
	e := &env{t: t, pool: pool, tasks: srv.Tasks, url: srv.URL, logger: logger}
	for _, h := range hs {
		e.hosts = append(e.hosts, agenttest.Enroll(t, pool, srv.URL, h.id, h.name))
	}
	return e
}

// startAgent runs host i's agent until the returned stop is called (or the
// test ends).
func (e *env) startAgent(i int) (stop func()) {
	return agenttest.Start(e.t, e.hosts[i].Config(), e.logger)
}

// wait waits for a task's end, bounded.
func (e *env) wait(id int64) agentapi.TaskResult {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	r, err := e.tasks.Wait(ctx, id)
	require.NoError(e.t, err)
	return r
}

// TestMain removes the test service's build when the tests are done.
func TestMain(m *testing.M) {
	code := m.Run()
	agenttest.RemoveBuild()
	os.Exit(code)
}

// freePort is a free address on the loopback for one host's service.
func freePort(t *testing.T) string {
	return "127.0.0.1:" + agenttest.FreePort(t, "127.0.0.1")
}

func deploySpec(version, location, checksum, addr string) agentapi.TaskSpec {
	return agentapi.TaskSpec{
		Action: agenttask.ActionDeploy, Service: "versionsrv", Version: version,
		Source:  &agenttask.Source{Kind: agenttask.SourceTar, Location: location, Checksum: checksum},
		Process: &agenttask.Process{Command: []string{"bin/versionsrv"}, StopTimeoutSeconds: 5},
		Config:  []agenttask.File{{Path: "config/addr", Content: addr + "\n"}},
		Health: &agenttask.HealthCheck{Kind: agenttask.HealthHTTP, URL: "http://" + addr + "/version", Expect: version,
			TimeoutMS: 1000, Attempts: 100, IntervalMS: 50},
		TimeoutSeconds: 120,
	}
}

func stepStates(r agentapi.TaskResult) map[string]string {
	out := map[string]string{}
	for _, s := range r.Steps {
		out[s.Name] = s.State
	}
	return out
}

// TestAgentsDeployUpgradeRollingAndRollBack: three agents on this machine
// deploy a real service v1, upgrade it to v2 one host at a time while the
// others keep serving, and roll back to v1 without fetching again.
func TestAgentsDeployUpgradeRollingAndRollBack(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 3)
	dir := t.TempDir()
	v1, sum1 := agenttest.Package(t, dir, "v1")
	v2, sum2 := agenttest.Package(t, dir, "v2")
	// v2 comes over HTTP, v1 from a local path.
	files := httptest.NewServer(http.FileServer(http.Dir(dir)))
	t.Cleanup(files.Close)
	v2URL := files.URL + "/" + filepath.Base(v2)
	addrs := make([]string, 3)
	for i := range e.hosts {
		addrs[i] = freePort(t)
		e.startAgent(i)
	}
	ctx := context.Background()

	// v1 everywhere at once.
	ids := make([]int64, 3)
	for i, h := range e.hosts {
		id, err := e.tasks.Dispatch(ctx, h.ID, fmt.Sprintf("op-1/%d/1", i), deploySpec("v1", v1, sum1, addrs[i]))
		require.NoError(t, err)
		ids[i] = id
	}
	for i, id := range ids {
		r := e.wait(id)
		require.Equal(t, agenttask.StateSucceeded, r.State, "host %d: %s %+v", i, r.Error, r.Steps)
		require.Equal(t, map[string]string{"fetch": "OK", "configure": "OK", "stop": "SKIPPED", "switch": "OK", "start": "OK", "health": "OK"}, stepStates(r))
		require.Equal(t, "v1", agenttest.Serving(addrs[i]))
		require.Equal(t, "v1", agent.Layout{Root: e.hosts[i].Root}.Current("versionsrv"))
	}
	// Dispatching again with a key already used returns the same task and runs nothing.
	again, err := e.tasks.Dispatch(ctx, e.hosts[0].ID, "op-1/0/1", deploySpec("v1", v1, sum1, addrs[0]))
	require.NoError(t, err)
	require.Equal(t, ids[0], again)

	// v2, rolling: one host at a time; the others keep serving.
	for i, h := range e.hosts {
		id, err := e.tasks.Dispatch(ctx, h.ID, fmt.Sprintf("op-2/%d/1", i), deploySpec("v2", v2URL, sum2, addrs[i]))
		require.NoError(t, err)
		r := e.wait(id)
		require.Equal(t, agenttask.StateSucceeded, r.State, "host %d: %s %+v", i, r.Error, r.Steps)
		require.Equal(t, "OK", stepStates(r)["stop"])
		require.Contains(t, r.Output, "v2 deployed (was v1)")
		for j := range e.hosts {
			want := "v1"
			if j <= i {
				want = "v2"
			}
			require.Equal(t, want, agenttest.Serving(addrs[j]), "host %d after upgrading host %d", j, i)
		}
	}

	// Roll back to v1: the version directory is still there, nothing is fetched.
	for i, h := range e.hosts {
		id, err := e.tasks.Dispatch(ctx, h.ID, fmt.Sprintf("op-3/%d/1", i), deploySpec("v1", v1, sum1, addrs[i]))
		require.NoError(t, err)
		r := e.wait(id)
		require.Equal(t, agenttask.StateSucceeded, r.State, "host %d: %s %+v", i, r.Error, r.Steps)
		require.Equal(t, "SKIPPED", stepStates(r)["fetch"])
		require.Equal(t, "v1", agenttest.Serving(addrs[i]))
	}
	var n int
	require.NoError(t, e.pool.QueryRow(ctx, `SELECT count(*) FROM agent_task WHERE state = 'SUCCEEDED'`).Scan(&n))
	require.Equal(t, 9, n, "nine tasks, each run once")
}

// TestDeployRefusesBadChecksumsAndArchivesThatClimbOut: nothing of a bad
// package is unpacked, and the running version is untouched.
func TestDeployRefusesBadChecksumsAndArchivesThatClimbOut(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	dir := t.TempDir()
	v1, sum1 := agenttest.Package(t, dir, "v1")
	v2, _ := agenttest.Package(t, dir, "v2")
	addr := freePort(t)
	e.startAgent(0)
	ctx := context.Background()
	hostID, root := e.hosts[0].ID, e.hosts[0].Root
	id, err := e.tasks.Dispatch(ctx, hostID, "ok", deploySpec("v1", v1, sum1, addr))
	require.NoError(t, err)
	require.Equal(t, agenttask.StateSucceeded, e.wait(id).State)

	// v2 with v1's checksum: refused before unpacking.
	id, err = e.tasks.Dispatch(ctx, hostID, "bad-sum", deploySpec("v2", v2, sum1, addr))
	require.NoError(t, err)
	r := e.wait(id)
	require.Equal(t, agenttask.StateFailed, r.State)
	require.Contains(t, r.Error, "checksum mismatch")
	require.Contains(t, r.Error, "nothing was unpacked")
	require.Equal(t, map[string]string{"fetch": "FAILED"}, stepStates(r))
	require.NoDirExists(t, filepath.Join(root, "versionsrv", "v2"))
	require.Equal(t, "v1", agent.Layout{Root: root}.Current("versionsrv"))
	require.Equal(t, "v1", agenttest.Serving(addr))

	// An archive with an entry climbing out of the version directory.
	evil, sum := agenttest.TarGz(t, map[string][]byte{"VERSION": []byte("v3"), "../../escaped": []byte("x")}, []string{"VERSION", "../../escaped"})
	evilPath := filepath.Join(dir, "evil.tar.gz")
	require.NoError(t, os.WriteFile(evilPath, evil, 0o644))
	id, err = e.tasks.Dispatch(ctx, hostID, "evil", deploySpec("v3", evilPath, sum, addr))
	require.NoError(t, err)
	r = e.wait(id)
	require.Equal(t, agenttask.StateFailed, r.State)
	require.Contains(t, r.Error, "leaves the version directory")
	require.NoFileExists(t, filepath.Join(root, "escaped"))
	require.NoFileExists(t, filepath.Join(filepath.Dir(root), "escaped"))
	require.NoDirExists(t, filepath.Join(root, "versionsrv", "v3"))
	require.Equal(t, "v1", agenttest.Serving(addr))
}

// TestAgentKilledMidTaskExpiresAndNothingRunsTwice: the agent stops while a
// task runs; the task expires (not given again), the restarted agent reports
// it and does not run it again, and takes new tasks.
func TestAgentKilledMidTaskExpiresAndNothingRunsTwice(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	ctx := context.Background()
	h := e.hosts[0]
	mark := filepath.Join(t.TempDir(), "runs")
	slow := agentapi.TaskSpec{Action: agenttask.ActionCheck, Service: "probe",
		Health: &agenttask.HealthCheck{Kind: agenttask.HealthCommand, Command: []string{"sh", "-c", "echo run >> " + mark + "; exec sleep 60"},
			TimeoutMS: 120_000, Attempts: 1}}
	stop := e.startAgent(0)
	id, err := e.tasks.Dispatch(ctx, h.ID, "slow/1", slow)
	require.NoError(t, err)
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, _ := os.ReadFile(mark)
		r, err := e.tasks.Get(ctx, id)
		require.NoError(t, err)
		if len(b) > 0 && r.State == agenttask.StateRunning {
			break
		}
		require.True(t, time.Now().Before(deadline), "the task never ran")
		time.Sleep(20 * time.Millisecond)
	}
	stop() // the agent dies mid-task

	r := e.wait(id)
	require.Equal(t, agenttask.StateExpired, r.State)
	require.Contains(t, r.Error, "the agent stopped reporting")
	require.Equal(t, "RUNNING", stepStates(r)["health"], "the last steps the agent reported are kept")

	// The restarted agent reports the task it was cut off in, and runs it no more.
	journal := filepath.Join(h.StateDir, "tasks", fmt.Sprintf("active-%d.json", id))
	require.FileExists(t, journal)
	e.startAgent(0)
	deadline = time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(journal); os.IsNotExist(err) {
			break
		}
		require.True(t, time.Now().Before(deadline), "the restarted agent never settled the task")
		time.Sleep(20 * time.Millisecond)
	}
	done, err := os.ReadFile(filepath.Join(h.StateDir, "tasks", "done"))
	require.NoError(t, err)
	require.Contains(t, string(done), fmt.Sprint(id))
	r, err = e.tasks.Get(ctx, id)
	require.NoError(t, err)
	require.Equal(t, agenttask.StateExpired, r.State, "the late report does not change an expired task")

	// The engine's next attempt is a new task, and runs.
	quick := slow
	quick.Health = &agenttask.HealthCheck{Kind: agenttask.HealthCommand, Command: []string{"true"}}
	id2, err := e.tasks.Dispatch(ctx, h.ID, "slow/2", quick)
	require.NoError(t, err)
	require.Equal(t, agenttask.StateSucceeded, e.wait(id2).State)
	b, err := os.ReadFile(mark)
	require.NoError(t, err)
	require.Equal(t, "run\n", string(b), "the expired task ran once")
}

// TestTaskProtocolRefusals: the HTTP side names what is wrong, hides other
// hosts' tasks, and Dispatch and Cancel keep their promises.
func TestTaskProtocolRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 2)
	ctx := context.Background()
	a, b := e.hosts[0], e.hosts[1]
	do := func(method, path, cred, body string) (int, map[string]any) {
		req, _ := http.NewRequest(method, e.url+path, strings.NewReader(body))
		if cred != "" {
			req.Header.Set("Authorization", "Bearer "+cred)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var out map[string]any
		raw, _ := io.ReadAll(resp.Body)
		_ = json.Unmarshal(raw, &out)
		return resp.StatusCode, out
	}
	status, _ := do("GET", "/api/v1/agents/tasks?wait=0s", "", "")
	require.Equal(t, http.StatusUnauthorized, status)
	status, out := do("GET", "/api/v1/agents/tasks?wait=forever", a.Credential, "")
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, "wait", out["field"])
	status, out = do("GET", "/api/v1/agents/tasks?wait=0s&max=99", a.Credential, "")
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, "max", out["field"])
	status, _ = do("GET", "/api/v1/agents/tasks?wait=0s", a.Credential, "")
	require.Equal(t, http.StatusNoContent, status)

	spec := agentapi.TaskSpec{Action: agenttask.ActionCheck, Service: "probe",
		Health: &agenttask.HealthCheck{Kind: agenttask.HealthTCP, Address: "127.0.0.1:1"}}
	id, err := e.tasks.Dispatch(ctx, a.ID, "k1", spec)
	require.NoError(t, err)
	// The same key for another host, or another spec: a conflict.
	_, err = e.tasks.Dispatch(ctx, b.ID, "k1", spec)
	require.True(t, fault.Is(err, fault.Conflict), "%v", err)
	_, err = e.tasks.Dispatch(ctx, 424242, "k9", spec)
	fe, ok := fault.As(err)
	require.True(t, ok, "%v", err)
	require.Equal(t, "host_id", fe.Field)
	// A bad spec names its field.
	bad := spec
	bad.Health = &agenttask.HealthCheck{Kind: "PING"}
	_, err = e.tasks.Dispatch(ctx, a.ID, "k2", bad)
	fe, ok = fault.As(err)
	require.True(t, ok, "%v", err)
	require.Equal(t, "spec.health.kind", fe.Field)
	bad = agentapi.TaskSpec{Action: agenttask.ActionDeploy, Service: "x", Version: "1", Process: &agenttask.Process{Command: []string{"x"}},
		Source: &agenttask.Source{Kind: agenttask.SourceTar, Location: "/tmp/x.tgz", Checksum: "md5:abc"}}
	_, err = e.tasks.Dispatch(ctx, a.ID, "k3", bad)
	fe, _ = fault.As(err)
	require.Equal(t, "spec.source.checksum", fe.Field)

	// Another host neither sees nor reports the task.
	status, _ = do("GET", "/api/v1/agents/tasks?wait=0s", b.Credential, "")
	require.Equal(t, http.StatusNoContent, status)
	status, _ = do("POST", fmt.Sprintf("/api/v1/agents/tasks/%d/report", id), b.Credential, `{"state":"RUNNING","steps":[]}`)
	require.Equal(t, http.StatusNotFound, status)
	// Its own host claims it; bad reports name the field.
	status, out = do("GET", "/api/v1/agents/tasks?wait=1s", a.Credential, "")
	require.Equal(t, http.StatusOK, status)
	require.EqualValues(t, id, out["tasks"].([]any)[0].(map[string]any)["id"])
	path := fmt.Sprintf("/api/v1/agents/tasks/%d/report", id)
	status, out = do("POST", path, a.Credential, `{"state":"DONE"}`)
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, "state", out["field"])
	status, out = do("POST", path, a.Credential, `{"state":"RUNNING","steps":[{"name":"x","state":"MAYBE"}]}`)
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, "steps[0].state", out["field"])
	status, out = do("POST", path, a.Credential, `{"state":"FAILED"}`)
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, "error", out["field"])
	status, out = do("POST", path, a.Credential, `{"state":"RUNNING","steps":"no"}`)
	require.Equal(t, http.StatusBadRequest, status)
	require.Equal(t, "steps", out["field"])
	status, _ = do("POST", "/api/v1/agents/tasks/abc/report", a.Credential, `{"state":"RUNNING"}`)
	require.Equal(t, http.StatusBadRequest, status)

	// Cancel: the claimed task is told at its next report; then its end is kept.
	require.NoError(t, e.tasks.Cancel(ctx, id))
	status, out = do("POST", path, a.Credential, `{"state":"RUNNING","steps":[{"name":"health","state":"RUNNING","started_at":"2026-01-01T00:00:00Z"}]}`)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, true, out["cancel"])
	long := strings.Repeat("x", 20000)
	status, _ = do("POST", path, a.Credential, `{"state":"FAILED","error":"cancelled by the server","output":"`+long+`"}`)
	require.Equal(t, http.StatusOK, status)
	status, _ = do("POST", path, a.Credential, `{"state":"FAILED","error":"cancelled by the server"}`)
	require.Equal(t, http.StatusOK, status, "the same end again is taken unchanged")
	status, out = do("POST", path, a.Credential, `{"state":"SUCCEEDED"}`)
	require.Equal(t, http.StatusConflict, status)
	require.Contains(t, out["error"], "already FAILED")
	r := e.wait(id)
	require.Equal(t, agenttask.StateFailed, r.State)
	require.LessOrEqual(t, len(r.Output), agenttask.MaxOutput)
	require.Contains(t, r.Output, "[truncated")

	// A queued task cancelled fails at once, and no agent gets it.
	id2, err := e.tasks.Dispatch(ctx, a.ID, "k4", spec)
	require.NoError(t, err)
	require.NoError(t, e.tasks.Cancel(ctx, id2))
	r = e.wait(id2)
	require.Equal(t, agenttask.StateFailed, r.State)
	require.Contains(t, r.Error, "cancelled before an agent claimed it")
	status, _ = do("GET", "/api/v1/agents/tasks?wait=0s", a.Credential, "")
	require.Equal(t, http.StatusNoContent, status)
	require.True(t, fault.Is(e.tasks.Cancel(ctx, 999999), fault.NotFound))
}

// TestAgentStopsStartsRestartsAndConfiguresItsService: the lifecycle actions
// on a deployed service, across an agent restart (the pid file finds the
// process the previous agent started).
func TestAgentStopsStartsRestartsAndConfiguresItsService(t *testing.T) {
	t.Parallel()
	e := newEnv(t, 1)
	dir := t.TempDir()
	v1, sum1 := agenttest.Package(t, dir, "v1")
	addr, addr2 := freePort(t), freePort(t)
	ctx := context.Background()
	h := e.hosts[0]
	stop := e.startAgent(0)
	run := func(key string, spec agentapi.TaskSpec) agentapi.TaskResult {
		t.Helper()
		id, err := e.tasks.Dispatch(ctx, h.ID, key, spec)
		require.NoError(t, err)
		r := e.wait(id)
		require.Equal(t, agenttask.StateSucceeded, r.State, "%s: %s %+v", key, r.Error, r.Steps)
		return r
	}
	deploy := deploySpec("v1", v1, sum1, addr)
	run("deploy", deploy)
	pidOf := func() int {
		var p struct {
			PID int `json:"pid"`
		}
		b, err := os.ReadFile(filepath.Join(h.Root, "versionsrv", "run", "pid.json"))
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(b, &p))
		return p.PID
	}
	first := pidOf()
	life := func(action string) agentapi.TaskSpec {
		s := deploy
		s.Action, s.Source, s.Config, s.Version = action, nil, nil, ""
		return s
	}

	// A restarted agent still knows the process: START finds it running.
	stop()
	e.startAgent(0)
	r := run("start-running", life(agenttask.ActionStart))
	require.Equal(t, "SKIPPED", stepStates(r)["start"])
	require.Equal(t, first, pidOf())

	r = run("stop", life(agenttask.ActionStop))
	require.Contains(t, r.Steps[0].Output, fmt.Sprintf("stopped pid %d", first))
	require.Equal(t, "", agenttest.Serving(addr))
	r = run("stop-again", life(agenttask.ActionStop))
	require.Equal(t, "SKIPPED", stepStates(r)["stop"])
	run("start", life(agenttask.ActionStart))
	require.Equal(t, "v1", agenttest.Serving(addr))
	started := pidOf()
	run("restart", life(agenttask.ActionRestart))
	require.NotEqual(t, started, pidOf())
	require.Equal(t, "v1", agenttest.Serving(addr))

	// CONFIGURE writes the files into the current version and restarts.
	conf := life(agenttask.ActionConfigure)
	conf.Config = []agenttask.File{{Path: "config/addr", Content: addr2}}
	conf.Health = &agenttask.HealthCheck{Kind: agenttask.HealthTCP, Address: addr2, Attempts: 100, IntervalMS: 50}
	r = run("configure", conf)
	require.Equal(t, map[string]string{"configure": "OK", "stop": "OK", "start": "OK", "health": "OK"}, stepStates(r))
	require.Equal(t, "v1", agenttest.Serving(addr2))
	require.Equal(t, "", agenttest.Serving(addr))

	// A config path leaving the version directory is refused by the server.
	conf.Config = []agenttask.File{{Path: "../../etc/evil", Content: "x"}}
	_, err := e.tasks.Dispatch(ctx, h.ID, "evil-config", conf)
	fe, ok := fault.As(err)
	require.True(t, ok, "%v", err)
	require.Equal(t, "spec.config[0].path", fe.Field)
}
