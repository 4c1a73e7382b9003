package graph

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/teslaops/tesla/frontend"
	"github.com/teslaops/tesla/graph/generated"
	"github.com/teslaops/tesla/internal/workload"
)

var costNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestPriceChargesTheWorkFieldsCause(t *testing.T) {
	t.Parallel()
	aliases := func(n int, field string) string {
		var b strings.Builder
		b.WriteString("{")
		for i := range n {
			b.WriteString(" h" + string(rune('a'+i%26)) + strings.Repeat("_", i/26))
			b.WriteString(": " + field)
		}
		b.WriteString(" }")
		return b.String()
	}
	const analysis744 = `host(hostname: "n1") { analysis(window: "744h") { window findings { text } peers { verdict } } }`
	cases := []struct {
		name  string
		query string
		vars  map[string]any
		want  int
	}{
		// Scalars are free; an object is one unit plus its selection.
		{"scalar fields cost nothing", `{ me { role authMethod } }`, nil, 1},
		{"an object costs one", `{ me { person { login } } }`, nil, 2},
		{"typename is free", `{ __typename }`, nil, 0},
		// Connections: 1 + page size × node cost (default page 50, capped at 100).
		{"connection, default page", `{ clusters { nodes { name } } }`, nil, 1 + 50*1},
		{"connection, first 10", `{ clusters(first: 10) { nodes { name ownerBu { name } } } }`, nil, 1 + 10*2},
		{"connection, page capped", `{ hosts(first: 10000) { nodes { cluster { name } } } }`, nil, 1 + 100*2},
		{"nested connections multiply", `{ clusters(first: 100) { nodes { hosts(first: 100) { nodes { hostname } } } } }`, nil, 1 + 100*(1+1+100*1)},
		{"nodes by ids", `{ nodes(ids: ["a", "b", "c"]) { ... on Host { cluster { name } } } }`, nil, 1 + 3*1},
		{"list with a count", `{ platform { recentSickHosts(first: 40) { cluster { name } } } }`, nil, 1 + 1 + 40*1},
		// Job analysis: a page of jobs × (job + findings: at most 6 a job, each with its evidence list).
		{"worst jobs with findings", `{ worstJobs(first: 10) { nodes { job { findings { evidence { key } } } } } }`, nil, 1 + 10*(1+1+(1+6*1))},
		{"worst jobs, default page", `{ worstJobs { nodes { score } } }`, nil, 1 + 50*1},
		// Analysis: window minutes × 1 sample a minute × 100 peers / 100 rows a unit.
		{"analysis, default 24h", `{ host(hostname: "n1") { analysis { window } } }`, nil, 1 + 1 + 1440},
		{"analysis, 7 days", `{ host(hostname: "n1") { analysis(window: "168h") { window } } }`, nil, 1 + 1 + 10080},
		{"analysis, 31 days", "{ " + analysis744 + " }", nil, 1 + 1 + 44640 + 2},
		{"analysis, window beyond the maximum priced at it", `{ host(hostname: "n1") { analysis(window: "9000h") { window } } }`, nil, 1 + 1 + 44640},
		{"the attack: 300 aliases of a 31-day analysis", aliases(300, analysis744), nil, 300 * (1 + 1 + 44640 + 2)},
		// Host metrics: raw samples of the range (1 a minute, 100 a unit) + points × their cost.
		{"host metrics, default 6h", `{ host(hostname: "n1") { metrics { points { ts cpuPercent } } } }`, nil, 1 + 1 + 4 + 360*1},
		{"host metrics, 30 days, 300 points", `query($from: Time, $to: Time) { host(hostname: "n1") { metrics(from: $from, to: $to, maxPoints: 300) { step points { ts } } } }`,
			map[string]any{"from": costNow.Add(-30 * 24 * time.Hour).Format(time.RFC3339), "to": costNow.Format(time.RFC3339)}, 1 + 1 + 432 + 300*1},
		{"host metrics, only the step selected", `{ host(hostname: "n1") { metrics { step } } }`, nil, 1 + 1 + 4},
		// Water-level series: per dimension, rows of the table the step reads + points.
		{"cluster series, defaults: 24h from the minute table, 7 dimensions", `{ cluster(name: "c") { watermarks { points { ts } } } }`, nil, 1 + 1 + 7*(15+500*1)},
		{"cluster series, 30 days hourly, 2 dimensions", `query($from: Time, $to: Time) { cluster(name: "c") { watermarks(dimensions: [CPU, MEMORY], from: $from, to: $to, maxPoints: 400) { points { ts } } } }`,
			map[string]any{"from": costNow.Add(-30 * 24 * time.Hour).Format(time.RFC3339), "to": costNow.Format(time.RFC3339)}, 1 + 1 + 2*(8+400*1)},
		// The workload API: connections at page × node cost, unpaged lists at
		// their bound, usage windows at their rows and points.
		{"jobs, first 10, with owners", `{ jobs(first: 10) { nodes { name owner { login } } } }`, nil, 1 + 10*2},
		{"a person's jobs, default page", `{ me { person { jobs { nodes { name } } } } }`, nil, 1 + 1 + 1 + 50*1},
		{"a job's runs", `{ job(id: "x") { runs(first: 20) { nodes { runId } } } }`, nil, 1 + 1 + 20*1},
		{"a job's usage, 48 hours", `{ job(id: "x") { usage(from: "2026-02-27T12:00:00Z", to: "2026-03-01T12:00:00Z") { hour } } }`, nil, 1 + 1 + 1 + 48*0},
		{"queue jobs with shares", `{ queue(id: "x") { jobs(first: 20) { edges { node { name } share } } } }`, nil, 1 + 2 + 1 + 20*2},
		{"a cluster's queue tree priced at 500 queues", `{ cluster(name: "c") { queues { parent { path } } } }`, nil, 1 + 1 + 500*1},
		{"queue children priced at 20", `{ queue(id: "x") { children { path } } }`, nil, 1 + 1 + 20*0},
		{"queue usage, default 24h", `{ queue(id: "x") { usage { points { ts } } } }`, nil, 1 + 1 + 15 + 500*1},
		{"queue usage, 93 days, 5000 points", `{ queue(id: "x") { usage(from: "2025-11-28T12:00:00Z", maxPoints: 5000) { points { ts } } } }`, nil, 1 + 1 + 1340 + 5000*1},
		{"platform series, 400 days at the finest step", `query($from: Time) { platform { watermarkSeries(from: $from, step: "1m", maxPoints: 10000) { points { ts } } } }`,
			map[string]any{"from": costNow.Add(-400 * 24 * time.Hour).Format(time.RFC3339)}, 1 + 1 + 7*(5760+10000*1)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Price(c.query, "", c.vars, costNow)
			require.NoError(t, err)
			require.Equal(t, c.want, got)
		})
	}
}

func TestPriceRefusesInvalidOperations(t *testing.T) {
	t.Parallel()
	_, err := Price(`{ nope }`, "", nil, costNow)
	require.Error(t, err)
	_, err = Price(`query A { me { role } }`, "B", nil, costNow)
	require.Error(t, err)
}

// TestDefaultLimitSeparatesDashboardsFromAbuse pins the default limit between
// what one legitimate heavy request costs and what the attack costs.
func TestDefaultLimitSeparatesDashboardsFromAbuse(t *testing.T) {
	t.Parallel()
	one, err := Price(`{ host(hostname: "n1") { analysis(window: "744h") { window } } }`, "", nil, costNow)
	require.NoError(t, err)
	require.Less(t, one, DefaultComplexity, "one 31-day analysis must fit")
	require.Greater(t, 300*one, DefaultComplexity, "300 of them must not")
	require.Greater(t, 3*one, DefaultComplexity, "nor three")
	daily, err := Price(`{ host(hostname: "n1") { analysis { window } } }`, "", nil, costNow)
	require.NoError(t, err)
	require.Less(t, daily, DefaultExpensiveCost, "the web app's 24h analysis is not expensive")
	require.Greater(t, one, DefaultExpensiveCost, "a 31-day analysis is")
}

// TestFleetScansCannotBeAliasedManyTimes: hardware failure rates computed afresh
// (a window or a minimum severity) scan the whole fleet, so a request written
// with many aliases of them is refused, while the stored figures stay cheap.
func TestFleetScansCannotBeAliasedManyTimes(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("{")
	for i := range 30 {
		fmt.Fprintf(&b, ` r%d: hardwareReliability(groupBy: MODEL, since: "2026-%02d-01T00:00:00Z") { label }`, i, i%12+1)
	}
	b.WriteString(" }")
	cost, err := Price(b.String(), "", nil, costNow)
	require.NoError(t, err)
	require.Greater(t, cost, DefaultComplexity, "30 fleet scans in one request")
	stored, err := Price(`{ m: hardwareReliability(groupBy: MODEL) { label } a: hardwareReliability(groupBy: AGE) { label }
		c: hardwareReliability(groupBy: CLUSTER) { label } hostsToReplace(first: 50) { score } }`, "", nil, costNow)
	require.NoError(t, err)
	require.Less(t, stored, DefaultExpensiveCost, "the stored figures are a cheap read")
}

// TestFrontendQueriesCostLittle prices every GraphQL document the web app sends
// (frontend/src, with its string constants substituted) with the largest
// variables it uses (100-row pages, 30-day ranges) and requires each to stay
// under 5% of the default limit, so the limit never gets in the way of a screen.
func TestFrontendQueriesCostLittle(t *testing.T) {
	t.Parallel()
	docs := frontendDocuments(t, filepath.Join("..", "frontend", "src"))
	require.GreaterOrEqual(t, len(docs), 15, "expected the web app's queries")
	schema := generated.NewExecutableSchema(generated.Config{Resolvers: &Resolver{}}).Schema()
	names := make([]string, 0, len(docs))
	for n := range docs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		doc := docs[name]
		q, errs := gqlparser.LoadQuery(schema, doc)
		require.Empty(t, errs, "%s does not validate", name)
		for _, op := range q.Operations {
			if op.Operation == ast.Mutation {
				// A mutation's price is its payload's selection, a few units; its
				// required input objects have no "largest value" to price with.
				continue
			}
			cost, err := Price(doc, op.Name, worstVariables(op), costNow)
			require.NoError(t, err, name)
			t.Logf("%-24s %-22s cost %6d (%.2f%% of the default limit)", name, op.Name, cost, 100*float64(cost)/DefaultComplexity)
			require.Less(t, cost, DefaultComplexity/20, "%s costs too much of the default limit", name)
		}
	}
}

// worstVariables gives each variable of op the largest value the web app sends.
func worstVariables(op *ast.OperationDefinition) map[string]any {
	vars := map[string]any{}
	for _, v := range op.VariableDefinitions {
		switch v.Variable {
		case "first", "last":
			vars[v.Variable] = 100
		case "from":
			vars[v.Variable] = costNow.Add(-30 * 24 * time.Hour).Format(time.RFC3339)
		case "to":
			vars[v.Variable] = costNow.Format(time.RFC3339)
		case "window":
			vars[v.Variable] = "24h"
		default:
			switch {
			case !v.Type.NonNull:
			case v.Type.NamedType == "String" || v.Type.NamedType == "ID":
				vars[v.Variable] = "x"
			case v.Type.NamedType == "Boolean":
				vars[v.Variable] = true // the larger selection of an @include
			case v.Type.NamedType == "Int":
				vars[v.Variable] = 100 // sizes and depths: prices clamp to their bounds
			case v.Type.NamedType == "JobFilter":
				vars[v.Variable] = map[string]any{}
			case v.Type.NamedType == "UpgradeClusterInput":
				vars[v.Variable] = map[string]any{"cluster": "x", "stackVersion": "x"}
			case v.Type.NamedType == "BillPeriodInput":
				vars[v.Variable] = map[string]any{"unit": "MONTH", "start": costNow.Format(time.RFC3339)}
			}
		}
	}
	return vars
}

// frontendDocuments returns every operation the web app sends, by name.
func frontendDocuments(t *testing.T, dir string) map[string]string {
	t.Helper()
	all, err := frontend.Documents(dir)
	require.NoError(t, err)
	docs := map[string]string{}
	for _, d := range all {
		docs[d.Name] = d.Text
	}
	return docs
}

// TestUnpagedListsArePricedAtTheirSize: a list without paging returns every row,
// so what is selected under it is paid for once per row it may hold, not once.
func TestUnpagedListsArePricedAtTheirSize(t *testing.T) {
	t.Parallel()
	one, err := Price(`{ cluster(name: "c") { hosts(first: 100) { nodes { hostname } } } }`, "", nil, costNow)
	require.NoError(t, err)
	all, err := Price(`{ platform { watermarks { cluster { hosts(first: 100) { nodes { hostname } } } } } }`, "", nil, costNow)
	require.NoError(t, err)
	require.GreaterOrEqual(t, all, nominalClusters*(one-1), "every cluster's hosts are paid for")
	v, err := Price(`{ stacks(first: 1) { nodes { versions { clusters { hosts(first: 10) { totalCount } } } } } }`, "", nil, costNow)
	require.NoError(t, err)
	require.GreaterOrEqual(t, v, nominalPerParent*nominalPerParent, "versions × their clusters")
	q, err := Price(`{ cluster(name: "c") { queues { jobs(first: 10) { edges { share } } } } }`, "", nil, costNow)
	require.NoError(t, err)
	require.GreaterOrEqual(t, q, workload.MaxQueuesPerCluster*10, "every queue of the tree pays for its jobs page")
}

// A budget's forecast and children are read per budget, so a page of budgets
// pays for each, and aliases multiply them.
func TestBudgetForecastsArePricedPerBudget(t *testing.T) {
	t.Parallel()
	one, err := Price(`{ node(id: "x") { ... on Budget { forecast { endOfMonth } } } }`, "", nil, costNow)
	require.NoError(t, err)
	page, err := Price(`{ budgets(first: 100) { edges { node { forecast { endOfMonth } } } } }`, "", nil, costNow)
	require.NoError(t, err)
	require.GreaterOrEqual(t, page, 100*forecastCost, "every budget's forecast is paid for")
	require.Greater(t, one, forecastCost)
	children, err := Price(`{ budgets(first: 10) { edges { node { children { budget { forecast { endOfMonth } } } } } } }`, "", nil, costNow)
	require.NoError(t, err)
	require.GreaterOrEqual(t, children, 10*nominalPerParent*forecastCost, "children's forecasts are paid for per child")
	screen, err := Price(`{ budgets(first: 20) { totalCount edges { node { id amount spend spendPercent editable bu { name } person { name }
		forecast { endOfMonth low high runsOutOn measuredErrorPercent days { day actual forecast cumulative } }
		alerts { kind threshold raisedAt } } } } }`, "", nil, costNow)
	require.NoError(t, err)
	t.Logf("a budgets screen of 20 with forecasts and alerts costs %d", screen)
	require.Less(t, screen, 5000, "a budgets screen stays under the frontend's budget")
}
