package graph

import (
	"github.com/teslaops/tesla/graph/generated"
	"github.com/teslaops/tesla/graph/model"
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
}
