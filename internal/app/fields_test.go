package app

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/graph/model"
	"github.com/teslaops/tesla/internal/fixture"
	"github.com/teslaops/tesla/internal/health"
)

// createApiToken without a login creates a token for the caller; the audit entry
// must name that person, not an empty "person:".
func TestCreateAPITokenAuditNamesTheCallerWhenLoginIsLeftOut(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const create = `mutation($in: CreateApiTokenInput!) { createApiToken(input: $in) { token userErrors { code } } }`
	r := e.gql(t, e.as(fixture.Viewer), create, map[string]any{"in": map[string]any{"name": "laptop"}})
	require.Empty(t, r.Errors, r.Raw)
	r = e.gql(t, e.as(fixture.Admin), create, map[string]any{"in": map[string]any{"login": fixture.Outsider, "role": "VIEWER"}})
	require.Empty(t, r.Errors, r.Raw)
	// A refused attempt is audited with its real target too.
	r = e.gql(t, e.as(fixture.Viewer), create, map[string]any{"in": map[string]any{"role": "ADMIN"}})
	require.Equal(t, "BAD_USER_INPUT", dig(r.Data, "createApiToken", "userErrors", 0, "code"), r.Raw)

	r = e.gql(t, e.as(fixture.Admin), `{ auditLog(filter: {action: "createApiToken"}) { nodes { actor target outcome } } }`, nil)
	require.Empty(t, r.Errors, r.Raw)
	var got []string
	for _, n := range dig(r.Data, "auditLog", "nodes").([]any) {
		got = append(got, dig(n, "actor").(string)+" → "+dig(n, "target").(string)+" "+dig(n, "outcome").(string))
	}
	require.ElementsMatch(t, []string{
		"alice → person:alice OK",
		"admin → person:bob OK",
		"alice → person:alice FAILED",
	}, got)
}

// introspectedField is the part of a schema field the default-argument walk needs.
type introspectedField struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Args        []struct {
		Name         string  `json:"name"`
		Description  string  `json:"description"`
		DefaultValue *string `json:"defaultValue"`
		Type         struct {
			Kind string `json:"kind"`
		} `json:"type"`
	} `json:"args"`
	Type introspectedType `json:"type"`
}

type introspectedType struct {
	Kind   string            `json:"kind"`
	Name   string            `json:"name"`
	OfType *introspectedType `json:"ofType"`
}

func (t introspectedType) named() introspectedType {
	for t.OfType != nil {
		t = *t.OfType
	}
	return t
}

// Every field whose arguments are all optional must answer when called with none:
// an argument left out takes its documented default (e.g. "the last 24 hours"),
// never a zero value that the field then refuses. The walk goes over the live
// schema by introspection, so a field added later is covered without editing
// this test, unless it sits on a type the test does not know how to reach.
func TestEveryFieldAnswersWithItsOptionalArgumentsLeftOut(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.as(fixture.Admin)
	r := e.gql(t, tok, `{ __schema { types { kind name fields { name description
		args { name description defaultValue type { kind } }
		type { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } }`, nil)
	require.Empty(t, r.Errors, r.Raw)
	raw, err := json.Marshal(dig(r.Data, "__schema", "types"))
	require.NoError(t, err)
	var types []struct {
		Kind   string              `json:"kind"`
		Name   string              `json:"name"`
		Fields []introspectedField `json:"fields"`
	}
	require.NoError(t, json.Unmarshal(raw, &types))

	// How to reach one object of each type from the query root.
	reach := map[string]string{
		"Query":             `{ %s }`,
		"Platform":          `{ platform { %s } }`,
		"Cluster":           `{ cluster(name: "rt-ads-1") { %s } }`,
		"Host":              `{ host(hostname: "rt-ads-1-n01") { %s } }`,
		"BU":                `{ bu(code: "ADS") { %s } }`,
		"SchedulerJob":      `{ schedulerJobs { %s } }`,
		"Job":               `{ job(id: "` + b64("Job:1") + `") { %s } }`,
		"MachineClustering": `{ machineClustering { %s } }`,
		"Person":            `{ me { person { %s } } }`,
		"Queue":             `{ queues(first: 1) { nodes { %s } } }`,
		"HealthScore":       `{ host(hostname: "rt-ads-1-n01") { health { %s } } }`,
		"Operation":         `{ operation(id: "` + b64("Operation:1") + `") { %s } }`,
		"ClusterConfig":     `{ cluster(name: "rt-ads-1") { config { %s } } }`,
		"ConfigGroup":       `{ cluster(name: "rt-ads-1") { config { groups { %s } } } }`,
	}
	_, err = e.db.Pool.Exec(context.Background(), `INSERT INTO job (namespace, name) VALUES ('t', 'reach')`)
	require.NoError(t, err)
	_, err = e.db.Pool.Exec(context.Background(), `INSERT INTO operation (kind, cluster_id, state, requested_by)
		SELECT 'RESTART', id, 'SUCCEEDED', 'ops' FROM cluster WHERE name = 'rt-ads-1'`)
	require.NoError(t, err)
	_, err = e.db.Pool.Exec(context.Background(), `
		WITH r AS (INSERT INTO clustering_run (window_from, window_to, features, k, quality, silhouettes, hosts, outliers,
		                                       explained, iterations, seed, duration_ms, groups)
		           VALUES (now() - interval '1 day', now(), '{}', 1, 0, '{}', 1, 0, '{0,0}', 1, 1, 1, '[]') RETURNING id)
		INSERT INTO clustering_assignment SELECT r.id, h.id, 0, 0, 0, 0, false, h.id FROM r, host h`)
	require.NoError(t, err)
	_, err = e.db.Pool.Exec(context.Background(), `
		WITH g AS (INSERT INTO config_group (cluster_id, name, position, rule_kind)
		           SELECT id, 'reach', 1, 'LIST' FROM cluster WHERE name = 'rt-ads-1' RETURNING id, cluster_id)
		INSERT INTO config_group_host SELECT g.id, h.id FROM g JOIN host h ON h.cluster_id = g.cluster_id`)
	require.NoError(t, err)
	_, err = e.db.Pool.Exec(context.Background(), `INSERT INTO queue (cluster_id, name, path) SELECT id, 'root', 'root' FROM cluster WHERE name = 'rt-ads-1'`)
	require.NoError(t, err)
	_, err = health.NewComputer(e.db.Pool, health.Config{}).RunOnce(context.Background())
	require.NoError(t, err)
	// Types whose optional arguments are not plain queries.
	skipTypes := map[string]string{
		"Subscription": "subscriptions are tested over websockets",
	}
	// Lookups by one of two keys: called with neither they refuse, as documented.
	needOne := map[string]bool{"Query.bu": true, "Query.person": true, "Query.cluster": true, "Query.host": true, "Query.dataset": true}

	var called, documented []string
	for _, ty := range types {
		if ty.Kind != "OBJECT" || strings.HasPrefix(ty.Name, "__") {
			continue
		}
		for _, f := range ty.Fields {
			if len(f.Args) == 0 {
				continue
			}
			optional := true
			doc := strings.Contains(strings.ToLower(f.Description), "default")
			for _, a := range f.Args {
				optional = optional && (a.Type.Kind != "NON_NULL" || a.DefaultValue != nil)
				doc = doc || a.DefaultValue != nil || strings.Contains(strings.ToLower(a.Description), "default")
			}
			if !optional {
				continue
			}
			name := ty.Name + "." + f.Name
			if _, ok := skipTypes[ty.Name]; ok {
				continue
			}
			tmpl, ok := reach[ty.Name]
			require.True(t, ok, "%s has only optional arguments, but the test does not know how to reach a %s: add it to reach", name, ty.Name)
			sel := f.Name
			if k := f.Type.named().Kind; k == "OBJECT" || k == "INTERFACE" || k == "UNION" {
				sel += " { __typename }"
			}
			q := fmt.Sprintf(tmpl, sel)
			r := e.gql(t, tok, q, nil)
			if needOne[name] {
				require.Equal(t, "BAD_USER_INPUT", r.code(), "%s: %s", q, r.Raw)
				continue
			}
			require.Empty(t, r.Errors, "%s with its arguments left out: %s", q, r.Raw)
			called = append(called, name)
			if doc {
				documented = append(documented, name)
			}
		}
	}
	// The walk really covered the fields whose defaults the schema documents.
	require.Subset(t, documented, []string{"Cluster.watermarks", "Platform.watermarkSeries", "Platform.clustersAtRisk",
		"Platform.recentSickHosts", "Host.metrics", "Host.analysis", "SchedulerJob.runs"})
	require.Subset(t, called, []string{"Query.clusters", "Cluster.hosts", "BU.people", "Cluster.forecast", "Platform.levels",
		"Query.jobs", "Person.jobs", "BU.jobs", "Job.runs", "Queue.usage", "Queue.jobs", "ConfigGroup.hosts", "ClusterConfig.groups"})
}

// The defaults actually used are the documented ones: a water-level series
// covers the last 24 hours, host metrics the last 6 hours, a machine analysis a
// 24-hour window.
func TestDocumentedDefaultsAreTheOnesUsed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.as(fixture.Admin)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Minute)
	cluster := e.fleet.Clusters["rt-ads-1"]
	for _, id := range []int64{0, cluster} {
		_, err := e.db.Pool.Exec(ctx, `INSERT INTO watermark_1m (cluster_id, dimension, ts, used, capacity, hosts)
			VALUES ($1, 'CPU', $2, 1, 10, 1), ($1, 'CPU', $3, 1, 10, 1)`, id, now.Add(-23*time.Hour), now.Add(-25*time.Hour))
		require.NoError(t, err)
	}
	stamps := func(r gqlResponse, path ...any) []string {
		t.Helper()
		require.Empty(t, r.Errors, r.Raw)
		var out []string
		for _, p := range dig(r.Data, path...).([]any) {
			out = append(out, dig(p, "ts").(string))
		}
		return out
	}
	in := now.Add(-23 * time.Hour).Format(time.RFC3339)
	out := now.Add(-25 * time.Hour).Format(time.RFC3339)
	r := e.gql(t, tok, `{ platform { watermarkSeries(dimensions: [CPU], step: "1m", maxPoints: 10000) { points { ts } } } }`, nil)
	got := stamps(r, "platform", "watermarkSeries", 0, "points")
	require.Contains(t, got, in)
	require.NotContains(t, got, out)
	r = e.gql(t, tok, `query($id: ID!) { node(id: $id) { ... on Cluster { watermarks(dimensions: [CPU], step: "1m", maxPoints: 10000) { points { ts } } } } }`,
		map[string]any{"id": model.GlobalID(model.KindCluster, cluster)})
	got = stamps(r, "node", "watermarks", 0, "points")
	require.Contains(t, got, in)
	require.NotContains(t, got, out)
	// Without a step, one is chosen from the 24-hour range: 5 minutes at 500 points.
	r = e.gql(t, tok, `{ platform { watermarkSeries(dimensions: [CPU]) { step } } }`, nil)
	require.Empty(t, r.Errors, r.Raw)
	require.Equal(t, "5m0s", dig(r.Data, "platform", "watermarkSeries", 0, "step"))

	host := e.fleet.Hosts["rt-ads-1-n01"]
	_, err := e.db.Pool.Exec(ctx, `INSERT INTO host_metric (host_id, ts, cpu_pct) VALUES ($1, $2, 10), ($1, $3, 10)`,
		host, now.Add(-5*time.Hour), now.Add(-7*time.Hour))
	require.NoError(t, err)
	r = e.gql(t, tok, `{ host(hostname: "rt-ads-1-n01") { metrics(step: "1m") { points { ts } } analysis { window } } }`, nil)
	got = stamps(r, "host", "metrics", "points")
	require.Contains(t, got, now.Add(-5*time.Hour).Format(time.RFC3339))
	require.NotContains(t, got, now.Add(-7*time.Hour).Format(time.RFC3339))
	require.Equal(t, "24h0m0s", dig(r.Data, "host", "analysis", "window"))

	// clustersAtRisk looks 14 days ahead.
	_, err = e.db.Pool.Exec(ctx, `INSERT INTO watermark_forecast (cluster_id, dimension, method, threshold, days_of_history, crosses_at, computed_at)
		VALUES ($1, 'CPU', 'test', 0.6, 28, $3, now()), ($2, 'MEMORY', 'test', 0.85, 28, $4, now())`,
		cluster, e.fleet.Clusters["batch-wh-1"], now.Add(10*24*time.Hour), now.Add(20*24*time.Hour))
	require.NoError(t, err)
	r = e.gql(t, tok, `{ platform { clustersAtRisk { cluster { name } dimension } } }`, nil)
	require.Empty(t, r.Errors, r.Raw)
	require.Equal(t, []any{map[string]any{"cluster": map[string]any{"name": "rt-ads-1"}, "dimension": "CPU"}},
		dig(r.Data, "platform", "clustersAtRisk"))

	// Connections give 50 per page, recentSickHosts 20, orderings run ascending.
	fixture.Bulk(t, e.db.Pool, 1, 100)
	r = e.gql(t, tok, `{ hosts { totalCount nodes { id } pageInfo { hasNextPage } } platform { recentSickHosts { id } }
		clusters(orderBy: {field: NAME}) { nodes { name } } }`, nil)
	require.Empty(t, r.Errors, r.Raw)
	require.EqualValues(t, 118, dig(r.Data, "hosts", "totalCount"))
	require.Len(t, dig(r.Data, "hosts", "nodes"), 50)
	require.Equal(t, true, dig(r.Data, "hosts", "pageInfo", "hasNextPage"))
	require.Len(t, dig(r.Data, "platform", "recentSickHosts"), 20)
	require.Equal(t, []any{map[string]any{"name": "batch-wh-1"}, map[string]any{"name": "bulk-0001"},
		map[string]any{"name": "online-1"}, map[string]any{"name": "rt-ads-1"}}, dig(r.Data, "clusters", "nodes"))
}

// A value a client got wrong is the client's mistake: BAD_USER_INPUT naming the
// argument (GraphQL's own validation, for enums and built-in scalars, answers
// GRAPHQL_VALIDATION_FAILED naming the variable), never INTERNAL. Each custom
// scalar and decoded string is tried as a literal and as a variable.
func TestBadArgumentValuesAreTheCallersMistake(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.as(fixture.Admin)
	const host = `host(hostname: "rt-ads-1-n01")`
	cases := []struct {
		name, query string
		vars        map[string]any
		code, names string
	}{
		{"Time literal", `{ platform { watermarkSeries(from: "yesterday") { dimension } } }`, nil, "BAD_USER_INPUT", "from"},
		{"Time variable", `query($t: Time) { platform { watermarkSeries(to: $t) { dimension } } }`, map[string]any{"t": "yesterday"}, "BAD_USER_INPUT", "to"},
		{"Time number literal", `{ cluster(name: "rt-ads-1") { watermarks(from: 5) { dimension } } }`, nil, "BAD_USER_INPUT", "from"},
		{"Time number variable", `query($t: Time) { ` + host + ` { metrics(from: $t) { step } } }`, map[string]any{"t": 1700000000}, "BAD_USER_INPUT", "from"},
		{"Time empty string", `query($t: Time) { ` + host + ` { metrics(to: $t) { step } } }`, map[string]any{"t": ""}, "BAD_USER_INPUT", "to"},
		{"Time without zone", `{ platform { watermarkSeries(from: "2026-03-01 10:00:00") { dimension } } }`, nil, "BAD_USER_INPUT", "from"},
		{"Duration literal", `{ ` + host + ` { analysis(window: "a while") { window } } }`, nil, "BAD_USER_INPUT", "window"},
		{"Duration variable", `query($d: Duration) { platform { watermarkSeries(step: $d) { dimension } } }`, map[string]any{"d": 5}, "BAD_USER_INPUT", "step"},
		{"Duration in an input", `mutation($in: CreateApiTokenInput!) { createApiToken(input: $in) { token } }`,
			map[string]any{"in": map[string]any{"expiresIn": "forever"}}, "BAD_USER_INPUT", "expiresIn"},
		{"ID literal", `{ node(id: "not-an-id") { id } }`, nil, "BAD_USER_INPUT", "id"},
		{"ID variable", `query($id: ID) { bus(filter: {parentId: $id}) { totalCount } }`, map[string]any{"id": "Q2x1c3Rlcjox"}, "BAD_USER_INPUT", "parentId"},
		{"cursor literal", `{ clusters(after: "zzz") { totalCount } }`, nil, "BAD_USER_INPUT", "after"},
		{"cursor variable", `query($c: String) { ` + host + ` { cluster { hosts(before: $c) { totalCount } } } }`, map[string]any{"c": "!!"}, "BAD_USER_INPUT", "before"},
		{"enum literal", `{ platform { levels(dimensions: [GPU]) { unit } } }`, nil, "GRAPHQL_VALIDATION_FAILED", "GPU"},
		{"enum variable", `query($k: ClusterKind) { clusters(filter: {kind: $k}) { totalCount } }`, map[string]any{"k": "NOPE"}, "GRAPHQL_VALIDATION_FAILED", "NOPE"},
		{"Int variable", `query($n: Int) { hosts(first: $n) { totalCount } }`, map[string]any{"n": "ten"}, "GRAPHQL_VALIDATION_FAILED", "Int"},
	}
	for _, c := range cases {
		r := e.gql(t, tok, c.query, c.vars)
		require.NotEmpty(t, r.Errors, "%s: %s", c.name, r.Raw)
		require.Equal(t, c.code, r.code(), "%s: %s", c.name, r.Raw)
		require.Contains(t, r.Errors[0].Message, c.names, "%s: the message names what was wrong: %s", c.name, r.Raw)
		requireNoSecrets(t, r.Raw)
	}
	// The argument is named as the error's field too, and its path leads to it.
	r := e.gql(t, tok, `{ platform { watermarkSeries(from: "yesterday") { dimension } } }`, nil)
	require.Equal(t, "from", r.Errors[0].Extensions["field"], r.Raw)
	require.Equal(t, []any{"platform", "watermarkSeries", "from"}, r.Errors[0].Path, r.Raw)
	// Well-formed times still work, with or without fractions and offsets.
	r = e.gql(t, tok, `{ platform { watermarkSeries(from: "2026-03-01T10:00:00.5+08:00", to: "2026-03-01T12:00:00Z") { step } } }`, nil)
	require.Empty(t, r.Errors, r.Raw)
}

// errorsByPath indexes a response's errors by their path, joined with dots.
func errorsByPath(r gqlResponse) map[string]gqlError {
	out := map[string]gqlError{}
	for _, e := range r.Errors {
		var parts []string
		for _, p := range e.Path {
			parts = append(parts, fmt.Sprint(p))
		}
		out[strings.Join(parts, ".")] = e
	}
	return out
}

// A refusal belongs to the field refused: null there, an error whose path points
// at it, and the rest of the response stands. The people of several BUs are
// fetched in one batch; a BU the caller may not list must not refuse the others.
func TestRefusedBUPeopleFailOnlyTheirOwnField(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	lead := e.as(fixture.BULead)

	r := e.gql(t, lead, `{ a: bu(code: "ADS") { code people { totalCount } } b: bu(code: "PLATFORM") { code people { totalCount } } }`, nil)
	require.EqualValues(t, 1, dig(r.Data, "a", "people", "totalCount"), r.Raw)
	require.Equal(t, "PLATFORM", dig(r.Data, "b", "code"), "the BU itself stands: %s", r.Raw)
	require.Nil(t, dig(r.Data, "b", "people"))
	require.Len(t, r.Errors, 1, r.Raw)
	require.Equal(t, []any{"b", "people"}, r.Errors[0].Path)
	require.Equal(t, "FORBIDDEN", r.code())
	require.Contains(t, r.Errors[0].Message, "BU PLATFORM", "the message names the BU refused")

	// All four BUs in one batch: the lead's two answered, the other two refused,
	// each error naming its own BU.
	const all = `{ bus { nodes { code people { totalCount nodes { login } } } } }`
	r = e.gql(t, lead, all, nil)
	require.NotNil(t, r.Data, r.Raw)
	errs := errorsByPath(r)
	require.Len(t, errs, 2, r.Raw)
	for i, n := range dig(r.Data, "bus", "nodes").([]any) {
		code := dig(n, "code").(string)
		path := fmt.Sprintf("bus.nodes.%d.people", i)
		switch code {
		case "ADS", "ADS-SEARCH":
			require.EqualValues(t, 1, dig(n, "people", "totalCount"), "%s: %s", code, r.Raw)
			require.NotContains(t, errs, path)
		default:
			require.Nil(t, dig(n, "people"), code)
			require.Equal(t, "FORBIDDEN", errs[path].Extensions["code"], "%s: %s", code, r.Raw)
			require.Contains(t, errs[path].Message, "BU "+code+":")
		}
	}

	// A viewer lists no BU's people: every people field refused, the BUs stand.
	r = e.gql(t, e.as(fixture.Viewer), all, nil)
	require.Len(t, dig(r.Data, "bus", "nodes"), 4, r.Raw)
	require.Len(t, errorsByPath(r), 4, r.Raw)
	for i := range 4 {
		require.Nil(t, dig(r.Data, "bus", "nodes", i, "people"))
		require.NotEmpty(t, dig(r.Data, "bus", "nodes", i, "code"))
	}

	// An admin is refused nothing; the totals are the whole of each BU.
	r = e.gql(t, e.as(fixture.Admin), all, nil)
	require.Empty(t, r.Errors, r.Raw)
	total := 0
	for _, n := range dig(r.Data, "bus", "nodes").([]any) {
		total += int(dig(n, "people", "totalCount").(float64))
	}
	require.Equal(t, 5, total)
}

// nodes(ids) answers each id on its own: an id the caller may not read, or one
// that does not parse, is null at its index with an error pointing there.
func TestNodesRefusesEachIDOnItsOwn(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ids := []string{
		model.GlobalID(model.KindPerson, e.fleet.People[fixture.Outsider]), // outside the lead's subtree
		model.GlobalID(model.KindPerson, e.fleet.People[fixture.Viewer]),
		model.GlobalID(model.KindBU, e.fleet.BUs["PLATFORM"]),
		"not-an-id",
		model.GlobalID(model.KindHost, 987654), // unknown: null without an error
	}
	r := e.gql(t, e.as(fixture.BULead), `query($ids: [ID!]!) { nodes(ids: $ids) { __typename ... on Person { login } ... on BU { code } } }`,
		map[string]any{"ids": ids})
	require.NotNil(t, r.Data, r.Raw)
	nodes := dig(r.Data, "nodes").([]any)
	require.Len(t, nodes, 5, r.Raw)
	require.Nil(t, nodes[0])
	require.Equal(t, fixture.Viewer, dig(nodes[1], "login"))
	require.Equal(t, "PLATFORM", dig(nodes[2], "code"))
	require.Nil(t, nodes[3])
	require.Nil(t, nodes[4])
	errs := errorsByPath(r)
	require.Len(t, errs, 2, r.Raw)
	require.Equal(t, "FORBIDDEN", errs["nodes.0"].Extensions["code"], r.Raw)
	require.Equal(t, "BAD_USER_INPUT", errs["nodes.3"].Extensions["code"], r.Raw)
	requireNoSecrets(t, r.Raw)
}
