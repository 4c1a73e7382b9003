package app

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/graph/model"
	"github.com/teslaops/tesla/internal/fixture"
	"github.com/teslaops/tesla/internal/health"
)

const hostsHealthQuery = `query($n: Int) { hosts(first: $n) { nodes { hostname
	health { score grade computedAt components { name weight score lostPoints reason } history(days: 7) { day score } } } } }`

// Health scores end to end through the real handler: hosts with their health
// and history in a constant number of statements, rankings under each role's
// rules, a job's health hidden from who may not read its runs, bad arguments
// as BAD_USER_INPUT.
func TestHealthThroughGraphQL(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	f := e.fleet
	_, err := e.db.Pool.Exec(ctx, `UPDATE host_component SET actual_state = 'FAILED' WHERE host_id = $1 AND service = 'YARN'`, f.Hosts["online-1-n02"])
	require.NoError(t, err)
	var job int64
	require.NoError(t, e.db.Pool.QueryRow(ctx, `INSERT INTO job (namespace, name, owner_id, cluster_id) VALUES ('t', 'a', $1, $2) RETURNING id`,
		f.People[fixture.Viewer], f.Clusters["batch-wh-1"]).Scan(&job))
	now := time.Now().UTC()
	_, err = e.db.Pool.Exec(ctx, `INSERT INTO job_run (job_id, run_uuid, state, started_at, ended_at)
		VALUES ($1, gen_random_uuid(), 'FAILED', $2, $3), ($1, gen_random_uuid(), 'COMPLETED', $2, $3)`, job, now.Add(-2*time.Hour), now.Add(-time.Hour))
	require.NoError(t, err)

	// Before the job has run, nothing is scored: health is null.
	r := e.gql(t, e.as(fixture.Viewer), hostsHealthQuery, map[string]any{"n": 1})
	require.Empty(t, r.Errors, r.Raw)
	require.Nil(t, dig(r.Data, "hosts", "nodes", 0, "health"))

	_, err = health.NewComputer(e.db.Pool, health.Config{}).RunOnce(ctx)
	require.NoError(t, err)

	r = e.gql(t, e.as(fixture.Viewer), hostsHealthQuery, map[string]any{"n": 20})
	require.Empty(t, r.Errors, r.Raw)
	var found bool
	for _, n := range dig(r.Data, "hosts", "nodes").([]any) {
		if dig(n, "hostname") != "online-1-n02" {
			continue
		}
		found = true
		require.Equal(t, 96.3, dig(n, "health", "score"), r.Raw)
		require.Equal(t, "GOOD", dig(n, "health", "grade"))
		c := dig(n, "health", "components", 3)
		require.Equal(t, "components", dig(c, "name"))
		require.Equal(t, 0.15, dig(c, "weight"))
		require.Equal(t, 75.0, dig(c, "score"))
		require.InDelta(t, 3.75, dig(c, "lostPoints").(float64), 1e-9)
		require.Equal(t, "1 of 2 components not in their desired state: YARN/NODEMANAGER FAILED", dig(c, "reason"))
		require.Len(t, dig(n, "health", "history").([]any), 1)
		require.Equal(t, now.Truncate(24*time.Hour).Format(time.RFC3339), dig(n, "health", "history", 0, "day"))
	}
	require.True(t, found, r.Raw)

	// Loaders: the statements do not grow with the hosts listed.
	count := func(n int) int64 {
		e.counter.Reset()
		r := e.gql(t, e.as(fixture.Viewer), hostsHealthQuery, map[string]any{"n": n})
		require.Empty(t, r.Errors, r.Raw)
		return e.counter.Count()
	}
	require.Equal(t, count(2), count(17))

	const ranking = `query($level: HealthLevel!, $order: OrderDirection, $cluster: ID, $bu: ID, $first: Int) {
		healthRanking(level: $level, order: $order, cluster: $cluster, bu: $bu, first: $first) { rank subjectId name score grade worstComponent reason } }`
	r = e.gql(t, e.as(fixture.Outsider), ranking, map[string]any{"level": "HOST", "cluster": model.GlobalID(model.KindCluster, f.Clusters["online-1"]), "first": 2})
	require.Empty(t, r.Errors, r.Raw)
	require.Equal(t, "online-1-n03", dig(r.Data, "healthRanking", 0, "name"), "the DEGRADED host first: %s", r.Raw)
	require.Equal(t, "state", dig(r.Data, "healthRanking", 0, "worstComponent"))
	require.Equal(t, "online-1-n02", dig(r.Data, "healthRanking", 1, "name"))
	require.Equal(t, model.GlobalID(model.KindHost, f.Hosts["online-1-n02"]), dig(r.Data, "healthRanking", 1, "subjectId"))

	// Jobs: the owner sees theirs, another viewer does not.
	r = e.gql(t, e.as(fixture.Viewer), ranking, map[string]any{"level": "JOB"})
	require.Empty(t, r.Errors, r.Raw)
	require.Equal(t, "t/a", dig(r.Data, "healthRanking", 0, "name"))
	require.Equal(t, "FAIR", dig(r.Data, "healthRanking", 0, "grade"), r.Raw)
	require.Equal(t, "1 of 2 runs failed in 7 days (50%)", dig(r.Data, "healthRanking", 0, "reason"))
	r = e.gql(t, e.as(fixture.Outsider), ranking, map[string]any{"level": "JOB"})
	require.Empty(t, r.Errors, r.Raw)
	require.Empty(t, dig(r.Data, "healthRanking"))
	r = e.gql(t, e.as(fixture.Outsider), ranking, map[string]any{"level": "PERSON", "bu": model.GlobalID(model.KindBU, f.BUs["ADS"])})
	require.Equal(t, "FORBIDDEN", r.code(), r.Raw)
	r = e.gql(t, e.as(fixture.BULead), ranking, map[string]any{"level": "PERSON", "order": "DESC"})
	require.Empty(t, r.Errors, r.Raw)
	require.Len(t, dig(r.Data, "healthRanking"), 2, "lead and alice: %s", r.Raw)

	const jobHealth = `query($id: ID!) { job(id: $id) { name health { score components { name reason } } } }`
	r = e.gql(t, e.as(fixture.Viewer), jobHealth, map[string]any{"id": model.GlobalID(model.KindJob, job)})
	require.Empty(t, r.Errors, r.Raw)
	require.Equal(t, 65.0, dig(r.Data, "job", "health", "score"), r.Raw)
	r = e.gql(t, e.as(fixture.Outsider), jobHealth, map[string]any{"id": model.GlobalID(model.KindJob, job)})
	require.Empty(t, r.Errors, r.Raw)
	require.Nil(t, dig(r.Data, "job", "health"), "hidden like the job's runs")

	// People, BUs and clusters.
	r = e.gql(t, e.as(fixture.Viewer), `{ me { person { health { score components { name score reason } } } } }`, nil)
	require.Empty(t, r.Errors, r.Raw)
	require.Equal(t, 65.0, dig(r.Data, "me", "person", "health", "components", 0, "score"), r.Raw)
	require.Equal(t, "no budget", dig(r.Data, "me", "person", "health", "components", 1, "reason"), r.Raw)
	r = e.gql(t, e.as(fixture.Admin), `query($id: ID!) { node(id: $id) { ... on Cluster { health { score components { name } } } } }`,
		map[string]any{"id": model.GlobalID(model.KindCluster, f.Clusters["online-1"])})
	require.Empty(t, r.Errors, r.Raw)
	require.Equal(t, "waterlevel", dig(r.Data, "node", "health", "components", 0, "name"))

	// history's days default to 30.
	r = e.gql(t, e.as(fixture.Viewer), `{ hosts(first: 1) { nodes { health { history { day score } } } } }`, nil)
	require.Empty(t, r.Errors, r.Raw)
	require.Len(t, dig(r.Data, "hosts", "nodes", 0, "health", "history"), 1, r.Raw)

	// Bad arguments name their field.
	r = e.gql(t, e.as(fixture.Viewer), ranking, map[string]any{"level": "HOST", "first": 0})
	require.Equal(t, "BAD_USER_INPUT", r.code(), r.Raw)
	require.Contains(t, r.Errors[0].Message, "first must be between 1 and 100")
	r = e.gql(t, e.as(fixture.Viewer), ranking, map[string]any{"level": "HOST", "cluster": "nonsense"})
	require.Equal(t, "BAD_USER_INPUT", r.code(), r.Raw)
	r = e.gql(t, e.as(fixture.Viewer), `{ hosts(first: 1) { nodes { health { history(days: 500) { score } } } } }`, nil)
	require.Equal(t, "BAD_USER_INPUT", r.code(), r.Raw)
	r = e.gql(t, "", ranking, map[string]any{"level": "HOST"})
	require.Equal(t, "UNAUTHENTICATED", r.code(), r.Raw)
}
