package sim

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/lineage"
	"github.com/teslaops/tesla/internal/workload"
)

// queueKey names a queue across clusters for sizing.
func queueKey(clusterID int64, path string) string { return fmt.Sprintf("%d:%s", clusterID, path) }

// queueSnapshotStep is how often the seeded history has queue snapshots: the
// metric step, kept between 15 minutes and an hour. Every snapshot row costs
// a foreign-key check on COPY; at 5 minutes the default fleet's week was 211,680
// rows and three quarters of the workload's seeding time. The live Ticker
// snapshots every minute.
func queueSnapshotStep(step time.Duration) time.Duration {
	return min(max(step, 15*time.Minute), time.Hour)
}

// seedWorkload writes the demo workload of the planned fleet in tx: queues,
// jobs, the runs of the history with their lineage, hourly usage and queue
// snapshots. Each table is one bulk write (COPY for the history).
func seedWorkload(ctx context.Context, tx pgx.Tx, f *fleet, cfg Config, st *Stats) error {
	plan := planWorkload(f, cfg.Seed)
	people, err := idsByName(ctx, tx, `SELECT login, id FROM person`)
	if err != nil {
		return err
	}
	clusters, err := idsByName(ctx, tx, `SELECT name, id FROM cluster WHERE simulated`)
	if err != nil {
		return err
	}
	cores := map[int]int{}
	for i := range f.hosts {
		cores[f.hosts[i].cluster] += f.hosts[i].cores
	}

	// Queues, per batch cluster.
	queueIDs := map[string]int64{}
	guaranteed := map[string]float64{}
	parents := map[int64]int64{}
	for ci, c := range f.clusters {
		if c.kind != kindBatch {
			continue
		}
		cid := clusters[c.name]
		specs := queueSpecs(c.ownerBU)
		ids, err := workload.UpsertQueues(ctx, tx, cid, specs)
		if err != nil {
			return err
		}
		for _, s := range specs {
			k := queueKey(cid, s.Path)
			queueIDs[k] = ids[s.Path]
			guaranteed[k] = s.GuaranteedVcores * float64(cores[ci])
			parents[ids[s.Path]] = ids[parentPath(s.Path)]
		}
		st.Queues += int64(len(specs))
	}

	specs := make([]workload.JobSpec, len(plan))
	for i, p := range plan {
		c := &f.clusters[p.cluster]
		cid := clusters[c.name]
		specs[i] = workload.JobSpec{Namespace: c.name, Name: p.name, OwnerID: people[f.people[p.owner].login],
			ClusterID: cid, QueueID: queueIDs[queueKey(cid, p.queue)], Kind: p.kind, Priority: p.priority,
			Schedule: p.schedule, Description: p.description, CreatedAt: f.start}
	}
	jobIDs, err := workload.PutJobs(ctx, tx, specs)
	if err != nil {
		return err
	}
	st.Jobs = int64(len(jobIDs))
	jobs := make([]*demoJob, 0, len(plan))
	for i, p := range plan {
		s := &specs[i]
		j, ok := newDemoJob(cfg.Seed, jobIDs[[2]string{s.Namespace, s.Name}], s.Namespace, s.Name, s.Kind, s.Schedule,
			s.QueueID, queueKey(s.ClusterID, p.queue), f.clusters[p.cluster].region)
		if !ok {
			return fmt.Errorf("error planning the demo workload: job %s has schedule %q", s.Name, s.Schedule)
		}
		j.inputs, j.outputs = p.inputs, p.outputs
		jobs = append(jobs, j)
	}
	sizeJobs(jobs, guaranteed)
	return writeHistory(ctx, tx, f, cfg, jobs, parents, st)
}

func parentPath(path string) string {
	for i := len(path) - 1; i >= 0; i-- {
		if path[i] == '.' {
			return path[:i]
		}
	}
	return ""
}

// regressionRuns bounds how many of the regressed job's (hourly) runs before
// now are slow: fewer than an analysis window holds (20 runs), so however long
// the history, the window still has the job's earlier speed to compare with.
const regressionRuns = 8

// RegressionStart is when the runtime regression's runs turn slow in a history
// of [start, now]: the last quarter of it, but no earlier than regressionRuns
// hours before now.
func RegressionStart(start, now time.Time) time.Time {
	quarter := now.Add(-now.Sub(start) / 4)
	if recent := now.Add(-regressionRuns * time.Hour); recent.After(quarter) {
		return recent
	}
	return quarter
}

// writeHistory computes the runs of (start, now] and what follows from them.
func writeHistory(ctx context.Context, tx pgx.Tx, f *fleet, cfg Config, jobs []*demoJob, parents map[int64]int64, st *Stats) error {
	regressedFrom := RegressionStart(f.start, f.now)
	qstep := queueSnapshotStep(cfg.Step)
	var times []time.Time
	for t := f.start.Truncate(qstep).Add(qstep); !t.After(f.now); t = t.Add(qstep) {
		times = append(times, t)
	}
	usage := usageAcc{}
	queues := newQueueAcc(parents)
	var records []workload.RunRecord
	// io[i] gives the lineage of records[i] once its id is known.
	var io []func(id int64) lineage.RunIO
	for _, j := range jobs {
		if j.kind == "STREAMING" {
			records = append(records, j.streamRun(f.start))
			io = append(io, func(id int64) lineage.RunIO { return j.streamIO(id, f.now) })
			for h := f.start.Truncate(time.Hour); h.Before(f.now); h = h.Add(time.Hour) {
				usage.addStream(j, maxTime(h, f.start), minTime(h.Add(time.Hour), f.now))
			}
			for _, ts := range times {
				queues.add(j.queueID, ts, float64(j.containers*j.vcores), int64(j.containers)*j.memPerContainer, true)
			}
			continue
		}
		for _, n := range j.nominalStarts(f.start, f.now.Add(time.Second)) {
			r := j.run(n, regressedFrom)
			if len(times) > 0 {
				queues.addRun(&r, times[0], times[len(times)-1], qstep)
			}
			if r.started.After(f.now) {
				continue // still queued at the end of the history
			}
			usage.addRun(&r, f.start, f.now)
			records = append(records, r.record(f.now))
			io = append(io, func(id int64) lineage.RunIO { return r.io(id, f.now) })
		}
	}
	ids, err := workload.LoadRuns(ctx, tx, records)
	if err != nil {
		return err
	}
	st.Runs = int64(len(ids))
	ios := make([]lineage.RunIO, len(ids))
	for i, id := range ids {
		ios[i] = io[i](id)
	}
	if err := lineage.LoadRunIO(ctx, tx, ios); err != nil {
		return err
	}
	rows := usage.rows()
	if st.UsageHours, err = workload.LoadJobUsage(ctx, tx, rows); err != nil {
		return err
	}
	st.QueueSamples, err = workload.LoadQueueUsage(ctx, tx, queues.samples(times))
	return err
}

// idsByName reads a (name, id) query into a map.
func idsByName(ctx context.Context, q db.DBTX, sql string) (map[string]int64, error) {
	rows, err := q.Query(ctx, sql)
	if err != nil {
		return nil, fmt.Errorf("error loading ids: %w", err)
	}
	out := map[string]int64{}
	var name string
	var id int64
	if _, err := pgx.ForEachRow(rows, []any{&name, &id}, func() error { out[name] = id; return nil }); err != nil {
		return nil, fmt.Errorf("error loading ids: %w", err)
	}
	return out, nil
}
