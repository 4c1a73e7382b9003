package app

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/cost"
	"github.com/teslaops/tesla/internal/fixture"
)

// Rate cards and bills end to end through the real handler: an ADMIN adds a
// card (a bad one comes back as userErrors naming the field), the day is
// billed, and each role reads what its scope allows, in GraphQL and as CSV.
func TestCostThroughGraphQLAndCSV(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	day := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	for _, j := range []struct{ name, owner string }{{"a", fixture.Viewer}, {"b", fixture.Outsider}} {
		var id int64
		require.NoError(t, e.db.Pool.QueryRow(ctx, `INSERT INTO job (namespace, name, owner_id, cluster_id) VALUES ('t', $1, $2, $3) RETURNING id`,
			j.name, e.fleet.People[j.owner], e.fleet.Clusters["batch-wh-1"]).Scan(&id))
		_, err := e.db.Pool.Exec(ctx, `INSERT INTO job_usage_1h (job_id, hour, requested_core_seconds, used_core_seconds) VALUES ($1, $2, 7200, 3600)`, id, day.Add(time.Hour))
		require.NoError(t, err)
	}
	const upsert = `mutation($in: UpsertRateCardInput!) { upsertRateCard(input: $in) {
		rateCard { id clusterKind coreHour memoryGbHour overheadPerMonth validFrom validTo }
		userErrors { field message code } } }`
	r := e.gql(t, e.as(fixture.Admin), upsert, map[string]any{"in": map[string]any{"clusterKind": "BATCH",
		"validFrom": "2026-11-01T00:00:00Z", "coreHour": "-0.5", "memoryGbHour": "0.01"}})
	require.Empty(t, r.Errors, r.Raw)
	require.Equal(t, []any{"input", "coreHour"}, dig(r.Data, "upsertRateCard", "userErrors", 0, "field"), r.Raw)
	r = e.gql(t, e.as(fixture.Admin), upsert, map[string]any{"in": map[string]any{"clusterKind": "BATCH",
		"validFrom": "2026-11-01T00:00:00Z", "coreHour": "0.05", "memoryGbHour": "0.01", "overheadPerMonth": "300"}})
	require.Empty(t, r.Errors, r.Raw)
	require.Equal(t, "0.05", dig(r.Data, "upsertRateCard", "rateCard", "coreHour"), r.Raw)
	r = e.gql(t, e.as(fixture.Viewer), upsert, map[string]any{"in": map[string]any{"clusterKind": "ONLINE",
		"validFrom": "2026-11-01T00:00:00Z", "coreHour": "0.05", "memoryGbHour": "0.01"}})
	require.Equal(t, "FORBIDDEN", r.code(), r.Raw)

	_, err := cost.NewBiller(e.db.Pool, cost.Config{}, cost.BillingConfig{}, nil).Bill(ctx, day, day.AddDate(0, 0, 1), day.AddDate(0, 0, 1))
	require.NoError(t, err)

	const bills = `query($p: BillPeriodInput!, $by: BillGroupBy!) { currency bills(groupBy: $by, period: $p) {
		total totalCount csvUrl lines { entityId name amount usage idleShare overhead rounding
		items { resource quantity unit unitPrice amount } } } }`
	period := map[string]any{"unit": "DAY", "start": "2026-11-02T00:00:00Z"}
	r = e.gql(t, e.as(fixture.Admin), bills, map[string]any{"p": period, "by": "JOB"})
	require.Empty(t, r.Errors, r.Raw)
	require.Equal(t, "USD", dig(r.Data, "currency"))
	// Two core-hours each at 0.05: 0.10 per job.
	var found bool
	for _, l := range dig(r.Data, "bills", "lines").([]any) {
		if dig(l, "name") == "t/a" {
			found = true
			require.Equal(t, "0.10", dig(l, "usage"), r.Raw)
			require.Equal(t, "2", dig(l, "items", 0, "quantity"), r.Raw)
			require.Equal(t, "core-hour", dig(l, "items", 0, "unit"), r.Raw)
			require.Equal(t, "0.05", dig(l, "items", 0, "unitPrice"), r.Raw)
		}
	}
	require.True(t, found, r.Raw)
	adminTotal := dig(r.Data, "bills", "total")

	// The viewer sees their own job only.
	r = e.gql(t, e.as(fixture.Viewer), bills, map[string]any{"p": period, "by": "JOB"})
	require.Empty(t, r.Errors, r.Raw)
	lines := dig(r.Data, "bills", "lines").([]any)
	require.Len(t, lines, 1, r.Raw)
	require.Equal(t, "t/a", dig(lines[0], "name"))
	require.NotEqual(t, adminTotal, dig(r.Data, "bills", "total"))

	// CSV through the server's authentication: the admin's link works, the
	// viewer's export of another BU is refused, no credential is 401.
	csvURL := dig(r.Data, "bills", "csvUrl").(string)
	get := func(token, path string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	status, body := get(e.as(fixture.Viewer), csvURL)
	require.Equal(t, http.StatusOK, status, body)
	require.Contains(t, body, "t/a")
	require.NotContains(t, body, "t/b")
	status, body = get(e.as(fixture.Viewer), fmt.Sprintf("/api/v1/bills.csv?groupBy=BU&unit=MONTH&start=2026-11-01&bu=%d", e.fleet.BUs["PLATFORM"]))
	require.Equal(t, http.StatusForbidden, status, body)
	status, _ = get("", "/api/v1/bills.csv?groupBy=BU&unit=MONTH&start=2026-11-01")
	require.Equal(t, http.StatusUnauthorized, status)
	status, body = get(e.as(fixture.Admin), "/api/v1/bills.csv?groupBy=CLUSTER&unit=DAY&start=2026-11-02")
	require.Equal(t, http.StatusOK, status, body)
	require.True(t, strings.Contains(body, "batch-wh-1") && strings.Contains(body, "TOTAL"), body)

	// costBreakdown and the cost fields.
	r = e.gql(t, e.as(fixture.BULead), `query($bu: ID!, $p: BillPeriodInput!) {
		costBreakdown(bu: $bu, month: "2026-11-15T00:00:00Z") { summary { amount } byBU { name amount } byCluster { name amount } }
		node(id: $bu) { ... on BU { cost(period: $p) { amount idleShare items { resource amount } } } } }`,
		map[string]any{"bu": b64(fmt.Sprintf("BU:%d", e.fleet.BUs["ADS"])), "p": map[string]any{"unit": "MONTH", "start": "2026-11-01T00:00:00Z"}})
	require.Empty(t, r.Errors, r.Raw)
	require.Equal(t, dig(r.Data, "costBreakdown", "summary", "amount"), dig(r.Data, "node", "cost", "amount"), r.Raw)
}
