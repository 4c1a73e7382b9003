package app

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/fixture"
)

// olEvent is a RunEvent of job ns/name reading inputs and writing outputs
// ("ns/name" each); outVersion, when set, is the outputs' datasetVersion.
func olEvent(run, typ, at, job string, inputs, outputs []string, outVersion string) string {
	ds := func(list []string, version string) string {
		parts := make([]string, len(list))
		for i, n := range list {
			ns, name, _ := strings.Cut(n, "/")
			facets := ""
			if version != "" {
				facets = fmt.Sprintf(`,"facets":{"version":{"_producer":"t","_schemaURL":"t","datasetVersion":%q}}`, version)
			}
			parts[i] = fmt.Sprintf(`{"namespace":%q,"name":%q%s}`, ns, name, facets)
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	ns, name, _ := strings.Cut(job, "/")
	return fmt.Sprintf(`{"eventType":%q,"eventTime":%q,"run":{"runId":%q},"job":{"namespace":%q,"name":%q},"inputs":%s,"outputs":%s,"producer":"t","schemaURL":"t"}`,
		typ, at, run, ns, name, ds(inputs, ""), ds(outputs, outVersion))
}

func (e *testEnv) postLineage(t *testing.T, token, body string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/api/v1/lineage", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-ndjson")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

// lineageEnv posts, with an ingest-scoped token, a cycle of three ETL jobs:
// etl/a reads db/raw and writes db/mid, etl/b reads db/mid and writes db/out,
// etl/c reads db/out and writes db/raw. etl/a belongs to the fixture's viewer.
func lineageEnv(t *testing.T) (*testEnv, map[string]string) {
	e := newEnv(t)
	ctx := context.Background()
	_, agent, err := auth.InsertToken(ctx, e.db.Pool, auth.TokenSpec{PersonID: e.fleet.People[fixture.Outsider], Role: auth.Viewer, Scopes: []string{auth.ScopeIngest}})
	require.NoError(t, err)
	events := []string{
		olEvent("5e1f0c6e-0000-4000-8000-000000000001", "COMPLETE", "2024-05-01T01:00:00Z", "etl/a", []string{"db/raw"}, []string{"db/mid"}, "v1"),
		olEvent("5e1f0c6e-0000-4000-8000-000000000002", "COMPLETE", "2024-05-01T02:00:00Z", "etl/b", []string{"db/mid"}, []string{"db/out"}, ""),
		olEvent("5e1f0c6e-0000-4000-8000-000000000003", "COMPLETE", "2024-05-01T03:00:00Z", "etl/c", []string{"db/out"}, []string{"db/raw"}, ""),
	}
	require.Equal(t, http.StatusOK, e.postLineage(t, agent, strings.Join(events, "\n")))
	// A viewer's unrestricted token may not post; nor may nobody.
	require.Equal(t, http.StatusForbidden, e.postLineage(t, e.as(fixture.Viewer), events[0]))
	require.Equal(t, http.StatusUnauthorized, e.postLineage(t, "", events[0]))
	// The ingest token opens nothing else.
	require.Equal(t, "FORBIDDEN", e.gql(t, agent, `{ datasets { totalCount } }`, nil).code())

	_, err = e.db.Pool.Exec(ctx, `UPDATE job SET owner_id = $1 WHERE name = 'a'`, e.fleet.People[fixture.Viewer])
	require.NoError(t, err)
	ids := map[string]string{}
	r := e.gql(t, e.as(fixture.Admin), `{ datasets(first: 10) { nodes { id namespace name } } }`, nil)
	require.Empty(t, r.Errors, r.Raw)
	for _, n := range dig(r.Data, "datasets", "nodes").([]any) {
		m := n.(map[string]any)
		ids[m["namespace"].(string)+"/"+m["name"].(string)] = m["id"].(string)
	}
	r = e.gql(t, e.as(fixture.Admin), `{ impact(dataset: "`+ids["db/raw"]+`") { jobs { job { id namespace name } } } }`, nil)
	require.Empty(t, r.Errors, r.Raw)
	for _, n := range dig(r.Data, "impact", "jobs").([]any) {
		j := n.(map[string]any)["job"].(map[string]any)
		ids[j["namespace"].(string)+"/"+j["name"].(string)] = j["id"].(string)
	}
	require.Len(t, ids, 6, "three datasets and three jobs: %v", ids)
	return e, ids
}

const lineageQuery = `query($node: ID!, $dir: LineageDirection, $depth: Int, $max: Int) {
  lineage(node: $node, direction: $dir, depth: $depth, maxNodes: $max) {
    truncated
    nodes { __typename ... on Job { id name } ... on Dataset { id name } }
    edges { kind from to }
  }
}`

func TestLineageWalksAreDepthBoundedCycleSafeAndLimited(t *testing.T) {
	t.Parallel()
	e, ids := lineageEnv(t)
	admin := e.as(fixture.Admin)
	walk := func(node, dir string, depth, maxNodes int) (names []string, edges int, truncated bool) {
		r := e.gql(t, admin, lineageQuery, map[string]any{"node": ids[node], "dir": dir, "depth": depth, "max": maxNodes})
		require.Empty(t, r.Errors, r.Raw)
		for _, n := range dig(r.Data, "lineage", "nodes").([]any) {
			m := n.(map[string]any)
			names = append(names, m["__typename"].(string)+":"+m["name"].(string))
		}
		return names, len(dig(r.Data, "lineage", "edges").([]any)), dig(r.Data, "lineage", "truncated").(bool)
	}
	names, edges, truncated := walk("db/mid", "DOWNSTREAM", 2, 500)
	require.Equal(t, []string{"Dataset:mid", "Job:b", "Dataset:out"}, names)
	require.Equal(t, 2, edges)
	require.False(t, truncated)

	names, _, _ = walk("db/mid", "UPSTREAM", 1, 500)
	require.Equal(t, []string{"Dataset:mid", "Job:a"}, names)

	// The cycle ends: every node once, every edge once, however deep.
	names, edges, truncated = walk("etl/a", "BOTH", 20, 500)
	require.Len(t, names, 6)
	require.Equal(t, 6, edges)
	require.False(t, truncated)

	names, _, truncated = walk("etl/a", "DOWNSTREAM", 20, 2)
	require.Equal(t, []string{"Job:a", "Dataset:mid"}, names)
	require.True(t, truncated)

	// Edges point the way the data flows.
	r := e.gql(t, admin, lineageQuery, map[string]any{"node": ids["etl/b"], "dir": "BOTH", "depth": 1})
	require.Empty(t, r.Errors, r.Raw)
	require.ElementsMatch(t, []any{
		map[string]any{"kind": "READ", "from": ids["db/mid"], "to": ids["etl/b"]},
		map[string]any{"kind": "WRITE", "from": ids["etl/b"], "to": ids["db/out"]},
	}, dig(r.Data, "lineage", "edges"))

	// Bad input: a huge depth, a node limit past the maximum, a node of
	// another kind, an unknown node.
	for _, c := range []struct {
		vars map[string]any
		code string
	}{
		{map[string]any{"node": ids["etl/a"], "depth": 1000}, "BAD_USER_INPUT"},
		{map[string]any{"node": ids["etl/a"], "max": 100000}, "BAD_USER_INPUT"},
		{map[string]any{"node": b64("Cluster:1")}, "BAD_USER_INPUT"},
		{map[string]any{"node": b64("Job:999999")}, "NOT_FOUND"},
		{map[string]any{"node": "garbage"}, "BAD_USER_INPUT"},
	} {
		r := e.gql(t, admin, lineageQuery, c.vars)
		require.Equal(t, c.code, r.code(), "%v: %s", c.vars, r.Raw)
	}

	// A walk is priced by depth × fan-out bound × node limit: deeper and wider
	// cost more, and the price is reported.
	cost := func(depth, maxNodes int) float64 {
		r := e.gql(t, admin, lineageQuery, map[string]any{"node": ids["etl/a"], "depth": depth, "max": maxNodes})
		require.Empty(t, r.Errors, r.Raw)
		var out struct {
			Extensions struct{ Cost struct{ Requested float64 } } `json:"extensions"`
		}
		require.NoError(t, json.Unmarshal([]byte(r.Raw), &out))
		return out.Extensions.Cost.Requested
	}
	require.Less(t, cost(3, 100), cost(10, 100))
	require.Less(t, cost(3, 100), cost(3, 1000))
}

func TestImpactProducerAndWhoSeesWhat(t *testing.T) {
	t.Parallel()
	e, ids := lineageEnv(t)
	const impact = `query($ds: ID!) { impact(dataset: $ds) { truncated dataset { name }
	  jobs { distance job { name owner { login } bu { code } } } } }`
	r := e.gql(t, e.as(fixture.Admin), impact, map[string]any{"ds": ids["db/out"]})
	require.Empty(t, r.Errors, r.Raw)
	require.Equal(t, []any{
		map[string]any{"distance": float64(1), "job": map[string]any{"name": "c", "owner": nil, "bu": nil}},
		map[string]any{"distance": float64(3), "job": map[string]any{"name": "a", "owner": map[string]any{"login": fixture.Viewer},
			"bu": map[string]any{"code": "ADS-SEARCH"}}},
		map[string]any{"distance": float64(5), "job": map[string]any{"name": "b", "owner": nil, "bu": nil}},
	}, dig(r.Data, "impact", "jobs"))

	// Lineage structure is platform metadata: an outsider viewer walks it too,
	// but may not read another person's record: that owner is FORBIDDEN, the
	// rest of the answer stands.
	r = e.gql(t, e.as(fixture.Outsider), impact, map[string]any{"ds": ids["db/out"]})
	require.Equal(t, "FORBIDDEN", r.code(), r.Raw)
	require.Equal(t, []any{"impact", "jobs", float64(1), "job", "owner"}, r.Errors[0].Path)
	require.Equal(t, "a", dig(r.Data, "impact", "jobs", 1, "job", "name"))

	// Runs belong to the job's owner and BU: the owner reads their own job's
	// runs, a viewer is refused another's, a BU admin reads their subtree's,
	// an operator everything.
	const runs = `query($id: ID!) { job(id: $id) { name lastRuns { state runId endedAt } } }`
	for _, c := range []struct {
		login, job, code string
	}{
		{fixture.Viewer, "etl/a", ""},
		{fixture.Viewer, "etl/b", "FORBIDDEN"},
		{fixture.Outsider, "etl/a", "FORBIDDEN"},
		{fixture.BULead, "etl/a", ""},
		{fixture.BULead, "etl/b", "FORBIDDEN"},
		{fixture.Operator, "etl/b", ""},
	} {
		r := e.gql(t, e.as(c.login), runs, map[string]any{"id": ids[c.job]})
		require.Equal(t, c.code, r.code(), "%s on %s: %s", c.login, c.job, r.Raw)
		if c.code == "" {
			require.Equal(t, "COMPLETED", dig(r.Data, "job", "lastRuns", 0, "state"))
		}
	}

	// Which run produced a dataset version, by the version facet of its output.
	const producer = `{ dataset(namespace: "db", name: "mid") { producer(version: "v1") { runId state job { name } } } }`
	r = e.gql(t, e.as(fixture.Viewer), producer, nil)
	require.Empty(t, r.Errors, r.Raw)
	require.Equal(t, "5e1f0c6e-0000-4000-8000-000000000001", dig(r.Data, "dataset", "producer", "runId"))
	require.Equal(t, "a", dig(r.Data, "dataset", "producer", "job", "name"))
	r = e.gql(t, e.as(fixture.Viewer), `{ dataset(namespace: "db", name: "mid") { producer(version: "v2") { runId } } }`, nil)
	require.Empty(t, r.Errors, r.Raw)
	require.Nil(t, dig(r.Data, "dataset", "producer"))
	r = e.gql(t, e.as(fixture.Outsider), producer, nil)
	require.Equal(t, "FORBIDDEN", r.code(), r.Raw)

	// node(id) fetches jobs and datasets; datasets page by keyset.
	r = e.gql(t, e.as(fixture.Viewer), `query($j: ID!, $d: ID!) { j: node(id: $j) { ... on Job { name kind priority } }
	  d: node(id: $d) { ... on Dataset { name facets } } }`, map[string]any{"j": ids["etl/a"], "d": ids["db/mid"]})
	require.Empty(t, r.Errors, r.Raw)
	require.Equal(t, map[string]any{"name": "a", "kind": "BATCH", "priority": "P2"}, r.Data["j"])
	require.Equal(t, "mid", dig(r.Data, "d", "name"))
	var seen []any
	var after any
	for {
		r = e.gql(t, e.as(fixture.Viewer), `query($after: String) { datasets(first: 2, after: $after, namespace: "db") {
		  totalCount nodes { name } pageInfo { hasNextPage endCursor } } }`, map[string]any{"after": after})
		require.Empty(t, r.Errors, r.Raw)
		require.Equal(t, float64(3), dig(r.Data, "datasets", "totalCount"))
		for _, n := range dig(r.Data, "datasets", "nodes").([]any) {
			seen = append(seen, n.(map[string]any)["name"])
		}
		if !dig(r.Data, "datasets", "pageInfo", "hasNextPage").(bool) {
			break
		}
		after = dig(r.Data, "datasets", "pageInfo", "endCursor")
	}
	require.Equal(t, []any{"mid", "out", "raw"}, seen)
}
