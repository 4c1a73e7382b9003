package workload_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/audit"
	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/page"
	"github.com/teslaops/tesla/internal/workload"
)

// BenchmarkJobsListing pages the jobs listing of 60,000 jobs: a first page of
// 50 and the page after the 1,000th job, unfiltered, by BU subtree and by
// priority, ordered by name; totals are not selected (the web app selects
// them on the first page only).
func BenchmarkJobsListing(b *testing.B) {
	pool := dbtest.New(b)
	seedJobs(b, pool)
	ctx := auth.WithPrincipal(context.Background(), &auth.Principal{PersonID: 1, Login: "x", Role: auth.Admin})
	s := workload.NewService(pool, audit.New(pool, slog.New(slog.DiscardHandler)), workload.Config{})
	var bu int64
	require.NoError(b, pool.QueryRow(ctx, `SELECT min(id) FROM bu`).Scan(&bu))
	size, deep := 50, 1000
	for _, c := range []struct {
		name string
		f    workload.JobFilter
	}{{"all", workload.JobFilter{}}, {"bu", workload.JobFilter{BUID: &bu}}, {"priority", workload.JobFilter{Priority: "P1"}}} {
		o := workload.JobOrder{Field: "NAME"}
		// The cursor of the 1,000th job, reached by paging.
		var after *string
		for range deep / size {
			p, err := s.Jobs(ctx, c.f, o, page.Args{First: &size, After: after, NoTotal: true})
			require.NoError(b, err)
			after = p.Info.EndCursor()
		}
		for _, pg := range []struct {
			name  string
			after *string
		}{{"first", nil}, {"deep", after}} {
			b.Run(c.name+"/"+pg.name, func(b *testing.B) {
				for b.Loop() {
					p, err := s.Jobs(ctx, c.f, o, page.Args{First: &size, After: pg.after, NoTotal: true})
					if err != nil || len(p.Items) != size {
						b.Fatal(err, len(p.Items))
					}
				}
			})
		}
	}
}
