package app

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket/wsjson"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/graph/model"
	"github.com/teslaops/tesla/internal/budget"
	"github.com/teslaops/tesla/internal/fixture"
)

// Budgets end to end through the real handler: who may set them (an
// OPERATOR and a BU admin outside their subtree are refused), bad input as
// userErrors naming the field, the budget with its forecast, children and
// alerts, and the budgetAlert subscription over the websocket, filtered by
// what each subscriber may read.
func TestBudgetsThroughGraphQL(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	now := time.Now().UTC()
	today := now.Truncate(24 * time.Hour)
	ads, search, platform := e.fleet.BUs["ADS"], e.fleet.BUs["ADS-SEARCH"], e.fleet.BUs["PLATFORM"]
	for d := today.AddDate(0, 0, -20); !d.After(today); d = d.AddDate(0, 0, 1) {
		for _, b := range []int64{ads, search, platform} {
			_, err := e.db.Pool.Exec(ctx, `INSERT INTO bill_bu_day (day, bu_id, resource, quantity, amount) VALUES ($1, $2, 'CPU', 1, 100)`, d, b)
			require.NoError(t, err)
		}
	}
	gid := func(kind string, id int64) string { return model.GlobalID(kind, id) }
	const upsert = `mutation($in: UpsertBudgetInput!) { upsertBudget(input: $in) {
		budget { id ownerKind amount thresholds webhookUrl editable bu { name } } userErrors { field message code } } }`
	r := e.gql(t, e.as(fixture.Admin), upsert, map[string]any{"in": map[string]any{"bu": gid(model.KindBU, ads), "amount": "500", "webhookUrl": "ftp://x"}})
	require.Empty(t, r.Errors, r.Raw)
	require.Equal(t, []any{"input", "webhookUrl"}, dig(r.Data, "upsertBudget", "userErrors", 0, "field"), r.Raw)
	r = e.gql(t, e.as(fixture.Admin), upsert, map[string]any{"in": map[string]any{"bu": gid(model.KindBU, ads), "person": gid(model.KindPerson, e.fleet.People[fixture.Viewer]), "amount": "500"}})
	require.Equal(t, []any{"input", "bu"}, dig(r.Data, "upsertBudget", "userErrors", 0, "field"), r.Raw)
	r = e.gql(t, e.as(fixture.Admin), upsert, map[string]any{"in": map[string]any{"bu": gid(model.KindBU, ads), "amount": "-1"}})
	require.Equal(t, []any{"input", "amount"}, dig(r.Data, "upsertBudget", "userErrors", 0, "field"), r.Raw)
	r = e.gql(t, e.as(fixture.Operator), upsert, map[string]any{"in": map[string]any{"bu": gid(model.KindBU, platform), "amount": "500"}})
	require.Equal(t, "FORBIDDEN", r.code(), r.Raw)
	r = e.gql(t, e.as(fixture.BULead), upsert, map[string]any{"in": map[string]any{"bu": gid(model.KindBU, platform), "amount": "500"}})
	require.Equal(t, "FORBIDDEN", r.code(), r.Raw)
	r = e.gql(t, e.as(fixture.Viewer), upsert, map[string]any{"in": map[string]any{"person": gid(model.KindPerson, e.fleet.People[fixture.Outsider]), "amount": "500"}})
	require.Equal(t, "FORBIDDEN", r.code(), r.Raw)

	// The lead sets the ADS budget (with a webhook) and its sub-BU's; the
	// admin sets PLATFORM's.
	r = e.gql(t, e.as(fixture.BULead), upsert, map[string]any{"in": map[string]any{"bu": gid(model.KindBU, ads), "amount": "100000",
		"thresholds": []int{100}, "webhookUrl": "https://hooks.example.com/budget?key=s3cret"}})
	require.Empty(t, r.Errors, r.Raw)
	require.Equal(t, true, dig(r.Data, "upsertBudget", "budget", "editable"), r.Raw)
	require.Equal(t, "https://hooks.example.com/budget?key=s3cret", dig(r.Data, "upsertBudget", "budget", "webhookUrl"))
	adsBudget := dig(r.Data, "upsertBudget", "budget", "id").(string)
	r = e.gql(t, e.as(fixture.BULead), upsert, map[string]any{"in": map[string]any{"bu": gid(model.KindBU, search), "amount": "900"}})
	require.Empty(t, r.Errors, r.Raw)
	r = e.gql(t, e.as(fixture.Admin), upsert, map[string]any{"in": map[string]any{"bu": gid(model.KindBU, platform), "amount": "100000", "thresholds": []int{100}}})
	require.Empty(t, r.Errors, r.Raw)

	// The lead and bob subscribe; bob may read PLATFORM's budget (his BU)
	// but not ADS's.
	watch := func(login string) chan map[string]any {
		conn := e.wsAck(t, ctx, map[string]any{"authToken": e.as(login)})
		require.NoError(t, wsjson.Write(ctx, conn, subscribeMsg("b", `subscription { budgetAlert { kind threshold budget { bu { name } } } }`)))
		got := make(chan map[string]any, 16)
		go func() {
			for {
				var m map[string]any
				if err := wsjson.Read(ctx, conn, &m); err != nil {
					return
				}
				if m["type"] == "next" {
					got <- m
				}
			}
		}()
		return got
	}
	leadEvents, bobEvents := watch(fixture.BULead), watch(fixture.Outsider)
	ev := budget.NewEvaluator(e.db.Pool, "USD", nil)
	// The subscriptions must be registered before alerts are raised: lower
	// ADS's and PLATFORM's thresholds a step per round (each step a new
	// alert) until both have heard one, bounded, never sleeping.
	var leadGot, bobGot map[string]any
	for i := 1; leadGot == nil || bobGot == nil; i++ {
		require.Less(t, i, 20, "no subscription event")
		for _, bu := range []int64{ads, platform} {
			r = e.gql(t, e.as(fixture.Admin), upsert, map[string]any{"in": map[string]any{"bu": gid(model.KindBU, bu), "amount": "100000", "thresholds": []int{i}}})
			require.Empty(t, r.Errors, r.Raw)
		}
		_, err := ev.RunOnce(ctx)
		require.NoError(t, err)
		deadline := time.After(500 * time.Millisecond)
	wait:
		for leadGot == nil || bobGot == nil {
			select {
			case m := <-leadEvents:
				leadGot = m
			case m := <-bobEvents:
				bobGot = m
			case <-deadline:
				break wait
			case <-ctx.Done():
				t.Fatal("no subscription event before the deadline")
			}
		}
	}
	// The lead hears their subtree's alerts: ADS's, or ADS-SEARCH's when its
	// forecast alert was raised first in the same evaluation.
	require.Contains(t, []any{"Ads", "Ads Search"}, dig(leadGot, "payload", "data", "budgetAlert", "budget", "bu", "name"), "%v", leadGot)
	require.Equal(t, "Platform", dig(bobGot, "payload", "data", "budgetAlert", "budget", "bu", "name"), "bob hears only alerts he may read: %v", bobGot)
	for len(bobEvents) > 0 {
		m := <-bobEvents
		require.Equal(t, "Platform", dig(m, "payload", "data", "budgetAlert", "budget", "bu", "name"), "%v", m)
	}

	// The budget as the lead reads it, and as alice (read-only, no URL).
	const read = `query($id: ID!) { node(id: $id) { ... on Budget { ownerKind amount spend spendPercent editable webhookUrl
		forecast { method endOfMonth low high runsOutOn measuredErrorPercent days { day actual forecast cumulative } }
		children { bu { name } spend budget { amount } }
		alerts { kind threshold value amount webhook { state attempts } } } } }`
	r = e.gql(t, e.as(fixture.BULead), read, map[string]any{"id": adsBudget})
	require.Empty(t, r.Errors, r.Raw)
	require.Equal(t, "BU", dig(r.Data, "node", "ownerKind"))
	require.Equal(t, "Ads Search", dig(r.Data, "node", "children", 0, "bu", "name"), r.Raw)
	require.Equal(t, "900.00", dig(r.Data, "node", "children", 0, "budget", "amount"), r.Raw)
	require.Equal(t, budget.Method, dig(r.Data, "node", "forecast", "method"))
	alerts := dig(r.Data, "node", "alerts").([]any)
	require.NotEmpty(t, alerts, r.Raw)
	require.Equal(t, "PENDING", dig(alerts[0], "webhook", "state"), r.Raw)
	days := dig(r.Data, "node", "forecast", "days").([]any)
	require.Equal(t, time.Date(today.Year(), today.Month()+1, 0, 0, 0, 0, 0, time.UTC).Day(), len(days))

	r = e.gql(t, e.as(fixture.Viewer), fmt.Sprintf(`{ budgets { totalCount edges { node { bu { name } editable webhookUrl } } }
		me { person { budget { amount } bu { budget { amount editable } } } } }`), nil)
	require.Empty(t, r.Errors, r.Raw)
	require.EqualValues(t, 1, dig(r.Data, "budgets", "totalCount"), "alice reads her BU's budget only: %s", r.Raw)
	require.Equal(t, false, dig(r.Data, "budgets", "edges", 0, "node", "editable"))
	require.Nil(t, dig(r.Data, "budgets", "edges", 0, "node", "webhookUrl"))
	require.Nil(t, dig(r.Data, "me", "person", "budget"))
	require.Equal(t, "900.00", dig(r.Data, "me", "person", "bu", "budget", "amount"), r.Raw)

	r = e.gql(t, e.as(fixture.Outsider), `{ budgetAlerts(first: 50) { totalCount edges { node { kind budget { bu { name } } } } } }`, nil)
	require.Empty(t, r.Errors, r.Raw)
	for _, edge := range dig(r.Data, "budgetAlerts", "edges").([]any) {
		require.Equal(t, "Platform", dig(edge, "node", "budget", "bu", "name"))
	}

	// Every BU's and person's budget in a listing: one read of the budgets
	// in force, however many BUs and people.
	e.counter.Reset()
	r = e.gql(t, e.as(fixture.Admin), `{ bus(first: 50) { nodes { name budget { amount spend } } } people(first: 50) { nodes { budget { amount } } } }`, nil)
	require.Empty(t, r.Errors, r.Raw)
	const inForce = "-- The budgets in force"
	require.Equal(t, map[string]int{inForce: 2}, countStatements(e.counter.Statements(), inForce), "one for the BUs, one for the people")

	// Deleting: the operator is refused, the lead may.
	const del = `mutation($id: ID!) { deleteBudget(input: { id: $id }) { budget { amount } userErrors { field message } } }`
	r = e.gql(t, e.as(fixture.Operator), del, map[string]any{"id": adsBudget})
	require.Equal(t, "FORBIDDEN", r.code(), r.Raw)
	r = e.gql(t, e.as(fixture.BULead), del, map[string]any{"id": adsBudget})
	require.Empty(t, r.Errors, r.Raw)
	var denied int
	require.NoError(t, e.db.Pool.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action IN ('upsertBudget', 'deleteBudget') AND outcome = 'DENIED'`).Scan(&denied))
	require.Equal(t, 4, denied)
}

// Budget webhooks through the real handler: anyone may set one on their own
// budget, so a URL whose host is loopback, a private network or link-local
// (cloud metadata) is a userError naming the field — the server would
// otherwise POST into its own network for them. TESLA_WEBHOOK_ALLOW_PRIVATE
// lets on-premise installs name private hooks; link-local stays refused.
func TestBudgetWebhooksMayNotTargetTheServersNetwork(t *testing.T) {
	t.Parallel()
	const upsert = `mutation($in: UpsertBudgetInput!) { upsertBudget(input: $in) {
		budget { webhookUrl } userErrors { field message code } } }`
	set := func(e *testEnv, hook string) gqlResponse {
		t.Helper()
		return e.gql(t, e.as(fixture.Viewer), upsert, map[string]any{"in": map[string]any{
			"person": model.GlobalID(model.KindPerson, e.fleet.People[fixture.Viewer]), "amount": "100", "webhookUrl": hook}})
	}
	refused := func(e *testEnv, hook string) {
		t.Helper()
		r := set(e, hook)
		require.Empty(t, r.Errors, r.Raw)
		require.Equal(t, []any{"input", "webhookUrl"}, dig(r.Data, "upsertBudget", "userErrors", 0, "field"), "%s: %s", hook, r.Raw)
		require.Contains(t, dig(r.Data, "upsertBudget", "userErrors", 0, "message"), "may not reach", r.Raw)
		require.NotContains(t, r.Raw, "s3cret")
	}
	e := newEnv(t)
	for _, hook := range []string{
		"http://169.254.169.254/latest/meta-data/iam/security-credentials/?key=s3cret",
		"http://127.0.0.1:5432/", "http://[::1]:8080/", "http://localhost:8080/", "http://10.0.0.5/hook",
		"http://192.168.0.1/", "http://[::ffff:169.254.169.254]/", "gopher://127.0.0.1:6379/",
	} {
		if strings.HasPrefix(hook, "gopher:") {
			r := set(e, hook)
			require.Equal(t, []any{"input", "webhookUrl"}, dig(r.Data, "upsertBudget", "userErrors", 0, "field"), r.Raw)
			continue
		}
		refused(e, hook)
	}
	var leaked int
	require.NoError(t, e.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_log WHERE input::text LIKE '%s3cret%'`).Scan(&leaked))
	require.Zero(t, leaked, "the audit log keeps a refused hook's scheme and host only")

	// The opt-in, read from the environment as serve reads it.
	cfg, err := LoadConfig(func(k string) string {
		if k == "TESLA_WEBHOOK_ALLOW_PRIVATE" {
			return "on"
		}
		return ""
	})
	require.NoError(t, err)
	require.True(t, cfg.Jobs.BudgetWebhooks.AllowPrivate)
	onPrem := newEnv(t, func(c *Config) { c.Jobs.BudgetWebhooks = cfg.Jobs.BudgetWebhooks })
	r := set(onPrem, "http://10.0.0.5/hook")
	require.Empty(t, dig(r.Data, "upsertBudget", "userErrors"), r.Raw)
	require.Equal(t, "http://10.0.0.5/hook", dig(r.Data, "upsertBudget", "budget", "webhookUrl"), r.Raw)
	refused(onPrem, "http://169.254.169.254/latest/meta-data/")
}
