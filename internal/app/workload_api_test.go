package app

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/fixture"
	"github.com/teslaops/tesla/internal/workload"
)

// jobsEnv seeds jobs on the fixture fleet:
//
//	alice-0..11  owned by alice (ADS-SEARCH), rt-ads-1, queue root.etl, priorities P1..P4, every third STREAMING
//	bob-0..4     owned by bob (PLATFORM), batch-wh-1; bob-0 in root.etl too
//	ads-0..2     no owner, BU ADS
//	plat-0..1    nobody's (the platform's)
//
// alice-0 has 7 runs, one not started yet; the queue's jobs used core-seconds
// in the last hours.
type jobsEnv struct {
	*testEnv
	jobs   map[string]string // global ids by name
	dbJobs map[string]int64
	queues map[string]int64
}

func newJobsEnv(t *testing.T) *jobsEnv {
	e := &jobsEnv{testEnv: newEnv(t), jobs: map[string]string{}, dbJobs: map[string]int64{}}
	ctx := context.Background()
	pool := e.db.Pool
	var err error
	e.queues, err = workload.UpsertQueues(ctx, pool, e.fleet.Clusters["rt-ads-1"], []workload.QueueSpec{
		{Path: "root", SchedulerType: "CAPACITY", GuaranteedVcores: 1, MaxVcores: 1, GuaranteedMemory: 1, MaxMemory: 1, Weight: 1},
		{Path: "root.etl", SchedulerType: "CAPACITY", GuaranteedVcores: 0.6, MaxVcores: 1, GuaranteedMemory: 0.6, MaxMemory: 1, Weight: 2},
		{Path: "root.adhoc", SchedulerType: "CAPACITY", GuaranteedVcores: 0.4, MaxVcores: 1, GuaranteedMemory: 0.4, MaxMemory: 1, Weight: 1},
	})
	require.NoError(t, err)
	add := func(name string, owner, bu, cluster, queue *int64, kind, prio string) {
		var id int64
		require.NoError(t, pool.QueryRow(ctx, `INSERT INTO job (namespace, name, owner_id, bu_id, cluster_id, queue_id, kind, priority)
			VALUES ('t', $1, $2, $3, $4, $5, $6, $7) RETURNING id`, name, owner, bu, cluster, queue, kind, prio).Scan(&id))
		e.dbJobs[name] = id
		e.jobs[name] = b64(fmt.Sprintf("Job:%d", id))
	}
	ptr := func(v int64) *int64 { return &v }
	alice, bob := ptr(e.fleet.People[fixture.Viewer]), ptr(e.fleet.People[fixture.Outsider])
	ads, etl := ptr(e.fleet.BUs["ADS"]), ptr(e.queues["root.etl"])
	rt, wh := ptr(e.fleet.Clusters["rt-ads-1"]), ptr(e.fleet.Clusters["batch-wh-1"])
	for i := range 12 {
		kind := "BATCH"
		if i%3 == 0 {
			kind = "STREAMING"
		}
		add(fmt.Sprintf("alice-%d", i), alice, nil, rt, etl, kind, fmt.Sprintf("P%d", 1+i%4))
	}
	for i := range 5 {
		q := (*int64)(nil)
		if i == 0 {
			q = etl
		}
		add(fmt.Sprintf("bob-%d", i), bob, nil, wh, q, "BATCH", "P2")
	}
	for i := range 3 {
		add(fmt.Sprintf("ads-%d", i), nil, ads, nil, nil, "BATCH", "P3")
	}
	for i := range 2 {
		add(fmt.Sprintf("plat-%d", i), nil, nil, nil, nil, "BATCH", "P2")
	}
	now := time.Now().UTC()
	for i := range 7 {
		var started any
		if i > 0 {
			started = now.Add(-time.Duration(i) * time.Hour)
		}
		state := "COMPLETED"
		if i%3 == 0 {
			state = "FAILED"
		}
		_, err := pool.Exec(ctx, `INSERT INTO job_run (job_id, run_uuid, state, started_at) VALUES ($1, gen_random_uuid(), $2, $3)`,
			e.dbJobs["alice-0"], state, started)
		require.NoError(t, err)
	}
	hour := now.Truncate(time.Hour).Add(-2 * time.Hour)
	require.NoError(t, workload.UpsertJobUsage(ctx, pool, []workload.UsageHour{
		{JobID: e.dbJobs["alice-0"], Hour: hour, Runs: 1, UsedCoreSeconds: 300},
		{JobID: e.dbJobs["alice-1"], Hour: hour, Runs: 1, UsedCoreSeconds: 100},
		{JobID: e.dbJobs["bob-0"], Hour: hour, Runs: 1, UsedCoreSeconds: 600},
		{JobID: e.dbJobs["bob-1"], Hour: hour, Runs: 1, UsedCoreSeconds: 5000}, // not in the queue
	}))
	return e
}

const jobsQuery = `query($filter: JobFilter, $first: Int, $after: String, $order: JobOrder) {
  jobs(filter: $filter, first: $first, after: $after, orderBy: $order) {
    totalCount
    nodes { id name priority }
    pageInfo { hasNextPage endCursor }
  }
}`

// pageAll pages a job listing to its end, three at a time, and returns the
// names in order; it fails on a repeated job or a total that disagrees.
func (e *jobsEnv) pageAll(t *testing.T, token string, filter, order map[string]any) []string {
	t.Helper()
	var names []string
	seen := map[string]bool{}
	var after any
	for range 100 {
		r := e.gql(t, token, jobsQuery, map[string]any{"filter": filter, "first": 3, "after": after, "order": order})
		require.Empty(t, r.Errors, r.Raw)
		for _, n := range dig(r.Data, "jobs", "nodes").([]any) {
			id := n.(map[string]any)["id"].(string)
			require.False(t, seen[id], "job %s twice", id)
			seen[id] = true
			names = append(names, n.(map[string]any)["name"].(string))
		}
		if after == nil {
			defer func(total float64) { require.EqualValues(t, total, len(names), "totalCount") }(dig(r.Data, "jobs", "totalCount").(float64))
		}
		if !dig(r.Data, "jobs", "pageInfo", "hasNextPage").(bool) {
			return names
		}
		after = dig(r.Data, "jobs", "pageInfo", "endCursor")
	}
	t.Fatal("no end")
	return nil
}

func TestJobsListingFiltersPageToTheEnd(t *testing.T) {
	t.Parallel()
	e := newJobsEnv(t)
	viewer := e.as(fixture.Viewer)
	gid := func(kind string, id int64) string { return b64(fmt.Sprintf("%s:%d", kind, id)) }
	cases := []struct {
		name   string
		filter map[string]any
		want   int
	}{
		{"none", nil, 22},
		{"owner", map[string]any{"owner": gid("Person", e.fleet.People[fixture.Viewer])}, 12},
		// ADS's subtree: alice's jobs (her BU ADS-SEARCH) and the ADS jobs.
		{"bu subtree", map[string]any{"bu": gid("BU", e.fleet.BUs["ADS"])}, 15},
		{"bu leaf", map[string]any{"bu": gid("BU", e.fleet.BUs["ADS-SEARCH"])}, 12},
		{"cluster", map[string]any{"cluster": gid("Cluster", e.fleet.Clusters["batch-wh-1"])}, 5},
		{"queue", map[string]any{"queue": gid("Queue", e.queues["root.etl"])}, 13},
		{"kind", map[string]any{"kind": "STREAMING"}, 4},
		{"priority", map[string]any{"priority": "P3"}, 6},
		{"together", map[string]any{"owner": gid("Person", e.fleet.People[fixture.Viewer]), "priority": "P1", "kind": "STREAMING"}, 1},
	}
	for _, c := range cases {
		names := e.pageAll(t, viewer, c.filter, nil)
		require.Len(t, names, c.want, c.name)
	}
	// Orderings: by name both ways, by priority.
	asc := e.pageAll(t, viewer, nil, map[string]any{"field": "NAME"})
	desc := e.pageAll(t, viewer, nil, map[string]any{"field": "NAME", "direction": "DESC"})
	require.IsIncreasing(t, asc)
	require.IsDecreasing(t, desc)
	r := e.gql(t, viewer, jobsQuery, map[string]any{"first": 5, "order": map[string]any{"field": "PRIORITY"}})
	require.Empty(t, r.Errors, r.Raw)
	require.Equal(t, "P1", dig(r.Data, "jobs", "nodes", 0, "priority"))
	// A cursor from another ordering is refused.
	r = e.gql(t, viewer, jobsQuery, map[string]any{"first": 1})
	cur := dig(r.Data, "jobs", "pageInfo", "endCursor")
	r = e.gql(t, viewer, jobsQuery, map[string]any{"first": 1, "after": cur, "order": map[string]any{"field": "NAME"}})
	require.Equal(t, "BAD_USER_INPUT", r.code(), r.Raw)
	// Person.jobs and BU.jobs.
	r = e.gql(t, e.as(fixture.Admin), `query($p: ID!, $b: ID!) {
	  p: node(id: $p) { ... on Person { jobs(first: 50) { totalCount } } }
	  b: node(id: $b) { ... on BU { jobs(first: 50) { totalCount } jobPriorityPolicy { maxP0Jobs isDefault } } } }`,
		map[string]any{"p": gid("Person", e.fleet.People[fixture.Outsider]), "b": gid("BU", e.fleet.BUs["ADS"])})
	require.Empty(t, r.Errors, r.Raw)
	require.EqualValues(t, 5, dig(r.Data, "p", "jobs", "totalCount"))
	require.EqualValues(t, 15, dig(r.Data, "b", "jobs", "totalCount"))
	require.Equal(t, map[string]any{"maxP0Jobs": float64(workload.DefaultMaxP0Jobs), "isDefault": true}, dig(r.Data, "b", "jobPriorityPolicy"))
}

// Listing is open to every role (job names are metadata, as in lineage);
// runs and usage follow workload.CanSeeRuns; a scoped token gets nothing.
func TestJobRunsAndUsageAccessPerRole(t *testing.T) {
	t.Parallel()
	e := newJobsEnv(t)
	q := `query($id: ID!) { job(id: $id) { name runs(first: 2) { totalCount nodes { state } } usage(from: "2000-01-01T00:00:00Z", to: "2000-02-01T00:00:00Z") { hour } } }`
	for _, c := range []struct {
		login, job, code string
	}{
		{fixture.Viewer, "alice-0", ""},
		{fixture.Viewer, "bob-0", "FORBIDDEN"},
		{fixture.Viewer, "ads-0", "FORBIDDEN"},
		{fixture.BULead, "alice-0", ""}, // ADS-SEARCH is in ADS's subtree
		{fixture.BULead, "ads-0", ""},
		{fixture.BULead, "bob-0", "FORBIDDEN"},
		{fixture.BULead, "plat-0", "FORBIDDEN"},
		{fixture.Operator, "bob-0", ""},
		{fixture.Operator, "plat-0", ""},
		{fixture.Outsider, "bob-0", ""},
	} {
		r := e.gql(t, e.as(c.login), q, map[string]any{"id": e.jobs[c.job]})
		require.Equal(t, c.code, r.code(), "%s reading %s: %s", c.login, c.job, r.Raw)
		require.Equal(t, c.job, dig(r.Data, "job", "name"), "the job itself is readable: %s", r.Raw)
	}
	for _, login := range []string{fixture.Viewer, fixture.Outsider, fixture.BULead} {
		r := e.gql(t, e.as(login), `{ jobs(first: 1) { totalCount } }`, nil)
		require.Empty(t, r.Errors, r.Raw)
		require.EqualValues(t, 22, dig(r.Data, "jobs", "totalCount"))
	}
	r := e.gql(t, ingestToken(t, e.testEnv), `{ jobs(first: 1) { totalCount } }`, nil)
	require.Equal(t, "FORBIDDEN", r.code(), r.Raw)
	r = e.gql(t, "", `{ jobs(first: 1) { totalCount } }`, nil)
	require.NotEmpty(t, r.Errors)
}

func TestJobRunsPageNewestFirst(t *testing.T) {
	t.Parallel()
	e := newJobsEnv(t)
	q := `query($id: ID!, $after: String, $state: JobRunState, $from: Time) { job(id: $id) {
	  runs(first: 3, after: $after, state: $state, from: $from) { totalCount nodes { id startedAt state } pageInfo { hasNextPage endCursor } } } }`
	var started []any
	seen := map[string]bool{}
	var after any
	for {
		r := e.gql(t, e.as(fixture.Viewer), q, map[string]any{"id": e.jobs["alice-0"], "after": after})
		require.Empty(t, r.Errors, r.Raw)
		require.EqualValues(t, 7, dig(r.Data, "job", "runs", "totalCount"))
		for _, n := range dig(r.Data, "job", "runs", "nodes").([]any) {
			m := n.(map[string]any)
			require.False(t, seen[m["id"].(string)])
			seen[m["id"].(string)] = true
			started = append(started, m["startedAt"])
		}
		if !dig(r.Data, "job", "runs", "pageInfo", "hasNextPage").(bool) {
			break
		}
		after = dig(r.Data, "job", "runs", "pageInfo", "endCursor")
	}
	require.Len(t, started, 7)
	require.Nil(t, started[0], "the run not started yet comes first")
	for i := 2; i < len(started); i++ {
		require.Greater(t, started[i-1].(string), started[i].(string), "newest first")
	}
	r := e.gql(t, e.as(fixture.Viewer), q, map[string]any{"id": e.jobs["alice-0"], "state": "FAILED"})
	require.EqualValues(t, 3, dig(r.Data, "job", "runs", "totalCount"), r.Raw)
	from := time.Now().Add(-150 * time.Minute).UTC().Format(time.RFC3339)
	r = e.gql(t, e.as(fixture.Viewer), q, map[string]any{"id": e.jobs["alice-0"], "from": from})
	require.EqualValues(t, 2, dig(r.Data, "job", "runs", "totalCount"), "started in the last 2.5 hours: %s", r.Raw)
}

func TestQueuesTreeUsageAndShares(t *testing.T) {
	t.Parallel()
	e := newJobsEnv(t)
	ctx := context.Background()
	// Ten hours of snapshots a minute apart on root.etl.
	start := time.Now().UTC().Truncate(time.Minute).Add(-10 * time.Hour)
	var samples []workload.QueueSample
	for i := range 600 {
		samples = append(samples, workload.QueueSample{QueueID: e.queues["root.etl"], TS: start.Add(time.Duration(i) * time.Minute),
			UsedVcores: float64(i % 10), RunningApps: 2})
	}
	_, err := workload.RecordQueueUsage(ctx, e.db.Pool, samples)
	require.NoError(t, err)
	etl := b64(fmt.Sprintf("Queue:%d", e.queues["root.etl"]))
	r := e.gql(t, e.as(fixture.Admin), `query($id: ID!, $from: Time, $to: Time) { queue(id: $id) {
	  path name schedulerType guaranteedVcores weight parent { path children { path } } cluster { name queues { path } }
	  usage(from: $from, to: $to, maxPoints: 60) { step points { ts usedVcores maxUsedVcores } }
	  jobs(first: 50) { totalCount edges { node { name } share usedCoreSeconds } } } }`,
		map[string]any{"id": etl, "from": start.Format(time.RFC3339), "to": start.Add(10 * time.Hour).Format(time.RFC3339)})
	require.Empty(t, r.Errors, r.Raw)
	qd := dig(r.Data, "queue").(map[string]any)
	require.Equal(t, "root.etl", qd["path"])
	require.Equal(t, "etl", qd["name"])
	require.Equal(t, "root", dig(qd, "parent", "path"))
	require.Len(t, dig(qd, "parent", "children"), 2)
	require.Equal(t, []any{map[string]any{"path": "root"}, map[string]any{"path": "root.adhoc"}, map[string]any{"path": "root.etl"}}, dig(qd, "cluster", "queues"))
	require.Equal(t, "10m0s", dig(qd, "usage", "step"), "10 hours in 60 points")
	points := dig(qd, "usage", "points").([]any)
	require.Len(t, points, 60)
	require.InDelta(t, 4.5, points[0].(map[string]any)["usedVcores"], 1e-9)
	require.EqualValues(t, 9, points[0].(map[string]any)["maxUsedVcores"])
	require.EqualValues(t, 13, dig(qd, "jobs", "totalCount"))
	shares := map[string]any{}
	for _, ed := range dig(qd, "jobs", "edges").([]any) {
		m := ed.(map[string]any)
		shares[dig(m, "node", "name").(string)] = m["share"]
	}
	require.InDelta(t, 0.3, shares["alice-0"], 1e-9, "300 of the queue's 1000 core-seconds")
	require.InDelta(t, 0.6, shares["bob-0"], 1e-9)
	require.EqualValues(t, 0, shares["alice-5"])

	// alice sees her jobs' shares, not bob's.
	r = e.gql(t, e.as(fixture.Viewer), `query($id: ID!) { queue(id: $id) { jobs(first: 50) { edges { node { name } share } } } }`, map[string]any{"id": etl})
	require.Empty(t, r.Errors, r.Raw)
	for _, ed := range dig(r.Data, "queue", "jobs", "edges").([]any) {
		m := ed.(map[string]any)
		if strings.HasPrefix(dig(m, "node", "name").(string), "bob") {
			require.Nil(t, m["share"])
		} else {
			require.NotNil(t, m["share"])
		}
	}
	// queues(cluster) pages the tree to its end.
	r = e.gql(t, e.as(fixture.Viewer), `query($c: ID) { queues(cluster: $c, first: 2) { totalCount nodes { path } pageInfo { hasNextPage endCursor } } }`,
		map[string]any{"c": b64(fmt.Sprintf("Cluster:%d", e.fleet.Clusters["rt-ads-1"]))})
	require.Empty(t, r.Errors, r.Raw)
	require.EqualValues(t, 3, dig(r.Data, "queues", "totalCount"))
	require.True(t, dig(r.Data, "queues", "pageInfo", "hasNextPage").(bool))
	r = e.gql(t, e.as(fixture.Viewer), `query($c: String) { queues(first: 2, after: $c) { nodes { path } pageInfo { hasNextPage } } }`,
		map[string]any{"c": dig(r.Data, "queues", "pageInfo", "endCursor")})
	require.Empty(t, r.Errors, r.Raw)
	require.Equal(t, []any{map[string]any{"path": "root.etl"}}, dig(r.Data, "queues", "nodes"))
	// A job's queue and cluster.
	r = e.gql(t, e.as(fixture.Viewer), `query($id: ID!) { job(id: $id) { queue { path } cluster { name } } }`, map[string]any{"id": e.jobs["alice-3"]})
	require.Empty(t, r.Errors, r.Raw)
	require.Equal(t, "root.etl", dig(r.Data, "job", "queue", "path"))
	require.Equal(t, "rt-ads-1", dig(r.Data, "job", "cluster", "name"))
}

const setPriority = `mutation($job: ID!, $p: JobPriority!, $reason: String) {
  setJobPriority(input: {job: $job, priority: $p, reason: $reason}) { name priority } }`

// The rules of setJobPriority, each refusal with its code and the rule named.
func TestSetJobPriorityRules(t *testing.T) {
	t.Parallel()
	e := newJobsEnv(t)
	set := func(login, job, p string) gqlResponse {
		return e.gql(t, e.as(login), setPriority, map[string]any{"job": e.jobs[job], "p": p, "reason": "test"})
	}
	// alice-1 is P2. The owner lowers it, and may not raise it back.
	r := set(fixture.Viewer, "alice-1", "P3")
	require.Empty(t, r.Errors, r.Raw)
	require.Equal(t, "P3", dig(r.Data, "setJobPriority", "priority"))
	r = set(fixture.Viewer, "alice-1", "P2")
	require.Equal(t, "FORBIDDEN", r.code(), r.Raw)
	require.Contains(t, r.Errors[0].Message, "owner rule")
	// Someone else's job.
	r = set(fixture.Outsider, "alice-1", "P4")
	require.Equal(t, "FORBIDDEN", r.code(), r.Raw)
	require.Contains(t, r.Errors[0].Message, "priority rule")
	// An operator is not a priority authority either.
	r = set(fixture.Operator, "alice-1", "P4")
	require.Equal(t, "FORBIDDEN", r.code(), r.Raw)
	// The BU admin of the subtree raises and lowers; outside it, refused.
	r = set(fixture.BULead, "alice-1", "P1")
	require.Empty(t, r.Errors, r.Raw)
	r = set(fixture.BULead, "bob-1", "P1")
	require.Equal(t, "FORBIDDEN", r.code(), r.Raw)
	require.Contains(t, r.Errors[0].Message, "priority rule")
	// The P0 limit: ADS-SEARCH (alice's BU) gets one slot.
	r = e.gql(t, e.as(fixture.BULead), `mutation($b: ID!) { setJobPriorityPolicy(input: {bu: $b, maxP0Jobs: 1}) { maxP0Jobs } }`,
		map[string]any{"b": b64(fmt.Sprintf("BU:%d", e.fleet.BUs["ADS-SEARCH"]))})
	require.Equal(t, "FORBIDDEN", r.code(), "only admins set the limit: %s", r.Raw)
	r = e.gql(t, e.as(fixture.Admin), `mutation($b: ID!) { setJobPriorityPolicy(input: {bu: $b, maxP0Jobs: 1}) { maxP0Jobs isDefault } }`,
		map[string]any{"b": b64(fmt.Sprintf("BU:%d", e.fleet.BUs["ADS-SEARCH"]))})
	require.Empty(t, r.Errors, r.Raw)
	require.Equal(t, map[string]any{"maxP0Jobs": float64(1), "isDefault": false}, dig(r.Data, "setJobPriorityPolicy"))
	r = set(fixture.BULead, "alice-1", "P0")
	require.Empty(t, r.Errors, r.Raw)
	r = set(fixture.BULead, "alice-2", "P0")
	require.Equal(t, "BAD_USER_INPUT", r.code(), r.Raw)
	require.Contains(t, r.Errors[0].Message, "P0 limit")
	// Setting P0 again on a P0 job takes no new slot.
	r = set(fixture.BULead, "alice-1", "P0")
	require.Empty(t, r.Errors, r.Raw)
	// A job without a BU has no P0 slot for a BU admin; the admin sets anything.
	r = set(fixture.Admin, "alice-2", "P0")
	require.Empty(t, r.Errors, r.Raw)
	r = set(fixture.Admin, "plat-0", "P0")
	require.Empty(t, r.Errors, r.Raw)
	// Unknown job, id of another kind.
	r = e.gql(t, e.as(fixture.Admin), setPriority, map[string]any{"job": b64("Job:999999"), "p": "P1"})
	require.Equal(t, "NOT_FOUND", r.code(), r.Raw)
	r = e.gql(t, e.as(fixture.Admin), setPriority, map[string]any{"job": b64("Queue:1"), "p": "P1"})
	require.Equal(t, "BAD_USER_INPUT", r.code(), r.Raw)

	// The audit log holds each attempt, the changes with before and after.
	var input string
	require.NoError(t, e.db.Pool.QueryRow(context.Background(), `SELECT input::text FROM audit_log
		WHERE action = 'setJobPriority' AND target = $1 AND outcome = 'OK' ORDER BY id LIMIT 1`,
		fmt.Sprintf("job:%d", e.dbJobs["alice-1"])).Scan(&input))
	require.Contains(t, input, `"before": "P2"`)
	require.Contains(t, input, `"after": "P3"`)
	require.Contains(t, input, `"reason": "test"`)
	var denied, failed int
	require.NoError(t, e.db.Pool.QueryRow(context.Background(), `SELECT count(*) FILTER (WHERE outcome = 'DENIED'),
		count(*) FILTER (WHERE outcome = 'FAILED') FROM audit_log WHERE action = 'setJobPriority'`).Scan(&denied, &failed))
	require.Equal(t, 4, denied, "owner raising, outsider, operator, BU admin outside the subtree")
	require.Equal(t, 3, failed, "the P0 limit, the unknown job and the bad id")
}

// Two BU admins racing for a BU's last P0 slot: exactly one wins, every round.
func TestSetJobPriorityP0RaceHasOneWinner(t *testing.T) {
	t.Parallel()
	e := newJobsEnv(t)
	ctx := context.Background()
	var lead2 int64
	require.NoError(t, e.db.Pool.QueryRow(ctx, `INSERT INTO person (login, name, email, bu_id, role)
		VALUES ('lead2', 'Second Lead', 'lead2@example.com', $1, 'BU_ADMIN') RETURNING id`, e.fleet.BUs["ADS"]).Scan(&lead2))
	_, token2, err := auth.InsertToken(ctx, e.db.Pool, auth.TokenSpec{PersonID: lead2, Name: "t", Role: auth.BUAdmin})
	require.NoError(t, err)
	_, err = e.db.Pool.Exec(ctx, `INSERT INTO job_priority_policy (bu_id, max_p0_jobs) VALUES ($1, 1)`, e.fleet.BUs["ADS-SEARCH"])
	require.NoError(t, err)
	tokens := []string{e.as(fixture.BULead), token2}
	for round := range 8 {
		_, err := e.db.Pool.Exec(ctx, `UPDATE job SET priority = 'P2' WHERE name IN ('alice-4', 'alice-5')`)
		require.NoError(t, err)
		var wg sync.WaitGroup
		codes := make([]string, 2)
		startGate := make(chan struct{})
		for i, job := range []string{"alice-4", "alice-5"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-startGate
				r := e.gql(t, tokens[i], setPriority, map[string]any{"job": e.jobs[job], "p": "P0"})
				codes[i] = r.code()
			}()
		}
		close(startGate)
		wg.Wait()
		require.ElementsMatch(t, []string{"", "BAD_USER_INPUT"}, codes, "round %d", round)
		var p0 int
		require.NoError(t, e.db.Pool.QueryRow(ctx, `SELECT count(*) FROM job WHERE priority = 'P0'`).Scan(&p0))
		require.Equal(t, 1, p0, "round %d", round)
	}
}

// impact's deadlines: a downstream run under way promises its nominal end; a
// P1 job's next scheduled run is projected from its last two.
func TestImpactEarliestDeadline(t *testing.T) {
	t.Parallel()
	e, ids := lineageEnv(t)
	ctx := context.Background()
	q := `query($d: ID!) { impact(dataset: $d) { earliestDeadline jobs { distance deadline job { name } } } }`
	r := e.gql(t, e.as(fixture.Viewer), q, map[string]any{"d": ids["db/raw"]})
	require.Empty(t, r.Errors, r.Raw)
	require.Nil(t, dig(r.Data, "impact", "earliestDeadline"), "no nominal times known")

	now := time.Now().UTC().Truncate(time.Second)
	later := now.Add(26 * time.Hour)
	// b: a run under way due in 26 hours. c: P1, daily runs, the last one ended
	// 2 hours ago, so the next is due in 22 hours.
	_, err := e.db.Pool.Exec(ctx, `INSERT INTO job_run (job_id, run_uuid, state, started_at, nominal_start, nominal_end)
		SELECT id, gen_random_uuid(), 'RUNNING', $1, $1, $2 FROM job WHERE name = 'b'`, now.Add(-time.Hour), later)
	require.NoError(t, err)
	_, err = e.db.Pool.Exec(ctx, `UPDATE job SET priority = 'P1' WHERE name = 'c'`)
	require.NoError(t, err)
	for _, ago := range []time.Duration{4 * time.Hour, 28 * time.Hour} {
		_, err = e.db.Pool.Exec(ctx, `INSERT INTO job_run (job_id, run_uuid, state, started_at, ended_at, nominal_start, nominal_end)
			SELECT id, gen_random_uuid(), 'COMPLETED', $1, $2, $1, $2 FROM job WHERE name = 'c'`, now.Add(-ago), now.Add(-ago+2*time.Hour))
		require.NoError(t, err)
	}
	r = e.gql(t, e.as(fixture.Viewer), q, map[string]any{"d": ids["db/raw"]})
	require.Empty(t, r.Errors, r.Raw)
	deadlines := map[string]any{}
	for _, j := range dig(r.Data, "impact", "jobs").([]any) {
		deadlines[dig(j, "job", "name").(string)] = j.(map[string]any)["deadline"]
	}
	require.Nil(t, deadlines["a"])
	require.Equal(t, later.Format(time.RFC3339), deadlines["b"])
	require.Equal(t, now.Add(22*time.Hour).Format(time.RFC3339), deadlines["c"])
	require.Equal(t, now.Add(22*time.Hour).Format(time.RFC3339), dig(r.Data, "impact", "earliestDeadline"))
}

// A page of jobs with their queues, clusters, BUs and runs costs the same
// statements whether it holds 2 jobs or 20: the lookups go through the
// request's loaders, the runs pages through one LATERAL statement.
func TestJobsPageStatementsDoNotGrowWithJobs(t *testing.T) {
	t.Parallel()
	e := newJobsEnv(t)
	const q = `query($n: Int) { jobs(first: $n) { nodes { name queue { path parent { path } } cluster { name } bu { code }
	  runs(first: 2) { totalCount nodes { state } } } } }`
	counts := map[int]int64{}
	for _, n := range []int{2, 20} {
		r := e.gql(t, e.as(fixture.Operator), `{ me { role } }`, nil)
		require.Empty(t, r.Errors)
		e.counter.Reset()
		r = e.gql(t, e.as(fixture.Operator), q, map[string]any{"n": n})
		counts[n] = e.counter.Count()
		require.Empty(t, r.Errors, r.Raw)
		require.Len(t, dig(r.Data, "jobs", "nodes"), n)
	}
	require.Equal(t, counts[2], counts[20], "statements: %v\n%s", counts, strings.Join(e.counter.Statements(), "\n"))

	// A viewer's page: her own jobs' runs answer, the others' fail one by one.
	r := e.gql(t, e.as(fixture.Viewer), `{ jobs(first: 20) { nodes { name runs(first: 1) { totalCount } } } }`, nil)
	require.NotEmpty(t, r.Errors)
	for _, er := range r.Errors {
		require.Equal(t, "FORBIDDEN", er.Extensions["code"], r.Raw)
	}
	for _, n := range dig(r.Data, "jobs", "nodes").([]any) {
		m := n.(map[string]any)
		if strings.HasPrefix(m["name"].(string), "alice") {
			require.NotNil(t, m["runs"], m["name"])
		} else {
			require.Nil(t, m["runs"], m["name"])
		}
	}
	require.EqualValues(t, 7, dig(r.Data, "jobs", "nodes", 0, "runs", "totalCount"))
}
