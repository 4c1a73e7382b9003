// Package scrape polls node_exporter on the hosts that have a scrape URL and turns
// its counters into host_metric samples.
//
// What a sample holds, and the choices behind it:
//   - CPU % = 100 × (1 − Δidle/Δtotal) of node_cpu_seconds_total over all cpus and
//     modes (iowait counts as busy: the cpu is not free for other work);
//   - memory % = 100 × (1 − MemAvailable/MemTotal), from gauges, so it needs no
//     history;
//   - network in/out = 8 × Δbytes/Δt in bits/s, summed over physical NICs only:
//     lo, container and bridge devices (veth*, docker*, br*, cni*, …), bonds and
//     VLAN sub-interfaces are left out because their bytes are counted on a
//     physical NIC too (see countedNetDevice);
//   - disk IO % = 100 × Δio_time/Δt of the busiest device, clamped to 0..100;
//   - the first scrape of a target (or the first after more than MaxBackoff +
//     2 × Interval without one) writes memory only: rates need two scrapes, and
//     an average over a long outage would misreport the current load;
//   - a counter that went backwards (reboot, driver reload) skips that one rate
//     for that scrape; the new value is the next baseline;
//   - the sample time is the scrape's start truncated to the second.
//
// All polling state (status, back-off, the previous scrape's counters) lives in
// scrape_target, so any replica can scrape any target and a restart loses no
// history. A pass claims the due targets with FOR UPDATE SKIP LOCKED and leases
// them, so several replicas running the Scraper never scrape a target twice.
// Hosts that are DECOMMISSIONED are not scraped.
package scrape

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/teslaops/tesla/internal/telemetry"
)

// Config tunes a Scraper. Zero fields take their defaults.
type Config struct {
	// Interval between two scrapes of a healthy target; default 15s, node_exporter's
	// customary scrape interval.
	Interval time.Duration
	// Timeout bounds one target's request and body; default 5s. It is what keeps a
	// dead or slow target from holding a worker for long.
	Timeout time.Duration
	// MaxBackoff caps the delay before retrying a failing target; default 10m.
	MaxBackoff time.Duration
	// Concurrency is the number of targets scraped at once; default 16.
	Concurrency int
	// Now is the clock; default time.Now. Tests inject a fixed clock to get exact
	// rates and back-off times.
	Now func() time.Time
}

// maxBody bounds what is read from a target: node_exporter answers with well
// under a megabyte, so anything this big is not a node_exporter.
const maxBody = 32 << 20

// Scraper polls node_exporter targets. It is safe for concurrent use, and several
// Scrapers (one per replica) may share a database.
type Scraper struct {
	pool   *pgxpool.Pool
	writer *telemetry.Writer
	logger *slog.Logger
	cfg    Config
	client *http.Client
}

// Result counts what one pass did.
type Result struct {
	Targets    int   // scrape targets after syncing with host.scrape_url
	Added      int   // targets created for new scrape URLs
	Changed    int   // targets whose URL changed (state reset)
	Removed    int   // targets deleted because their host lost its URL or was decommissioned
	Scraped    int   // due targets attempted
	Succeeded  int   // attempts that returned usable metrics
	Failed     int   // attempts that failed
	Accepted   int64 // samples newly stored
	Duplicates int64 // samples already stored (same host and second)
	// NextDue is the earliest next_attempt_at after the pass (zero without targets):
	// Run sleeps until then, so targets are scraped on their own schedule.
	NextDue time.Time
	Elapsed time.Duration
}

// New returns a Scraper. A nil client uses a plain http.Client: each request gets
// its own deadline from Config.Timeout, so the client needs none.
func New(pool *pgxpool.Pool, w *telemetry.Writer, logger *slog.Logger, cfg Config, client *http.Client) *Scraper {
	cfg.Interval = cmp.Or(cfg.Interval, 15*time.Second)
	cfg.Timeout = cmp.Or(cfg.Timeout, 5*time.Second)
	cfg.MaxBackoff = cmp.Or(cfg.MaxBackoff, 10*time.Minute)
	cfg.Concurrency = cmp.Or(cfg.Concurrency, 16)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if client == nil {
		client = &http.Client{}
	}
	return &Scraper{pool: pool, writer: w, logger: logger, cfg: cfg, client: client}
}

// Run scrapes until ctx is done, then returns nil: stopping is not a failure.
// After each pass it waits until the next target is due (at most Interval, at
// least a second so a crowd of slightly staggered targets does not spin the
// loop). A failed pass is logged and the next one tried, because scraping must
// survive a database restart.
func (s *Scraper) Run(ctx context.Context) error {
	minWait := min(time.Second, s.cfg.Interval)
	for {
		res, err := s.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			s.logger.WarnContext(ctx, "scrape pass failed", "error", err)
		}
		wait := s.cfg.Interval
		if err == nil && !res.NextDue.IsZero() {
			wait = min(max(res.NextDue.Sub(s.cfg.Now()), minWait), s.cfg.Interval)
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

// RunOnce performs one pass: it syncs scrape_target with host.scrape_url, claims
// the due targets, scrapes them concurrently (at most Concurrency at a time, each
// within Timeout), stores the samples and records every target's new state.
func (s *Scraper) RunOnce(ctx context.Context) (Result, error) {
	began := time.Now()
	now := s.now()
	var res Result
	synced, err := syncTargets(ctx, s.pool, now)
	if err != nil {
		return res, err
	}
	res.Targets, res.Added, res.Changed, res.Removed = synced.targets, synced.added, synced.changed, synced.removed
	if synced.added+synced.changed+synced.removed > 0 {
		s.logger.InfoContext(ctx, "scrape targets synced",
			"targets", synced.targets, "added", synced.added, "changed", synced.changed, "removed", synced.removed)
	}

	due, err := claimDue(ctx, s.pool, now, s.lease())
	if err != nil {
		return res, err
	}
	outcomes := s.scrapeAll(ctx, due)
	res.Scraped = len(outcomes)

	var samples []telemetry.Sample
	for _, o := range outcomes {
		if o.err != nil {
			res.Failed++
			continue
		}
		res.Succeeded++
		if o.sample != nil {
			samples = append(samples, *o.sample)
		}
	}
	var errs []error
	if len(samples) > 0 {
		// The writer creates a missing daily partition itself.
		if wr, err := s.writer.Write(ctx, &telemetry.SliceSource{Samples: samples}); err != nil {
			errs = append(errs, err)
		} else {
			res.Accepted, res.Duplicates = wr.Accepted, wr.Duplicates
		}
	}
	// Target state is recorded even when the samples could not be written: the new
	// counters are still the right baseline and the back-off must still grow.
	if err := recordOutcomes(ctx, s.pool, outcomes); err != nil {
		errs = append(errs, err)
	}
	s.logTransitions(ctx, outcomes)
	if next, err := nextDue(ctx, s.pool); err != nil {
		errs = append(errs, err)
	} else {
		res.NextDue = next
	}
	res.Elapsed = time.Since(began)
	level := slog.LevelDebug
	if res.Failed > 0 || res.Added+res.Changed+res.Removed > 0 {
		level = slog.LevelInfo
	}
	s.logger.Log(ctx, level, "scrape pass", "targets", res.Targets, "scraped", res.Scraped,
		"succeeded", res.Succeeded, "failed", res.Failed, "accepted", res.Accepted,
		"duplicates", res.Duplicates, "elapsed", res.Elapsed)
	return res, errors.Join(errs...)
}

// now reads the clock at microsecond precision, the precision of timestamptz, so
// a time stored in counters_at and read back gives exactly the interval we used.
func (s *Scraper) now() time.Time { return s.cfg.Now().UTC().Truncate(time.Microsecond) }

// lease is how long a claimed target stays reserved for the replica that claimed
// it: long enough for a normal pass to finish, short enough that a crashed
// replica's targets are picked up by another within a few intervals. A pass that
// outlives it (thousands of targets on few workers) stays correct: another
// replica may scrape a target once more, the duplicate sample is ignored, and
// recordOutcomes keeps only the newer claim's result.
func (s *Scraper) lease() time.Duration { return 2*s.cfg.Interval + s.cfg.Timeout }

// backoff is the delay before retrying a target after its failures-th consecutive
// failure: Interval × 2^failures capped at MaxBackoff, less up to 10 % jitter so
// targets that failed together (a rack losing power) do not retry in lockstep.
func (s *Scraper) backoff(failures int) time.Duration {
	d := s.cfg.MaxBackoff
	if failures < 30 {
		d = min(s.cfg.Interval<<failures, s.cfg.MaxBackoff)
	}
	return d - time.Duration(rand.Int64N(int64(d)/10+1))
}

// maxRateWindow is the longest gap over which counters still yield a rate: a
// target back after an hour's outage would otherwise report the hour's average as
// if it were the current load.
func (s *Scraper) maxRateWindow() time.Duration { return s.cfg.MaxBackoff + 2*s.cfg.Interval }

// outcome is one target's scrape: either a sample and new counters, or an error.
type outcome struct {
	target   target
	at       time.Time
	sample   *telemetry.Sample
	counters *counters
	err      error
	next     time.Time
}

// scrapeAll scrapes the targets with a bounded pool of workers. Each attempt has
// its own deadline, so a slow target only ever occupies one worker for Timeout.
func (s *Scraper) scrapeAll(ctx context.Context, targets []target) []outcome {
	out := make([]outcome, len(targets))
	work := make(chan int)
	var wg sync.WaitGroup
	for range min(s.cfg.Concurrency, len(targets)) {
		wg.Go(func() {
			for i := range work {
				out[i] = s.scrapeOne(ctx, targets[i])
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

func (s *Scraper) scrapeOne(ctx context.Context, t target) outcome {
	at := s.now()
	o := outcome{target: t, at: at}
	node, err := s.fetch(ctx, t.url)
	if err != nil {
		o.err = err
		o.next = at.Add(s.backoff(t.failures + 1))
		return o
	}
	var prev *counters
	var dt time.Duration
	if t.counters != nil && t.countersAt != nil {
		if d := at.Sub(*t.countersAt); d > 0 && d <= s.maxRateWindow() {
			prev, dt = t.counters, d
		}
	}
	v := computeValues(node, prev, dt)
	// The first scrape of a target (or the first after a long gap) has only the
	// memory gauge; it is still written, because it is a real measurement and
	// shows at once that the host is reporting.
	if v != (values{}) {
		o.sample = &telemetry.Sample{
			HostID: t.hostID, TS: at.Truncate(time.Second),
			CPUPct: v.cpuPct, MemPct: v.memPct, DiskIOPct: v.diskIOPct,
			NetInBps: v.netInBps, NetOutBps: v.netOutBps,
		}
	}
	o.counters = &node.counters
	o.next = at.Add(s.cfg.Interval)
	return o
}

// fetch GETs one exposition and parses it, within Timeout.
func (s *Scraper) fetch(ctx context.Context, url string) (*nodeScrape, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, errors.New("invalid scrape URL")
	}
	// Ask for the classic text format: it is what expfmt's TextParser reads, and
	// every node_exporter version serves it.
	req.Header.Set("Accept", "text/plain;version=0.0.4;q=1,*/*;q=0.1")
	req.Header.Set("User-Agent", "tesla-scraper")
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, s.describe(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return nil, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, s.describe(err)
	}
	if len(body) > maxBody {
		return nil, fmt.Errorf("response larger than %d MiB", maxBody>>20)
	}
	node, err := parseNode(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("unparsable exposition: %s", clip(err.Error(), 160))
	}
	if node.empty() {
		return nil, errNotNode
	}
	return node, nil
}

// describe turns a transport error into a short message for last_error. The
// error net/http returns quotes the whole URL, which may carry credentials, so
// only the underlying cause is kept.
func (s *Scraper) describe(err error) error {
	var netErr net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()) {
		return fmt.Errorf("timeout after %s", s.cfg.Timeout)
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return fmt.Errorf("%s: %s", opErr.Op, clip(opErr.Err.Error(), 160))
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return fmt.Errorf("lookup failed: %s", clip(dnsErr.Err, 160))
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	return errors.New(clip(msg, 160))
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// logTransitions logs a target going down (once, at warning level) and coming
// back, rather than every failed attempt of a target that stays down.
func (s *Scraper) logTransitions(ctx context.Context, outcomes []outcome) {
	for _, o := range outcomes {
		switch {
		case o.err != nil && o.target.status != statusFailing:
			s.logger.WarnContext(ctx, "scrape target failing", "host_id", o.target.hostID, "error", o.err.Error())
		case o.err != nil:
			s.logger.DebugContext(ctx, "scrape target still failing", "host_id", o.target.hostID,
				"failures", o.target.failures+1, "error", o.err.Error(), "next_attempt_at", o.next)
		case o.target.status == statusFailing:
			s.logger.InfoContext(ctx, "scrape target recovered", "host_id", o.target.hostID,
				"after_failures", o.target.failures)
		}
	}
}
