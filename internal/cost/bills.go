package cost

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/fault"
)

// GroupBy is what a bill view adds lines up by.
type GroupBy string

// The groupings of a bill view.
const (
	ByJob      GroupBy = "JOB"
	ByPerson   GroupBy = "PERSON"
	ByBU       GroupBy = "BU"
	ByCluster  GroupBy = "CLUSTER"
	ByResource GroupBy = "RESOURCE"
)

// PeriodUnit is the length of a calendar period.
type PeriodUnit string

// The calendar periods; a week starts on Monday (ISO 8601).
const (
	Day   PeriodUnit = "DAY"
	Week  PeriodUnit = "WEEK"
	Month PeriodUnit = "MONTH"
)

// Period is the days a bill covers: a calendar Unit containing Start, or the
// days [From, To).
type Period struct {
	Unit  PeriodUnit
	Start time.Time
	From  time.Time
	To    time.Time
}

// MaxPeriodDays bounds a from/to period.
const MaxPeriodDays = 400

// Resolve returns the period's days [from, to), naming the field at fault.
func (p Period) Resolve(field string) (from, to time.Time, err error) {
	if p.Unit != "" {
		if !p.From.IsZero() || !p.To.IsZero() {
			return from, to, fault.Field(field, "give either unit and start, or from and to, not both")
		}
		s := p.Start.UTC().Truncate(24 * time.Hour)
		if p.Start.IsZero() {
			return from, to, fault.Field(field+".start", "start is required with unit")
		}
		switch p.Unit {
		case Day:
			return s, s.AddDate(0, 0, 1), nil
		case Week:
			s = s.AddDate(0, 0, -((int(s.Weekday()) + 6) % 7))
			return s, s.AddDate(0, 0, 7), nil
		case Month:
			s = time.Date(s.Year(), s.Month(), 1, 0, 0, 0, 0, time.UTC)
			return s, s.AddDate(0, 1, 0), nil
		}
		return from, to, fault.Field(field+".unit", "unknown period unit %q: use DAY, WEEK or MONTH", p.Unit)
	}
	if p.From.IsZero() || p.To.IsZero() {
		return from, to, fault.Field(field, "give unit and start, or from and to")
	}
	from, to = p.From.UTC().Truncate(24*time.Hour), p.To.UTC().Truncate(24*time.Hour)
	if !to.After(from) {
		return from, to, fault.Field(field+".to", "to (%s) must be after from (%s)", to.Format(time.DateOnly), from.Format(time.DateOnly))
	}
	if to.Sub(from) > MaxPeriodDays*24*time.Hour {
		return from, to, fault.Field(field+".to", "a period spans at most %d days", MaxPeriodDays)
	}
	return from, to, nil
}

// Filter narrows a bill view. BUID takes the BU's whole subtree.
type Filter struct {
	BUID      *int64
	PersonID  *int64
	ClusterID *int64
	JobID     *int64
}

// BillQuery asks for a bill view.
type BillQuery struct {
	GroupBy GroupBy
	Period  Period
	Filter  Filter
	// First bounds the groups returned, largest amount first (default 100;
	// 0 with All set returns every group, for the CSV export).
	First int
	All   bool
}

// Item is one resource of a group: how much, in what unit, at what price.
type Item struct {
	Resource Resource
	Quantity decimal.Decimal
	Unit     string
	// UnitPrice is the amount per unit: the card's price for usage (the
	// average when the period spans several prices), 1 for shares.
	UnitPrice decimal.Decimal
	Amount    decimal.Decimal
}

// Group is one line of a bill view: a job, person, BU, cluster or resource,
// with what makes up its amount.
type Group struct {
	// ID is the job, person, BU or cluster id (nil for lines without one, e.g.
	// a BU's overhead in a bill by job, or for RESOURCE).
	ID       *int64
	Resource Resource
	Name     string
	Amount   decimal.Decimal
	// Usage is CPU and MEMORY; IdleShare, Overhead and Rounding the shares;
	// STORAGE is in Amount and Items only.
	Usage, IdleShare, Overhead, Rounding decimal.Decimal
	Items                                []Item
}

// BillView is a bill: its groups, largest first, and the total over all
// groups (also those beyond First).
type BillView struct {
	GroupBy    GroupBy
	From, To   time.Time
	Currency   string
	Total      decimal.Decimal
	TotalCount int
	Groups     []*Group
}

// DefaultFirst and MaxFirst bound the groups of a bill view.
const (
	DefaultFirst = 100
	MaxFirst     = 1000
)

// scope is what the caller may see of bills: nil bus and person mean all.
type scope struct {
	bus    []int64
	person *int64
}

// scopeOf applies the access rules: ADMIN and OPERATOR see every line, a BU
// admin the lines of their BU subtree, anyone else their own person's lines.
// A filter outside the caller's scope is refused rather than answered empty.
func (s *Service) scopeOf(ctx context.Context, f *Filter) (scope, error) {
	p, err := auth.Require(ctx)
	if err != nil {
		return scope{}, err
	}
	switch {
	case p.Is(auth.Operator):
		return scope{}, nil
	case p.Role == auth.BUAdmin:
		if f.BUID != nil && !p.InBUSubtree(*f.BUID) {
			return scope{}, fault.Forbiddenf("you may read the bills of your BU subtree only; BU %d is outside it", *f.BUID)
		}
		return scope{bus: p.BUSubtree}, nil
	default:
		if f.PersonID != nil && *f.PersonID != p.PersonID {
			return scope{}, fault.Forbiddenf("you may read your own bill only")
		}
		if f.BUID != nil && *f.BUID != p.BUID {
			return scope{}, fault.Forbiddenf("you may read your own bill only; BU %d is not yours", *f.BUID)
		}
		id := p.PersonID
		return scope{person: &id}, nil
	}
}

// Bills returns a bill view, checking the caller (scopeOf). Views that need
// no job or person detail read the daily sums (bill_bu_day,
// bill_cluster_day, bill_person_day), so a month by BU reads a few thousand
// rows; the rest read bill_line through its person, job or BU index.
func (s *Service) Bills(ctx context.Context, q BillQuery) (*BillView, error) {
	from, to, err := q.Period.Resolve("period")
	if err != nil {
		return nil, err
	}
	switch q.GroupBy {
	case ByJob, ByPerson, ByBU, ByCluster, ByResource:
	default:
		return nil, fault.Field("groupBy", "unknown grouping %q: use JOB, PERSON, BU, CLUSTER or RESOURCE", q.GroupBy)
	}
	switch {
	case q.All:
	case q.First == 0:
		q.First = DefaultFirst
	case q.First < 1 || q.First > MaxFirst:
		return nil, fault.Field("first", "first must be 1..%d", MaxFirst)
	}
	sc, err := s.scopeOf(ctx, &q.Filter)
	if err != nil {
		return nil, err
	}
	f := q.Filter
	if sc.person != nil {
		f.PersonID = sc.person
	}
	var bus []int64
	if f.BUID != nil {
		if bus, err = s.subtree(ctx, *f.BUID); err != nil {
			return nil, err
		}
	}
	if sc.bus != nil {
		if bus == nil {
			bus = sc.bus
		} else {
			bus = slices.DeleteFunc(bus, func(id int64) bool { return !slices.Contains(sc.bus, id) })
		}
	}

	table, key := source(q.GroupBy, f)
	var where []string
	args := pgx.NamedArgs{"from": from, "to": to}
	where = append(where, "day >= @from", "day < @to")
	if bus != nil {
		where, args["bus"] = append(where, "bu_id = ANY(@bus)"), bus
	}
	if f.PersonID != nil {
		where, args["person"] = append(where, "person_id = @person"), *f.PersonID
	}
	if f.ClusterID != nil {
		where, args["cluster"] = append(where, "cluster_id = @cluster"), *f.ClusterID
	}
	if f.JobID != nil {
		where, args["job"] = append(where, "job_id = @job"), *f.JobID
	}
	sql := fmt.Sprintf(`SELECT %s::text, resource, sum(quantity), sum(amount) FROM %s WHERE %s GROUP BY 1, 2`,
		key, table, strings.Join(where, " AND "))
	rows, err := s.pool.Query(ctx, sql, args)
	if err != nil {
		return nil, fmt.Errorf("error loading bills: %w", err)
	}
	view := &BillView{GroupBy: q.GroupBy, From: from, To: to, Currency: s.cfg.Currency, Total: decimal.Zero}
	byKey := map[string]*Group{}
	var k *string
	var res string
	var qty, amt decimal.Decimal
	if _, err := pgx.ForEachRow(rows, []any{&k, &res, &qty, &amt}, func() error {
		name := ""
		if k != nil {
			name = *k
		}
		g := byKey[name]
		if g == nil {
			g = newGroup()
			if q.GroupBy == ByResource {
				g.Resource = Resource(name)
			} else if k != nil {
				var id int64
				if _, err := fmt.Sscan(name, &id); err != nil {
					return fmt.Errorf("bad key %q: %w", name, err)
				}
				g.ID = &id
			}
			byKey[name] = g
		}
		g.add(Resource(res), qty, amt, s.cfg.Currency)
		view.Total = view.Total.Add(amt)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("error loading bills: %w", err)
	}
	for _, g := range byKey {
		view.Groups = append(view.Groups, g)
	}
	slices.SortFunc(view.Groups, func(a, b *Group) int {
		if c := b.Amount.Cmp(a.Amount); c != 0 {
			return c
		}
		return strings.Compare(groupSortKey(a), groupSortKey(b))
	})
	view.TotalCount = len(view.Groups)
	if !q.All && len(view.Groups) > q.First {
		view.Groups = view.Groups[:q.First]
	}
	if err := s.name(ctx, q.GroupBy, view.Groups); err != nil {
		return nil, err
	}
	return view, nil
}

func groupSortKey(g *Group) string {
	if g.ID != nil {
		return fmt.Sprintf("%020d", *g.ID)
	}
	return string(g.Resource)
}

func newGroup() *Group {
	z := decimal.Zero
	return &Group{Amount: z, Usage: z, IdleShare: z, Overhead: z, Rounding: z}
}

// add adds a resource's quantity and amount to the group.
func (g *Group) add(r Resource, qty, amt decimal.Decimal, currency string) {
	g.Amount = g.Amount.Add(amt)
	switch r {
	case CPU, Memory:
		g.Usage = g.Usage.Add(amt)
	case Idle:
		g.IdleShare = g.IdleShare.Add(amt)
	case Overhead:
		g.Overhead = g.Overhead.Add(amt)
	case Rounding:
		g.Rounding = g.Rounding.Add(amt)
	}
	for i := range g.Items {
		if g.Items[i].Resource == r {
			it := &g.Items[i]
			it.Quantity, it.Amount = it.Quantity.Add(qty), it.Amount.Add(amt)
			it.UnitPrice = unitPrice(it.Quantity, it.Amount, r)
			return
		}
	}
	unit := currency
	switch r {
	case CPU:
		unit = UnitCoreHour
	case Memory:
		unit = UnitGBHour
	case Storage:
		unit = UnitTBDay
	}
	g.Items = append(g.Items, Item{Resource: r, Quantity: qty, Unit: unit, UnitPrice: unitPrice(qty, amt, r), Amount: amt})
	slices.SortFunc(g.Items, func(a, b Item) int {
		return slices.Index(Resources(), a.Resource) - slices.Index(Resources(), b.Resource)
	})
}

// unitPrice is amount per unit, to 6 places: the card's price when one
// price applied (up to the cent rounding of each line), else the average.
func unitPrice(qty, amt decimal.Decimal, r Resource) decimal.Decimal {
	if r != CPU && r != Memory && r != Storage {
		return decimal.NewFromInt(1)
	}
	if qty.IsZero() {
		return decimal.Zero
	}
	return amt.DivRound(qty, 6)
}

// source picks the smallest table that holds what the view needs, and the
// column it groups by.
func source(by GroupBy, f Filter) (table, key string) {
	key = map[GroupBy]string{ByJob: "job_id", ByPerson: "person_id", ByBU: "bu_id", ByCluster: "cluster_id", ByResource: "resource"}[by]
	switch {
	case by == ByJob || f.JobID != nil:
		return "bill_line", key
	case (by == ByPerson || f.PersonID != nil) && by != ByCluster && f.ClusterID == nil:
		return "bill_person_day", key
	case by == ByCluster || f.ClusterID != nil:
		if f.PersonID != nil {
			return "bill_line", key
		}
		return "bill_cluster_day", key
	default:
		return "bill_bu_day", key
	}
}

// subtree returns a BU and every BU below it; NotFound for an unknown BU.
func (s *Service) subtree(ctx context.Context, bu int64) ([]int64, error) {
	rows, err := s.pool.Query(ctx, `WITH RECURSIVE t AS (
		SELECT id FROM bu WHERE id = $1
		UNION ALL SELECT b.id FROM bu b JOIN t ON b.parent_id = t.id)
		SELECT id FROM t`, bu)
	if err != nil {
		return nil, fmt.Errorf("error loading BU %d: %w", bu, err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("error loading BU %d: %w", bu, err)
	}
	if len(ids) == 0 {
		return nil, fault.Field("filter.bu", "no BU with id %d", bu)
	}
	return ids, nil
}

// name fills the groups' names in one query.
func (s *Service) name(ctx context.Context, by GroupBy, groups []*Group) error {
	var ids []int64
	for _, g := range groups {
		if g.ID != nil {
			ids = append(ids, *g.ID)
		} else {
			g.Name = string(g.Resource)
		}
	}
	if by == ByResource || len(ids) == 0 {
		for _, g := range groups {
			if g.ID == nil && by != ByResource {
				g.Name = "(none)"
			}
		}
		return nil
	}
	sql := map[GroupBy]string{
		ByJob:     `SELECT id, namespace || '/' || name FROM job WHERE id = ANY($1)`,
		ByPerson:  `SELECT id, login FROM person WHERE id = ANY($1)`,
		ByBU:      `SELECT id, code FROM bu WHERE id = ANY($1)`,
		ByCluster: `SELECT id, name FROM cluster WHERE id = ANY($1)`,
	}[by]
	rows, err := s.pool.Query(ctx, sql, ids)
	if err != nil {
		return fmt.Errorf("error loading names: %w", err)
	}
	names := map[int64]string{}
	var id int64
	var n string
	if _, err := pgx.ForEachRow(rows, []any{&id, &n}, func() error { names[id] = n; return nil }); err != nil {
		return fmt.Errorf("error loading names: %w", err)
	}
	for _, g := range groups {
		switch {
		case g.ID != nil:
			g.Name = cmp.Or(names[*g.ID], fmt.Sprintf("%s %d", strings.ToLower(string(by)), *g.ID))
		default:
			g.Name = "(none)"
		}
	}
	return nil
}
