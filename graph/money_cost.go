package graph

import (
	"time"

	"github.com/teslaops/tesla/graph/generated"
	"github.com/teslaops/tesla/graph/model"
	"github.com/teslaops/tesla/internal/budget"
	"github.com/teslaops/tesla/internal/cost"
)

// nominalRateCards is the number of rate cards a listing is priced for: a
// few per kind and a card for some clusters.
const nominalRateCards = 50

// setMoneyComplexity prices the money schema's lists: a bill's lines are read
// from precomputed sums in one statement, then each line's items (at most one
// per resource) come with it.
func setMoneyComplexity(c *generated.ComplexityRoot) {
	items := len(cost.Resources())
	c.Query.RateCards = func(child int) int { return 1 + child*nominalRateCards }
	// A bill's lines are priced at DefaultFirst (Bill.Lines); a larger first
	// multiplies the whole selection.
	c.Query.Bills = func(child int, _ model.BillGroupBy, _ model.BillPeriodInput, _ *model.BillFilter, first *int) int {
		n := min(max(orDefault(first, cost.DefaultFirst), 1), cost.MaxFirst)
		return 1 + child*((n+cost.DefaultFirst-1)/cost.DefaultFirst)
	}
	c.Bill.Lines = func(child int) int { return 1 + child*cost.DefaultFirst }
	c.BillLine.Items = func(child int) int { return 1 + child*items }
	c.CostSummary.Items = func(child int) int { return 1 + child*items }
	c.CostBreakdown.ByCluster = func(child int) int { return 1 + child*nominalClusters }
	c.CostBreakdown.ByBu = func(child int) int { return 1 + child*nominalPerParent }
	setBudgetComplexity(c)
}

// Budget prices. A budget's forecast reads its owner's daily spend over the
// month and the ErrorHistoryMonths before it (about 250 days, a few rows a
// day) in one statement per budget; children read the child BUs, their
// subtree spend and their budgets in three statements per budget, then each
// child's budget as an object. So both are priced per budget, and a page of
// budgets multiplies them.
const (
	// forecastCost is a forecast's price: the rows it reads per rowsPerUnit,
	// plus its days as objects.
	forecastCost = (budget.ErrorHistoryMonths+1)*31*4/rowsPerUnit + 31
	// nominalBudgetAlerts is the alerts a budget has in a month: two kinds
	// times the default three thresholds.
	nominalBudgetAlerts = 6
)

func setBudgetComplexity(c *generated.ComplexityRoot) {
	c.Query.Budgets = func(child int, _ *time.Time, _ *model.BudgetFilter, first *int, _ *string) int {
		return 1 + child*pageCost(first, nil)
	}
	c.Query.BudgetAlerts = func(child int, _ *time.Time, _ *model.BudgetFilter, first *int, _ *string) int {
		return 1 + child*pageCost(first, nil)
	}
	c.Budget.Forecast = func(child int) int { return forecastCost + child }
	c.BudgetForecast.Days = func(child int) int { return 1 + child*31 }
	c.Budget.Alerts = func(child int) int { return 1 + child*nominalBudgetAlerts }
	c.Budget.Children = func(child int) int { return 3 + child*nominalPerParent }
}
