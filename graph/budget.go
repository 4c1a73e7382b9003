package graph

import (
	"github.com/teslaops/tesla/graph/model"
	"github.com/teslaops/tesla/internal/budget"
)

func budgetModel(b *budget.Budget) *model.Budget {
	if b == nil {
		return nil
	}
	return &model.Budget{ID: model.GlobalID(model.KindBudget, b.ID), DBID: b.ID, OwnerKind: model.BudgetOwnerKind(b.Kind()),
		PersonID: b.PersonID, BUID: b.BUID, ValidFrom: b.ValidFrom, Month: b.Month, Amount: money(b.Amount),
		Currency: b.Currency, Thresholds: b.Thresholds, WebhookURL: b.WebhookURL, Spend: money(b.Spend),
		SpendPercent: b.SpendPercent, Editable: b.Editable, UpdatedAt: b.UpdatedAt, UpdatedByID: b.UpdatedBy, Domain: b}
}

func budgetAlertModel(a *budget.Alert) *model.BudgetAlert {
	out := &model.BudgetAlert{ID: model.GlobalID(model.KindBudgetAlert, a.ID), DBID: a.ID, BudgetID: a.BudgetID,
		Month: a.Month, Kind: model.BudgetAlertKind(a.Kind), Threshold: a.Threshold, Value: money(a.Value),
		Amount: money(a.Amount), RaisedAt: a.RaisedAt}
	if w := a.Webhook; w != nil {
		out.Webhook = &model.WebhookDelivery{State: model.WebhookState(w.State), Attempts: w.Attempts, LastError: w.LastError,
			NextAttemptAt: w.NextAttemptAt, DeliveredAt: w.DeliveredAt}
	}
	return out
}

func budgetForecastModel(f *budget.Forecast) *model.BudgetForecast {
	out := &model.BudgetForecast{Method: f.Method, EndOfMonth: money(f.EndOfMonth), Low: money(f.Low), High: money(f.High),
		RunsOutOn: f.RunsOutOn, MeasuredErrorPercent: f.MeasuredErrorPercent}
	for _, d := range f.Days {
		day := &model.BudgetDay{Day: d.Day, Cumulative: money(d.Cumulative)}
		if d.Actual != nil {
			v := money(*d.Actual)
			day.Actual = &v
		}
		if d.Forecast != nil {
			v := money(*d.Forecast)
			day.Forecast = &v
		}
		out.Days = append(out.Days, day)
	}
	return out
}

func budgetFilter(f *model.BudgetFilter) (budget.Filter, error) {
	var out budget.Filter
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
	if f.OwnerKind != nil {
		k := budget.OwnerKind(*f.OwnerKind)
		out.OwnerKind = &k
	}
	return out, nil
}

func budgetInput(in model.UpsertBudgetInput) (budget.Input, error) {
	out := budget.Input{Month: in.Month, Thresholds: in.Thresholds, WebhookURL: in.WebhookURL}
	var err error
	if out.PersonID, err = model.ParseOptionalID("input.person", in.Person, model.KindPerson); err != nil {
		return out, err
	}
	if out.BUID, err = model.ParseOptionalID("input.bu", in.Bu, model.KindBU); err != nil {
		return out, err
	}
	out.Amount, err = parseDecimal("input.amount", in.Amount)
	return out, err
}
