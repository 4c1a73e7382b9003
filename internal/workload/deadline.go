package workload

import (
	"context"
	"fmt"
	"time"

	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/workload/dbsqlc"
)

// deadlineRuns is how many of a job's newest runs its deadline is read from:
// the runs due next are the newest ones, and two give the period.
const deadlineRuns = 5

// Deadlines returns, for the jobs of ids that have one, the earliest time by
// which a run of the job is due (docs/workload.md, "Deadlines"):
//
//   - the earliest nominal end time after now of a run not ended yet (the
//     schedule's promise for a run under way or queued); else,
//   - for a P0 or P1 job, the nominal end of its next scheduled run: the
//     latest nominal end plus the schedule's period (the gap between the two
//     latest nominal starts), stepped forward past now.
//
// A deadline is schedule metadata, read unchecked like the job itself (see
// LoadJobs); run details stay behind CheckRuns. priorities gives each job's
// priority.
func Deadlines(ctx context.Context, q db.DBTX, priorities map[int64]string, now time.Time) (map[int64]time.Time, error) {
	ids := make([]int64, 0, len(priorities))
	for id := range priorities {
		ids = append(ids, id)
	}
	rows, err := queries.RecentNominalTimes(ctx, q, &dbsqlc.RecentNominalTimesParams{JobIds: ids, PerJob: deadlineRuns})
	if err != nil {
		return nil, fmt.Errorf("error loading deadlines: %w", err)
	}
	byJob := map[int64][]*dbsqlc.RecentNominalTimesRow{}
	for _, r := range rows {
		byJob[r.JobID] = append(byJob[r.JobID], r)
	}
	out := map[int64]time.Time{}
	for id, runs := range byJob {
		if d, ok := deadline(priorities[id], runs, now); ok {
			out[id] = d
		}
	}
	return out, nil
}

// deadline applies the rule of Deadlines to one job's newest runs.
func deadline(priority string, runs []*dbsqlc.RecentNominalTimesRow, now time.Time) (time.Time, bool) {
	var best time.Time
	for _, r := range runs {
		if r.EndedAt == nil && r.NominalEnd != nil && r.NominalEnd.After(now) && (best.IsZero() || r.NominalEnd.Before(best)) {
			best = *r.NominalEnd
		}
	}
	if !best.IsZero() {
		return best, true
	}
	if priority != "P0" && priority != "P1" {
		return time.Time{}, false
	}
	var starts []time.Time
	var lastEnd time.Time
	for _, r := range runs {
		if r.NominalStart == nil || r.NominalEnd == nil {
			continue
		}
		starts = append(starts, *r.NominalStart)
		if r.NominalEnd.After(lastEnd) {
			lastEnd = *r.NominalEnd
		}
	}
	// The two latest distinct nominal starts give the schedule's period.
	var latest, prev time.Time
	for _, s := range starts {
		switch {
		case s.After(latest):
			prev, latest = latest, s
		case s.Before(latest) && s.After(prev):
			prev = s
		}
	}
	if prev.IsZero() {
		return time.Time{}, false
	}
	period := latest.Sub(prev)
	next := lastEnd.Add(period)
	if !next.After(now) {
		next = next.Add(period * time.Duration(now.Sub(next)/period+1))
	}
	return next, true
}
