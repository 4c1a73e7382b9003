package aquila_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/aquila"
	"github.com/teslaops/tesla/internal/audit"
	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/configuration"
	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/fixture"
)

// Applying a configuration change starts a CONFIG_APPLY: per rolling batch a
// stage writing the files, then a stage restarting the service; when it
// ends every component runs the new version and none is listed stale. A
// host moved into a group is rolled out to alone by Reapply. A CONFIG_APPLY
// of a version that is not current is refused.
func TestConfigApplyWritesThenRestartsInBatchesAndStampsVersions(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	f := fixture.New(t, pool)
	ctx := context.Background()
	engine, _ := startEngine(t, pool, aquila.NewSimulatedExecutor(aquila.SimulatedConfig{Median: time.Millisecond}), testConfig())
	ops := newService(pool, engine)
	cfg := configuration.NewService(pool, audit.New(pool, quiet), nil).WithRollouter(aquila.ConfigRollouter{Service: ops, BatchPercent: 30})
	opsCtx := auth.WithPrincipal(ctx, &auth.Principal{PersonID: f.People[fixture.Operator], Login: fixture.Operator, Role: auth.Operator})
	adminCtx := auth.WithPrincipal(ctx, &auth.Principal{PersonID: f.People[fixture.Admin], Login: fixture.Admin, Role: auth.Admin})
	cluster := f.Clusters["batch-wh-1"]
	// The fixture's REPAIRING host would fill the 10% out-of-service share
	// (one host of seven) and hold the rollout back: it is repaired first.
	_, err := pool.Exec(ctx, `UPDATE host SET state = 'ONLINE' WHERE cluster_id = $1 AND state = 'REPAIRING'`, cluster)
	require.NoError(t, err)

	site := "<configuration>\n  <property><name>dfs.replication</name><value>3</value></property>\n</configuration>\n"
	ch, err := cfg.Propose(opsCtx, configuration.ProposeInput{ClusterID: cluster, Message: "replication 3",
		Files: []configuration.FileChange{{Service: "HDFS", Path: "hdfs-site.xml", Content: &site}}})
	require.NoError(t, err)
	_, err = cfg.Review(adminCtx, configuration.ReviewInput{ChangeID: ch.ID, Approve: true})
	require.NoError(t, err)
	applied, err := cfg.Apply(opsCtx, ch.ID)
	require.NoError(t, err)
	require.Empty(t, applied.RolloutError)
	require.NotZero(t, applied.OperationID)

	prog, err := ops.Progress(operatorCtx(), applied.OperationID)
	require.NoError(t, err)
	// 7 live hosts; the batch share (30%) is capped by the operation's
	// out-of-service share (10%): one host per batch, 7 batches of two stages.
	require.Len(t, prog.Stages, 14)
	for i, s := range prog.Stages {
		if i%2 == 0 {
			require.True(t, strings.HasPrefix(s.Name, "write HDFS config "), s.Name)
		} else {
			require.True(t, strings.HasPrefix(s.Name, "restart HDFS "), s.Name)
		}
	}
	var params aquila.ConfigTaskParams
	var raw []byte
	require.NoError(t, pool.QueryRow(ctx, `SELECT params FROM operation_task WHERE operation_id = $1 AND action = 'WRITE_CONFIG' LIMIT 1`, applied.OperationID).Scan(&raw))
	require.NoError(t, json.Unmarshal(raw, &params))
	require.Equal(t, "HDFS", params.Service)
	require.EqualValues(t, 1, params.ConfigVersion)
	require.Len(t, params.Files, 1)
	require.Equal(t, "hdfs-site.xml", params.Files[0].Path)

	waitState(t, ops, applied.OperationID, aquila.Succeeded)
	stale, err := cfg.StaleHosts(opsCtx, cluster, 0)
	require.NoError(t, err)
	require.Zero(t, stale.Total, "%+v", stale.Items)
	var states []string
	require.NoError(t, pool.QueryRow(ctx, `SELECT array_agg(DISTINCT c.actual_state) FROM host_component c JOIN host h ON h.id = c.host_id
		WHERE h.cluster_id = $1 AND h.state <> 'DECOMMISSIONED' AND c.service = 'HDFS'`, cluster).Scan(&states))
	require.Equal(t, []string{"STARTED"}, states)

	// A host moved into a group is behind; Reapply rolls version 1 out to it
	// alone (fromVersion = version): one write stage, one restart stage.
	n2 := f.Hosts["batch-wh-1-n02"]
	pinned := "<configuration>\n  <property><name>dfs.replication</name><value>1</value></property>\n</configuration>\n"
	_, err = cfg.SetGroup(adminCtx, configuration.GroupInput{ClusterID: cluster, Name: "pinned", Position: 1, Rule: configuration.ByList, Hosts: []int64{n2}})
	require.NoError(t, err)
	stale, err = cfg.StaleHosts(opsCtx, cluster, 0)
	require.NoError(t, err)
	require.Zero(t, stale.Total, "the group has no files yet: nothing changed")
	ch, err = cfg.Propose(opsCtx, configuration.ProposeInput{ClusterID: cluster, BaseVersion: 1, Message: "pin n02",
		Files: []configuration.FileChange{{Group: "pinned", Service: "HDFS", Path: "hdfs-site.xml", Content: &pinned}}})
	require.NoError(t, err)
	_, err = cfg.Review(adminCtx, configuration.ReviewInput{ChangeID: ch.ID, Approve: true})
	require.NoError(t, err)
	applied, err = cfg.Apply(opsCtx, ch.ID)
	require.NoError(t, err)
	require.Len(t, applied.Rollout.Targets, 1)
	waitState(t, ops, applied.OperationID, aquila.Succeeded)
	n3 := f.Hosts["batch-wh-1-n03"]
	_, err = cfg.SetGroup(adminCtx, configuration.GroupInput{ClusterID: cluster, Name: "pinned", Position: 1, Rule: configuration.ByList, Hosts: []int64{n2, n3}})
	require.NoError(t, err)
	again, err := cfg.Reapply(opsCtx, cluster)
	require.NoError(t, err)
	require.Empty(t, again.RolloutError)
	prog, err = ops.Progress(operatorCtx(), again.OperationID)
	require.NoError(t, err)
	require.Len(t, prog.Stages, 2)
	waitState(t, ops, again.OperationID, aquila.Succeeded)
	stale, err = cfg.StaleHosts(opsCtx, cluster, 0)
	require.NoError(t, err)
	require.Zero(t, stale.Total)
	files, err := configuration.HostFiles(ctx, pool, n3, "HDFS", 2)
	require.NoError(t, err)
	require.Equal(t, pinned, files[0].Content)

	// Version 2 is current; a CONFIG_APPLY of version 2 from 1 again has
	// nothing to do, and one of an old version is refused.
	p, _ := json.Marshal(aquila.ConfigApplyParams{Version: 2, FromVersion: 1})
	_, err = ops.Submit(operatorCtx(), aquila.Request{Kind: aquila.KindConfigApply, ClusterID: cluster, Params: p, Reason: "again"})
	require.True(t, fault.Is(err, fault.Invalid), "got %v", err)
	_, err = cfg.Rollback(opsCtx, configuration.RollbackInput{ClusterID: cluster, ToVersion: 2, Reason: "x"})
	require.True(t, fault.Is(err, fault.Invalid), "rolling back to the current version: %v", err)
	p, _ = json.Marshal(aquila.ConfigApplyParams{Version: 3, FromVersion: 2})
	_, err = ops.Submit(operatorCtx(), aquila.Request{Kind: aquila.KindConfigApply, ClusterID: cluster, Params: p, Reason: "future"})
	require.True(t, fault.Is(err, fault.Conflict), "got %v", err)
}
