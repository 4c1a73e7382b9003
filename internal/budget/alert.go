package budget

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/page"
)

// AlertKind says what crossed a threshold.
type AlertKind string

// The alert kinds.
const (
	// Spend: the month's spend to date.
	Spend AlertKind = "SPEND"
	// ForecastKind: the forecast of the month's end.
	ForecastKind AlertKind = "FORECAST"
)

// The states of a webhook delivery.
const (
	Pending   = "PENDING"
	Delivered = "DELIVERED"
	GaveUp    = "GAVE_UP"
)

// Alert is a threshold crossed once in a month.
type Alert struct {
	ID        int64
	BudgetID  int64
	PersonID  *int64
	BUID      *int64
	Month     time.Time
	Kind      AlertKind
	Threshold int
	Value     decimal.Decimal
	Amount    decimal.Decimal
	RaisedAt  time.Time
	// Webhook is nil when the budget had no webhook.
	Webhook *Delivery

	scopeBU int64
}

// Delivery is where an alert's webhook delivery stands.
type Delivery struct {
	State         string
	Attempts      int
	LastError     *string
	NextAttemptAt *time.Time
	DeliveredAt   *time.Time
}

// AlertQuery asks for a page of alerts, newest first.
type AlertQuery struct {
	Month  *time.Time
	Filter Filter
	Page   page.Args
	// ids, people and bus narrow to those alerts, or to the alerts of those
	// owners (loaders).
	ids    []int64
	people []int64
	bus    []int64
}

func (s *Service) alerts(ctx context.Context, p *auth.Principal, q AlertQuery, limit, offset int) ([]*Alert, int, error) {
	var month *time.Time
	if q.Month != nil {
		m := monthStart(*q.Month)
		month = &m
	}
	var subtree, scope []int64
	if q.Filter.BUID != nil {
		var err error
		if subtree, err = buSubtree(ctx, s.pool, *q.Filter.BUID); err != nil {
			return nil, 0, err
		}
	}
	if p.Role == auth.BUAdmin {
		scope = p.BUSubtree
	}
	var kind *string
	if q.Filter.OwnerKind != nil {
		k := string(*q.Filter.OwnerKind)
		kind = &k
	}
	rows, err := s.pool.Query(ctx, sqlAlerts, month, p.Is(auth.Operator), scope, p.PersonID, p.BUID,
		subtree, q.Filter.PersonID, kind, q.ids, q.people, limit, offset, q.bus)
	if err != nil {
		return nil, 0, fmt.Errorf("error loading budget alerts: %w", err)
	}
	total := 0
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*Alert, error) {
		a := &Alert{}
		var state *string
		var attempts *int32
		d := &Delivery{}
		err := r.Scan(&a.ID, &a.BudgetID, &a.PersonID, &a.BUID, &a.Month, &a.Kind, &a.Threshold, &a.Value, &a.Amount, &a.RaisedAt,
			&state, &attempts, &d.LastError, &d.NextAttemptAt, &d.DeliveredAt, &a.scopeBU, &total)
		a.Month = a.Month.UTC()
		if state != nil {
			d.State, d.Attempts = *state, int(*attempts)
			if d.State != Pending {
				d.NextAttemptAt = nil
			}
			a.Webhook = d
		}
		return a, err
	})
	if err != nil {
		return nil, 0, fmt.Errorf("error loading budget alerts: %w", err)
	}
	return out, total, nil
}

// Alerts returns the alerts the caller may read, newest first.
func (s *Service) Alerts(ctx context.Context, q AlertQuery) (page.Page[*Alert], error) {
	p, err := auth.Require(ctx)
	if err != nil {
		return page.Page[*Alert]{}, err
	}
	w, err := q.Page.Resolve()
	if err != nil {
		return page.Page[*Alert]{}, err
	}
	return page.FromOffsets(w, func(offset, limit int) ([]*Alert, int, error) {
		items, total, err := s.alerts(ctx, p, q, limit, offset)
		if err == nil && len(items) == 0 && offset > 0 {
			// count(*) OVER () has no row to ride on past the end.
			_, total, err = s.alerts(ctx, p, q, 1, 0)
		}
		return items, total, err
	})
}

// maxAlertsPerMonth bounds an owner's alerts of a month: two kinds times
// at most maxThresholds thresholds, and thresholds of budgets the owner had
// earlier in the month.
const maxAlertsPerMonth = 100

// OwnerAlerts returns the alerts raised in month for each owner (people or
// BUs, as kind says; whichever of the owner's budgets was in force when
// each was raised), newest first, that the caller may read: one statement
// for any number of owners. Budget.alerts reads it, so a budget that took
// over mid-month shows the month's alerts raised before it too.
func (s *Service) OwnerAlerts(ctx context.Context, month time.Time, kind OwnerKind, ids []int64) (map[int64][]*Alert, error) {
	p, err := auth.Require(ctx)
	if err != nil {
		return nil, err
	}
	m := monthStart(month)
	q := AlertQuery{Month: &m, Filter: Filter{OwnerKind: &kind}}
	if kind == Person {
		q.people = ids
	} else {
		q.bus = ids
	}
	items, _, err := s.alerts(ctx, p, q, maxAlertsPerMonth*len(ids), 0)
	if err != nil {
		return nil, err
	}
	out := map[int64][]*Alert{}
	for _, a := range items {
		if a.PersonID != nil {
			out[*a.PersonID] = append(out[*a.PersonID], a)
		} else {
			out[*a.BUID] = append(out[*a.BUID], a)
		}
	}
	return out, nil
}

// AlertByID returns an alert the caller may read.
func (s *Service) AlertByID(ctx context.Context, id int64) (*Alert, error) {
	p, err := auth.Require(ctx)
	if err != nil {
		return nil, err
	}
	items, _, err := s.alerts(ctx, p, AlertQuery{ids: []int64{id}}, 1, 0)
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, fault.NotFoundf("budget alert not found")
	}
	return items[0], nil
}

// AlertMatcher returns whether an alert belongs to a subscription's
// optional BU subtree or person; the subtree is read once, when the
// subscription starts. Access is checked by AlertByID on each alert.
func (s *Service) AlertMatcher(ctx context.Context, bu, person *int64) (func(*Alert) bool, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	var subtree map[int64]bool
	if bu != nil {
		ids, err := buSubtree(ctx, s.pool, *bu)
		if err != nil {
			return nil, err
		}
		if len(ids) == 0 {
			return nil, fault.Field("bu", "BU not found")
		}
		subtree = map[int64]bool{}
		for _, id := range ids {
			subtree[id] = true
		}
	}
	return func(a *Alert) bool {
		if subtree != nil && !subtree[a.scopeBU] {
			return false
		}
		return person == nil || (a.PersonID != nil && *a.PersonID == *person)
	}, nil
}
