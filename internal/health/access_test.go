package health_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/fixture"
	"github.com/teslaops/tesla/internal/health"
)

func as(f *fixture.Fleet, login string, role auth.Role, bu string, subtree ...string) context.Context {
	p := &auth.Principal{PersonID: f.People[login], Login: login, Role: role, BUID: f.BUs[bu]}
	for _, s := range subtree {
		p.BUSubtree = append(p.BUSubtree, f.BUs[s])
	}
	return auth.WithPrincipal(context.Background(), p)
}

func TestAccess(t *testing.T) {
	t.Parallel()
	s := newScenario(t)
	_, err := s.computer(s.now).RunOnce(context.Background())
	require.NoError(t, err)
	svc := health.NewService(s.pool)
	f := s.f
	admin := as(f, fixture.Admin, auth.Admin, "PLATFORM")
	lead := as(f, fixture.BULead, auth.BUAdmin, "ADS", "ADS", "ADS-SEARCH")
	alice := as(f, fixture.Viewer, auth.Viewer, "ADS-SEARCH")
	bob := as(f, fixture.Outsider, auth.Viewer, "PLATFORM")

	ids := func(ctx context.Context, level health.Level, q health.RankingQuery) []int64 {
		t.Helper()
		q.Level = level
		if q.First == 0 {
			q.First = 100
		}
		es, err := svc.Ranking(ctx, q)
		require.NoError(t, err)
		var out []int64
		for i, e := range es {
			require.Equal(t, i+1, e.Rank)
			if i > 0 && !q.Desc {
				require.GreaterOrEqual(t, e.Score, es[i-1].Score, "worst first")
			}
			if i > 0 && q.Desc {
				require.LessOrEqual(t, e.Score, es[i-1].Score, "best first")
			}
			out = append(out, e.SubjectID)
		}
		return out
	}
	// Hosts and clusters: anyone signed in.
	require.Len(t, ids(bob, health.Host, health.RankingQuery{}), 17)
	require.Len(t, ids(bob, health.Cluster, health.RankingQuery{}), 3)
	cl := f.Clusters["rt-ads-1"]
	hosts := ids(alice, health.Host, health.RankingQuery{ClusterID: &cl, First: 2})
	require.Equal(t, []int64{f.Hosts["rt-ads-1-n05"], f.Hosts["rt-ads-1-n04"]}, hosts, "the OFFLINE host, then the DEGRADED one")
	es, err := svc.Ranking(alice, health.RankingQuery{Level: health.Host, ClusterID: &cl, First: 1})
	require.NoError(t, err)
	require.Equal(t, "rt-ads-1-n05", es[0].Name)
	require.Equal(t, "state", es[0].Worst)
	require.Equal(t, "host is OFFLINE", es[0].Reason)

	// Jobs: operators all, the owner theirs, a BU admin their subtree's.
	require.ElementsMatch(t, []int64{s.jobs["a"], s.jobs["b"], s.jobs["l"]}, ids(admin, health.Job, health.RankingQuery{}))
	require.ElementsMatch(t, []int64{s.jobs["a"], s.jobs["l"]}, ids(lead, health.Job, health.RankingQuery{}))
	require.Equal(t, []int64{s.jobs["a"]}, ids(alice, health.Job, health.RankingQuery{}))
	require.Equal(t, []int64{s.jobs["b"]}, ids(bob, health.Job, health.RankingQuery{}))
	best := ids(admin, health.Job, health.RankingQuery{Desc: true})
	require.Equal(t, s.jobs["a"], best[2], "best first puts a last")

	// People and BUs.
	require.Len(t, ids(admin, health.Person, health.RankingQuery{}), 5)
	require.ElementsMatch(t, []int64{f.People[fixture.BULead], f.People[fixture.Viewer]}, ids(lead, health.Person, health.RankingQuery{}))
	require.Equal(t, []int64{f.People[fixture.Viewer]}, ids(alice, health.Person, health.RankingQuery{}))
	require.ElementsMatch(t, []int64{f.BUs["ADS"], f.BUs["ADS-SEARCH"]}, ids(lead, health.BU, health.RankingQuery{}))
	require.Equal(t, []int64{f.BUs["ADS-SEARCH"]}, ids(alice, health.BU, health.RankingQuery{}))
	search := f.BUs["ADS-SEARCH"]
	require.Equal(t, []int64{f.People[fixture.Viewer]}, ids(lead, health.Person, health.RankingQuery{BUID: &search}))
	company := f.BUs["COMPANY"]
	require.Len(t, ids(admin, health.BU, health.RankingQuery{BUID: &company}), 4)
	_, err = svc.Ranking(lead, health.RankingQuery{Level: health.Job, BUID: &company, First: 10})
	require.True(t, fault.Is(err, fault.Forbidden), "%v", err)
	_, err = svc.Ranking(alice, health.RankingQuery{Level: health.Host, BUID: &company, First: 10})
	require.ErrorContains(t, err, "bu narrows")
	_, err = svc.Ranking(alice, health.RankingQuery{Level: health.Host, First: 101})
	require.ErrorContains(t, err, "first must be between 1 and 100")

	// Reads by id: hidden subjects have no entry.
	got, err := svc.ScoresOf(bob, health.Job, []int64{s.jobs["a"], s.jobs["b"]})
	require.NoError(t, err)
	require.Contains(t, got, s.jobs["b"])
	require.NotContains(t, got, s.jobs["a"])
	got, err = svc.ScoresOf(lead, health.Job, []int64{s.jobs["a"], s.jobs["b"]})
	require.NoError(t, err)
	require.Contains(t, got, s.jobs["a"])
	require.NotContains(t, got, s.jobs["b"])
	got, err = svc.ScoresOf(alice, health.Person, []int64{f.People[fixture.Viewer], f.People[fixture.Outsider]})
	require.NoError(t, err)
	require.Len(t, got, 1)
	got, err = svc.ScoresOf(bob, health.BU, []int64{f.BUs["ADS"], f.BUs["PLATFORM"]})
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Contains(t, got, f.BUs["PLATFORM"])
	got, err = svc.ScoresOf(bob, health.Host, []int64{f.Hosts["rt-ads-1-n01"]})
	require.NoError(t, err)
	require.Len(t, got[f.Hosts["rt-ads-1-n01"]].Components, 6)
	_, err = svc.ScoresOf(context.Background(), health.Host, []int64{1})
	require.True(t, fault.Is(err, fault.Unauthenticated), "%v", err)

	// The leaderboards' read.
	all, err := svc.Scores(context.Background(), health.Job)
	require.NoError(t, err)
	require.Len(t, all, 3)
	require.Equal(t, 52.5, all[s.jobs["a"]])
}
