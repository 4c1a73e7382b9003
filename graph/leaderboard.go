package graph

import (
	"github.com/teslaops/tesla/graph/model"
	"github.com/teslaops/tesla/internal/leaderboard"
)

// leaderboardKinds are the global id kinds of each level's subjects.
var leaderboardKinds = map[leaderboard.Level]string{
	leaderboard.Job: model.KindJob, leaderboard.Person: model.KindPerson, leaderboard.BU: model.KindBU,
}

// jobPath is the web app's path of a job's page, where its findings are.
func jobPath(id int64) string { return "/jobs/" + model.GlobalID(model.KindJob, id) }

func leaderboardBoard(b *leaderboard.Board) *model.Leaderboard {
	kind := leaderboardKinds[b.Level]
	out := &model.Leaderboard{Level: model.LeaderboardLevel(b.Level), List: model.LeaderboardList(b.List),
		Metric: model.LeaderboardMetric(b.Metric), Period: model.PeriodUnit(b.Unit), Start: b.Start, End: b.End,
		ComputedAt: b.ComputedAt, HigherIsBetter: b.HigherIsBetter, Unit: b.UnitName, PlatformMedian: b.Median,
		MinimumVolume: b.MinimumVolume, RankedCount: b.RankedCount, Entries: make([]*model.LeaderboardEntry, len(b.Entries))}
	for i, e := range b.Entries {
		me := &model.LeaderboardEntry{Rank: e.Rank, PreviousRank: e.PreviousRank, Movement: e.Movement,
			SubjectID: model.GlobalID(kind, e.SubjectID), Name: e.Name, Context: e.Context, Value: e.Value,
			Display: e.Display, Comparison: e.Comparison, Volume: e.Volume, Improve: e.Improve}
		if e.ImproveJobID != nil {
			u := jobPath(*e.ImproveJobID)
			me.ImproveURL = &u
		}
		out.Entries[i] = me
	}
	return out
}

func leaderboardStanding(s leaderboard.Standing) *model.LeaderboardStanding {
	out := &model.LeaderboardStanding{Metric: model.LeaderboardMetric(s.Metric), Period: model.PeriodUnit(s.Unit),
		Rank: s.Rank, RankedCount: s.RankedCount, Value: s.Value, Display: s.Display, Comparison: s.Comparison, Movement: s.Movement}
	if s.List != nil {
		l := model.LeaderboardList(*s.List)
		out.List = &l
	}
	return out
}

// periodUnit is a PeriodUnit argument, WEEK when absent.
func periodUnit(p *model.PeriodUnit) leaderboard.Unit {
	if p == nil {
		return leaderboard.Week
	}
	return leaderboard.Unit(*p)
}
