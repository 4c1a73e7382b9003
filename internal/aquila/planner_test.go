package aquila_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/aquila"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/fault"
)

func TestRestartPlannerStopOrderAndBatches(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := context.Background()
	clusterID, hosts := cluster(t, pool, 10)
	// HDFS runs on the first four hosts beside YARN.
	_, err := pool.Exec(ctx, `INSERT INTO host_component (host_id, service, component, version)
		SELECT unnest($1::bigint[]), 'HDFS', 'DATANODE', '3.2.0'`, hosts[:4])
	require.NoError(t, err)

	req := restartReq(clusterID, 20, 20, 0)
	req.RequestedBy = "ops"
	plan, err := aquila.RestartPlanner{}.Plan(ctx, pool, req)
	require.NoError(t, err)
	var names []string
	for _, s := range plan.Stages {
		names = append(names, s.Name)
	}
	// Name order: HDFS first; 20% of 10 hosts is two in service per stage, and
	// the MAINTENANCE hosts (every fifth) ride along.
	require.Equal(t, "restart HDFS 1/2", names[0])
	require.Equal(t, "restart YARN 1/4", names[2])
	require.Len(t, names, 6)
	var p aquila.ServiceParams
	require.NoError(t, json.Unmarshal(plan.Stages[0].Tasks[0].Params, &p))
	require.Equal(t, "HDFS", p.Service)

	// A known stop order wins over names.
	ordered := aquila.RestartPlanner{Order: func(context.Context, db.DBTX, int64) ([]string, error) {
		return []string{"YARN", "HDFS"}, nil
	}}
	plan, err = ordered.Plan(ctx, pool, req)
	require.NoError(t, err)
	require.Equal(t, "restart YARN 1/4", plan.Stages[0].Name)

	// One service only, and a service nobody runs.
	only, _ := json.Marshal(aquila.RestartParams{Services: []string{"HDFS"}, BatchPercent: 20})
	req.Params = only
	plan, err = aquila.RestartPlanner{}.Plan(ctx, pool, req)
	require.NoError(t, err)
	require.Len(t, plan.Stages, 2)
	none, _ := json.Marshal(aquila.RestartParams{Services: []string{"KAFKA"}})
	req.Params = none
	_, err = aquila.RestartPlanner{}.Plan(ctx, pool, req)
	require.True(t, fault.Is(err, fault.Invalid), "got %v", err)
}

func TestSimulatedOutcomeDependsOnlyOnSeedAndKey(t *testing.T) {
	t.Parallel()
	exec := aquila.NewSimulatedExecutor(aquila.SimulatedConfig{Median: time.Microsecond, FailureRate: 0.5, Seed: 7})
	failures := 0
	for id := range int64(200) {
		task := aquila.Task{TaskID: id, Attempt: 1, Hostname: "h", Action: aquila.ActionRestart}
		_, first := exec.Run(context.Background(), task)
		_, again := exec.Run(context.Background(), task)
		require.Equal(t, first, again, "the same key must give the same outcome")
		if first != nil {
			failures++
		}
	}
	require.InDelta(t, 100, failures, 30, "about half fail at a 50%% rate")
}
