package agentapi

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/agenttask"
	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/fixture"
)

// benchQueue is a task queue on a database with the hosts of the largest
// cluster (20,000), each with a task queued, and the host ids.
func benchQueue(b *testing.B) (*Tasks, []int64) {
	b.Helper()
	pool := dbtest.New(b)
	ctx := context.Background()
	clusters := fixture.Bulk(b, pool, 1, 1)
	_, err := pool.Exec(ctx, `INSERT INTO host (cluster_id, hostname, cpu_cores, memory_bytes, disk_bytes, nic_bps, state)
		SELECT $1, 'bench-' || h, 64, 256::bigint << 30, 8e12, 25e9, 'ONLINE' FROM generate_series(1, 19999) h`, clusters[0])
	require.NoError(b, err)
	rows, err := pool.Query(ctx, `SELECT id FROM host WHERE cluster_id = $1 ORDER BY id`, clusters[0])
	require.NoError(b, err)
	var hosts []int64
	for rows.Next() {
		var id int64
		require.NoError(b, rows.Scan(&id))
		hosts = append(hosts, id)
	}
	require.NoError(b, rows.Err())
	_, err = pool.Exec(ctx, `INSERT INTO agent_task (host_id, idempotency_key, action, spec, lease_seconds, deadline)
		SELECT id, 'bench/' || id, 'CHECK', '{"action":"CHECK","service":"s","health":{"kind":"TCP","address":"127.0.0.1:1"}}', 60, now() + interval '1 hour'
		FROM host WHERE cluster_id = $1`, clusters[0])
	require.NoError(b, err)
	_, err = pool.Exec(ctx, `ANALYZE agent_task`)
	require.NoError(b, err)
	return NewTasks(pool, nil, slog.New(slog.DiscardHandler), TasksConfig{}), hosts
}

// BenchmarkTaskPollEmpty is the poll of an agent with nothing to do, the
// fleet's steady state (one per agent per wait), among 20,000 queued tasks of
// other hosts.
func BenchmarkTaskPollEmpty(b *testing.B) {
	tasks, hosts := benchQueue(b)
	ctx := context.Background()
	// The first host's task is claimed, so its polls find nothing.
	got, err := tasks.Poll(ctx, hosts[0], 1, 0)
	require.NoError(b, err)
	require.Len(b, got, 1)
	b.ResetTimer()
	for b.Loop() {
		got, err := tasks.Poll(ctx, hosts[0], 1, 0)
		if err != nil || len(got) != 0 {
			b.Fatalf("poll: %v %v", got, err)
		}
	}
}

// BenchmarkTaskCycle is one host task's whole life on the server: Dispatch,
// the agent's claim, a RUNNING report, the final report, and Wait returning.
func BenchmarkTaskCycle(b *testing.B) {
	tasks, hosts := benchQueue(b)
	ctx := context.Background()
	spec := agenttask.Spec{Action: agenttask.ActionCheck, Service: "s",
		Health: &agenttask.HealthCheck{Kind: agenttask.HealthTCP, Address: "127.0.0.1:1"}}
	now := time.Now().UTC()
	steps := []agenttask.Step{{Name: "health", State: agenttask.StepOK, Output: "connected", StartedAt: now, FinishedAt: &now}}
	i := 0
	for b.Loop() {
		host := hosts[i%len(hosts)]
		i++
		id, err := tasks.Dispatch(ctx, host, fmt.Sprintf("cycle/%d", i), spec)
		require.NoError(b, err)
		// The host's bench task is older: claim both the first time round.
		got, err := tasks.Poll(ctx, host, 2, 0)
		require.NoError(b, err)
		require.NotEmpty(b, got)
		_, err = tasks.report(ctx, host, id, agenttask.Report{State: agenttask.StateRunning, Steps: steps[:0]})
		require.NoError(b, err)
		_, err = tasks.report(ctx, host, id, agenttask.Report{State: agenttask.StateSucceeded, Steps: steps, Output: "ok"})
		require.NoError(b, err)
		r, err := tasks.Wait(ctx, id)
		require.NoError(b, err)
		require.Equal(b, agenttask.StateSucceeded, r.State)
	}
}
