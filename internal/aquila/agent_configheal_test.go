package aquila_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/agent"
	"github.com/teslaops/tesla/internal/agent/agenttest"
	"github.com/teslaops/tesla/internal/aquila"
	"github.com/teslaops/tesla/internal/audit"
	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/configuration"
)

// servicePID is the pid the agent of root recorded for versionsrv (0 when
// none).
func servicePID(t *testing.T, root string) int {
	t.Helper()
	var p struct {
		PID int `json:"pid"`
	}
	b, err := os.ReadFile(filepath.Join(root, "VERSIONSRV", "run", "pid.json"))
	if err != nil {
		return 0
	}
	require.NoError(t, json.Unmarshal(b, &p))
	return p.PID
}

// configFleet starts three real agents, an engine with the agent executor,
// and a configuration service rolling its versions out through it, with an
// author and a reviewer.
func configFleet(t *testing.T) (f *agentFleet, ops *aquila.Service, cfg *configuration.Service, author, reviewer context.Context) {
	t.Helper()
	f = newAgentFleet(t, false)
	e, _ := startEngine(t, f.pool, f.exec, testConfig())
	ops = newService(f.pool, e)
	cfg = configuration.NewService(f.pool, audit.New(f.pool, quiet), nil).WithRollouter(aquila.ConfigRollouter{Service: ops, BatchPercent: 34})
	author, reviewer = configPeople(t, f.pool)
	return f, ops, cfg, author, reviewer
}

// configPeople are an author and a reviewer of configuration changes (a
// change needs another person's approval).
func configPeople(t *testing.T, pool *pgxpool.Pool) (author, reviewer context.Context) {
	t.Helper()
	bg := context.Background()
	var bu int64
	require.NoError(t, pool.QueryRow(bg, `INSERT INTO bu (name, code) VALUES ('Config test', 'CONFIG-TEST') RETURNING id`).Scan(&bu))
	ctxOf := func(login string) context.Context {
		var id int64
		require.NoError(t, pool.QueryRow(bg, `INSERT INTO person (login, name, email, bu_id, role) VALUES ($1, $1, $1 || '@example.com', $2, 'OPERATOR')
			RETURNING id`, login, bu).Scan(&id))
		return auth.WithPrincipal(bg, &auth.Principal{PersonID: id, Login: login, Role: auth.Operator})
	}
	return ctxOf("config-author"), ctxOf("config-reviewer")
}

// TestAgentExecutorAppliesConfigurationOnRealHosts: a configuration change
// of the versionsrv service on a fleet of three real agents rolls out as a
// CONFIG_APPLY through the engine with the agent executor: each host's agent
// writes the file into the running version's directory (the write itself
// restarts nothing), the RESTART stage restarts the service (a new process,
// answering again), and every component ends at the new configuration
// version.
func TestAgentExecutorAppliesConfigurationOnRealHosts(t *testing.T) {
	t.Parallel()
	f, ops, cfg, author, reviewer := configFleet(t)
	before := map[int64]int{}
	for _, h := range f.hosts {
		before[h.id] = servicePID(t, f.roots[h.id])
		require.NotZero(t, before[h.id], "versionsrv runs on %s", h.name)
	}

	greeting := "hello from configuration version 1\n"
	ch, err := cfg.Propose(author, configuration.ProposeInput{ClusterID: f.clusterID, Message: "greeting",
		Files: []configuration.FileChange{{Service: "VERSIONSRV", Path: "config/greeting", Content: &greeting}}})
	require.NoError(t, err)
	_, err = cfg.Review(reviewer, configuration.ReviewInput{ChangeID: ch.ID, Approve: true})
	require.NoError(t, err)
	applied, err := cfg.Apply(author, ch.ID)
	require.NoError(t, err)
	require.Empty(t, applied.RolloutError)
	op := waitState(t, ops, applied.OperationID, aquila.Succeeded)
	require.Equal(t, 6, op.TasksSucceeded, "a WRITE_CONFIG and a RESTART per host")

	for _, h := range f.hosts {
		b, err := os.ReadFile(filepath.Join(f.roots[h.id], "VERSIONSRV", "1.0.0", "config", "greeting"))
		require.NoError(t, err, h.name)
		require.Equal(t, greeting, string(b), h.name)
		after := servicePID(t, f.roots[h.id])
		require.NotZero(t, after)
		require.NotEqual(t, before[h.id], after, "%s's service was restarted", h.name)
		write := taskOutput(t, f.pool, op.ID, h.id, aquila.ActionWriteConfig)
		require.Contains(t, write, "CONFIGURE VERSIONSRV 1.0.0: SUCCEEDED")
		require.Contains(t, write, "configure OK")
		require.NotContains(t, write, "start OK", "writing the files restarts nothing")
		require.Contains(t, taskOutput(t, f.pool, op.ID, h.id, aquila.ActionRestart), "RESTART VERSIONSRV 1.0.0: SUCCEEDED")
	}
	require.Equal(t, []string{"1.0.0", "1.0.0", "1.0.0"}, f.answers())
	require.Equal(t, 3, count(t, f.pool, `SELECT count(*) FROM host_component c JOIN host h ON h.id = c.host_id
		WHERE h.cluster_id = $1 AND c.service = 'VERSIONSRV' AND c.config_version = $2 AND c.actual_state = 'STARTED'`,
		f.clusterID, applied.Version))
	require.Equal(t, 3, count(t, f.pool, `SELECT count(*) FROM agent_task WHERE action = 'CONFIGURE' AND (spec ->> 'no_restart')::boolean
		AND state = 'SUCCEEDED'`))
}

// TestAgentExecutorRemovesConfigurationFilesOnRealHosts: on a fleet of
// three real agents, version 1 gives every host config/greeting and
// config/extra, and the first host (a LIST group) config/tuned; version 2
// removes config/extra and the group's config/tuned, and its CONFIG_APPLY
// deletes them from the hosts that had them (the WRITE_CONFIG carries the
// paths, the agent removes them inside the version directory); rolling back
// to version 1 writes them back.
func TestAgentExecutorRemovesConfigurationFilesOnRealHosts(t *testing.T) {
	t.Parallel()
	f, ops, cfg, author, reviewer := configFleet(t)
	tuned := f.hosts[0]
	_, err := cfg.SetGroup(adminCtx(), configuration.GroupInput{ClusterID: f.clusterID, Name: "tuned", Position: 1,
		Rule: configuration.ByList, Hosts: []int64{tuned.id}})
	require.NoError(t, err)
	apply := func(base int64, files ...configuration.FileChange) *configuration.Applied {
		t.Helper()
		ch, err := cfg.Propose(author, configuration.ProposeInput{ClusterID: f.clusterID, BaseVersion: base, Message: "files", Files: files})
		require.NoError(t, err)
		_, err = cfg.Review(reviewer, configuration.ReviewInput{ChangeID: ch.ID, Approve: true})
		require.NoError(t, err)
		applied, err := cfg.Apply(author, ch.ID)
		require.NoError(t, err)
		require.Empty(t, applied.RolloutError)
		return applied
	}
	file := func(h fleetHost, p string) string {
		return filepath.Join(f.roots[h.id], "VERSIONSRV", "1.0.0", filepath.FromSlash(p))
	}
	greeting, extra, tunedConf := "hello\n", "extra=1\n", "tuned=1\n"

	v1 := apply(0,
		configuration.FileChange{Service: "VERSIONSRV", Path: "config/greeting", Content: &greeting},
		configuration.FileChange{Service: "VERSIONSRV", Path: "config/extra", Content: &extra},
		configuration.FileChange{Group: "tuned", Service: "VERSIONSRV", Path: "config/tuned", Content: &tunedConf})
	waitState(t, ops, v1.OperationID, aquila.Succeeded)
	for _, h := range f.hosts {
		require.FileExists(t, file(h, "config/extra"), h.name)
	}
	require.FileExists(t, file(tuned, "config/tuned"))
	require.NoFileExists(t, file(f.hosts[1], "config/tuned"), "only the group's host has its file")

	v2 := apply(v1.Version,
		configuration.FileChange{Service: "VERSIONSRV", Path: "config/extra"},
		configuration.FileChange{Group: "tuned", Service: "VERSIONSRV", Path: "config/tuned"})
	for _, tg := range v2.Rollout.Targets {
		want := []string{"config/extra"}
		if tg.HostID == tuned.id {
			want = []string{"config/extra", "config/tuned"}
		}
		require.Equal(t, want, tg.Remove, "host %d", tg.HostID)
	}
	op := waitState(t, ops, v2.OperationID, aquila.Succeeded)
	for _, h := range f.hosts {
		require.NoFileExists(t, file(h, "config/extra"), h.name)
		require.NoFileExists(t, file(h, "config/tuned"), h.name)
		b, err := os.ReadFile(file(h, "config/greeting"))
		require.NoError(t, err, h.name)
		require.Equal(t, greeting, string(b), "%s keeps the file the version still has", h.name)
		require.Contains(t, taskOutput(t, f.pool, op.ID, h.id, aquila.ActionWriteConfig), "removed config/extra")
	}
	require.Contains(t, taskOutput(t, f.pool, op.ID, tuned.id, aquila.ActionWriteConfig), "removed config/extra, config/tuned")
	require.Equal(t, 3, count(t, f.pool, `SELECT count(*) FROM agent_task WHERE action = 'CONFIGURE' AND spec -> 'remove' ? 'config/extra'`))

	back, err := cfg.Rollback(author, configuration.RollbackInput{ClusterID: f.clusterID, ToVersion: v1.Version, Reason: "extra is needed"})
	require.NoError(t, err)
	require.Empty(t, back.RolloutError)
	op = waitState(t, ops, back.OperationID, aquila.Succeeded)
	for _, h := range f.hosts {
		b, err := os.ReadFile(file(h, "config/extra"))
		require.NoError(t, err, "%s has the file back", h.name)
		require.Equal(t, extra, string(b))
		require.NotContains(t, taskOutput(t, f.pool, op.ID, h.id, aquila.ActionWriteConfig), "removed")
	}
	b, err := os.ReadFile(file(tuned, "config/tuned"))
	require.NoError(t, err)
	require.Equal(t, tunedConf, string(b))
	require.NoFileExists(t, file(f.hosts[1], "config/tuned"))
	require.Equal(t, []string{"1.0.0", "1.0.0", "1.0.0"}, f.answers())
}

// healFleet is a fleet whose agents heartbeat every second (HEAL_VERIFY and
// a reboot wait for fresh beats) and "reboot" by touching a file named after
// their host in the returned directory.
func healFleet(t *testing.T) (*agentFleet, string) {
	t.Helper()
	marks := t.TempDir()
	f := newAgentFleet(t, false, func(c *agent.Config) {
		c.HeartbeatInterval = time.Second
		c.RebootCommand = []string{"touch", filepath.Join(marks, c.Hostname)}
	})
	return f, marks
}

// selfHeal plans and submits a SELF_HEAL of hosts (by index in the fleet)
// as the healing job does.
func selfHeal(t *testing.T, f *agentFleet, e *aquila.Engine, repairs map[int]string) int64 {
	t.Helper()
	bg := context.Background()
	var p aquila.SelfHealParams
	for i, r := range repairs {
		p.Hosts = append(p.Hosts, aquila.SelfHealHost{HostID: f.hosts[i].id, Repair: r, Reason: "test"})
		_, err := f.pool.Exec(bg, `UPDATE host SET state = 'DEGRADED' WHERE id = $1`, f.hosts[i].id)
		require.NoError(t, err)
	}
	raw, _ := json.Marshal(p)
	plan, err := aquila.SelfHealPlanner{}.Plan(bg, f.pool, aquila.Request{Kind: aquila.KindSelfHeal, ClusterID: f.clusterID,
		Params: raw, RequestedBy: "system:healing", MaxOutOfServicePct: 67})
	require.NoError(t, err)
	id, err := e.Submit(bg, nil, *plan)
	require.NoError(t, err)
	return id
}

// TestAgentExecutorSelfHealRestartsAndRebootsRealHosts: on a fleet of real
// agents, one host's service is killed and another host is to be rebooted.
// A SELF_HEAL through the engine with the agent executor restarts the first
// host's service (a new process, answering again) and runs the second
// host's reboot command (harmless here), waits for its agent to beat again,
// checks both hosts' services and returns both ONLINE.
func TestAgentExecutorSelfHealRestartsAndRebootsRealHosts(t *testing.T) {
	t.Parallel()
	f, marks := healFleet(t)
	e, _ := startEngine(t, f.pool, f.exec, testConfig())
	svc := newService(f.pool, e)
	killed, rebooted := f.hosts[0], f.hosts[1]
	old := servicePID(t, f.roots[killed.id])
	agenttest.KillServices(f.roots[killed.id])
	waitFor(t, "the killed service stops answering", func() bool { return f.answers()[0] == "" })

	id := selfHeal(t, f, e, map[int]string{0: aquila.RepairRestartServices, 1: aquila.RepairReboot})
	op := waitState(t, svc, id, aquila.Succeeded)
	require.Equal(t, 8, op.TasksSucceeded)

	require.Equal(t, []string{"1.0.0", "1.0.0", "1.0.0"}, f.answers(), "the killed service answers again")
	require.NotEqual(t, old, servicePID(t, f.roots[killed.id]))
	require.FileExists(t, filepath.Join(marks, rebooted.name), "the reboot command ran on the rebooted host")
	require.NoFileExists(t, filepath.Join(marks, killed.name), "a RESTART_SERVICES host is not rebooted")
	require.Equal(t, 2, count(t, f.pool, `SELECT count(*) FROM host WHERE id = ANY($1) AND state = 'ONLINE' AND held_by_operation IS NULL`,
		[]int64{killed.id, rebooted.id}))

	require.Contains(t, taskOutput(t, f.pool, id, killed.id, aquila.ActionHealRepair), "RESTART VERSIONSRV 1.0.0: SUCCEEDED")
	reboot := taskOutput(t, f.pool, id, rebooted.id, aquila.ActionHealRepair)
	require.Contains(t, reboot, "REBOOT "+rebooted.name+" : SUCCEEDED")
	require.Contains(t, reboot, "is alive: last heartbeat")
	for _, h := range []fleetHost{killed, rebooted} {
		verify := taskOutput(t, f.pool, id, h.id, aquila.ActionHealVerify)
		require.Contains(t, verify, "is alive")
		require.Contains(t, verify, "CHECK VERSIONSRV 1.0.0: SUCCEEDED")
		require.Contains(t, taskOutput(t, f.pool, id, h.id, aquila.ActionHealReturn), "repaired and verified")
	}
	require.Equal(t, 1, count(t, f.pool, `SELECT count(*) FROM agent_task WHERE action = 'REBOOT' AND host_id = $1 AND state = 'SUCCEEDED'`, rebooted.id))
	require.Zero(t, count(t, f.pool, `SELECT count(*) FROM agent_task WHERE action = 'REBOOT' AND host_id <> $1`, rebooted.id))
}

// TestAgentExecutorHealVerifyFailsOnADeadService: a host whose service was
// killed is "rebooted" (the harmless command restarts nothing), so its
// HEAL_VERIFY's check finds the service dead: the task fails naming it, the
// component is FAILED, and the host leaves the self-heal DEGRADED, not
// ONLINE.
func TestAgentExecutorHealVerifyFailsOnADeadService(t *testing.T) {
	t.Parallel()
	f, _ := healFleet(t)
	e, _ := startEngine(t, f.pool, f.exec, testConfig())
	svc := newService(f.pool, e)
	sick := f.hosts[2]
	agenttest.KillServices(f.roots[sick.id])
	waitFor(t, "the killed service stops answering", func() bool { return f.answers()[2] == "" })

	id := selfHeal(t, f, e, map[int]string{2: aquila.RepairReboot})
	var op *aquila.Operation
	waitFor(t, "the self-heal ends", func() bool {
		var err error
		op, err = svc.Operation(operatorCtx(), id)
		require.NoError(t, err)
		return !op.State.Active()
	})
	require.Equal(t, 1, op.TasksFailed, "%+v", op)
	var state, output string
	require.NoError(t, f.pool.QueryRow(context.Background(), `SELECT state, output FROM operation_task
		WHERE operation_id = $1 AND action = $2`, id, aquila.ActionHealVerify).Scan(&state, &output))
	require.Equal(t, "FAILED", state)
	require.Contains(t, output, "CHECK VERSIONSRV on "+sick.name+": FAILED")
	require.Equal(t, 1, count(t, f.pool, `SELECT count(*) FROM host_component WHERE host_id = $1 AND service = 'VERSIONSRV' AND actual_state = 'FAILED'`, sick.id))
	require.Equal(t, 1, count(t, f.pool, `SELECT count(*) FROM host WHERE id = $1 AND state = 'DEGRADED' AND held_by_operation IS NULL`, sick.id))
}
