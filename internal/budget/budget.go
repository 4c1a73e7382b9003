// Package budget keeps monthly budgets of people and BUs: spend to date from
// the bills' daily sums (read through internal/cost), a forecast of the
// month's end with its measured error, alerts raised once when spend or
// forecast crosses a threshold, and the webhook outbox that delivers them.
// Rules, forecast and payloads: docs/cost.md "Budgets".
//
// The package owns budget, budget_alert and budget_webhook.
package budget

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/teslaops/tesla/internal/audit"
	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/cost"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/page"
)

// ChannelBudgetAlert carries the id of each alert as it is raised.
const ChannelBudgetAlert = "tesla_budget_alert"

// OwnerKind says whose money a budget limits.
type OwnerKind string

// The owner kinds.
const (
	Person OwnerKind = "PERSON"
	BU     OwnerKind = "BU"
)

// DefaultThresholds are a budget's alert thresholds when none are given.
var DefaultThresholds = []int{50, 80, 100}

// Budget is one budget row seen for a month: the amount in force, its spend
// to date and what the caller may do with it.
type Budget struct {
	ID         int64
	PersonID   *int64
	BUID       *int64
	OwnerName  string
	ValidFrom  time.Time
	Amount     decimal.Decimal
	Thresholds []int
	// WebhookURL is nil when there is none and when the caller may not edit
	// the budget (it may carry a secret).
	WebhookURL *string
	UpdatedAt  time.Time
	UpdatedBy  *int64

	// Month is the month the view is of; Spend its spend to date (a BU's:
	// its whole subtree).
	Month        time.Time
	Currency     string
	Spend        decimal.Decimal
	SpendPercent float64
	Editable     bool

	// scopeBU is the BU access is decided by: the BU itself, or the
	// person's BU.
	scopeBU int64
	webhook *string
}

// Kind says whether the budget is a person's or a BU's.
func (b *Budget) Kind() OwnerKind {
	if b.PersonID != nil {
		return Person
	}
	return BU
}

func (b *Budget) ownerID() int64 {
	if b.PersonID != nil {
		return *b.PersonID
	}
	return *b.BUID
}

// Service reads and edits budgets and their alerts, checking the caller.
type Service struct {
	pool     *pgxpool.Pool
	audit    *audit.Log
	currency string
	now      func() time.Time
	// hooks decides which webhook URLs Upsert accepts (WithWebhookTargets).
	hooks webhookTargets

	mu       sync.Mutex
	platform map[time.Time]platformError
}

type platformError struct {
	at      time.Time
	percent *float64
}

// NewService returns a Service on pool; mutations are audited in log.
// currency is the installation's (cost.Config.Currency).
func NewService(pool *pgxpool.Pool, log *audit.Log, currency string) *Service {
	return &Service{pool: pool, audit: log, currency: cmp.Or(currency, "USD"), now: time.Now,
		hooks: webhookTargets{resolver: net.DefaultResolver}, platform: map[time.Time]platformError{}}
}

// WithWebhookTargets says whether webhook URLs may name loopback and
// private addresses (WebhookConfig.AllowPrivate, which the sender must be
// given too) and how names are resolved when a URL is set (nil: the
// system's resolver).
func (s *Service) WithWebhookTargets(allowPrivate bool, r Resolver) *Service {
	s.hooks = webhookTargets{allowPrivate: allowPrivate, resolver: cmp.Or[Resolver](r, net.DefaultResolver)}
	return s
}

// WithClock sets the service's clock (tests).
func (s *Service) WithClock(now func() time.Time) *Service {
	s.now = now
	return s
}

// canRead: ADMIN and OPERATOR all budgets, a BU admin those of their BU
// subtree and its people, anyone their own and their BU's.
func canRead(p *auth.Principal, b *Budget) bool {
	switch {
	case p.Is(auth.Operator):
		return true
	case p.Role == auth.BUAdmin && p.InBUSubtree(b.scopeBU):
		return true
	case b.PersonID != nil && *b.PersonID == p.PersonID:
		return true
	default:
		return b.BUID != nil && *b.BUID == p.BUID
	}
}

// canEdit: ADMIN all; a BU admin (the BU_ADMIN role itself — an OPERATOR
// ranks above it but does not manage budgets) BUs of their subtree and its
// people; anyone their own person budget.
func canEdit(p *auth.Principal, scopeBU int64, person *int64) bool {
	switch {
	case p.Is(auth.Admin):
		return true
	case p.Role == auth.BUAdmin && p.InBUSubtree(scopeBU):
		return true
	default:
		return person != nil && *person == p.PersonID
	}
}

// month resolves an optional month argument to the 1st of its month; the
// current month when absent.
func (s *Service) month(m *time.Time) time.Time {
	if m == nil || m.IsZero() {
		return monthStart(s.now())
	}
	return monthStart(*m)
}

// Filter narrows a listing: BUID takes the BU's subtree (its BUs and their
// people).
type Filter struct {
	BUID      *int64
	PersonID  *int64
	OwnerKind *OwnerKind
}

// loadInForce returns the budgets in force in month matching the filter
// (no access check): each owner's row with the latest valid_from not after
// the month. people and bus, when not nil, keep only person budgets of
// those people and BU budgets of those BUs.
func loadInForce(ctx context.Context, q db.DBTX, month time.Time, f Filter, people, bus []int64) ([]*Budget, error) {
	var subtree []int64
	if f.BUID != nil {
		var err error
		if subtree, err = buSubtree(ctx, q, *f.BUID); err != nil {
			return nil, err
		}
	}
	var kind *string
	if f.OwnerKind != nil {
		k := string(*f.OwnerKind)
		kind = &k
	}
	if f.PersonID != nil {
		people = append(people, *f.PersonID)
	}
	rows, err := q.Query(ctx, sqlInForce, month, subtree, people, kind, bus)
	if err != nil {
		return nil, fmt.Errorf("error loading budgets: %w", err)
	}
	out, err := pgx.CollectRows(rows, scanBudget)
	if err != nil {
		return nil, fmt.Errorf("error loading budgets: %w", err)
	}
	return out, nil
}

func scanBudget(r pgx.CollectableRow) (*Budget, error) {
	b := &Budget{}
	var th []int32
	err := r.Scan(&b.ID, &b.PersonID, &b.BUID, &b.ValidFrom, &b.Amount, &th, &b.webhook, &b.UpdatedAt, &b.UpdatedBy,
		&b.scopeBU, &b.OwnerName)
	b.ValidFrom = b.ValidFrom.UTC()
	for _, t := range th {
		b.Thresholds = append(b.Thresholds, int(t))
	}
	return b, err
}

func buSubtree(ctx context.Context, q db.DBTX, bu int64) ([]int64, error) {
	rows, err := q.Query(ctx, sqlSubtree, bu)
	if err != nil {
		return nil, fmt.Errorf("error loading the subtree of BU %d: %w", bu, err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("error loading the subtree of BU %d: %w", bu, err)
	}
	return ids, nil
}

// ownerSpend returns the spend per owner of the budgets over [from, to), by
// day: people from bill_person_day, BUs (whole subtrees) from bill_bu_day.
func ownerSpend(ctx context.Context, q db.DBTX, bs []*Budget, from, to time.Time) (people, bus map[int64]Series, err error) {
	var pids, bids []int64
	for _, b := range bs {
		if b.PersonID != nil {
			pids = append(pids, *b.PersonID)
		} else {
			bids = append(bids, *b.BUID)
		}
	}
	people, bus = map[int64]Series{}, map[int64]Series{}
	add := func(into map[int64]Series, ds []cost.OwnerDay) {
		for _, d := range ds {
			if into[d.OwnerID] == nil {
				into[d.OwnerID] = Series{}
			}
			into[d.OwnerID][d.Day] = d.Amount
		}
	}
	if len(pids) > 0 {
		ds, err := cost.PersonDailySpend(ctx, q, pids, from, to)
		if err != nil {
			return nil, nil, err
		}
		add(people, ds)
	}
	if len(bids) > 0 {
		ds, err := cost.BUDailySpend(ctx, q, bids, from, to)
		if err != nil {
			return nil, nil, err
		}
		add(bus, ds)
	}
	return people, bus, nil
}

func seriesOf(b *Budget, people, bus map[int64]Series) Series {
	if b.PersonID != nil {
		return people[*b.PersonID]
	}
	return bus[*b.BUID]
}

// view fills the month's figures and what p may do with each budget. The
// current month's spend is the one the last evaluation stored (at most one
// budget-alerts interval old; the bills themselves change hourly); the
// owners it has not seen, and other months, are summed from the bills, one
// statement per owner kind.
func (s *Service) view(ctx context.Context, p *auth.Principal, bs []*Budget, month time.Time) error {
	people, bus := map[int64]decimal.Decimal{}, map[int64]decimal.Decimal{}
	owners := func() (pids, bids []int64) {
		for _, b := range bs {
			switch {
			case b.PersonID != nil:
				if _, ok := people[*b.PersonID]; !ok {
					pids = append(pids, *b.PersonID)
				}
			default:
				if _, ok := bus[*b.BUID]; !ok {
					bids = append(bids, *b.BUID)
				}
			}
		}
		return pids, bids
	}
	if month.Equal(monthStart(s.now())) {
		pids, bids := owners()
		rows, err := s.pool.Query(ctx, sqlMonthSpend, month, pids, bids)
		if err != nil {
			return fmt.Errorf("error loading budget spend: %w", err)
		}
		var person, bu *int64
		var spend decimal.Decimal
		if _, err := pgx.ForEachRow(rows, []any{&person, &bu, &spend}, func() error {
			if person != nil {
				people[*person] = spend
			} else if bu != nil {
				bus[*bu] = spend
			}
			return nil
		}); err != nil {
			return fmt.Errorf("error loading budget spend: %w", err)
		}
	}
	end := month.AddDate(0, 1, 0)
	pids, bids := owners()
	if len(pids) > 0 {
		sums, err := cost.PersonSpend(ctx, s.pool, pids, month, end)
		if err != nil {
			return err
		}
		for _, id := range pids {
			people[id] = sums[id]
		}
	}
	if len(bids) > 0 {
		sums, err := cost.BUSpend(ctx, s.pool, bids, month, end)
		if err != nil {
			return err
		}
		for _, id := range bids {
			bus[id] = sums[id]
		}
	}
	for _, b := range bs {
		b.Month, b.Currency = month, s.currency
		if b.PersonID != nil {
			b.Spend = people[*b.PersonID]
		} else {
			b.Spend = bus[*b.BUID]
		}
		b.SpendPercent = percent(b.Spend, b.Amount)
		b.Editable = p != nil && canEdit(p, b.scopeBU, b.PersonID)
		if b.Editable {
			b.WebhookURL = b.webhook
		}
	}
	return nil
}

func percent(v, of decimal.Decimal) float64 {
	if !of.IsPositive() {
		return 0
	}
	f, _ := v.Mul(hundred).Div(of).Round(2).Float64()
	return f
}

// Query asks for a page of budgets in force in a month.
type Query struct {
	Month  *time.Time
	Filter Filter
	Page   page.Args
}

// Budgets returns the budgets in force in the month that the caller may
// read, largest spend share first.
func (s *Service) Budgets(ctx context.Context, q Query) (page.Page[*Budget], error) {
	p, err := auth.Require(ctx)
	if err != nil {
		return page.Page[*Budget]{}, err
	}
	w, err := q.Page.Resolve()
	if err != nil {
		return page.Page[*Budget]{}, err
	}
	month := s.month(q.Month)
	all, err := loadInForce(ctx, s.pool, month, q.Filter, nil, nil)
	if err != nil {
		return page.Page[*Budget]{}, err
	}
	all = slices.DeleteFunc(all, func(b *Budget) bool { return !canRead(p, b) })
	if err := s.view(ctx, p, all, month); err != nil {
		return page.Page[*Budget]{}, err
	}
	slices.SortStableFunc(all, func(a, b *Budget) int {
		return cmp.Or(cmp.Compare(b.SpendPercent, a.SpendPercent), cmp.Compare(a.ID, b.ID))
	})
	return page.FromOffsets(w, func(offset, limit int) ([]*Budget, int, error) {
		from := min(offset, len(all))
		return all[from:min(from+limit, len(all))], len(all), nil
	})
}

// ErrNoBudget is returned when an owner has no budget in force, or the
// caller may not read it.
var ErrNoBudget = fault.NotFoundf("no budget")

// ForOwner returns the budget in force in month of a person or a BU
// (exactly one of the ids), or ErrNoBudget when there is none the caller may
// read.
func (s *Service) ForOwner(ctx context.Context, personID, buID *int64, month *time.Time) (*Budget, error) {
	p, err := auth.Require(ctx)
	if err != nil {
		return nil, err
	}
	m := s.month(month)
	var bs []*Budget
	if personID != nil {
		bs, err = loadInForce(ctx, s.pool, m, Filter{PersonID: personID}, nil, nil)
	} else {
		if buID == nil {
			return nil, fault.Field("bu", "give a person or a BU")
		}
		k := BU
		bs, err = loadInForce(ctx, s.pool, m, Filter{OwnerKind: &k}, nil, []int64{*buID})
	}
	if err != nil {
		return nil, err
	}
	if len(bs) == 0 || !canRead(p, bs[0]) {
		return nil, ErrNoBudget
	}
	if err := s.view(ctx, p, bs[:1], m); err != nil {
		return nil, err
	}
	return bs[0], nil
}

// Month resolves an optional month argument: the 1st of its month, the
// current month when nil.
func (s *Service) Month(m *time.Time) time.Time { return s.month(m) }

// ForOwners returns the budgets in force in month (its 1st) of people or of
// BUs (kind), keyed by owner, leaving out those the caller may not read: the
// Person.budget and BU.budget loader, a constant number of statements for
// any number of owners.
func (s *Service) ForOwners(ctx context.Context, kind OwnerKind, ids []int64, month time.Time) (map[int64]*Budget, error) {
	p, err := auth.Require(ctx)
	if err != nil {
		return nil, err
	}
	var bs []*Budget
	if kind == Person {
		bs, err = loadInForce(ctx, s.pool, month, Filter{OwnerKind: &kind}, ids, nil)
	} else {
		bs, err = loadInForce(ctx, s.pool, month, Filter{OwnerKind: &kind}, nil, ids)
	}
	if err != nil {
		return nil, err
	}
	bs = slices.DeleteFunc(bs, func(b *Budget) bool { return !canRead(p, b) })
	if err := s.view(ctx, p, bs, month); err != nil {
		return nil, err
	}
	out := make(map[int64]*Budget, len(bs))
	for _, b := range bs {
		out[b.ownerID()] = b
	}
	return out, nil
}

// ByID returns budget id as seen in month (when nil, the current month, or
// the budget's first month when that is still to come), when the caller may
// read it.
func (s *Service) ByID(ctx context.Context, id int64, month *time.Time) (*Budget, error) {
	p, err := auth.Require(ctx)
	if err != nil {
		return nil, err
	}
	b, err := budgetByID(ctx, s.pool, id, false)
	if err != nil {
		return nil, err
	}
	if !canRead(p, b) {
		return nil, fault.NotFoundf("budget not found")
	}
	// Without a month: the current one, or the budget's first month when it
	// is still to come.
	m := monthStart(s.now())
	if b.ValidFrom.After(m) {
		m = b.ValidFrom
	}
	if month != nil {
		m = monthStart(*month)
	}
	if err := s.view(ctx, p, []*Budget{b}, m); err != nil {
		return nil, err
	}
	return b, nil
}

func budgetByID(ctx context.Context, q db.DBTX, id int64, lock bool) (*Budget, error) {
	sql := sqlByID
	if lock {
		sql += " FOR UPDATE OF b"
	}
	rows, err := q.Query(ctx, sql, id)
	if err != nil {
		return nil, fmt.Errorf("error loading budget %d: %w", id, err)
	}
	b, err := pgx.CollectExactlyOneRow(rows, scanBudget)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fault.NotFoundf("budget not found")
	}
	if err != nil {
		return nil, fmt.Errorf("error loading budget %d: %w", id, err)
	}
	return b, nil
}

// Forecast forecasts the end of the budget's month (b as returned by this
// service), with the measured error of the method and its band. It reads
// the owner's daily spend of the month and ErrorHistoryMonths before it.
func (s *Service) Forecast(ctx context.Context, b *Budget) (*Forecast, error) {
	now := s.now().UTC()
	current := monthStart(now)
	today := dayStart(now)
	end := b.Month.AddDate(0, 1, 0)
	if today.After(end) {
		today = end
	}
	errMonth := b.Month
	if errMonth.After(current) {
		errMonth = current
	}
	from := errMonth.AddDate(0, -ErrorHistoryMonths, 0)
	people, bus, err := ownerSpend(ctx, s.pool, []*Budget{b}, from, end)
	if err != nil {
		return nil, err
	}
	series := seriesOf(b, people, bus)
	f := forecastMonth(series, b.Month, today, b.Amount)
	if e, n := measureError(series, errMonth); n >= minOwnerMonths {
		f.MeasuredErrorPercent = &e
	} else if f.MeasuredErrorPercent, err = s.platformError(ctx, errMonth); err != nil {
		return nil, err
	}
	f.band(b.Month, today)
	return &f, nil
}

// platformRefresh is how long the platform's measured error is kept.
const platformRefresh = 10 * time.Minute

// platformError is the method's error on the whole installation's spend,
// kept for platformRefresh per month.
func (s *Service) platformError(ctx context.Context, month time.Time) (*float64, error) {
	s.mu.Lock()
	c, ok := s.platform[month]
	s.mu.Unlock()
	if ok && s.now().Sub(c.at) < platformRefresh {
		return c.percent, nil
	}
	ds, err := cost.PlatformDailySpend(ctx, s.pool, month.AddDate(0, -ErrorHistoryMonths, 0), month)
	if err != nil {
		return nil, err
	}
	series := Series{}
	for _, d := range ds {
		series[d.Day] = d.Amount
	}
	c = platformError{at: s.now()}
	if e, n := measureError(series, month); n > 0 {
		c.percent = &e
	}
	s.mu.Lock()
	s.platform[month] = c
	s.mu.Unlock()
	return c.percent, nil
}

// Child is a child BU's part of its parent's budget month.
type Child struct {
	BUID   int64
	Name   string
	Spend  decimal.Decimal
	Budget *Budget
}

// Children returns, for a BU budget, each child BU's spend in the month (its
// subtree) and its own budget in force, largest spend first; nil for a
// person's budget. One read of the children, one of their spend and one of
// their budgets, whatever their number.
func (s *Service) Children(ctx context.Context, b *Budget) ([]*Child, error) {
	if b.BUID == nil {
		return nil, nil
	}
	p, err := auth.Require(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, sqlChildren, *b.BUID)
	if err != nil {
		return nil, fmt.Errorf("error loading the children of BU %d: %w", *b.BUID, err)
	}
	children, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*Child, error) {
		c := &Child{}
		return c, r.Scan(&c.BUID, &c.Name)
	})
	if err != nil || len(children) == 0 {
		return children, err
	}
	ids := make([]int64, len(children))
	for i, c := range children {
		ids[i] = c.BUID
	}
	spend, err := cost.BUSpend(ctx, s.pool, ids, b.Month, b.Month.AddDate(0, 1, 0))
	if err != nil {
		return nil, err
	}
	k := BU
	own, err := loadInForce(ctx, s.pool, b.Month, Filter{OwnerKind: &k}, nil, ids)
	if err != nil {
		return nil, err
	}
	own = slices.DeleteFunc(own, func(c *Budget) bool { return !canRead(p, c) })
	if err := s.view(ctx, p, own, b.Month); err != nil {
		return nil, err
	}
	byBU := map[int64]*Budget{}
	for _, c := range own {
		byBU[*c.BUID] = c
	}
	for _, c := range children {
		c.Spend, c.Budget = spend[c.BUID], byBU[c.BUID]
	}
	slices.SortStableFunc(children, func(a, b *Child) int {
		return cmp.Or(b.Spend.Cmp(a.Spend), cmp.Compare(a.Name, b.Name))
	})
	return children, nil
}
