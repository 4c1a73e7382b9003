package graph

import (
	"github.com/teslaops/tesla/graph/generated"
	"github.com/teslaops/tesla/graph/model"
	"github.com/teslaops/tesla/internal/health"
)

// rankingBase prices a health ranking's read: an index range in score order,
// or, within a BU subtree, the subtree's scores sorted (tens of thousands of
// jobs at most).
const rankingBase = 10

// setHealthComplexity prices the health schema's fields. A subject's score is
// one stored row through a loader per level (a list of 100 hosts with their
// health is one statement), so it costs one object; a history reads a row per
// day, rowsPerUnit rows a unit; a ranking its entries and its read.
func setHealthComplexity(c *generated.ComplexityRoot) {
	score := func(child int) int { return 1 + child }
	c.Host.Health = score
	c.Cluster.Health = score
	c.Job.Health = score
	c.Person.Health = score
	c.BU.Health = score
	c.HealthScore.History = func(child int, days *int) int {
		n := min(max(orDefault(days, 30), 1), health.MaxHistoryDays)
		return 1 + max(child, 1)*((n+rowsPerUnit-1)/rowsPerUnit)
	}
	c.Query.HealthRanking = func(child int, _ model.HealthLevel, _ *model.OrderDirection, _, _ *string, first *int) int {
		n := min(max(orDefault(first, 20), 1), health.MaxRanking)
		return rankingBase + child*n
	}
}
