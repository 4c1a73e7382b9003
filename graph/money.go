package graph

import (
	"github.com/shopspring/decimal"

	"github.com/teslaops/tesla/graph/model"
	"github.com/teslaops/tesla/internal/cost"
	"github.com/teslaops/tesla/internal/fault"
)

// dec maps a domain decimal to the Decimal scalar.
func dec(d decimal.Decimal) model.Decimal { return model.Decimal(d.String()) }

// money maps an amount, always with its cents.
func money(d decimal.Decimal) model.Decimal { return model.Decimal(d.StringFixed(2)) }

// parseDecimal parses a Decimal argument, naming the field.
func parseDecimal(field string, d model.Decimal) (decimal.Decimal, error) {
	v, err := decimal.NewFromString(string(d))
	if err != nil {
		return v, fault.Field(field, "%q is not a decimal number such as \"0.045\"", string(d))
	}
	return v, nil
}

func billPeriod(p model.BillPeriodInput) cost.Period {
	out := cost.Period{}
	if p.Unit != nil {
		out.Unit = cost.PeriodUnit(*p.Unit)
	}
	if p.Start != nil {
		out.Start = *p.Start
	}
	if p.From != nil {
		out.From = *p.From
	}
	if p.To != nil {
		out.To = *p.To
	}
	return out
}

func billFilter(f *model.BillFilter) (cost.Filter, error) {
	var out cost.Filter
	if f == nil {
		return out, nil
	}
	var err error
	if out.BUID, err = model.ParseOptionalID("filter.bu", f.Bu, model.KindBU); err != nil {
		return out, err
	}
	if out.PersonID, err = model.ParseOptionalID("filter.person", f.Person, model.KindPerson); err != nil {
		return out, err
	}
	if out.ClusterID, err = model.ParseOptionalID("filter.cluster", f.Cluster, model.KindCluster); err != nil {
		return out, err
	}
	out.JobID, err = model.ParseOptionalID("filter.job", f.Job, model.KindJob)
	return out, err
}

var groupKinds = map[cost.GroupBy]string{cost.ByJob: model.KindJob, cost.ByPerson: model.KindPerson,
	cost.ByBU: model.KindBU, cost.ByCluster: model.KindCluster}

func billItems(items []cost.Item) []*model.BillItem {
	out := make([]*model.BillItem, len(items))
	for i, it := range items {
		out[i] = &model.BillItem{Resource: model.BillResource(it.Resource), Quantity: dec(it.Quantity), Unit: it.Unit,
			UnitPrice: dec(it.UnitPrice), Amount: money(it.Amount)}
	}
	return out
}

func billLines(by cost.GroupBy, groups []*cost.Group) []*model.BillLine {
	out := make([]*model.BillLine, len(groups))
	for i, g := range groups {
		l := &model.BillLine{Name: g.Name, Amount: money(g.Amount), Usage: money(g.Usage), IdleShare: money(g.IdleShare),
			Overhead: money(g.Overhead), Rounding: money(g.Rounding), Items: billItems(g.Items)}
		if g.ID != nil {
			id := model.GlobalID(groupKinds[by], *g.ID)
			l.EntityID = &id
		}
		if g.Resource != "" {
			r := model.BillResource(g.Resource)
			l.Resource = &r
		}
		out[i] = l
	}
	return out
}

func bill(v *cost.BillView, f cost.Filter) *model.Bill {
	return &model.Bill{GroupBy: model.BillGroupBy(v.GroupBy), From: v.From, To: v.To, Currency: v.Currency,
		Total: money(v.Total), TotalCount: v.TotalCount, Lines: billLines(v.GroupBy, v.Groups),
		CSVURL: cost.CSVPath(v.GroupBy, v.From, v.To, f)}
}

func costSummary(s *cost.Summary) *model.CostSummary {
	return &model.CostSummary{From: s.From, To: s.To, Currency: s.Currency, Amount: money(s.Amount), Usage: money(s.Usage),
		IdleShare: money(s.IdleShare), Overhead: money(s.Overhead), Rounding: money(s.Rounding), Items: billItems(s.Items)}
}

func rateCard(c *cost.RateCard) *model.RateCard {
	out := &model.RateCard{ID: model.GlobalID(model.KindRateCard, c.ID), ClusterID: c.ClusterID, ValidFrom: c.ValidFrom,
		ValidTo: c.ValidTo, CoreHour: dec(c.CoreHour), MemoryGbHour: dec(c.MemoryGBHour),
		OverheadPerMonth: money(c.OverheadPerMonth), Storage: dec(c.StorageTBDay), Note: c.Note, UpdatedAt: c.UpdatedAt}
	if c.ClusterKind != nil {
		k := model.ClusterKind(*c.ClusterKind)
		out.ClusterKind = &k
	}
	return out
}

// rateCardInput converts the mutation input, naming the field at fault.
func rateCardInput(in model.UpsertRateCardInput) (cost.RateCardInput, error) {
	out := cost.RateCardInput{ValidFrom: in.ValidFrom, ValidTo: in.ValidTo}
	if in.Note != nil {
		out.Note = *in.Note
	}
	if in.ClusterKind != nil {
		k := string(*in.ClusterKind)
		out.ClusterKind = &k
	}
	var err error
	if in.ID != nil {
		if out.ID, err = model.ParseID("input.id", *in.ID, model.KindRateCard); err != nil {
			return out, err
		}
	}
	if out.ClusterID, err = model.ParseOptionalID("input.cluster", in.Cluster, model.KindCluster); err != nil {
		return out, err
	}
	if out.CoreHour, err = parseDecimal("input.coreHour", in.CoreHour); err != nil {
		return out, err
	}
	if out.MemoryGBHour, err = parseDecimal("input.memoryGbHour", in.MemoryGbHour); err != nil {
		return out, err
	}
	if in.OverheadPerMonth != nil {
		o, err := parseDecimal("input.overheadPerMonth", *in.OverheadPerMonth)
		if err != nil {
			return out, err
		}
		out.OverheadPerMonth = &o
	}
	if in.StorageTbDay != nil {
		s, err := parseDecimal("input.storageTbDay", *in.StorageTbDay)
		if err != nil {
			return out, err
		}
		out.StorageTBDay = &s
	}
	return out, nil
}
