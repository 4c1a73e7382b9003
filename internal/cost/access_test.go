package cost_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/cost"
	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/fixture"
)

func as(f *fixture.Fleet, login string, role auth.Role, bu string, subtree ...string) context.Context {
	p := &auth.Principal{PersonID: f.People[login], Login: login, Role: role, BUID: f.BUs[bu]}
	for _, s := range subtree {
		p.BUSubtree = append(p.BUSubtree, f.BUs[s])
	}
	return auth.WithPrincipal(context.Background(), p)
}

// billedFixture bills a day of the fixture fleet: a job of alice (ADS-SEARCH)
// and one of bob (PLATFORM) on batch-wh-1, one of lead (ADS) on rt-ads-1.
func billedFixture(t *testing.T) (*pgxpool.Pool, *fixture.Fleet, *cost.Service, time.Time) {
	t.Helper()
	pool := dbtest.New(t)
	f := fixture.New(t, pool)
	ctx := context.Background()
	day := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	for _, j := range []struct {
		name, owner, cluster string
	}{{"a", fixture.Viewer, "batch-wh-1"}, {"b", fixture.Outsider, "batch-wh-1"}, {"l", fixture.BULead, "rt-ads-1"}} {
		var id int64
		require.NoError(t, pool.QueryRow(ctx, `INSERT INTO job (namespace, name, owner_id, cluster_id) VALUES ('t', $1, $2, $3) RETURNING id`,
			j.name, f.People[j.owner], f.Clusters[j.cluster]).Scan(&id))
		_, err := pool.Exec(ctx, `INSERT INTO job_usage_1h (job_id, hour, requested_core_seconds, used_core_seconds,
			requested_memory_byte_seconds, used_memory_byte_seconds) VALUES ($1, $2, 36000, 20000, 3600 * 8 * 1073741824.0, 0)`, id, day.Add(3*time.Hour))
		require.NoError(t, err)
	}
	svc := cost.NewService(pool, auditLog(pool), cost.Config{})
	admin := as(f, fixture.Admin, auth.Admin, "PLATFORM")
	for _, k := range kinds {
		kind := k
		_, err := svc.UpsertRateCard(admin, cost.RateCardInput{ClusterKind: &kind, ValidFrom: day.AddDate(0, -1, 0),
			CoreHour: decimal.RequireFromString("0.05"), MemoryGBHour: decimal.RequireFromString("0.01"), OverheadPerMonth: ptr(decimal.RequireFromString("3000"))})
		require.NoError(t, err)
	}
	_, err := cost.NewBiller(pool, cost.Config{}, cost.BillingConfig{}, slog.New(slog.DiscardHandler)).Bill(ctx, day, day.AddDate(0, 0, 1), day.AddDate(0, 0, 1))
	require.NoError(t, err)
	return pool, f, svc, day
}

func TestBillAccessFollowsRoles(t *testing.T) {
	t.Parallel()
	pool, f, svc, day := billedFixture(t)
	period := cost.Period{Unit: cost.Day, Start: day}
	var all decimal.Decimal
	require.NoError(t, pool.QueryRow(context.Background(), `SELECT sum(amount) FROM bill_line`).Scan(&all))

	for _, role := range []struct {
		login string
		role  auth.Role
	}{{fixture.Admin, auth.Admin}, {fixture.Operator, auth.Operator}} {
		v, err := svc.Bills(as(f, role.login, role.role, "PLATFORM"), cost.BillQuery{GroupBy: cost.ByBU, Period: period})
		require.NoError(t, err)
		require.True(t, v.Total.Equal(all), "%s sees %s of %s", role.login, v.Total, all)
	}

	// A viewer sees their own lines only, whatever the grouping.
	alice := as(f, fixture.Viewer, auth.Viewer, "ADS-SEARCH")
	for _, by := range []cost.GroupBy{cost.ByJob, cost.ByPerson, cost.ByBU, cost.ByCluster, cost.ByResource} {
		v, err := svc.Bills(alice, cost.BillQuery{GroupBy: by, Period: period})
		require.NoError(t, err)
		var own decimal.Decimal
		require.NoError(t, pool.QueryRow(context.Background(), `SELECT sum(amount) FROM bill_line WHERE person_id = $1`, f.People[fixture.Viewer]).Scan(&own))
		require.True(t, v.Total.Equal(own) && own.IsPositive(), "%s: alice sees %s, owns %s", by, v.Total, own)
	}
	bob := f.People[fixture.Outsider]
	_, err := svc.Bills(alice, cost.BillQuery{GroupBy: cost.ByJob, Period: period, Filter: cost.Filter{PersonID: &bob}})
	require.True(t, fault.Is(err, fault.Forbidden), "%v", err)
	platform := f.BUs["PLATFORM"]
	_, err = svc.Bills(alice, cost.BillQuery{GroupBy: cost.ByBU, Period: period, Filter: cost.Filter{BUID: &platform}})
	require.True(t, fault.Is(err, fault.Forbidden), "%v", err)

	// A BU admin sees their subtree and is refused another BU.
	lead := as(f, fixture.BULead, auth.BUAdmin, "ADS", "ADS", "ADS-SEARCH")
	v, err := svc.Bills(lead, cost.BillQuery{GroupBy: cost.ByBU, Period: period})
	require.NoError(t, err)
	for _, g := range v.Groups {
		require.Contains(t, []int64{f.BUs["ADS"], f.BUs["ADS-SEARCH"]}, *g.ID)
	}
	require.Len(t, v.Groups, 2)
	_, err = svc.Bills(lead, cost.BillQuery{GroupBy: cost.ByJob, Period: period, Filter: cost.Filter{BUID: &platform}})
	require.True(t, fault.Is(err, fault.Forbidden), "%v", err)

	// The breakdown of ADS rolls ADS-SEARCH up into its child group.
	ads := f.BUs["ADS"]
	b, err := svc.CostBreakdown(lead, ads, day)
	require.NoError(t, err)
	sum := decimal.Zero
	for _, g := range b.ByBU {
		sum = sum.Add(g.Amount)
	}
	require.True(t, sum.Equal(b.Summary.Amount), "by BU %s, total %s", sum, b.Summary.Amount)
	_, err = svc.CostBreakdown(alice, ads, day)
	require.True(t, fault.Is(err, fault.Forbidden), "%v", err)
}

func TestBillsCSVKeepsTheAccessRules(t *testing.T) {
	t.Parallel()
	_, f, svc, day := billedFixture(t)
	h := svc.CSVHandler(slog.New(slog.DiscardHandler))
	get := func(ctx context.Context, query string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, "/api/v1/bills.csv?"+query, nil).WithContext(ctx)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	alice := as(f, fixture.Viewer, auth.Viewer, "ADS-SEARCH")
	w := get(alice, "groupBy=BU&unit=MONTH&start="+day.Format(time.DateOnly)+"&bu="+itoa(f.BUs["PLATFORM"]))
	require.Equal(t, http.StatusForbidden, w.Code, w.Body.String())

	w = get(alice, "groupBy=JOB&unit=DAY&start="+day.Format(time.DateOnly))
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	require.Equal(t, "text/csv; charset=utf-8", w.Header().Get("Content-Type"))
	body := w.Body.String()
	require.Contains(t, body, "t/a")
	require.NotContains(t, body, "t/b", "alice's export holds bob's job")

	admin := as(f, fixture.Admin, auth.Admin, "PLATFORM")
	w = get(admin, "groupBy=JOB&from="+day.Format(time.DateOnly)+"&to="+day.AddDate(0, 0, 1).Format(time.DateOnly))
	require.Equal(t, http.StatusOK, w.Code)
	require.Contains(t, w.Body.String(), "t/b")
	lines := strings.Split(strings.TrimSpace(w.Body.String()), "\n")
	require.Contains(t, lines[len(lines)-1], "TOTAL")

	w = get(admin, "groupBy=TEAM&unit=DAY&start="+day.Format(time.DateOnly))
	require.Equal(t, http.StatusBadRequest, w.Code)
	require.Contains(t, w.Body.String(), "groupBy")
	w = get(context.Background(), "groupBy=BU&unit=DAY&start="+day.Format(time.DateOnly))
	require.Equal(t, http.StatusUnauthorized, w.Code)
}

func itoa(n int64) string { return decimal.NewFromInt(n).String() }

func TestRateCardRules(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	f := fixture.New(t, pool)
	svc := cost.NewService(pool, auditLog(pool), cost.Config{})
	admin := as(f, fixture.Admin, auth.Admin, "PLATFORM")
	d := func(s string) time.Time { t, _ := time.Parse(time.DateOnly, s); return t }
	batch := "BATCH"
	in := cost.RateCardInput{ClusterKind: &batch, ValidFrom: d("2026-01-01"), ValidTo: ptr(d("2026-07-01")),
		CoreHour: decimal.RequireFromString("0.045"), MemoryGBHour: decimal.RequireFromString("0.006")}
	first, err := svc.UpsertRateCard(admin, in)
	require.NoError(t, err)

	// An overlapping card for the same target is refused, naming the card.
	in2 := in
	in2.ValidFrom, in2.ValidTo = d("2026-06-01"), nil
	_, err = svc.UpsertRateCard(admin, in2)
	fe, ok := fault.As(err)
	require.True(t, ok && fe.Kind == fault.Invalid, "%v", err)
	require.Contains(t, fe.Message, "rate card "+itoa(first.ID))
	// Adjacent is fine; so is the same period for one cluster (it wins).
	in2.ValidFrom = d("2026-07-01")
	_, err = svc.UpsertRateCard(admin, in2)
	require.NoError(t, err)
	cl := f.Clusters["batch-wh-1"]
	_, err = svc.UpsertRateCard(admin, cost.RateCardInput{ClusterID: &cl, ValidFrom: d("2026-03-01"),
		CoreHour: decimal.RequireFromString("0.1"), MemoryGBHour: decimal.Zero})
	require.NoError(t, err)

	for _, bad := range []struct {
		field string
		in    cost.RateCardInput
	}{
		{"input.coreHour", cost.RateCardInput{ClusterKind: &batch, ValidFrom: d("2030-01-01"), CoreHour: decimal.RequireFromString("-0.01")}},
		{"input.memoryGbHour", cost.RateCardInput{ClusterKind: &batch, ValidFrom: d("2030-01-01"), MemoryGBHour: decimal.RequireFromString("-1")}},
		{"input.coreHour", cost.RateCardInput{ClusterKind: &batch, ValidFrom: d("2030-01-01"), CoreHour: decimal.RequireFromString("0.0000001")}},
		{"input.clusterKind", cost.RateCardInput{ValidFrom: d("2030-01-01")}},
		{"input.clusterKind", cost.RateCardInput{ClusterKind: ptr("GPU"), ValidFrom: d("2030-01-01")}},
		{"input.validTo", cost.RateCardInput{ClusterKind: &batch, ValidFrom: d("2030-01-01"), ValidTo: ptr(d("2029-01-01"))}},
		{"input.validFrom", cost.RateCardInput{ClusterKind: &batch, ValidFrom: d("2030-01-01").Add(time.Hour)}},
		{"input.cluster", cost.RateCardInput{ClusterID: ptr(int64(999999)), ValidFrom: d("2030-01-01")}},
		{"input.overheadPerMonth", cost.RateCardInput{ClusterKind: &batch, ValidFrom: d("2030-01-01"), OverheadPerMonth: ptr(decimal.RequireFromString("-5"))}},
	} {
		_, err := svc.UpsertRateCard(admin, bad.in)
		fe, ok := fault.As(err)
		require.True(t, ok && fe.Kind == fault.Invalid && fe.Field == bad.field, "%s: %v", bad.field, err)
	}

	// Only an ADMIN edits cards; everyone signed in reads them.
	_, err = svc.UpsertRateCard(as(f, fixture.Operator, auth.Operator, "PLATFORM"), cost.RateCardInput{ClusterKind: &batch, ValidFrom: d("2031-01-01")})
	require.True(t, fault.Is(err, fault.Forbidden), "%v", err)
	_, err = svc.DeleteRateCard(as(f, fixture.Viewer, auth.Viewer, "ADS-SEARCH"), first.ID)
	require.True(t, fault.Is(err, fault.Forbidden), "%v", err)
	cards, err := svc.RateCards(as(f, fixture.Viewer, auth.Viewer, "ADS-SEARCH"))
	require.NoError(t, err)
	require.Len(t, cards, 3)

	// Changes are audited with the card before and after.
	upd := in
	upd.ID, upd.CoreHour = first.ID, decimal.RequireFromString("0.05")
	_, err = svc.UpsertRateCard(admin, upd)
	require.NoError(t, err)
	_, err = svc.DeleteRateCard(admin, first.ID)
	require.NoError(t, err)
	var n int
	require.NoError(t, pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_log WHERE action = 'upsertRateCard'
		AND target = $1 AND outcome = 'OK' AND input->'before'->>'coreHour' = '0.045' AND input->'after'->>'coreHour' = '0.05'`,
		"rateCard:"+itoa(first.ID)).Scan(&n))
	require.Equal(t, 1, n)
	require.NoError(t, pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_log WHERE action = 'deleteRateCard' AND outcome = 'OK'`).Scan(&n))
	require.Equal(t, 1, n)
	require.NoError(t, pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_log WHERE action = 'upsertRateCard' AND outcome = 'DENIED'`).Scan(&n))
	require.Equal(t, 1, n)
}
