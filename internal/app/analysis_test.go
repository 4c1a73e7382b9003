package app

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/graph/model"
	"github.com/teslaops/tesla/internal/fixture"
	"github.com/teslaops/tesla/internal/workload"
)

// analysisEnv has four analysed jobs whose runs peak at 1, 2, 3 and 4 GB of
// the 8 GB they request (so j1 wastes most); j3 and j4 are the viewer's.
func analysisEnv(t *testing.T) (*testEnv, []int64) {
	e := newEnv(t)
	ctx := context.Background()
	names := []string{"j1", "j2", "j3", "j4"}
	keys := make([]workload.JobKey, len(names))
	for i, n := range names {
		keys[i] = workload.JobKey{Namespace: "etl", Name: n}
	}
	m, err := workload.UpsertJobs(ctx, e.db.Pool, keys)
	require.NoError(t, err)
	ids := make([]int64, len(names))
	for i, n := range names {
		ids[i] = m[[2]string{"etl", n}]
		_, err := e.db.Pool.Exec(ctx, `INSERT INTO job_run (job_id, run_uuid, state, started_at, ended_at,
				requested_core_seconds, used_core_seconds, requested_memory_byte_seconds, peak_memory_bytes, task_count)
			SELECT $1, gen_random_uuid(), 'COMPLETED', now() - make_interval(days => g, hours => 1), now() - make_interval(days => g),
				28800, 24000, 8.0 * 1073741824 * 3600, ($2::float8 * 1073741824)::bigint, 10
			FROM generate_series(1, 20) g`, ids[i], float64(i+1))
		require.NoError(t, err)
	}
	_, err = e.db.Pool.Exec(ctx, `UPDATE job SET owner_id = $1 WHERE id = ANY($2)`, e.fleet.People[fixture.Viewer], ids[2:])
	require.NoError(t, err)
	_, err = workload.RunAnalysis(ctx, e.db.Pool, workload.AnalysisConfig{Now: func() time.Time { return time.Now().Add(2 * time.Minute) }})
	require.NoError(t, err)
	return e, ids
}

const worstJobsQuery = `query($by: WorstJobsBy, $first: Int, $after: String) {
  worstJobs(by: $by, first: $first, after: $after) {
    nodes { score worstSeverity wastedGbHoursPerDay waste runsAnalyzed job { name findings { heuristic severity advice evidence { key value unit } } score { score } } }
    pageInfo { hasNextPage endCursor }
  }
}`

func TestWorstJobsOverHTTP(t *testing.T) {
	t.Parallel()
	e, ids := analysisEnv(t)
	names := func(r gqlResponse) []string {
		var out []string
		for _, n := range dig(r.Data, "worstJobs", "nodes").([]any) {
			out = append(out, dig(n, "job", "name").(string))
		}
		return out
	}
	// An operator pages through all four, by waste.
	r := e.gql(t, e.as(fixture.Operator), worstJobsQuery, map[string]any{"by": "WASTE", "first": 3})
	require.Empty(t, r.Errors, r.Raw)
	require.Equal(t, []string{"j1", "j2", "j3"}, names(r))
	first := dig(r.Data, "worstJobs", "nodes", 0)
	require.Equal(t, "CRITICAL", dig(first, "worstSeverity"))
	require.InDelta(t, 6.5, dig(first, "wastedGbHoursPerDay").(float64), 0.01)
	require.EqualValues(t, 20, dig(first, "runsAnalyzed"))
	f := dig(first, "job", "findings", 0)
	require.Equal(t, "MEMORY_OVERPROVISIONED", dig(f, "heuristic"))
	require.Contains(t, dig(f, "advice"), "Request 1.5 GB instead of 8.0 GB: peak was 1.0 GB over the last 20 runs")
	require.Equal(t, "GB", dig(f, "evidence", 0, "unit"))
	require.Equal(t, true, dig(r.Data, "worstJobs", "pageInfo", "hasNextPage"))
	r = e.gql(t, e.as(fixture.Operator), worstJobsQuery, map[string]any{"by": "WASTE", "first": 3, "after": dig(r.Data, "worstJobs", "pageInfo", "endCursor")})
	require.Empty(t, r.Errors, r.Raw)
	require.Equal(t, []string{"j4"}, names(r))

	// A viewer ranks their own jobs only.
	r = e.gql(t, e.as(fixture.Viewer), worstJobsQuery, map[string]any{"by": "SCORE"})
	require.Empty(t, r.Errors, r.Raw)
	require.Equal(t, []string{"j3", "j4"}, names(r))

	// The statements of a page do not grow with its jobs (loaders).
	count := func(n int) int64 {
		e.counter.Reset()
		r := e.gql(t, e.as(fixture.Operator), worstJobsQuery, map[string]any{"first": n})
		require.Empty(t, r.Errors, r.Raw)
		return e.counter.Count()
	}
	require.Equal(t, count(1), count(4))

	// Another viewer's job: its findings are FORBIDDEN (as its runs), its name is not.
	r = e.gql(t, e.as(fixture.Outsider), `query($id: ID!) { job(id: $id) { name findings { heuristic } } }`,
		map[string]any{"id": model.GlobalID(model.KindJob, ids[2])})
	require.Equal(t, "FORBIDDEN", r.code(), r.Raw)
	r = e.gql(t, e.as(fixture.Outsider), `query($id: ID!) { job(id: $id) { name } }`, map[string]any{"id": model.GlobalID(model.KindJob, ids[2])})
	require.Empty(t, r.Errors, r.Raw)
	require.Equal(t, "j3", dig(r.Data, "job", "name"))
}

const analyzeJobMutation = `mutation($id: ID!) { analyzeJob(id: $id) { job { name } findings { heuristic severity } score { score worstSeverity } } }`

func TestAnalyzeJobOverHTTP(t *testing.T) {
	t.Parallel()
	e, ids := analysisEnv(t)
	own := model.GlobalID(model.KindJob, ids[2])
	r := e.gql(t, e.as(fixture.Outsider), analyzeJobMutation, map[string]any{"id": own})
	require.Equal(t, "FORBIDDEN", r.code(), r.Raw)
	r = e.gql(t, e.as(fixture.Viewer), analyzeJobMutation, map[string]any{"id": model.GlobalID(model.KindJob, ids[0])})
	require.Equal(t, "FORBIDDEN", r.code(), "an ownerless job is the operators': %s", r.Raw)
	r = e.gql(t, e.as(fixture.Viewer), analyzeJobMutation, map[string]any{"id": "nonsense"})
	require.Equal(t, "BAD_USER_INPUT", r.code(), r.Raw)

	r = e.gql(t, e.as(fixture.Viewer), analyzeJobMutation, map[string]any{"id": own})
	require.Empty(t, r.Errors, r.Raw)
	require.Equal(t, "j3", dig(r.Data, "analyzeJob", "job", "name"))
	require.Equal(t, "MEMORY_OVERPROVISIONED", dig(r.Data, "analyzeJob", "findings", 0, "heuristic"))
	require.Equal(t, "MODERATE", dig(r.Data, "analyzeJob", "findings", 0, "severity"))
	require.Equal(t, 20.0, dig(r.Data, "analyzeJob", "score", "score"), "MODERATE × 10 tasks")
	r = e.gql(t, e.as(fixture.Operator), analyzeJobMutation, map[string]any{"id": model.GlobalID(model.KindJob, ids[0])})
	require.Empty(t, r.Errors, r.Raw)

	var done, refused int
	require.NoError(t, e.db.Pool.QueryRow(context.Background(), `SELECT count(*) FILTER (WHERE error = ''), count(*) FILTER (WHERE error <> '')
		FROM audit_log WHERE action = 'analyzeJob'`).Scan(&done, &refused))
	require.Equal(t, 2, done)
	require.Equal(t, 3, refused, "refusals are audited too, a bad id included")
}

// TestJobsFilterByFindings: hasFindings keeps the analysed jobs with findings
// (all four here), and only those whose runs the caller may read.
func TestJobsFilterByFindings(t *testing.T) {
	t.Parallel()
	e, _ := analysisEnv(t)
	const q = `query($has: Boolean) { jobs(first: 50, filter: { hasFindings: $has }, orderBy: { field: NAME }) { totalCount nodes { name } } }`
	names := func(r gqlResponse) []string {
		var out []string
		for _, n := range dig(r.Data, "jobs", "nodes").([]any) {
			out = append(out, dig(n, "name").(string))
		}
		return out
	}
	r := e.gql(t, e.as(fixture.Operator), q, map[string]any{"has": true})
	require.Empty(t, r.Errors, r.Raw)
	require.Equal(t, []string{"j1", "j2", "j3", "j4"}, names(r))
	r = e.gql(t, e.as(fixture.Viewer), q, map[string]any{"has": true})
	require.Empty(t, r.Errors, r.Raw)
	require.Equal(t, []string{"j3", "j4"}, names(r), "a viewer learns about their own jobs only")
	require.EqualValues(t, 2, dig(r.Data, "jobs", "totalCount"))
	r = e.gql(t, e.as(fixture.Operator), q, map[string]any{"has": false})
	require.Empty(t, r.Errors, r.Raw)
	require.Empty(t, names(r))
}

// TestQueueFindingsOverHTTP: Queue.findings through the real handler, read by a
// viewer (queues are platform data): a queue with apps pending under its
// guarantee is STARVED first, with evidence and advice; one far under its
// guarantee IDLE; the field is priced as three findings.
func TestQueueFindingsOverHTTP(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	cluster := e.fleet.Clusters["batch-wh-1"]
	var capacity float64
	require.NoError(t, e.db.Pool.QueryRow(ctx, `SELECT sum(cpu_cores) FROM cluster_host_stats WHERE cluster_id = $1 AND state IN ('ONLINE', 'DEGRADED')`, cluster).Scan(&capacity))
	require.Positive(t, capacity)
	spec := func(path string, g float64) workload.QueueSpec {
		return workload.QueueSpec{Path: path, SchedulerType: workload.SchedulerCapacity, GuaranteedVcores: g, MaxVcores: 1, GuaranteedMemory: g, MaxMemory: 1, Weight: 1}
	}
	q, err := workload.UpsertQueues(ctx, e.db.Pool, cluster, []workload.QueueSpec{spec("root", 1), spec("root.starved", 0.5), spec("root.idle", 0.5)})
	require.NoError(t, err)
	now := time.Now().UTC().Truncate(time.Minute)
	var samples []workload.QueueSample
	for h := 1; h <= 24; h++ {
		ts := now.Add(-time.Duration(h) * time.Hour)
		samples = append(samples,
			workload.QueueSample{QueueID: q["root.starved"], TS: ts, UsedVcores: 0.1 * capacity, PendingApps: 3},
			workload.QueueSample{QueueID: q["root.idle"], TS: ts, UsedVcores: 0.05 * capacity})
	}
	_, err = workload.RecordQueueUsage(ctx, e.db.Pool, samples)
	require.NoError(t, err)

	const query = `query($id: ID!) { queue(id: $id) { path findings { heuristic severity advice analyzedAt evidence { key value unit } } } }`
	findings := func(path string) []any {
		r := e.gql(t, e.as(fixture.Viewer), query, map[string]any{"id": model.GlobalID(model.KindQueue, q[path])})
		require.Empty(t, r.Errors, r.Raw)
		require.Equal(t, path, dig(r.Data, "queue", "path"))
		return dig(r.Data, "queue", "findings").([]any)
	}
	starved := findings("root.starved")
	require.NotEmpty(t, starved)
	require.Equal(t, "STARVED", dig(starved[0], "heuristic"), "worst first")
	require.Equal(t, "CRITICAL", dig(starved[0], "severity"))
	require.NotEmpty(t, dig(starved[0], "advice"))
	require.NotEmpty(t, dig(starved[0], "evidence"))
	severity := map[string]any{}
	for _, f := range findings("root.idle") {
		severity[dig(f, "heuristic").(string)] = dig(f, "severity")
	}
	require.Equal(t, "CRITICAL", severity["IDLE"])
	require.Equal(t, "NONE", severity["STARVED"])

	// Priced as three findings: the evidence list under them costs three.
	cost := func(selection string) float64 {
		r := e.gql(t, e.as(fixture.Viewer), `query($id: ID!) { queue(id: $id) { findings { `+selection+` } } }`,
			map[string]any{"id": model.GlobalID(model.KindQueue, q["root.idle"])})
		require.Empty(t, r.Errors, r.Raw)
		return dig(r.Extensions, "cost", "requested").(float64)
	}
	require.Equal(t, 3.0, cost("heuristic evidence { key }")-cost("heuristic"))
}

// TestWorstJobsByBUTakesTheSubtree: worstJobs(bu:) keeps the jobs of the BU
// and every BU below it, as every BU filter does. j3 and j4 belong to a person
// of ADS-SEARCH, inside ADS.
func TestWorstJobsByBUTakesTheSubtree(t *testing.T) {
	t.Parallel()
	e, _ := analysisEnv(t)
	const q = `query($bu: ID) { worstJobs(by: WASTE, bu: $bu) { nodes { job { name } } } }`
	names := func(bu int64) []string {
		r := e.gql(t, e.as(fixture.Operator), q, map[string]any{"bu": model.GlobalID(model.KindBU, bu)})
		require.Empty(t, r.Errors, r.Raw)
		var out []string
		for _, n := range dig(r.Data, "worstJobs", "nodes").([]any) {
			out = append(out, dig(n, "job", "name").(string))
		}
		return out
	}
	require.Equal(t, []string{"j3", "j4"}, names(e.fleet.BUs["ADS"]))
	require.Equal(t, []string{"j3", "j4"}, names(e.fleet.BUs["ADS-SEARCH"]))
	require.Empty(t, names(e.fleet.BUs["PLATFORM"]))
}
