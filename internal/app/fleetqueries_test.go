package app

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The fleet bench reads its queries from the tree: the frontend's documents with
// their ${FRAGMENT}s resolved, the examples of docs/graphql.md, and its own host
// pages; a query whose required variable it cannot fill is skipped, by name.
func TestFleetBenchReadsTheQueriesFromTheTree(t *testing.T) {
	t.Parallel()
	known := map[string]any{"name": "batch-x-01", "first": 50, "hostname": "h1",
		"from": "2026-11-30T00:00:00Z", "to": "2026-11-30T06:00:00Z"}
	// The stand-ins benchStandIns finds in a seeded fleet (any ids will do here).
	job, queue, bu, episode := b64("Job:1"), b64("Queue:1"), b64("BU:1"), b64("Anomaly:1")
	month := map[string]any{"unit": "MONTH", "start": "2026-11-01T00:00:00Z"}
	byQuery := map[string]map[string]any{
		"JobHead": {"id": job}, "JobDetail": {"id": job}, "JobRuns": {"id": job}, "JobLineage": {"node": job},
		"QueueDetail": {"id": queue}, "BUCentre": {"code": "ADS"}, "BUCentreQueues": {"bu": bu},
		"BUCentreJobs": {"filter": map[string]any{"bu": bu}}, "Anomaly": {"id": episode},
		"CostPage": {"period": month}, "ScreenCost": {"period": month}, "JobHealth": {"id": job},
		"BUBudget": {"code": "ADS"}, "BUHealth": {"code": "ADS"}, "BUPeopleBudgets": {"bu": bu, "canEdit": true},
		"BUBills": {"bu": bu, "period": month}, "MyBill": {"person": b64("Person:1"), "period": month},
		"OperationDetail": {"id": b64("Operation:1")}, "OperationTasks": {"id": b64("Operation:1")},
		"StackVersionDetail": {"id": b64("StackVersion:1")}, "ScaleOutSpares": {"region": "cn-north"},
		"UpgradePreCheck":  {"input": map[string]any{"cluster": b64("Cluster:1"), "stackVersion": b64("StackVersion:1")}},
		"ConfigDiff":       {"name": "batch-x-01", "older": 1, "newer": 2},
		"ConfigGroupHosts": {"name": "batch-x-01", "group": "edge", "first": 5000},
	}
	known["depth"], known["pickAny"], known["detail"] = 2, false, true
	use, skipped, err := loadBenchQueries("../..", known, byQuery, "batch-x-01")
	require.NoError(t, err)
	sources := map[string]int{}
	for _, q := range use {
		sources[q.Source]++
		require.NotContains(t, q.Query, "${", "%s: fragments resolved", q.Name)
		require.True(t, strings.HasPrefix(q.Query, "query") || strings.HasPrefix(q.Query, "{"), "%s is a query", q.Name)
		require.NotContains(t, q.Query, "mutation", q.Name)
		require.NotContains(t, q.Query, "subscription", q.Name)
	}
	require.Positive(t, sources["graphql.md"], "the docs' examples are driven")
	require.Positive(t, sources["fleet bench"])
	var frontend int
	for s, n := range sources {
		if strings.HasPrefix(s, "src/") {
			frontend += n
		}
	}
	require.Positive(t, frontend, "the frontend's queries are driven: %v", sources)
	t.Logf("skipped: %v", skipped)
	for _, s := range skipped {
		require.Contains(t, s, "docs", "only examples needing an unknown ID are skipped")
	}
}

func TestBindVariables(t *testing.T) {
	t.Parallel()
	known := map[string]any{"name": "c1", "first": 50}
	for _, tc := range []struct {
		query string
		ok    bool
		vars  map[string]any
	}{
		{`{ me { role } }`, true, map[string]any{}},
		{`query Q($name: String!, $after: String) { cluster(name: $name) { id } }`, true, map[string]any{"name": "c1"}},
		{`query Q($bu: ID!) { hosts(filter: {buId: $bu}) { totalCount } }`, false, nil},
		{`query Q($first: Int, $filter: HostFilter) { hosts(first: $first) { totalCount } }`, true, map[string]any{"first": 50}},
	} {
		q := benchQuery{Query: tc.query}
		require.Equal(t, tc.ok, bindVariables(&q, known), tc.query)
		if tc.ok {
			require.Equal(t, tc.vars, q.Vars, tc.query)
		}
	}
}
