package workload

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/workload/dbsqlc"
)

// QueueFindings analyses a queue over the last Thresholds.QueueWindow of its
// snapshots (queue_usage) and of its jobs' hourly usage (job_usage_1h):
//   - STARVED: apps were pending while the queue ran under its guaranteed
//     share (the scheduler failed to give it what it is owed);
//   - HOARDED: one job used most of the queue's core-seconds;
//   - IDLE: the queue's usage stayed far under its guarantee (the guarantee
//     is larger than the queue needs).
//
// Shares are fractions of the cluster's vcores in service (ONLINE and
// DEGRADED hosts). Queue structure and usage are platform data every
// signed-in role reads; HOARDED names a job, never its owner. The analysis is
// computed on request: a window is one queue's snapshots, bounded by the
// poll interval (a week at one a minute is 10,080 rows).
func (s *Service) QueueFindings(ctx context.Context, queueID int64) ([]*JobFinding, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	t := s.thresholds()
	q, err := queries.QueueByID(ctx, s.pool, queueID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fault.NotFoundf("queue %d not found", queueID)
	}
	if err != nil {
		return nil, fmt.Errorf("error loading queue %d: %w", queueID, err)
	}
	now := s.analysis.Now()
	from := now.Add(-t.QueueWindow)
	capacity, err := queries.ClusterCapacity(ctx, s.pool, q.ClusterID)
	if err != nil {
		return nil, fmt.Errorf("error loading the capacity of cluster %d: %w", q.ClusterID, err)
	}
	samples, err := queries.QueueSamples(ctx, s.pool, &dbsqlc.QueueSamplesParams{QueueID: queueID, FromTs: from, ToTs: now})
	if err != nil {
		return nil, fmt.Errorf("error loading usage of queue %d: %w", queueID, err)
	}
	jobs, err := queries.QueueJobUsage(ctx, s.pool, &dbsqlc.QueueJobUsageParams{QueueID: &queueID,
		FromHour: from.Truncate(time.Hour), ToHour: now})
	if err != nil {
		return nil, fmt.Errorf("error loading job usage of queue %d: %w", queueID, err)
	}
	out := AnalyzeQueue(t, QueueWindow{Queue: q, CapacityVcores: capacity.Vcores, Samples: samples, Jobs: jobs}, now)
	return out, nil
}

// QueueWindow is what a queue's analysis reads.
type QueueWindow struct {
	Queue          *dbsqlc.Queue
	CapacityVcores float64
	Samples        []*dbsqlc.QueueSamplesRow
	Jobs           []*dbsqlc.QueueJobUsageRow // largest user first
}

// AnalyzeQueue runs the queue heuristics over w, worst first.
func AnalyzeQueue(t Thresholds, w QueueWindow, now time.Time) []*JobFinding {
	out := []*JobFinding{}
	add := func(f *JobFinding) {
		if f != nil {
			f.JobID, f.AnalyzedAt = w.Queue.ID, now
			out = append(out, f)
		}
	}
	guarantee := w.Queue.GuaranteedVcores * w.CapacityVcores
	maximum := w.Queue.MaxVcores * w.CapacityVcores
	if len(w.Samples) > 0 && w.CapacityVcores > 0 {
		var starved, pendingSnaps int
		used := make([]float64, len(w.Samples))
		var pending []float64
		for i, s := range w.Samples {
			used[i] = s.UsedVcores
			if s.PendingApps > 0 {
				pendingSnaps++
				pending = append(pending, float64(s.PendingApps))
				if s.UsedVcores < guarantee {
					starved++
				}
			}
		}
		n := float64(len(w.Samples))
		share := float64(starved) / n
		sev := t.StarvedShare.Grade(share)
		if guarantee <= 0 {
			sev = SeverityNone // nothing is owed to a queue without a guarantee
		}
		medPending := 0.0
		if len(pending) > 0 {
			medPending = median(pending)
		}
		f := &JobFinding{Heuristic: HeuristicStarved, Severity: sev, Evidence: []Evidence{
			{"snapshots starved", float64(starved), "snapshots"},
			{"starved share", round(share, 3), "ratio"},
			{"snapshots with pending apps", float64(pendingSnaps), "snapshots"},
			{"pending apps (median when pending)", medPending, "apps"},
			{"guaranteed", round(guarantee, 1), "vcores"},
			{"maximum", round(maximum, 1), "vcores"},
			{"used (mean)", round(mean(used), 1), "vcores"},
			{"snapshots", n, "snapshots"},
		}}
		if sev == SeverityNone {
			f.Advice = "No change needed: pending apps got the queue's guaranteed share."
		} else {
			f.Advice = fmt.Sprintf("Apps were pending while the queue used less than its guaranteed %.0f vcores in %.0f%% of %d snapshots: check preemption is on for the queue's parent and that sibling queues cannot hold its share (their maximum), or raise its guarantee.",
				guarantee, 100*share, len(w.Samples))
		}
		add(f)

		if guarantee > 0 {
			p95 := quantile(used, 0.95)
			unused := 1 - p95/guarantee
			sev := t.IdleUnused.Grade(unused)
			f := &JobFinding{Heuristic: HeuristicIdle, Severity: sev, Evidence: []Evidence{
				{"used (p95)", round(p95, 1), "vcores"},
				{"guaranteed", round(guarantee, 1), "vcores"},
				{"unused share of the guarantee (p95)", round(unused, 3), "ratio"},
				{"snapshots", n, "snapshots"},
			}}
			if sev == SeverityNone {
				f.Advice = "No change needed: the queue uses its guarantee."
			} else {
				suggest := max(p95*1.2, 1)
				f.Advice = fmt.Sprintf("Lower the guarantee from %.0f to about %.0f vcores (%.1f%% of the cluster): the queue used at most %.0f vcores 95%% of the time over %d snapshots, and an unused guarantee is capacity other queues cannot count on.",
					guarantee, suggest, 100*suggest/w.CapacityVcores, p95, len(w.Samples))
			}
			add(f)
		}
	}
	if len(w.Jobs) >= 2 {
		var total float64
		for _, j := range w.Jobs {
			total += j.UsedCoreSeconds
		}
		if total > 0 {
			top := w.Jobs[0]
			share := top.UsedCoreSeconds / total
			sev := t.HoardedShare.Grade(share)
			f := &JobFinding{Heuristic: HeuristicHoarded, Severity: sev, Evidence: []Evidence{
				{"top job's share", round(share, 3), "ratio"},
				{"top job's usage", round(top.UsedCoreSeconds/3600, 1), "core-hours"},
				{"queue's usage", round(total/3600, 1), "core-hours"},
				{"jobs", float64(len(w.Jobs)), "jobs"},
			}}
			if sev == SeverityNone {
				f.Advice = "No change needed: no job dominates the queue."
			} else {
				f.Advice = fmt.Sprintf("Job %s/%s used %.0f%% of the queue's %.0f core-hours: give it a queue of its own, or cap it with a user limit factor or maximum applications so the queue's %d other jobs get their turn.",
					top.Namespace, top.Name, 100*share, total/3600, len(w.Jobs)-1)
			}
			add(f)
		}
	}
	sortFindings(out)
	return out
}

func sortFindings(fs []*JobFinding) {
	slices.SortStableFunc(fs, func(a, b *JobFinding) int { return int(b.Severity - a.Severity) })
}

func mean(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}
