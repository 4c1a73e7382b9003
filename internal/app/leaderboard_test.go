package app

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/fixture"
	"github.com/teslaops/tesla/internal/leaderboard"
)

// Leaderboards end to end through the real handler: the computed week is the
// latest list; any signed-in person reads both ends with names and figures,
// also of jobs outside their BU; entries link to the job page; a person's
// standing comes with the Person; bad input names the argument; nobody
// signed in is refused.
func TestLeaderboardThroughGraphQL(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	week := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	jobs := map[string]int64{}
	for _, j := range []struct {
		name, owner     string
		requested, used float64
	}{{"good", fixture.Viewer, 20, 19}, {"poor", fixture.Outsider, 100, 15}, {"tiny", fixture.Outsider, 2, 2}} {
		var id int64
		require.NoError(t, e.db.Pool.QueryRow(ctx, `INSERT INTO job (namespace, name, owner_id, cluster_id) VALUES ('t', $1, $2, $3) RETURNING id`,
			j.name, e.fleet.People[j.owner], e.fleet.Clusters["batch-wh-1"]).Scan(&id))
		_, err := e.db.Pool.Exec(ctx, `INSERT INTO job_usage_1h (job_id, hour, requested_core_seconds, used_core_seconds) VALUES ($1, $2, $3, $4)`,
			id, week.Add(26*time.Hour), j.requested*3600, j.used*3600)
		require.NoError(t, err)
		jobs[j.name] = id
	}
	_, err := e.db.Pool.Exec(ctx, `INSERT INTO job_finding (job_id, heuristic, severity, advice, analyzed_at)
		VALUES ($1, 'cpu requests', 3, 'request 16 cores instead of 100: it used 15', now())`, jobs["poor"])
	require.NoError(t, err)
	comp := leaderboard.NewComputer(e.db.Pool, leaderboard.Config{MinPersonCoreHours: 10}, nil, nil)
	_, err = comp.Compute(ctx, leaderboard.Week, week)
	require.NoError(t, err)

	const q = `query($list: LeaderboardList!, $first: Int) {
		leaderboard(level: JOB, list: $list, metric: EFFICIENCY, first: $first) {
			level list metric period start end computedAt higherIsBetter unit platformMedian minimumVolume rankedCount
			entries { rank previousRank movement subjectId name context value display comparison volume improve improveUrl } } }`
	r := e.gql(t, e.as(fixture.Viewer), q, map[string]any{"list": "BLACK"})
	require.Empty(t, r.Errors, r.Raw)
	require.Equal(t, "2026-11-02T00:00:00Z", dig(r.Data, "leaderboard", "start"), r.Raw)
	require.Equal(t, "2026-11-09T00:00:00Z", dig(r.Data, "leaderboard", "end"))
	require.Equal(t, float64(2), dig(r.Data, "leaderboard", "rankedCount"), "the 2-core-hour job is under the minimum")
	require.Equal(t, "at least 10 core-hours used", dig(r.Data, "leaderboard", "minimumVolume"))
	worst := dig(r.Data, "leaderboard", "entries", 0)
	require.Equal(t, "t/poor", dig(worst, "name"), r.Raw)
	require.Equal(t, "Bob Outsider", dig(worst, "context"), "another BU's names are readable")
	require.Equal(t, b64(fmt.Sprintf("Job:%d", jobs["poor"])), dig(worst, "subjectId"))
	require.Equal(t, "15%", dig(worst, "display"))
	require.Equal(t, "efficiency 15% against a platform median of 55%", dig(worst, "comparison"))
	require.Equal(t, "request 16 cores instead of 100: it used 15", dig(worst, "improve"))
	require.Equal(t, "/jobs/"+b64(fmt.Sprintf("Job:%d", jobs["poor"])), dig(worst, "improveUrl"))
	require.NotNil(t, dig(r.Extensions, "cost", "requested"), r.Raw)

	r = e.gql(t, e.as(fixture.Outsider), q, map[string]any{"list": "RED", "first": 1})
	require.Empty(t, r.Errors, r.Raw)
	require.Len(t, dig(r.Data, "leaderboard", "entries"), 1)
	require.Equal(t, "t/good", dig(r.Data, "leaderboard", "entries", 0, "name"))

	r = e.gql(t, e.as(fixture.Viewer), `query($id: ID!) { node(id: $id) { ... on Person {
		standing(period: WEEK) { metric period rank rankedCount list value display comparison movement } } } }`,
		map[string]any{"id": b64(fmt.Sprintf("Person:%d", e.fleet.People[fixture.Viewer]))})
	require.Empty(t, r.Errors, r.Raw)
	require.Equal(t, "EFFICIENCY", dig(r.Data, "node", "standing", 0, "metric"), r.Raw)
	require.Equal(t, float64(1), dig(r.Data, "node", "standing", 0, "rank"), r.Raw)
	require.Equal(t, "RED", dig(r.Data, "node", "standing", 0, "list"), r.Raw)
	require.Nil(t, dig(r.Data, "node", "standing", 4, "rank"), "HEALTH has no scores here")

	r = e.gql(t, e.as(fixture.Viewer), q, map[string]any{"list": "RED", "first": 500})
	require.Equal(t, "BAD_USER_INPUT", r.code(), r.Raw)
	require.Contains(t, r.Errors[0].Message, "first")
	requireNoSecrets(t, r.Raw)
	r = e.gql(t, "", q, map[string]any{"list": "RED"})
	require.NotEmpty(t, r.Errors, r.Raw)
	require.Nil(t, dig(r.Data, "leaderboard"))
}
