package graph

import (
	"time"

	"github.com/teslaops/tesla/graph/generated"
	"github.com/teslaops/tesla/graph/model"
	"github.com/teslaops/tesla/internal/leaderboard"
)

// setLeaderboardComplexity prices the leaderboards: a list is two key reads
// of the stored ranking (the period's row, then its first entries with their
// names and advice in one statement), priced as storedFigures plus its
// entries; a standing is a seek per metric, so a list of people with their
// standings pays for every person's.
func setLeaderboardComplexity(c *generated.ComplexityRoot) {
	c.Query.Leaderboard = func(child int, _ model.LeaderboardLevel, _ model.LeaderboardList, _ model.LeaderboardMetric, _ *model.PeriodUnit, _ *time.Time, first *int) int {
		n := min(max(orDefault(first, leaderboard.DefaultFirst), 1), leaderboard.MaxFirst)
		return storedFigures + child*((n+leaderboard.DefaultFirst-1)/leaderboard.DefaultFirst)
	}
	c.Leaderboard.Entries = func(child int) int { return 1 + child*leaderboard.DefaultFirst }
	standing := func(child int, _ *model.PeriodUnit) int {
		return len(leaderboard.Metrics) + child*len(leaderboard.Metrics)
	}
	c.Person.Standing = standing
	c.BU.Standing = standing
}
