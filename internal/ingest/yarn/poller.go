// Package yarn polls the YARN ResourceManager of each cluster that has one
// (yarn_target) and records what it reports: the scheduler's queue tree and
// usage snapshots (queue, queue_usage), and applications as jobs and runs
// (job, job_run), all through internal/workload's writers.
//
// Every pass claims the due clusters with FOR UPDATE SKIP LOCKED and a lease,
// like the node_exporter scraper, so replicas never poll a cluster twice at
// once; each cluster is polled by its own worker with a deadline on every
// request, so an unreachable or slow ResourceManager delays only its own
// cluster, and it backs off (Interval × 2^failures, at most MaxBackoff).
//
// One poll reads four answers: /ws/v1/cluster/metrics, /ws/v1/cluster/scheduler,
// the unfinished applications (states NEW … RUNNING) and the applications
// finished since the cluster's watermark (finishedTimeBegin). It stores them in
// one transaction, with the watermark, so a poll is stored whole or not at all.
// Everything it writes is keyed (queue path and snapshot time, job natural key,
// run UUID) and totals are replaced rather than added, so a poll that reads the
// same answers again stores nothing twice.
package yarn

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/workload"
)

// Config tunes a Poller. Zero fields take their defaults.
type Config struct {
	// Interval between two polls of a healthy cluster; default 1m.
	Interval time.Duration
	// Timeout bounds each request and its body; default 10s. A poll makes
	// four requests.
	Timeout time.Duration
	// MaxBackoff caps the delay before retrying a failing cluster; default 10m.
	MaxBackoff time.Duration
	// Concurrency is the number of clusters polled at once; default 4.
	Concurrency int
	// Lookback is how far back the first poll of a cluster reads finished
	// applications; default 24h. Later polls read from the watermark.
	Lookback time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// maxBody bounds one answer: a day of finished applications of a busy cluster
// is tens of megabytes.
const maxBody = 256 << 20

// storeChunk is how many applications go to the database per statement set.
const storeChunk = 2000

// Poller polls ResourceManagers. It is safe for concurrent use, and several
// Pollers (one per replica) may share a database.
type Poller struct {
	pool   *pgxpool.Pool
	logger *slog.Logger
	cfg    Config
	client *http.Client
}

// New returns a Poller. A nil client uses a plain http.Client: each request
// gets its own deadline from Config.Timeout.
func New(pool *pgxpool.Pool, logger *slog.Logger, cfg Config, client *http.Client) *Poller {
	cfg.Interval = cmp.Or(cfg.Interval, time.Minute)
	cfg.Timeout = cmp.Or(cfg.Timeout, 10*time.Second)
	cfg.MaxBackoff = cmp.Or(cfg.MaxBackoff, 10*time.Minute)
	cfg.Concurrency = cmp.Or(cfg.Concurrency, 4)
	cfg.Lookback = cmp.Or(cfg.Lookback, 24*time.Hour)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if client == nil {
		client = &http.Client{}
	}
	return &Poller{pool: pool, logger: logger, cfg: cfg, client: client}
}

// Result counts what one pass did.
type Result struct {
	Polled, Succeeded, Failed int
	Queues                    int   // queues in the answers
	Snapshots                 int64 // queue usage snapshots newly stored
	Apps                      int   // applications read
	RunsChanged               int64 // runs whose reported totals changed
	Problems                  int   // applications left out as unreadable
	NextDue                   time.Time
	Elapsed                   time.Duration
}

// Run polls until ctx is done, then returns nil. A failed pass is logged and
// the next one tried: polling must survive a database restart.
func (p *Poller) Run(ctx context.Context) error {
	minWait := min(time.Second, p.cfg.Interval)
	for {
		res, err := p.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			p.logger.WarnContext(ctx, "yarn poll pass failed", "error", err)
		}
		wait := p.cfg.Interval
		if err == nil && !res.NextDue.IsZero() {
			wait = min(max(res.NextDue.Sub(p.cfg.Now()), minWait), p.cfg.Interval)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// outcome is one cluster's poll.
type outcome struct {
	target  target
	at      time.Time
	answers *answers
	stored  stored
	// err is why the poll failed (recorded on the target); storeErr is set
	// too when the database, not the ResourceManager, failed.
	err, storeErr error
	next          time.Time
}

type answers struct {
	metrics   *Metrics
	scheduler *Scheduler
	apps      []App
	problems  []Problem
}

// RunOnce claims the due clusters and polls them concurrently; each worker
// stores its cluster's answers in their own transaction as soon as it has
// them, so a slow ResourceManager holds back no other cluster's data.
func (p *Poller) RunOnce(ctx context.Context) (Result, error) {
	began := time.Now()
	var res Result
	now := p.now()
	due, err := claimDue(ctx, p.pool, now, p.lease())
	if err != nil {
		return res, err
	}
	outcomes := p.pollAll(ctx, due)
	res.Polled = len(outcomes)
	var errs []error
	for _, o := range outcomes {
		if o.storeErr != nil {
			errs = append(errs, o.storeErr)
		}
		if o.answers != nil {
			res.Apps += len(o.answers.apps)
			res.Problems += len(o.answers.problems)
		}
		if o.err != nil {
			res.Failed++
			continue
		}
		res.Succeeded++
		res.Queues += o.stored.queues
		res.Snapshots += o.stored.snapshots
		res.RunsChanged += o.stored.runsChanged
	}
	if err := recordFailures(ctx, p.pool, outcomes); err != nil {
		errs = append(errs, err)
	}
	p.logTransitions(ctx, outcomes)
	if next, err := nextDue(ctx, p.pool); err != nil {
		errs = append(errs, err)
	} else {
		res.NextDue = next
	}
	res.Elapsed = time.Since(began)
	level := slog.LevelDebug
	if res.Failed > 0 || res.Problems > 0 {
		level = slog.LevelInfo
	}
	p.logger.Log(ctx, level, "yarn poll pass", "polled", res.Polled, "succeeded", res.Succeeded,
		"failed", res.Failed, "apps", res.Apps, "runs_changed", res.RunsChanged, "problems", res.Problems,
		"elapsed", res.Elapsed)
	return res, errors.Join(errs...)
}

func (p *Poller) now() time.Time { return p.cfg.Now().UTC().Truncate(time.Microsecond) }

// lease is how long a claimed cluster stays reserved: a normal poll's four
// requests and its store fit well within it.
func (p *Poller) lease() time.Duration { return 2*p.cfg.Interval + 5*p.cfg.Timeout }

// backoff is Interval × 2^failures capped at MaxBackoff, less up to 10 %
// jitter so clusters that failed together do not retry in lockstep.
func (p *Poller) backoff(failures int) time.Duration {
	d := p.cfg.MaxBackoff
	if failures < 30 {
		d = min(p.cfg.Interval<<failures, p.cfg.MaxBackoff)
	}
	return d - time.Duration(rand.Int64N(int64(d)/10+1))
}

func (p *Poller) pollAll(ctx context.Context, targets []target) []*outcome {
	out := make([]*outcome, len(targets))
	work := make(chan int)
	var wg sync.WaitGroup
	for range min(p.cfg.Concurrency, len(targets)) {
		wg.Go(func() {
			for i := range work {
				out[i] = p.pollOne(ctx, targets[i])
			}
		})
	}
	for i := range targets {
		work <- i
	}
	close(work)
	wg.Wait()
	return out
}

// unfinishedStates are the application states the running list asks for.
const unfinishedStates = "NEW,NEW_SAVING,SUBMITTED,ACCEPTED,RUNNING"

func (p *Poller) pollOne(ctx context.Context, t target) *outcome {
	at := p.now()
	o := &outcome{target: t, at: at}
	a, err := p.read(ctx, t, at)
	if err != nil {
		o.err = err
		o.next = at.Add(p.backoff(t.failures + 1))
		return o
	}
	o.answers = a
	o.next = at.Add(p.cfg.Interval)
	if o.stored, err = p.store(ctx, o); err != nil {
		// The answers were fine; the database was not. It counts as a failed
		// poll, retried at the next interval rather than after a back-off,
		// which is for the ResourceManager's failures.
		o.storeErr = err
		o.err = fmt.Errorf("not stored: %w", err)
	}
	return o
}

func (p *Poller) read(ctx context.Context, t target, at time.Time) (*answers, error) {
	base := strings.TrimRight(t.url, "/")
	body, err := p.get(ctx, base+"/ws/v1/cluster/metrics")
	if err != nil {
		return nil, fmt.Errorf("cluster metrics: %w", err)
	}
	a := &answers{}
	if a.metrics, err = ParseMetrics(body); err != nil {
		return nil, err
	}
	if body, err = p.get(ctx, base+"/ws/v1/cluster/scheduler"); err != nil {
		return nil, fmt.Errorf("scheduler: %w", err)
	}
	if a.scheduler, err = ParseScheduler(body, a.metrics); err != nil {
		return nil, err
	}
	if body, err = p.get(ctx, base+"/ws/v1/cluster/apps?states="+unfinishedStates); err != nil {
		return nil, fmt.Errorf("running apps: %w", err)
	}
	running, problems, err := ParseApps(body)
	if err != nil {
		return nil, fmt.Errorf("running %w", err)
	}
	since := at.Add(-p.cfg.Lookback)
	if t.watermark != nil {
		since = *t.watermark
	}
	q := url.Values{"states": {"FINISHED,FAILED,KILLED"}, "finishedTimeBegin": {strconv.FormatInt(since.UnixMilli(), 10)}}
	if body, err = p.get(ctx, base+"/ws/v1/cluster/apps?"+q.Encode()); err != nil {
		return nil, fmt.Errorf("finished apps: %w", err)
	}
	finished, more, err := ParseApps(body)
	if err != nil {
		return nil, fmt.Errorf("finished %w", err)
	}
	// An application that finished between the two requests is in both: the
	// finished answer is the later one.
	seen := make(map[string]int, len(running)+len(finished))
	for _, app := range append(running, finished...) {
		if i, ok := seen[app.ID]; ok {
			a.apps[i] = app
			continue
		}
		seen[app.ID] = len(a.apps)
		a.apps = append(a.apps, app)
	}
	a.problems = append(problems, more...)
	return a, nil
}

// get fetches one answer within Timeout.
func (p *Poller) get(ctx context.Context, u string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, errors.New("invalid ResourceManager URL")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "tesla-yarn-poller")
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, p.describe(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, p.describe(err)
	}
	if len(body) > maxBody {
		return nil, fmt.Errorf("answer larger than %d MiB", maxBody>>20)
	}
	return body, nil
}

// describe turns a transport error into a short message for last_error,
// without the URL (it may carry credentials).
func (p *Poller) describe(err error) error {
	var netErr net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()) {
		return fmt.Errorf("timeout after %s", p.cfg.Timeout)
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return fmt.Errorf("%s: %s", opErr.Op, clip(opErr.Err.Error(), 160))
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	return errors.New(clip(msg, 160))
}

type stored struct {
	queues      int
	snapshots   int64
	runsChanged int64
}

// store writes one cluster's answers and the target's new state in one
// transaction.
func (p *Poller) store(ctx context.Context, o *outcome) (stored, error) {
	var st stored
	t, a := o.target, o.answers
	err := db.InTx(ctx, p.pool, func(tx pgx.Tx) error {
		st = stored{}
		specs := make([]workload.QueueSpec, len(a.scheduler.Queues))
		for i, q := range a.scheduler.Queues {
			specs[i] = q.Spec
		}
		ids, err := workload.UpsertQueues(ctx, tx, t.clusterID, specs)
		if err != nil {
			return err
		}
		st.queues = len(ids)
		ts := o.at.Truncate(time.Second)
		samples := make([]workload.QueueSample, 0, len(ids))
		for _, q := range a.scheduler.Queues {
			samples = append(samples, workload.QueueSample{QueueID: ids[q.Spec.Path], TS: ts,
				UsedVcores: q.UsedVcores, UsedMemoryBytes: int64(q.UsedMemoryMB * mebibyte),
				PendingApps: q.PendingApps, RunningApps: q.RunningApps,
				PendingVcores: q.PendingVcores, PendingMemoryBytes: int64(q.PendingMemoryMB * mebibyte)})
		}
		if st.snapshots, err = workload.RecordQueueUsage(ctx, tx, samples); err != nil {
			return err
		}
		resolve := queueResolver(a.scheduler, ids)
		for start := 0; start < len(a.apps); start += storeChunk {
			n, err := storeApps(ctx, tx, t, a.apps[start:min(start+storeChunk, len(a.apps))], resolve, o.at)
			if err != nil {
				return err
			}
			st.runsChanged += n
		}
		var watermark *time.Time
		for _, app := range a.apps {
			if !app.Finished.IsZero() && (watermark == nil || app.Finished.After(*watermark)) {
				f := app.Finished
				watermark = &f
			}
		}
		note := ""
		if len(a.problems) > 0 {
			note = fmt.Sprintf("%d application(s) unreadable, left out; first: %s", len(a.problems), a.problems[0])
		}
		return recordSuccess(ctx, tx, t, o.at, o.next, note, a.metrics.raw, watermark)
	})
	if err != nil {
		return st, fmt.Errorf("error storing yarn poll of cluster %s: %w", t.cluster, err)
	}
	return st, nil
}

// storeApps records a chunk of applications as jobs and runs: a fixed number
// of statements whatever the chunk's size.
func storeApps(ctx context.Context, tx pgx.Tx, t target, apps []App, resolve func(string) *int64, now time.Time) (int64, error) {
	ns := Namespace(t.cluster)
	keys := make([]workload.JobKey, len(apps))
	for i := range apps {
		keys[i] = workload.JobKey{Namespace: ns, Name: JobName(apps[i].User, apps[i].Name)}
	}
	jobs, err := workload.UpsertJobs(ctx, tx, keys)
	if err != nil {
		return 0, err
	}
	evs := make([]workload.RunEvent, len(apps))
	places := make([]workload.JobPlacement, 0, len(apps))
	for i := range apps {
		jobID := jobs[[2]string{keys[i].Namespace, keys[i].Name}]
		evs[i] = runEvent(&apps[i], jobID, RunUUID(t.cluster, apps[i].ID), now)
		places = append(places, workload.JobPlacement{JobID: jobID, ClusterID: t.clusterID, QueueID: resolve(apps[i].Queue)})
	}
	runIDs, err := workload.ApplyRunEvents(ctx, tx, evs)
	if err != nil {
		return 0, err
	}
	stats := make([]workload.RunStats, len(apps))
	for i := range apps {
		stats[i] = runStats(&apps[i], evs[i].JobID, runIDs[i])
	}
	// Placement is the queue of the newest application seen per job; sorting
	// by submit time makes "last wins" mean that.
	order := make([]int, len(apps))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(x, y int) bool { return apps[order[x]].Submitted.Before(apps[order[y]].Submitted) })
	sortedPlaces := make([]workload.JobPlacement, len(order))
	for x, i := range order {
		sortedPlaces[x] = places[i]
	}
	if _, err := workload.PlaceJobs(ctx, tx, sortedPlaces); err != nil {
		return 0, err
	}
	return workload.SetRunStats(ctx, tx, stats)
}

// queueResolver finds the stored queue of an application's queue name: the
// capacity scheduler reports the leaf name ("b1"), or the path in newer
// versions ("root.b.b1"); the fair scheduler the path. A leaf name shared by
// two parents is ambiguous and left unresolved. Under FIFO everything runs in
// the one queue.
func queueResolver(s *Scheduler, ids map[string]int64) func(string) *int64 {
	leaves := make(map[string]string, len(ids))
	for path := range ids {
		leaf := path[strings.LastIndex(path, ".")+1:]
		if _, dup := leaves[leaf]; dup {
			leaves[leaf] = ""
			continue
		}
		leaves[leaf] = path
	}
	return func(name string) *int64 {
		if s.Type == workload.SchedulerFIFO {
			id := ids["root"]
			return &id
		}
		for _, path := range []string{name, "root." + name, leaves[name]} {
			if id, ok := ids[path]; ok && path != "" {
				return &id
			}
		}
		return nil
	}
}

// logTransitions logs a cluster's ResourceManager going down (once, as a
// warning) and coming back.
func (p *Poller) logTransitions(ctx context.Context, outcomes []*outcome) {
	for _, o := range outcomes {
		switch {
		case o.err != nil && o.target.status != statusFailing:
			p.logger.WarnContext(ctx, "yarn ResourceManager failing", "cluster", o.target.cluster, "error", o.err.Error())
		case o.err != nil:
			p.logger.DebugContext(ctx, "yarn ResourceManager still failing", "cluster", o.target.cluster,
				"failures", o.target.failures+1, "error", o.err.Error(), "next_attempt_at", o.next)
		case o.target.status == statusFailing:
			p.logger.InfoContext(ctx, "yarn ResourceManager recovered", "cluster", o.target.cluster,
				"after_failures", o.target.failures)
		}
	}
}
