package budget_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/audit"
	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/budget"
	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/fixture"
	"github.com/teslaops/tesla/internal/page"
)

// now is the tests' clock: Wednesday 18 November 2026, 10:00 UTC.
var now = time.Date(2026, 11, 18, 10, 0, 0, 0, time.UTC)

var month = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

func clock() time.Time { return now }

func as(f *fixture.Fleet, login string, role auth.Role, bu string, subtree ...string) context.Context {
	p := &auth.Principal{PersonID: f.People[login], Login: login, Role: role, BUID: f.BUs[bu]}
	for _, s := range subtree {
		p.BUSubtree = append(p.BUSubtree, f.BUs[s])
	}
	return auth.WithPrincipal(context.Background(), p)
}

type roles struct {
	admin, ops, lead, alice, bob context.Context
}

func setup(t *testing.T) (*pgxpool.Pool, *fixture.Fleet, *budget.Service, roles) {
	t.Helper()
	pool := dbtest.New(t)
	f := fixture.New(t, pool)
	svc := budget.NewService(pool, audit.New(pool, slog.New(slog.DiscardHandler)), "USD").WithClock(clock)
	return pool, f, svc, roles{
		admin: as(f, fixture.Admin, auth.Admin, "PLATFORM"),
		ops:   as(f, fixture.Operator, auth.Operator, "PLATFORM"),
		lead:  as(f, fixture.BULead, auth.BUAdmin, "ADS", "ADS", "ADS-SEARCH"),
		alice: as(f, fixture.Viewer, auth.Viewer, "ADS-SEARCH"),
		bob:   as(f, fixture.Outsider, auth.Viewer, "PLATFORM"),
	}
}

// bill writes a day's sums as billing would: amount to a BU and, when
// person is set, to the person.
func bill(t *testing.T, pool *pgxpool.Pool, day time.Time, bu int64, person *int64, amount string) {
	t.Helper()
	ctx := context.Background()
	_, err := pool.Exec(ctx, `INSERT INTO bill_bu_day (day, bu_id, resource, quantity, amount) VALUES ($1, $2, 'CPU', 1, $3)
		ON CONFLICT (day, bu_id, resource) DO UPDATE SET amount = bill_bu_day.amount + EXCLUDED.amount`, day, bu, amount)
	require.NoError(t, err)
	if person != nil {
		_, err = pool.Exec(ctx, `INSERT INTO bill_person_day (day, person_id, bu_id, resource, quantity, amount) VALUES ($1, $2, $3, 'CPU', 1, $4)
			ON CONFLICT (person_id, day, bu_id, resource) DO UPDATE SET amount = bill_person_day.amount + EXCLUDED.amount`, day, *person, bu, amount)
		require.NoError(t, err)
	}
}

func ptr[T any](v T) *T { return &v }

func amount(s string) decimal.Decimal { return decimal.RequireFromString(s) }

// The rules: ADMIN sets any budget; a BU admin those of their subtree's BUs
// and people, not outside it; an OPERATOR (whose role ranks above BU_ADMIN)
// only their own; a viewer only their own. Refusals are audited as DENIED.
func TestWhoMaySetBudgets(t *testing.T) {
	t.Parallel()
	pool, f, svc, r := setup(t)
	ads, search, platform := f.BUs["ADS"], f.BUs["ADS-SEARCH"], f.BUs["PLATFORM"]
	alice, bob := f.People[fixture.Viewer], f.People[fixture.Outsider]
	ok := []struct {
		name string
		ctx  context.Context
		in   budget.Input
	}{
		{"admin any BU", r.admin, budget.Input{BUID: &platform, Amount: amount("1000")}},
		{"lead their BU", r.lead, budget.Input{BUID: &ads, Amount: amount("5000")}},
		{"lead a sub-BU", r.lead, budget.Input{BUID: &search, Amount: amount("3000")}},
		{"lead a person of the subtree", r.lead, budget.Input{PersonID: &alice, Amount: amount("100")}},
		{"a viewer their own", r.bob, budget.Input{PersonID: &bob, Amount: amount("50")}},
		{"an operator their own", r.ops, budget.Input{PersonID: ptr(f.People[fixture.Operator]), Amount: amount("70")}},
	}
	for _, c := range ok {
		b, err := svc.Upsert(c.ctx, c.in)
		require.NoError(t, err, c.name)
		require.True(t, b.Editable, c.name)
	}
	refused := []struct {
		name string
		ctx  context.Context
		in   budget.Input
	}{
		{"operator a BU", r.ops, budget.Input{BUID: &platform, Amount: amount("1")}},
		{"operator another person", r.ops, budget.Input{PersonID: &alice, Amount: amount("1")}},
		{"lead outside the subtree", r.lead, budget.Input{BUID: &platform, Amount: amount("1")}},
		{"lead a person outside the subtree", r.lead, budget.Input{PersonID: &bob, Amount: amount("1")}},
		{"viewer someone else", r.alice, budget.Input{PersonID: &bob, Amount: amount("1")}},
		{"viewer their own BU", r.alice, budget.Input{BUID: &search, Amount: amount("1")}},
	}
	for _, c := range refused {
		_, err := svc.Upsert(c.ctx, c.in)
		require.True(t, fault.Is(err, fault.Forbidden), "%s: %v", c.name, err)
	}
	var denied int
	require.NoError(t, pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_log WHERE action = 'upsertBudget' AND outcome = 'DENIED'`).Scan(&denied))
	require.Equal(t, len(refused), denied)

	// Reading: the viewer sees their own and their BU's budget (read-only),
	// not the parent's; the lead the subtree; the operator everything,
	// editing none but their own.
	list := func(ctx context.Context) map[string]bool {
		p, err := svc.Budgets(ctx, budget.Query{})
		require.NoError(t, err)
		out := map[string]bool{}
		for _, b := range p.Items {
			out[b.OwnerName] = b.Editable
		}
		return out
	}
	require.Equal(t, map[string]bool{"Alice Viewer": true, "Ads Search": false}, list(r.alice))
	require.Equal(t, map[string]bool{"Alice Viewer": true, "Ads Search": true, "Ads": true}, list(r.lead))
	require.Equal(t, map[string]bool{"Alice Viewer": false, "Ads Search": false, "Ads": false, "Platform": false,
		"Bob Outsider": false, "Otto Operator": true}, list(r.ops))
	require.Len(t, list(r.admin), 6)

	// Bad input names the field.
	for field, in := range map[string]budget.Input{
		"input.bu":         {BUID: &ads, PersonID: &alice, Amount: amount("1")},
		"input.person":     {Amount: amount("1")},
		"input.amount":     {BUID: &ads, Amount: amount("0")},
		"input.thresholds": {BUID: &ads, Amount: amount("1"), Thresholds: []int{50, 50}},
		"input.webhookUrl": {BUID: &ads, Amount: amount("1"), WebhookURL: ptr("ftp://example.com/x")},
	} {
		_, err := svc.Upsert(r.admin, in)
		fe, ok := fault.As(err)
		require.True(t, ok, "%s: %v", field, err)
		require.Equal(t, field, fe.Field, fe.Message)
	}
	_, err := svc.Upsert(r.admin, budget.Input{PersonID: ptr(int64(999999)), Amount: amount("1")})
	fe, _ := fault.As(err)
	require.Equal(t, "input.person", fe.Field)

	// Deleting follows the same rule.
	p, err := svc.Budgets(r.admin, budget.Query{Filter: budget.Filter{PersonID: &alice}})
	require.NoError(t, err)
	_, err = svc.Delete(r.bob, p.Items[0].ID)
	require.True(t, fault.Is(err, fault.Forbidden), "%v", err)
	_, err = svc.Delete(r.ops, p.Items[0].ID)
	require.True(t, fault.Is(err, fault.Forbidden), "%v", err)
	_, err = svc.Delete(r.lead, p.Items[0].ID)
	require.NoError(t, err)
}

// A BU's budget covers its whole subtree; children list each child BU's
// subtree spend and its own budget. A budget stays in force until the
// owner's next one.
func TestBUBudgetRollsUpItsSubtree(t *testing.T) {
	t.Parallel()
	pool, f, svc, r := setup(t)
	ads, search := f.BUs["ADS"], f.BUs["ADS-SEARCH"]
	alice := f.People[fixture.Viewer]
	bill(t, pool, month.AddDate(0, 0, 1), ads, nil, "100.00")
	bill(t, pool, month.AddDate(0, 0, 2), search, &alice, "250.50")
	bill(t, pool, month.AddDate(0, 0, 2), f.BUs["PLATFORM"], nil, "999.00")
	october := month.AddDate(0, -1, 0)
	_, err := svc.Upsert(r.admin, budget.Input{BUID: &ads, Amount: amount("1000"), Month: &october})
	require.NoError(t, err)
	_, err = svc.Upsert(r.admin, budget.Input{BUID: &search, Amount: amount("500")})
	require.NoError(t, err)

	b, err := svc.ForOwner(r.lead, nil, &ads, nil)
	require.NoError(t, err)
	require.Equal(t, october, b.ValidFrom, "October's budget is still in force in November")
	require.Equal(t, month, b.Month)
	require.Equal(t, "350.50", b.Spend.StringFixed(2))
	require.InDelta(t, 35.05, b.SpendPercent, 1e-9)
	cs, err := svc.Children(r.lead, b)
	require.NoError(t, err)
	require.Len(t, cs, 1)
	require.Equal(t, search, cs[0].BUID)
	require.Equal(t, "250.50", cs[0].Spend.StringFixed(2))
	require.NotNil(t, cs[0].Budget)
	require.Equal(t, "500", cs[0].Budget.Amount.String())

	p, err := svc.ForOwner(r.alice, &alice, nil, nil)
	require.ErrorIs(t, err, budget.ErrNoBudget)
	require.Nil(t, p)
	// Alice reads her BU's budget but not the parent's.
	_, err = svc.ForOwner(r.alice, nil, &search, nil)
	require.NoError(t, err)
	_, err = svc.ForOwner(r.alice, nil, &ads, nil)
	require.ErrorIs(t, err, budget.ErrNoBudget)
	// A newer budget takes over from its month.
	_, err = svc.Upsert(r.admin, budget.Input{BUID: &ads, Amount: amount("2000")})
	require.NoError(t, err)
	b, err = svc.ForOwner(r.lead, nil, &ads, &october)
	require.NoError(t, err)
	require.Equal(t, "1000", b.Amount.String())
	b, err = svc.ForOwner(r.lead, nil, &ads, nil)
	require.NoError(t, err)
	require.Equal(t, "2000", b.Amount.String())
}

// Alerts: spend past 50% and a forecast past 100% are raised once, however
// often the evaluation runs; a webhook delivery is queued for each.
func TestAlertsAreRaisedOnce(t *testing.T) {
	t.Parallel()
	pool, f, svc, r := setup(t)
	ads := f.BUs["ADS"]
	// 60 a day since October 20: 17 days of November spent 1,020 by the 18th.
	for day := month.AddDate(0, 0, -12); day.Before(now); day = day.AddDate(0, 0, 1) {
		bill(t, pool, day, ads, nil, "60.00")
	}
	october := month.AddDate(0, -1, 0)
	_, err := svc.Upsert(r.admin, budget.Input{BUID: &ads, Amount: amount("1500"), Month: &october, WebhookURL: ptr("https://hooks.example.com/x")})
	require.NoError(t, err)
	e := budget.NewEvaluator(pool, "USD", nil).WithClock(clock)
	res, err := e.RunOnce(context.Background())
	require.NoError(t, err)
	// Spend 1,080 (today's 60 too) ≥ 750: SPEND 50; forecast 1,800 ≥ 750,
	// 1,200 and 1,500: FORECAST 50, 80, 100.
	require.Equal(t, budget.EvalResult{Budgets: 1, Raised: 4, Webhooks: 4}, res)
	for range 3 {
		res, err = e.RunOnce(context.Background())
		require.NoError(t, err)
		require.Equal(t, 0, res.Raised)
	}
	// A new budget from November on takes over mid-month: the thresholds
	// already crossed this month are not raised again, and its month shows
	// the alerts raised under the old one.
	nov, err := svc.Upsert(r.admin, budget.Input{BUID: &ads, Amount: amount("1600")})
	require.NoError(t, err)
	res, err = e.RunOnce(context.Background())
	require.NoError(t, err)
	require.Zero(t, res.Raised)
	as, err := svc.OwnerAlerts(r.lead, month, budget.BU, []int64{ads})
	require.NoError(t, err)
	require.Len(t, as[ads], 4)
	require.NotEqual(t, nov.ID, as[ads][0].BudgetID, "raised against the October budget")
	p, err := svc.Alerts(r.lead, budget.AlertQuery{Page: page.Args{}})
	require.NoError(t, err)
	require.Len(t, p.Items, 4)
	require.NotNil(t, p.Items[0].Webhook)
	require.Equal(t, budget.Pending, p.Items[0].Webhook.State)
	p, err = svc.Alerts(r.bob, budget.AlertQuery{})
	require.NoError(t, err)
	require.Empty(t, p.Items, "bob reads no alert of ADS")

	// The bills change; the listing shows the spend the last evaluation
	// stored until the next one.
	bill(t, pool, now.Truncate(24*time.Hour), ads, nil, "1.00")
	b, err := svc.ForOwner(r.lead, nil, &ads, nil)
	require.NoError(t, err)
	require.Equal(t, "1080.00", b.Spend.StringFixed(2))
	_, err = e.RunOnce(context.Background())
	require.NoError(t, err)
	b, err = svc.ForOwner(r.lead, nil, &ads, nil)
	require.NoError(t, err)
	require.Equal(t, "1081.00", b.Spend.StringFixed(2))
	fc, err := svc.Forecast(r.lead, b)
	require.NoError(t, err)
	require.Equal(t, "1801.00", fc.EndOfMonth.StringFixed(2), "today's 61 is above its forecast of 60")
	require.Equal(t, time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC), *fc.RunsOutOn, "1,600 reached on the 27th")
	require.Nil(t, fc.MeasuredErrorPercent, "no past month to check")
	require.Len(t, fc.Days, 30)
}

// The webhook sender: an endpoint that fails twice per alert then answers is retried
// with back-off until delivered; one that never answers costs an attempt of
// the request timeout, not the run; after MaxAttempts a delivery gives up.
func TestWebhookRetriesWithBackoffAndSurvivesAHangingEndpoint(t *testing.T) {
	t.Parallel()
	pool, f, svc, r := setup(t)
	// The endpoints are httptest servers on loopback: the opt-in of on-premise
	// installs (TESLA_WEBHOOK_ALLOW_PRIVATE) lets the URLs be set and reached.
	svc.WithWebhookTargets(true, nil)
	var mu sync.Mutex
	calls := map[string]int{}
	var got atomic.Value
	flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		mu.Lock()
		calls[req.Header.Get("X-Tesla-Alert")]++
		n := calls[req.Header.Get("X-Tesla-Alert")]
		mu.Unlock()
		if n <= 2 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		body, _ := io.ReadAll(req.Body)
		got.Store(body)
	}))
	defer flaky.Close()
	release := make(chan struct{})
	hanging := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		select {
		case <-release:
		case <-req.Context().Done():
		}
	}))
	defer hanging.Close()
	defer close(release)

	ads, platform := f.BUs["ADS"], f.BUs["PLATFORM"]
	for day := month; day.Before(now); day = day.AddDate(0, 0, 1) {
		bill(t, pool, day, ads, nil, "10.00")
		bill(t, pool, day, platform, nil, "10.00")
	}
	_, err := svc.Upsert(r.admin, budget.Input{BUID: &ads, Amount: amount("100"), Thresholds: []int{100}, WebhookURL: ptr(flaky.URL + "/hook?token=s3cret")})
	require.NoError(t, err)
	_, err = svc.Upsert(r.admin, budget.Input{BUID: &platform, Amount: amount("100"), Thresholds: []int{100}, WebhookURL: ptr(hanging.URL)})
	require.NoError(t, err)
	res, err := budget.NewEvaluator(pool, "USD", nil).WithClock(clock).RunOnce(context.Background())
	require.NoError(t, err)
	require.Equal(t, 4, res.Webhooks, "SPEND and FORECAST at 100%% for each")

	s := budget.NewSender(pool, budget.WebhookConfig{Timeout: 300 * time.Millisecond, MaxAttempts: 3, AllowPrivate: true,
		BaseDelay: time.Hour, MaxDelay: 4 * time.Hour}, nil)
	ctx := context.Background()
	due := func() {
		_, err := pool.Exec(ctx, `UPDATE budget_webhook SET next_attempt_at = now() WHERE state = 'PENDING'`)
		require.NoError(t, err)
	}
	type row struct {
		url      string
		state    string
		attempts int
		wait     time.Duration
		lastErr  *string
	}
	rows := func() []row {
		rs, err := pool.Query(ctx, `SELECT url, state, attempts, extract(epoch FROM next_attempt_at - now()), last_error FROM budget_webhook ORDER BY alert_id`)
		require.NoError(t, err)
		defer rs.Close()
		var out []row
		for rs.Next() {
			var x row
			var secs float64
			require.NoError(t, rs.Scan(&x.url, &x.state, &x.attempts, &secs, &x.lastErr))
			x.wait = time.Duration(secs * float64(time.Second))
			out = append(out, x)
		}
		return out
	}
	r1, err := s.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, 4, r1.Claimed)
	for _, x := range rows() {
		require.Equal(t, budget.Pending, x.state)
		require.Equal(t, 1, x.attempts)
		// The first back-off: in [BaseDelay/2, BaseDelay].
		require.GreaterOrEqual(t, x.wait, 29*time.Minute)
		require.LessOrEqual(t, x.wait, time.Hour)
		require.NotContains(t, *x.lastErr, "s3cret", "errors never carry the URL")
		if x.url == hanging.URL {
			require.Contains(t, *x.lastErr, "no answer within")
		}
	}
	// Nothing is due before its back-off.
	r2, err := s.RunOnce(ctx)
	require.NoError(t, err)
	require.Zero(t, r2.Claimed)
	due()
	_, err = s.RunOnce(ctx)
	require.NoError(t, err)
	for _, x := range rows() {
		require.Equal(t, 2, x.attempts)
		if x.url != hanging.URL {
			// The second back-off doubles: in [1h, 2h].
			require.GreaterOrEqual(t, x.wait, 59*time.Minute)
			require.LessOrEqual(t, x.wait, 2*time.Hour)
		}
	}
	due()
	r3, err := s.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, r3.Delivered)
	require.Equal(t, 2, r3.GaveUp, "the hanging endpoint's third attempt is its last")
	var p budget.Payload
	require.NoError(t, json.Unmarshal(got.Load().([]byte), &p))
	require.Equal(t, "Ads", p.Owner.Name)
	require.Equal(t, "2026-11", p.Month)
	require.Equal(t, 100, p.Threshold)
	require.Equal(t, "USD", p.Currency)
	for _, x := range rows() {
		if x.url == hanging.URL {
			require.Equal(t, budget.GaveUp, x.state)
		} else {
			require.Equal(t, budget.Delivered, x.state)
		}
	}
}

// fakeResolver answers from a map; other names do not resolve.
type fakeResolver map[string][]netip.Addr

func (r fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if ips, ok := r[host]; ok {
		return ips, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

// A webhook URL whose host is, or resolves to, loopback, a private network or
// link-local (cloud metadata) is refused when set, naming the field — a person
// could otherwise make the server POST into its own network. Private targets
// are allowed with the opt-in; link-local never.
func TestWebhookURLsToInternalAddressesAreRefused(t *testing.T) {
	t.Parallel()
	_, f, svc, r := setup(t)
	ads := f.BUs["ADS"]
	res := fakeResolver{
		"hooks.corp.example": {netip.MustParseAddr("203.0.113.7"), netip.MustParseAddr("10.0.0.7")},
		"metadata.example":   {netip.MustParseAddr("169.254.169.254")},
		"rebind.example":     {netip.MustParseAddr("::ffff:127.0.0.1")},
		"hooks.example":      {netip.MustParseAddr("203.0.113.5")},
	}
	set := func(ctx context.Context, hook string) error {
		_, err := svc.Upsert(ctx, budget.Input{BUID: &ads, Amount: amount("100"), WebhookURL: &hook})
		return err
	}
	svc.WithWebhookTargets(false, res)
	for _, hook := range []string{
		"http://127.0.0.1:8080/hook", "http://[::1]/hook", "http://localhost:9000/", "http://api.localhost/",
		"http://10.1.2.3/", "https://192.168.1.10/", "http://172.16.0.1/", "http://100.100.100.200/latest/meta-data",
		"http://169.254.169.254/latest/meta-data/", "http://[fe80::1]/", "http://[fd00::1]/", "http://0.0.0.0:80/",
		"http://[::ffff:10.0.0.1]/", "http://[64:ff9b::a9fe:a9fe]/", "http://[2002:7f00:1::]/",
		"https://hooks.corp.example/budget?key=s3cret", "http://metadata.example/", "http://rebind.example/",
	} {
		err := set(r.admin, hook)
		require.True(t, fault.Is(err, fault.Invalid), "%s: %v", hook, err)
		fe, _ := fault.As(err)
		require.Equal(t, "input.webhookUrl", fe.Field, hook)
		require.Contains(t, fe.Message, "may not reach", hook)
		require.NotContains(t, fe.Message, "s3cret")
	}
	// Public addresses, and names that resolve to them or not at all (the
	// sender checks again when it connects).
	for _, hook := range []string{"https://hooks.example/budget", "https://203.0.113.9/", "https://nowhere.example/"} {
		require.NoError(t, set(r.admin, hook), hook)
	}
	// Refused for the BU admin too, whoever sets it.
	require.True(t, fault.Is(set(r.lead, "http://10.0.0.1/"), fault.Invalid))

	// The on-premise opt-in: loopback and private are allowed, link-local never.
	svc.WithWebhookTargets(true, res)
	for _, hook := range []string{"http://127.0.0.1:8080/hook", "http://10.1.2.3/", "https://hooks.corp.example/budget"} {
		require.NoError(t, set(r.admin, hook), hook)
	}
	for _, hook := range []string{"http://169.254.169.254/latest/meta-data/", "http://metadata.example/", "http://[fe80::1%25eth0]/", "http://0.0.0.0/"} {
		require.True(t, fault.Is(set(r.admin, hook), fault.Invalid), hook)
	}
}

// The sender checks the address it connects to, after DNS: a URL stored
// before the rule, or a name that resolves elsewhere since, still cannot
// reach loopback; and a redirect is not followed, so a public hook cannot
// bounce the POST to an address it could not name.
func TestWebhookSenderRefusesInternalAddressesAndRedirects(t *testing.T) {
	t.Parallel()
	pool, f, svc, r := setup(t)
	svc.WithWebhookTargets(true, nil)
	var reached atomic.Int32
	inside := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { reached.Add(1) }))
	defer inside.Close()
	bouncer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		http.Redirect(w, req, inside.URL+"/internal", http.StatusTemporaryRedirect)
	}))
	defer bouncer.Close()

	ads, platform := f.BUs["ADS"], f.BUs["PLATFORM"]
	for day := month; day.Before(now); day = day.AddDate(0, 0, 1) {
		bill(t, pool, day, ads, nil, "10.00")
		bill(t, pool, day, platform, nil, "10.00")
	}
	_, err := svc.Upsert(r.admin, budget.Input{BUID: &ads, Amount: amount("100"), Thresholds: []int{100}, WebhookURL: ptr(inside.URL + "/hook")})
	require.NoError(t, err)
	_, err = svc.Upsert(r.admin, budget.Input{BUID: &platform, Amount: amount("100"), Thresholds: []int{100}, WebhookURL: ptr(bouncer.URL)})
	require.NoError(t, err)
	_, err = budget.NewEvaluator(pool, "USD", nil).WithClock(clock).RunOnce(context.Background())
	require.NoError(t, err)
	ctx := context.Background()
	lastErrors := func() map[string][]string {
		rows, err := pool.Query(ctx, `SELECT url, last_error FROM budget_webhook WHERE last_error IS NOT NULL`)
		require.NoError(t, err)
		out := map[string][]string{}
		for rows.Next() {
			var u, e string
			require.NoError(t, rows.Scan(&u, &e))
			out[u] = append(out[u], e)
		}
		require.NoError(t, rows.Err())
		return out
	}

	// Without the opt-in nothing on loopback is reached, the bouncer included.
	strict := budget.NewSender(pool, budget.WebhookConfig{Timeout: 2 * time.Second}, nil)
	res, err := strict.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, 4, res.Claimed)
	require.Equal(t, 4, res.Failed)
	require.Zero(t, reached.Load())
	for u, errs := range lastErrors() {
		for _, e := range errs {
			require.Equal(t, "the webhook's address is loopback, which webhooks may not reach", e, u)
		}
	}

	// With it, the bouncer answers 307 and its redirect is not followed.
	_, err = pool.Exec(ctx, `UPDATE budget_webhook SET next_attempt_at = now()`)
	require.NoError(t, err)
	open := budget.NewSender(pool, budget.WebhookConfig{Timeout: 2 * time.Second, AllowPrivate: true}, nil)
	res, err = open.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, res.Delivered, "the direct hook")
	require.Equal(t, 2, res.Failed, "the redirecting hook")
	require.Equal(t, int32(2), reached.Load(), "the inside server only by its own URL, never through the redirect")
	for _, e := range lastErrors()[bouncer.URL] {
		require.Equal(t, "answered 307 Temporary Redirect", e)
	}
}
