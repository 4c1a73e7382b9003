package workload

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/teslaops/tesla/internal/db"
)

// RunStats is what a scheduler reports about a run beside its state: queue
// time, attempts and resource totals. A nil field is "not reported" and keeps
// the stored value.
type RunStats struct {
	JobID, RunID int64
	QueuedAt     *time.Time
	// Attempts keeps the larger of the stored and the given count: a poller
	// that sees a run before and after a retry must not count backwards.
	Attempts                   *int32
	RequestedCoreSeconds       *float64
	UsedCoreSeconds            *float64
	RequestedMemoryByteSeconds *float64
	UsedMemoryByteSeconds      *float64
	// PeakMemoryBytes keeps the larger of the stored and the given peak.
	PeakMemoryBytes  *int64
	QueueWaitSeconds *float64
	TaskCount        *int32
	TaskSecondsMin   *float64
	TaskSecondsP50   *float64
	TaskSecondsMax   *float64
}

// runStatsSQL sets the reported fields of many runs in one statement. It is
// written by hand rather than through sqlc because the arrays carry NULLs
// ("not reported"), which sqlc's generated []float64 parameters cannot. Totals
// are replaced, not added: a source reports a run's totals so far, so applying
// the same report twice changes nothing.
const runStatsSQL = `
UPDATE job_run r SET
    queued_at = coalesce(s.queued_at, r.queued_at),
    attempts = greatest(r.attempts, coalesce(s.attempts, 1)),
    requested_core_seconds = coalesce(s.req_cs, r.requested_core_seconds),
    used_core_seconds = coalesce(s.used_cs, r.used_core_seconds),
    requested_memory_byte_seconds = coalesce(s.req_mbs, r.requested_memory_byte_seconds),
    used_memory_byte_seconds = coalesce(s.used_mbs, r.used_memory_byte_seconds),
    peak_memory_bytes = CASE WHEN s.peak IS NULL THEN r.peak_memory_bytes
                             ELSE greatest(r.peak_memory_bytes, s.peak) END,
    queue_wait_seconds = coalesce(s.wait, r.queue_wait_seconds),
    task_count = coalesce(s.tasks, r.task_count),
    task_seconds_min = coalesce(s.tmin, r.task_seconds_min),
    task_seconds_p50 = coalesce(s.tp50, r.task_seconds_p50),
    task_seconds_max = coalesce(s.tmax, r.task_seconds_max),
    updated_at = now()
FROM unnest($1::bigint[], $2::bigint[], $3::timestamptz[], $4::int[], $5::float8[], $6::float8[],
            $7::float8[], $8::float8[], $9::bigint[], $10::float8[], $11::int[], $12::float8[],
            $13::float8[], $14::float8[])
     AS s (job_id, run_id, queued_at, attempts, req_cs, used_cs, req_mbs, used_mbs, peak, wait, tasks, tmin, tp50, tmax)
WHERE r.job_id = s.job_id AND r.id = s.run_id
  AND (r.queued_at IS DISTINCT FROM coalesce(s.queued_at, r.queued_at)
    OR r.attempts < coalesce(s.attempts, 1)
    OR r.requested_core_seconds IS DISTINCT FROM coalesce(s.req_cs, r.requested_core_seconds)
    OR r.used_core_seconds IS DISTINCT FROM coalesce(s.used_cs, r.used_core_seconds)
    OR r.requested_memory_byte_seconds IS DISTINCT FROM coalesce(s.req_mbs, r.requested_memory_byte_seconds)
    OR r.used_memory_byte_seconds IS DISTINCT FROM coalesce(s.used_mbs, r.used_memory_byte_seconds)
    OR (s.peak IS NOT NULL AND (r.peak_memory_bytes IS NULL OR s.peak > r.peak_memory_bytes))
    OR r.queue_wait_seconds IS DISTINCT FROM coalesce(s.wait, r.queue_wait_seconds)
    OR r.task_count IS DISTINCT FROM coalesce(s.tasks, r.task_count)
    OR r.task_seconds_min IS DISTINCT FROM coalesce(s.tmin, r.task_seconds_min)
    OR r.task_seconds_p50 IS DISTINCT FROM coalesce(s.tp50, r.task_seconds_p50)
    OR r.task_seconds_max IS DISTINCT FROM coalesce(s.tmax, r.task_seconds_max))`

// SetRunStats stores what sources report about runs (see RunStats), in one
// statement whatever the number of runs, and returns how many runs changed.
// Runs are updated in key order so concurrent batches do not deadlock; a run
// given twice takes the last report.
func SetRunStats(ctx context.Context, q db.DBTX, stats []RunStats) (int64, error) {
	if len(stats) == 0 {
		return 0, nil
	}
	last := make(map[[2]int64]RunStats, len(stats))
	for _, s := range stats {
		last[[2]int64{s.JobID, s.RunID}] = s
	}
	sorted := make([]RunStats, 0, len(last))
	for _, s := range last {
		if s.Attempts != nil && *s.Attempts < 1 {
			return 0, fmt.Errorf("error saving run stats: run %d has %d attempts", s.RunID, *s.Attempts)
		}
		sorted = append(sorted, s)
	}
	sort.Slice(sorted, func(i, j int) bool {
		if sorted[i].JobID != sorted[j].JobID {
			return sorted[i].JobID < sorted[j].JobID
		}
		return sorted[i].RunID < sorted[j].RunID
	})
	n := len(sorted)
	var (
		jobs, runs             = make([]int64, n), make([]int64, n)
		queued                 = make([]*time.Time, n)
		attempts, tasks        = make([]*int32, n), make([]*int32, n)
		reqCS, usedCS          = make([]*float64, n), make([]*float64, n)
		reqMBS, usedMBS        = make([]*float64, n), make([]*float64, n)
		peak                   = make([]*int64, n)
		wait, tmin, tp50, tmax = make([]*float64, n), make([]*float64, n), make([]*float64, n), make([]*float64, n)
	)
	for i, s := range sorted {
		jobs[i], runs[i], queued[i], attempts[i], tasks[i] = s.JobID, s.RunID, s.QueuedAt, s.Attempts, s.TaskCount
		reqCS[i], usedCS[i], reqMBS[i], usedMBS[i] = s.RequestedCoreSeconds, s.UsedCoreSeconds, s.RequestedMemoryByteSeconds, s.UsedMemoryByteSeconds
		peak[i], wait[i], tmin[i], tp50[i], tmax[i] = s.PeakMemoryBytes, s.QueueWaitSeconds, s.TaskSecondsMin, s.TaskSecondsP50, s.TaskSecondsMax
	}
	tag, err := q.Exec(ctx, runStatsSQL, jobs, runs, queued, attempts, reqCS, usedCS, reqMBS, usedMBS, peak, wait, tasks, tmin, tp50, tmax)
	if err != nil {
		return 0, fmt.Errorf("error saving run stats: %w", err)
	}
	return tag.RowsAffected(), nil
}

// JobPlacement says where a job runs: its cluster and, when known, its queue.
type JobPlacement struct {
	JobID     int64
	ClusterID int64
	QueueID   *int64
}

// placeJobsSQL sets jobs' cluster and queue, touching only the jobs whose
// placement changed (a poller reports the same placement every pass). A nil
// queue keeps the stored one: an application whose queue is not in the
// scheduler's answer says nothing about the job's usual queue.
const placeJobsSQL = `
UPDATE job j SET cluster_id = p.cluster_id, queue_id = coalesce(p.queue_id, j.queue_id), updated_at = now()
FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS p (job_id, cluster_id, queue_id)
WHERE j.id = p.job_id
  AND (j.cluster_id IS DISTINCT FROM p.cluster_id OR j.queue_id IS DISTINCT FROM coalesce(p.queue_id, j.queue_id))`

// PlaceJobs records where jobs run, in one statement; a job given twice takes
// the last placement. It returns how many jobs changed.
func PlaceJobs(ctx context.Context, q db.DBTX, ps []JobPlacement) (int64, error) {
	if len(ps) == 0 {
		return 0, nil
	}
	last := make(map[int64]JobPlacement, len(ps))
	for _, p := range ps {
		last[p.JobID] = p
	}
	ids := make([]int64, 0, len(last))
	for id := range last {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	clusters, queues := make([]int64, len(ids)), make([]*int64, len(ids))
	for i, id := range ids {
		clusters[i], queues[i] = last[id].ClusterID, last[id].QueueID
	}
	tag, err := q.Exec(ctx, placeJobsSQL, ids, clusters, queues)
	if err != nil {
		return 0, fmt.Errorf("error placing jobs: %w", db.Interpret(err, "job"))
	}
	return tag.RowsAffected(), nil
}
