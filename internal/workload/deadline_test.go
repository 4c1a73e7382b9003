package workload

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/workload/dbsqlc"
)

func TestDeadline(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	at := func(h float64) *time.Time { v := now.Add(time.Duration(h * float64(time.Hour))); return &v }
	run := func(start, end, ended *time.Time) *dbsqlc.RecentNominalTimesRow {
		return &dbsqlc.RecentNominalTimesRow{NominalStart: start, NominalEnd: end, EndedAt: ended}
	}
	cases := []struct {
		name     string
		priority string
		runs     []*dbsqlc.RecentNominalTimesRow
		want     *time.Time
	}{
		{"a run under way: its nominal end", "P3", []*dbsqlc.RecentNominalTimesRow{run(at(-1), at(2), nil), run(at(-25), at(-22), at(-22))}, at(2)},
		{"the earliest of two pending runs", "P3", []*dbsqlc.RecentNominalTimesRow{run(at(1), at(5), nil), run(at(-1), at(3), nil)}, at(3)},
		{"an ended run is no deadline", "P3", []*dbsqlc.RecentNominalTimesRow{run(at(-1), at(2), at(1))}, nil},
		{"a nominal end already past is no deadline", "P3", []*dbsqlc.RecentNominalTimesRow{run(at(-3), at(-1), nil)}, nil},
		// Daily at 02:00-04:00; the last run's end (today 04:00) + 1 day.
		{"P1: the next scheduled run", "P1", []*dbsqlc.RecentNominalTimesRow{run(at(-10), at(-8), at(-8)), run(at(-34), at(-32), at(-32))}, at(16)},
		// Two periods missed: stepped past now.
		{"P0: stepped forward past now", "P0", []*dbsqlc.RecentNominalTimesRow{run(at(-58), at(-56), at(-56)), run(at(-82), at(-80), at(-80))}, at(16)},
		{"P2: no projection", "P2", []*dbsqlc.RecentNominalTimesRow{run(at(-10), at(-8), at(-8)), run(at(-34), at(-32), at(-32))}, nil},
		{"P1 with one run: no period", "P1", []*dbsqlc.RecentNominalTimesRow{run(at(-10), at(-8), at(-8))}, nil},
	}
	for _, c := range cases {
		got, ok := deadline(c.priority, c.runs, now)
		if c.want == nil {
			require.False(t, ok, c.name)
			continue
		}
		require.True(t, ok, c.name)
		require.Equal(t, *c.want, got, c.name)
	}
}
