package graph

import (
	"context"
	"time"

	"github.com/vikstrous/dataloadgen"

	"github.com/teslaops/tesla/graph/model"
	"github.com/teslaops/tesla/internal/health"
)

// healthLoaders builds one loader of stored scores per level: a list of 100
// hosts with their health is one statement.
func healthLoaders(r *Resolver, o dataloadgen.Option) map[health.Level]*dataloadgen.Loader[int64, *health.Score] {
	out := map[health.Level]*dataloadgen.Loader[int64, *health.Score]{}
	for _, l := range health.Levels {
		out[l] = dataloadgen.NewMappedLoader(optional(func(ctx context.Context, ids []int64) (map[int64]*health.Score, error) {
			return r.Health.ScoresOf(ctx, l, ids)
		}), o)
	}
	return out
}

// HealthHistory returns the loader of the daily scores of a level's subjects
// over days: the histories of a list's scores are one statement.
func (l *Loaders) HealthHistory(level health.Level, days int) *dataloadgen.Loader[int64, []health.Point] {
	return keyedLoader(l, l.healthDays, argsKey(level, days), func(ctx context.Context, ids []int64) (map[int64][]health.Point, error) {
		return l.r.Health.History(ctx, level, ids, days, time.Now())
	})
}

// healthOf loads a subject's score (nil until the health job has scored it,
// or when the caller may not read it).
func (r *Resolver) healthOf(ctx context.Context, level health.Level, id int64) (*model.HealthScore, error) {
	s, err := r.loaders(ctx).Health[level].Load(ctx, id)
	if err != nil || s == nil {
		return nil, err
	}
	return healthScoreModel(s), nil
}

func healthScoreModel(s *health.Score) *model.HealthScore {
	m := &model.HealthScore{Level: string(s.Level), SubjectID: s.SubjectID, Score: s.Score, Grade: s.Grade(), ComputedAt: s.ComputedAt,
		Components: make([]*model.HealthComponent, len(s.Components))}
	for i, c := range s.Components {
		m.Components[i] = &model.HealthComponent{Name: c.Name, Weight: c.Weight, Score: c.Score, LostPoints: c.LostPoints(), Reason: c.Reason}
	}
	return m
}

// healthKinds are the node kinds of each level's subjects.
var healthKinds = map[health.Level]string{
	health.Host: model.KindHost, health.Cluster: model.KindCluster, health.Job: model.KindJob,
	health.Person: model.KindPerson, health.BU: model.KindBU,
}

func healthEntryModel(level health.Level, e *health.Entry) *model.HealthRankingEntry {
	m := &model.HealthRankingEntry{Rank: e.Rank, SubjectID: model.GlobalID(healthKinds[level], e.SubjectID), Name: e.Name,
		Score: e.Score, Grade: health.Grade(e.Score)}
	if e.Worst != "" {
		w, why := e.Worst, e.Reason
		m.WorstComponent, m.Reason = &w, &why
	}
	return m
}
