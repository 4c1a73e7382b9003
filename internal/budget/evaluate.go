package budget

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/notify"
)

// Evaluator raises the alerts of every budget in force this month: a
// threshold crossed by the spend to date (SPEND) or by the forecast of the
// month's end (FORECAST) is raised once per owner, month, kind and
// threshold. The budget-alerts job runs it after billing; repeated runs
// raise nothing new, as the unique constraint budget_alert_once decides.
type Evaluator struct {
	pool     *pgxpool.Pool
	currency string
	now      func() time.Time
	logger   *slog.Logger
}

// NewEvaluator returns an Evaluator on pool; currency goes into webhook
// payloads. logger may be nil.
func NewEvaluator(pool *pgxpool.Pool, currency string, logger *slog.Logger) *Evaluator {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if currency == "" {
		currency = "USD"
	}
	return &Evaluator{pool: pool, currency: currency, now: time.Now, logger: logger}
}

// WithClock sets the evaluator's clock (tests, benchmarks).
func (e *Evaluator) WithClock(now func() time.Time) *Evaluator {
	e.now = now
	return e
}

// EvalResult counts what a run did.
type EvalResult struct {
	Budgets  int
	Raised   int
	Webhooks int
}

// Payload is the JSON body POSTed to a budget's webhook.
type Payload struct {
	AlertID   int64        `json:"alertId"`
	BudgetID  int64        `json:"budgetId"`
	Owner     PayloadOwner `json:"owner"`
	Month     string       `json:"month"`
	Kind      AlertKind    `json:"kind"`
	Threshold int          `json:"threshold"`
	Value     string       `json:"value"`
	Amount    string       `json:"amount"`
	Percent   float64      `json:"percent"`
	Currency  string       `json:"currency"`
	RaisedAt  time.Time    `json:"raisedAt"`
}

// PayloadOwner names a budget's owner in a payload.
type PayloadOwner struct {
	Kind OwnerKind `json:"kind"`
	ID   int64     `json:"id"`
	Name string    `json:"name"`
}

// RunOnce evaluates every budget in force this month in one pass: one read
// of the budgets, one of each kind's daily spend, then in one transaction
// the owners' spend of the month (budget_spend, which budget listings
// read), one insert of the crossed thresholds, their webhook deliveries and
// notifications.
func (e *Evaluator) RunOnce(ctx context.Context) (EvalResult, error) {
	now := e.now().UTC()
	month, today := monthStart(now), dayStart(now)
	bs, err := loadInForce(ctx, e.pool, month, Filter{}, nil, nil)
	if err != nil {
		return EvalResult{}, err
	}
	res := EvalResult{Budgets: len(bs)}
	if len(bs) == 0 {
		return res, nil
	}
	people, bus, err := ownerSpend(ctx, e.pool, bs, month.AddDate(0, 0, -HistoryDays), today.AddDate(0, 0, 1))
	if err != nil {
		return res, err
	}
	var c candidates
	var sp spendRows
	byID := map[int64]*Budget{}
	for _, b := range bs {
		byID[b.ID] = b
		f := forecastMonth(seriesOf(b, people, bus), month, today, b.Amount)
		sp.person, sp.bu = append(sp.person, b.PersonID), append(sp.bu, b.BUID)
		sp.spend, sp.eom = append(sp.spend, f.Spend), append(sp.eom, f.EndOfMonth)
		for _, t := range b.Thresholds {
			level := b.Amount.Mul(decimal.NewFromInt(int64(t))).Div(hundred)
			if f.Spend.GreaterThanOrEqual(level) {
				c.add(b, month, Spend, t, f.Spend)
			}
			if f.EndOfMonth.GreaterThanOrEqual(level) {
				c.add(b, month, ForecastKind, t, f.EndOfMonth)
			}
		}
	}
	err = db.InTx(ctx, e.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, sqlStoreSpend, month, sp.person, sp.bu, sp.spend, sp.eom); err != nil {
			return fmt.Errorf("error storing budget spend: %w", err)
		}
		if len(c.budget) == 0 {
			return nil
		}
		rows, err := tx.Query(ctx, sqlRaise, c.budget, c.person, c.bu, c.month, c.kind, c.threshold, c.value, c.amount)
		if err != nil {
			return fmt.Errorf("error raising budget alerts: %w", err)
		}
		raised, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*Alert, error) {
			a := &Alert{Month: month}
			return a, r.Scan(&a.ID, &a.BudgetID, &a.Kind, &a.Threshold, &a.Value, &a.Amount, &a.RaisedAt)
		})
		if err != nil {
			return fmt.Errorf("error raising budget alerts: %w", err)
		}
		var ids, hookIDs []int64
		var urls, payloads []string
		for _, a := range raised {
			ids = append(ids, a.ID)
			b := byID[a.BudgetID]
			if b.webhook == nil {
				continue
			}
			body, err := json.Marshal(e.payload(a, b))
			if err != nil {
				return fmt.Errorf("error encoding webhook payload: %w", err)
			}
			hookIDs, urls, payloads = append(hookIDs, a.ID), append(urls, *b.webhook), append(payloads, string(body))
		}
		if len(hookIDs) > 0 {
			if _, err := tx.Exec(ctx, sqlQueueWebhooks, hookIDs, urls, payloads); err != nil {
				return fmt.Errorf("error queueing budget webhooks: %w", err)
			}
		}
		res.Raised, res.Webhooks = len(ids), len(hookIDs)
		return notify.NotifyIDs(ctx, tx, ChannelBudgetAlert, ids)
	})
	if err != nil {
		return EvalResult{Budgets: len(bs)}, err
	}
	e.logger.InfoContext(ctx, "evaluated budgets", "budgets", res.Budgets, "raised", res.Raised, "webhooks", res.Webhooks)
	return res, nil
}

func (e *Evaluator) payload(a *Alert, b *Budget) Payload {
	return Payload{AlertID: a.ID, BudgetID: b.ID, Owner: PayloadOwner{Kind: b.Kind(), ID: b.ownerID(), Name: b.OwnerName},
		Month: a.Month.Format("2006-01"), Kind: a.Kind, Threshold: a.Threshold, Value: a.Value.StringFixed(2),
		Amount: a.Amount.StringFixed(2), Percent: percent(a.Value, a.Amount), Currency: e.currency, RaisedAt: a.RaisedAt.UTC()}
}

// spendRows are the owners' spend and forecast, as columns for one upsert.
type spendRows struct {
	person, bu []*int64
	spend, eom []decimal.Decimal
}

// candidates are the thresholds crossed, as columns for one unnest insert.
type candidates struct {
	budget, person, bu []*int64
	month              []time.Time
	kind               []string
	threshold          []int32
	value, amount      []decimal.Decimal
}

func (c *candidates) add(b *Budget, month time.Time, k AlertKind, t int, v decimal.Decimal) {
	id := b.ID
	c.budget = append(c.budget, &id)
	c.person, c.bu = append(c.person, b.PersonID), append(c.bu, b.BUID)
	c.month, c.kind, c.threshold = append(c.month, month), append(c.kind, string(k)), append(c.threshold, int32(t))
	c.value, c.amount = append(c.value, v.Round(2)), append(c.amount, b.Amount)
}
