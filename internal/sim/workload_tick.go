package sim

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/lineage"
	"github.com/teslaops/tesla/internal/workload"
)

// liveWorkload is the demo workload as the Ticker rebuilt it from the
// database: the demo jobs (those of a batch cluster's namespace with a queue),
// their lineage and the queue tree.
type liveWorkload struct {
	jobs     []*demoJob
	parents  map[int64]int64
	loadedAt time.Time
}

// workloadReload is how long the Ticker keeps the jobs it loaded: jobs change
// rarely, and reloading them (with every edge) each minute would cost more
// than the step itself on a big fleet.
const workloadReload = 15 * time.Minute

func loadLiveWorkload(ctx context.Context, q db.DBTX, seed uint64, now time.Time) (*liveWorkload, error) {
	cores := map[int64]float64{}
	rows, err := q.Query(ctx, `SELECT h.cluster_id, sum(h.cpu_cores)::float8
		FROM host h JOIN cluster c ON c.id = h.cluster_id WHERE c.simulated GROUP BY h.cluster_id`)
	if err != nil {
		return nil, fmt.Errorf("error loading cluster sizes: %w", err)
	}
	var cid int64
	var n float64
	if _, err := pgx.ForEachRow(rows, []any{&cid, &n}, func() error { cores[cid] = n; return nil }); err != nil {
		return nil, fmt.Errorf("error loading cluster sizes: %w", err)
	}
	w := &liveWorkload{parents: map[int64]int64{}, loadedAt: now}
	rows, err = q.Query(ctx, `
		SELECT j.id, j.namespace, j.name, j.kind, j.schedule, q.id, q.path, q.guaranteed_vcores, c.id, c.region
		FROM job j
		JOIN cluster c ON c.id = j.cluster_id AND c.name = j.namespace AND c.kind = 'BATCH' AND c.simulated
		JOIN queue q ON q.id = j.queue_id
		ORDER BY j.id`)
	if err != nil {
		return nil, fmt.Errorf("error loading demo jobs: %w", err)
	}
	byID := map[int64]*demoJob{}
	guaranteed := map[string]float64{}
	var id, qid int64
	var ns, name, kind, schedule, path, region string
	var g float64
	clusters := map[int64]bool{}
	if _, err := pgx.ForEachRow(rows, []any{&id, &ns, &name, &kind, &schedule, &qid, &path, &g, &cid, &region}, func() error {
		k := queueKey(cid, path)
		guaranteed[k] = g * cores[cid]
		if j, ok := newDemoJob(seed, id, ns, name, kind, schedule, qid, k, region); ok {
			w.jobs = append(w.jobs, j)
			byID[id] = j
			clusters[cid] = true
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("error loading demo jobs: %w", err)
	}
	sizeJobs(w.jobs, guaranteed)
	// Snapshots only of the queues of clusters that run demo jobs: a queue
	// that a real poller watches is not the ticker's to fill with zeros.
	cids := make([]int64, 0, len(clusters))
	for c := range clusters {
		cids = append(cids, c)
	}
	rows, err = q.Query(ctx, `SELECT id, coalesce(parent_id, 0) FROM queue WHERE cluster_id = ANY($1)`, cids)
	if err != nil {
		return nil, fmt.Errorf("error loading queues: %w", err)
	}
	var parent int64
	if _, err := pgx.ForEachRow(rows, []any{&qid, &parent}, func() error { w.parents[qid] = parent; return nil }); err != nil {
		return nil, fmt.Errorf("error loading queues: %w", err)
	}
	rows, err = q.Query(ctx, `
		SELECT e.job_id, e.direction, d.namespace, d.name
		FROM lineage_edge e JOIN dataset d ON d.id = e.dataset_id
		WHERE e.job_id = ANY($1)
		ORDER BY e.job_id, e.direction, d.namespace, d.name`, mapKeys(byID))
	if err != nil {
		return nil, fmt.Errorf("error loading demo lineage: %w", err)
	}
	var dir string
	var d dsRef
	if _, err := pgx.ForEachRow(rows, []any{&id, &dir, &d.namespace, &d.name}, func() error {
		j := byID[id]
		if dir == "READ" {
			j.inputs = append(j.inputs, d)
		} else {
			j.outputs = append(j.outputs, d)
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("error loading demo lineage: %w", err)
	}
	return w, nil
}

func mapKeys(m map[int64]*demoJob) []int64 {
	out := make([]int64, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// maxCatchUp bounds how far back the first workload step of a Ticker (or one
// after a long pause) writes the runs it missed: a demo restarted after a day
// fills the last hour, not the whole gap.
const maxCatchUp = time.Hour

// tickWorkload advances the demo workload to now in one transaction: the runs
// that started or ended since the previous step (with their lineage), the
// hourly usage of the current hour (and of the previous one when an hour
// ended since), and one snapshot of every queue at the minute.
func (t *Ticker) tickWorkload(ctx context.Context, now time.Time, st *TickStats) error {
	began := time.Now()
	if t.wl == nil || now.Sub(t.wl.loadedAt) >= workloadReload || now.Before(t.wl.loadedAt) {
		wl, err := loadLiveWorkload(ctx, t.pool, t.cfg.Seed, now)
		if err != nil {
			return err
		}
		t.wl = wl
	}
	prev := t.lastWorkload
	if prev.IsZero() || now.Sub(prev) > maxCatchUp || !prev.Before(now) {
		prev = now.Add(-maxCatchUp)
	}
	hour := now.Truncate(time.Hour)
	firstHour := hour
	if prev.Before(hour) {
		firstHour = hour.Add(-time.Hour)
	}
	minute := now.Truncate(time.Minute)
	usage := usageAcc{}
	queues := newQueueAcc(t.wl.parents)
	var records []workload.RunRecord
	var runs []demoRun
	for _, j := range t.wl.jobs {
		if j.kind == "STREAMING" {
			for h := firstHour; h.Before(now); h = h.Add(time.Hour) {
				usage.addStream(j, h, minTime(h.Add(time.Hour), now))
			}
			queues.add(j.queueID, minute, float64(j.containers*j.vcores), int64(j.containers)*j.memPerContainer, true)
			continue
		}
		for _, n := range j.nominalStarts(firstHour.Add(-j.lookback()), now.Add(time.Nanosecond)) {
			// A zero regression start: every live run is after it.
			r := j.run(n, time.Time{})
			if !r.queued.After(minute) && r.ended.After(minute) {
				queues.add(j.queueID, minute, r.allocVcores, r.allocMemory, !r.started.After(minute))
			}
			if r.started.After(now) {
				continue
			}
			for h := firstHour; h.Before(now); h = h.Add(time.Hour) {
				usage.addRun(&r, h, minTime(h.Add(time.Hour), now))
			}
			if (r.started.After(prev) && !r.started.After(now)) || (r.ended.After(prev) && !r.ended.After(now)) {
				runs = append(runs, r)
				records = append(records, r.record(now))
			}
		}
	}
	err := pgx.BeginFunc(ctx, t.pool, func(tx pgx.Tx) error {
		ids, err := workload.PutRuns(ctx, tx, records)
		if err != nil {
			return err
		}
		ios := make([]lineage.RunIO, len(ids))
		for i := range ids {
			ios[i] = runs[i].io(ids[i], now)
		}
		if err := lineage.RecordRunIO(ctx, tx, ios); err != nil {
			return err
		}
		rows := usage.rows()
		if err := workload.UpsertJobUsage(ctx, tx, rows); err != nil {
			return err
		}
		st.UsageHours = int64(len(rows))
		var times []time.Time
		if len(t.wl.parents) > 0 {
			times = []time.Time{minute}
		}
		st.QueueSamples, err = workload.RecordQueueUsage(ctx, tx, queues.samples(times))
		return err
	})
	if err != nil {
		return err
	}
	t.lastWorkload = now
	st.Runs = int64(len(records))
	st.WorkloadTime = time.Since(began)
	return nil
}
