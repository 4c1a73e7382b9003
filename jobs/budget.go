package jobs

import (
	"context"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/teslaops/tesla/internal/budget"
	"github.com/teslaops/tesla/internal/cost"
)

// budgetAlertsJob evaluates every budget in force this month against the
// latest bills (budget.Evaluator): it runs every few minutes, so an alert
// follows the hourly billing run within one interval, and never holds
// billing up — the two only share the bills' daily sums, which billing
// replaces a day at a time in one transaction. Rows counts alerts raised.
func budgetAlertsJob(pool *pgxpool.Pool, spec func(name, description string) Spec, cfg cost.Config) Job {
	e := budget.NewEvaluator(pool, cfg.WithDefaults().Currency, nil)
	return New(spec(NameBudgetAlerts, "Raises budget alerts once per owner, month, kind and threshold when spend or its forecast crosses a threshold, and queues their webhooks."),
		func(ctx context.Context) (Result, error) {
			r, err := e.RunOnce(ctx)
			return Result{Rows: int64(r.Raised), Details: map[string]any{
				"budgets": r.Budgets, "raised": r.Raised, "webhooks": r.Webhooks}}, err
		})
}

// budgetWebhooksJob delivers due budget webhooks (budget.Sender): each POST
// bounded by its timeout, failures retried with exponential back-off and
// jitter until the maximum attempts. Rows counts deliveries made.
func budgetWebhooksJob(pool *pgxpool.Pool, spec func(name, description string) Spec, cfg budget.WebhookConfig) Job {
	s := budget.NewSender(pool, cfg, nil)
	return New(spec(NameBudgetWebhooks, "Posts due budget alert webhooks, retrying failures with exponential back-off and jitter, giving up after the maximum attempts."),
		func(ctx context.Context) (Result, error) {
			r, err := s.RunOnce(ctx)
			return Result{Rows: int64(r.Delivered), Details: map[string]any{
				"claimed": r.Claimed, "delivered": r.Delivered, "failed": r.Failed, "gave_up": r.GaveUp}}, err
		})
}
