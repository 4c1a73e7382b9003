package cost

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"github.com/teslaops/tesla/internal/fault"
)

// Summary is what one person, BU or cluster cost over a period: the amount
// and its parts, per resource.
type Summary struct {
	From, To                             time.Time
	Currency                             string
	Amount                               decimal.Decimal
	Usage, IdleShare, Overhead, Rounding decimal.Decimal
	Items                                []Item
}

// Cost sums the bill lines matching f over the period, under the caller's
// scope (a viewer asking for a BU or cluster gets their own part of it).
func (s *Service) Cost(ctx context.Context, f Filter, p Period) (*Summary, error) {
	v, err := s.Bills(ctx, BillQuery{GroupBy: ByResource, Period: p, Filter: f, All: true})
	if err != nil {
		return nil, err
	}
	return summarise(v), nil
}

func summarise(v *BillView) *Summary {
	g := newGroup()
	for _, r := range v.Groups {
		for _, it := range r.Items {
			g.add(it.Resource, it.Quantity, it.Amount, v.Currency)
		}
	}
	return &Summary{From: v.From, To: v.To, Currency: v.Currency, Amount: g.Amount, Usage: g.Usage,
		IdleShare: g.IdleShare, Overhead: g.Overhead, Rounding: g.Rounding, Items: g.Items}
}

// Breakdown is a BU's cost of a month: its whole subtree's total, and the
// same total by cluster and by the BU's child BUs (each with its subtree)
// and the BU's own lines.
type Breakdown struct {
	BUID      int64
	Month     time.Time
	Summary   *Summary
	ByCluster []*Group
	// ByBU holds one group per child BU (its whole subtree) and one for the
	// BU itself (its own lines).
	ByBU []*Group
}

// CostBreakdown returns a BU's cost of the month containing month.
func (s *Service) CostBreakdown(ctx context.Context, bu int64, month time.Time) (*Breakdown, error) {
	p := Period{Unit: Month, Start: month}
	f := Filter{BUID: &bu}
	sum, err := s.Cost(ctx, f, p)
	if err != nil {
		return nil, err
	}
	byCluster, err := s.Bills(ctx, BillQuery{GroupBy: ByCluster, Period: p, Filter: f, All: true})
	if err != nil {
		return nil, err
	}
	byBU, err := s.Bills(ctx, BillQuery{GroupBy: ByBU, Period: p, Filter: f, All: true})
	if err != nil {
		return nil, err
	}
	// Roll each BU's lines up to the child of bu it lies under.
	rows, err := s.pool.Query(ctx, `WITH RECURSIVE t AS (
		SELECT id, id AS top FROM bu WHERE parent_id = $1
		UNION ALL SELECT b.id, t.top FROM bu b JOIN t ON b.parent_id = t.id)
		SELECT id, top FROM t`, bu)
	if err != nil {
		return nil, fmt.Errorf("error loading BU %d: %w", bu, err)
	}
	top := map[int64]int64{}
	var id, t int64
	for rows.Next() {
		if err := rows.Scan(&id, &t); err != nil {
			rows.Close()
			return nil, fmt.Errorf("error loading BU %d: %w", bu, err)
		}
		top[id] = t
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("error loading BU %d: %w", bu, err)
	}
	rolled := map[int64]*Group{}
	var order []int64
	for _, g := range byBU.Groups {
		if g.ID == nil {
			continue
		}
		k, ok := top[*g.ID]
		if !ok {
			k = bu
		}
		r := rolled[k]
		if r == nil {
			kk := k
			r = newGroup()
			r.ID = &kk
			rolled[k] = r
			order = append(order, k)
		}
		for _, it := range g.Items {
			r.add(it.Resource, it.Quantity, it.Amount, s.cfg.Currency)
		}
	}
	out := &Breakdown{BUID: bu, Month: byBU.From, Summary: sum, ByCluster: byCluster.Groups}
	for _, k := range order {
		out.ByBU = append(out.ByBU, rolled[k])
	}
	if err := s.name(ctx, ByBU, out.ByBU); err != nil {
		return nil, err
	}
	return out, nil
}

// WriteCSV writes a bill view as CSV: one row per group and resource, with
// the group's key and name, quantity, unit, unit price and amount, and a
// final TOTAL row. Amounts are exact decimals as text.
func WriteCSV(w io.Writer, v *BillView) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"group_by", "id", "name", "resource", "quantity", "unit", "unit_price", "amount", "currency", "from", "to"})
	from, to := v.From.Format(time.DateOnly), v.To.Format(time.DateOnly)
	for _, g := range v.Groups {
		id := ""
		if g.ID != nil {
			id = fmt.Sprint(*g.ID)
		}
		for _, it := range g.Items {
			_ = cw.Write([]string{string(v.GroupBy), id, csvSafe(g.Name), string(it.Resource), it.Quantity.String(), it.Unit,
				it.UnitPrice.String(), it.Amount.StringFixed(2), v.Currency, from, to})
		}
	}
	_ = cw.Write([]string{string(v.GroupBy), "", "TOTAL", "", "", "", "", v.Total.StringFixed(2), v.Currency, from, to})
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("error writing CSV: %w", err)
	}
	return nil
}

// csvSafe keeps a name from being read as a formula by a spreadsheet (CSV
// injection): job, person, BU and cluster names are chosen by people, and
// a cell starting with = + - @, a tab or a line break (OWASP's list), or
// with the full-width = + - @ some spreadsheets also take for a formula,
// is opened as text by prefixing a single quote.
func csvSafe(s string) string {
	if s == "" {
		return s
	}
	switch r, _ := utf8.DecodeRuneInString(s); r {
	case '=', '+', '-', '@', '\t', '\r', '\n', '\uff1d', '\uff0b', '\uff0d', '\uff20':
		return "'" + s
	}
	return s
}

// ParseGroupBy validates a grouping from user input.
func ParseGroupBy(field, s string) (GroupBy, error) {
	switch g := GroupBy(s); g {
	case ByJob, ByPerson, ByBU, ByCluster, ByResource:
		return g, nil
	}
	return "", fault.Field(field, "unknown grouping %q: use JOB, PERSON, BU, CLUSTER or RESOURCE", s)
}
