// Package agent is `tesla agent`, the host agent: it runs on each machine of a
// platform, registers the machine with an enrollment token, and then sends
// its samples (CPU, memory, disk IO, network, containers), heartbeats with the
// state of the components the inventory says the machine runs, and hardware
// faults (EDAC, SMART), all with the host credential registration issued.
//
// Samples are written to an on-disk spool before they are sent and leave it
// only when the server has answered, so a server outage, a network partition
// or an agent restart loses none; the spool is bounded and drops its oldest
// batches, counted, when full. The server's ingestion is idempotent per (host,
// timestamp), which makes every replay safe.
//
// The protocol is in docs/agent.md; the server side is internal/agentapi.
package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// ErrStopped wraps the reasons the agent stops by itself: its credential is
// gone and it has no enrollment token to register again, or the server
// refuses its registration.
var ErrStopped = errors.New("the agent stopped")

// Agent is one running host agent.
type Agent struct {
	cfg     Config
	logger  *slog.Logger
	client  *Client
	spool   *Spool
	collect *Collector
	checker *ComponentChecker
	hw      *HardwareWatcher

	// wake tells the sender a sample was spooled.
	wake chan struct{}
	// resample tells the sampler its interval changed.
	resample chan struct{}
	// registered closes when the agent first holds a credential.
	registered chan struct{}
	regOnce    sync.Once
	// regMu makes registrations one at a time.
	regMu sync.Mutex

	mu         sync.Mutex
	state      State
	hasState   bool
	sampleIvl  time.Duration
	beatIvl    time.Duration
	components []ComponentSpec
	facts      Facts
	// stop ends the agent with a cause (ErrStopped).
	stop context.CancelCauseFunc
}

// New prepares an agent: its state directory (0700), credential and spool.
func New(cfg Config, logger *slog.Logger) (*Agent, error) {
	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("error creating the state directory: %w", err)
	}
	if info, err := os.Stat(cfg.StateDir); err == nil && info.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(cfg.StateDir, 0o700); err != nil {
			logger.Warn("the state directory is open to others and cannot be made private", "path", cfg.StateDir, "error", err)
		}
	}
	st, ok, err := LoadState(cfg.StateDir, logger)
	if err != nil {
		return nil, err
	}
	spool, err := OpenSpool(filepath.Join(cfg.StateDir, "spool"), cfg.SpoolMaxBytes, logger)
	if err != nil {
		return nil, err
	}
	if cfg.TaskWait <= 0 {
		cfg.TaskWait = DefaultTaskWait
	}
	a := &Agent{cfg: cfg, logger: logger, client: NewClient(cfg.Server, cfg.Timeout), spool: spool,
		checker: NewComponentChecker(cfg.Paths.withDefaults().Proc), hw: NewHardwareWatcher(cfg.Paths, cfg.StateDir, logger),
		wake: make(chan struct{}, 1), resample: make(chan struct{}, 1), registered: make(chan struct{}),
		sampleIvl: cfg.SampleInterval, beatIvl: cfg.HeartbeatInterval}
	a.collect = NewCollector(cfg.Paths, func(what string, err error) {
		logger.Warn("cannot read a host measure: it is left out of samples", "measure", what, "error", err)
	})
	a.facts = ReadFacts(cfg.Paths, cfg.Hostname, cfg.Server, func(what string, err error) {
		logger.Info("a host fact is not readable: registering without it", "fact", what, "error", err)
	})
	switch {
	case !ok:
	case st.Server != cfg.Server:
		logger.Info("the stored credential is for another server: registering again", "stored", st.Server, "server", cfg.Server)
	case st.Hostname != cfg.Hostname:
		logger.Info("the stored credential is for another host name: registering again", "stored", st.Hostname, "hostname", cfg.Hostname)
	default:
		a.state, a.hasState = st, true
		a.regOnce.Do(func() { close(a.registered) })
	}
	return a, nil
}

// Run runs the agent until ctx ends (nil) or it stops by itself (an error
// wrapping ErrStopped).
func (a *Agent) Run(ctx context.Context) error {
	defer a.spool.Close()
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	a.stop = stop
	a.logger.Info("agent starting", "version", Version, "config", a.cfg.String(), "hostname", a.facts.Hostname,
		"cores", a.facts.CPUCores, "memory_bytes", a.facts.MemoryBytes, "disks", len(a.facts.Disks), "spool", a.spool.Stats())
	var wg sync.WaitGroup
	wg.Go(func() { a.registerLoop(ctx) })
	wg.Go(func() { a.sampleLoop(ctx) })
	wg.Go(func() { a.sendLoop(ctx) })
	wg.Go(func() { a.heartbeatLoop(ctx) })
	wg.Go(func() { a.hardwareLoop(ctx) })
	if a.cfg.ServicesRoot != "" {
		wg.Go(func() { a.taskLoop(ctx) })
	}
	<-ctx.Done()
	wg.Wait()
	if err := context.Cause(ctx); errors.Is(err, ErrStopped) {
		return err
	}
	a.logger.Info("agent stopped", "spool", a.spool.Stats())
	return nil
}

// credential returns the host credential and the host name samples carry.
func (a *Agent) credential() (string, string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.state.Credential, a.state.Hostname
}

// registerLoop registers the machine when it has no credential, retrying
// while the server cannot be reached.
func (a *Agent) registerLoop(ctx context.Context) {
	a.mu.Lock()
	has := a.hasState
	a.mu.Unlock()
	if has {
		a.logger.Info("using the stored host credential", "host_id", a.state.HostID, "cluster", a.state.Cluster)
		return
	}
	_ = a.register(ctx, "")
}

// register obtains a new credential with the enrollment token; stale is the
// credential that was refused ("" at first start), so concurrent refusals
// register once. Unreachable servers are retried until ctx ends; a refusal
// stops the agent.
func (a *Agent) register(ctx context.Context, stale string) error {
	a.regMu.Lock()
	defer a.regMu.Unlock()
	a.mu.Lock()
	done := a.hasState && a.state.Credential != stale
	a.mu.Unlock()
	if done {
		return nil // another loop registered already
	}
	token, err := a.cfg.enrollToken()
	if err == nil && token == "" {
		err = errors.New("no enrollment token was given (--enroll-token or --enroll-token-file)")
	}
	if err != nil {
		reason := "the agent has no host credential"
		if stale != "" {
			reason = "the server refused the host credential (the host was retired, or registered again elsewhere)"
		}
		a.logger.Error(reason+" and cannot register", "error", err)
		a.stop(fmt.Errorf("%w: %s and cannot register: %v", ErrStopped, reason, err))
		return err
	}
	facts := a.facts
	for attempt := 0; ; attempt++ {
		facts.IP = primaryIP(a.cfg.Server)
		reg, err := a.client.Register(ctx, token, facts)
		if err == nil {
			st := State{Server: a.cfg.Server, Hostname: a.cfg.Hostname, HostID: reg.HostID, Cluster: reg.Cluster,
				Credential: reg.Credential, RegisteredAt: time.Now().UTC()}
			if err := SaveState(a.cfg.StateDir, st); err != nil {
				a.logger.Error("the host credential cannot be saved: the next start registers again", "error", err)
			}
			a.mu.Lock()
			a.state, a.hasState = st, true
			a.applyLocked(reg.SampleIntervalSeconds, reg.HeartbeatIntervalSeconds, reg.Components)
			sample, beat := a.sampleIvl, a.beatIvl
			a.mu.Unlock()
			a.logger.Info("registered", "host_id", reg.HostID, "hostname", reg.Hostname, "cluster", reg.Cluster,
				"components", len(reg.Components), "sample_interval", sample, "heartbeat_interval", beat)
			a.regOnce.Do(func() { close(a.registered) })
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !Retryable(err) {
			a.logger.Error("registration refused", "error", err)
			a.stop(fmt.Errorf("%w: registration refused: %v", ErrStopped, err))
			return err
		}
		wait := backoff(attempt, err)
		a.logger.Warn("cannot register yet: retrying", "error", err, "retry_in", wait)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

// applyLocked takes the server's intervals (unless set on the command line)
// and component list.
func (a *Agent) applyLocked(sampleSecs, beatSecs int, comps []ComponentSpec) {
	if d := time.Duration(sampleSecs) * time.Second; d > 0 && !a.cfg.SampleIntervalSet && d != a.sampleIvl {
		a.sampleIvl = d
		select {
		case a.resample <- struct{}{}:
		default:
		}
	}
	if beatSecs > 0 && !a.cfg.HeartbeatIntervalSet {
		a.beatIvl = time.Duration(beatSecs) * time.Second
	}
	if comps != nil {
		a.components = comps
	}
}

// backoff is how long to wait after the attempt-th failure in a row: the
// server's Retry-After, else 1s doubling to 30s, with jitter so a fleet that
// lost its server does not come back in step.
func backoff(attempt int, err error) time.Duration {
	var he *HTTPError
	if errors.As(err, &he) && he.RetryAfter > 0 {
		return min(he.RetryAfter, 5*time.Minute)
	}
	d := time.Second << min(attempt, 5)
	d = min(d, 30*time.Second)
	return d/2 + rand.N(d/2+1)
}

// sampleLoop takes a sample at each multiple of the sample interval (so
// samples of every host share timestamps) and spools it.
func (a *Agent) sampleLoop(ctx context.Context) {
	a.collect.Prime(time.Now())
	for {
		a.mu.Lock()
		ivl := a.sampleIvl
		a.mu.Unlock()
		now := time.Now()
		next := now.Truncate(ivl).Add(ivl)
		select {
		case <-ctx.Done():
			return
		case <-a.resample:
			continue
		case <-time.After(next.Sub(now)):
		}
		s := a.collect.Collect(time.Now())
		s.Hostname = a.cfg.Hostname
		s.TS = next.UTC().Format(time.RFC3339)
		line, err := json.Marshal(s)
		if err != nil {
			a.logger.Error("error encoding a sample", "error", err)
			continue
		}
		if err := a.spool.Append(append(line, '\n')); err != nil {
			a.logger.Error("a sample could not be spooled: it is lost", "ts", s.TS, "error", err)
			continue
		}
		a.logger.Debug("sample spooled", "ts", s.TS)
		select {
		case a.wake <- struct{}{}:
		default:
		}
	}
}

// sendLoop sends the spool, oldest batch first, whenever a sample arrives or
// a retry is due.
func (a *Agent) sendLoop(ctx context.Context) {
	select {
	case <-ctx.Done():
		return
	case <-a.registered:
	}
	failures := 0
	var retry <-chan time.Time
	for {
		wait, err := a.drain(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err == nil:
			if failures > 0 {
				a.logger.Info("the server takes samples again: spool replayed", "failed_attempts", failures, "spool", a.spool.Stats())
			}
			failures, retry = 0, nil
		default:
			if failures == 0 {
				a.logger.Warn("samples cannot be sent: they wait in the spool", "error", err, "spool", a.spool.Stats())
			}
			if wait == 0 {
				wait = backoff(failures, err)
			}
			failures++
			retry = time.After(wait)
		}
		select {
		case <-ctx.Done():
			return
		case <-a.wake:
			if retry != nil {
				// Still waiting out a failure: the sample stays spooled.
				select {
				case <-ctx.Done():
					return
				case <-retry:
				}
			}
		case <-retry:
		}
	}
}

// drain sends spooled batches until the spool is empty or a send fails with
// an error that may pass (returned, with the server's wait when it gave one).
// Batches the server refuses for good are dropped with an error log.
func (a *Agent) drain(ctx context.Context) (time.Duration, error) {
	reregistered := false
	for {
		b, ok, err := a.spool.Next()
		if err != nil || !ok {
			return 0, err
		}
		cred, _ := a.credential()
		ans, err := a.client.Samples(ctx, cred, b.Lines)
		if Unauthorized(err) {
			if reregistered {
				// Refused again right after registering: wait before
				// registering once more, rather than spinning.
				return 0, err
			}
			a.logger.Warn("the server refused the host credential: registering again", "error", err)
			if rerr := a.register(ctx, cred); rerr != nil {
				return 0, rerr
			}
			reregistered = true
			continue
		}
		if err != nil && Retryable(err) {
			var he *HTTPError
			if errors.As(err, &he) {
				return he.RetryAfter, err
			}
			return 0, err
		}
		if err != nil {
			a.logger.Error("the server refused a batch of samples: dropping it", "samples", b.Samples, "error", err)
		} else if ans.Rejected > 0 {
			first := ""
			if len(ans.Errors) > 0 {
				first = fmt.Sprintf("line %d field %s: %s", ans.Errors[0].Line, ans.Errors[0].Field, ans.Errors[0].Reason)
			}
			a.logger.Warn("the server rejected samples of a batch", "rejected", ans.Rejected, "accepted", ans.Accepted,
				"duplicates", ans.Duplicates, "first_error", first)
		} else {
			a.logger.Debug("batch sent", "samples", b.Samples, "accepted", ans.Accepted, "duplicates", ans.Duplicates)
		}
		if err := a.spool.Done(b); err != nil {
			return 0, err
		}
	}
}

// heartbeatLoop beats at once, then every heartbeat interval.
func (a *Agent) heartbeatLoop(ctx context.Context) {
	select {
	case <-ctx.Done():
		return
	case <-a.registered:
	}
	failing, reregistered := false, false
	for {
		a.mu.Lock()
		comps, ivl := a.components, a.beatIvl
		a.mu.Unlock()
		cred, _ := a.credential()
		hb := Heartbeat{TS: time.Now().UTC().Format(time.RFC3339), AgentVersion: Version,
			Components: a.checker.Check(ctx, comps), Spool: a.spool.Stats()}
		ans, err := a.client.Heartbeat(ctx, cred, hb)
		switch {
		case ctx.Err() != nil:
			return
		case Unauthorized(err) && !reregistered:
			a.logger.Warn("the server refused the host credential: registering again", "error", err)
			if a.register(ctx, cred) != nil {
				return
			}
			reregistered = true
			continue
		case err != nil:
			if !failing {
				a.logger.Warn("heartbeat failed", "error", err)
			}
			// A credential refused right after registering is registered
			// again at the next beat, not at once.
			failing, reregistered = true, false
		default:
			if failing {
				a.logger.Info("heartbeats reach the server again")
			}
			reregistered = false
			failing = false
			a.mu.Lock()
			a.applyLocked(ans.SampleIntervalSeconds, ans.HeartbeatIntervalSeconds, ans.Components)
			ivl = a.beatIvl
			a.mu.Unlock()
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(ivl):
		}
	}
}

// hardwareLoop reports rises of the hardware error counters.
func (a *Agent) hardwareLoop(ctx context.Context) {
	select {
	case <-ctx.Done():
		return
	case <-a.registered:
	}
	missing := false
	for {
		faults, values := a.hw.Scan(ctx, time.Now())
		if len(faults) > 0 {
			cred, _ := a.credential()
			ans, err := a.client.Faults(ctx, cred, faults)
			var he *HTTPError
			switch {
			case ctx.Err() != nil:
				return
			case errors.As(err, &he) && he.Status == 404:
				if !missing {
					a.logger.Warn("the server has no hardware fault endpoint: faults are kept to report later", "faults", len(faults))
				}
				missing = true
			case err != nil:
				a.logger.Warn("hardware faults could not be reported: retrying later", "faults", len(faults), "error", err)
			default:
				for _, e := range ans.Errors {
					a.logger.Error("the server refused a hardware fault", "fault", faults[min(e.Index, len(faults)-1)].SourceRef, "field", e.Field, "error", e.Error)
				}
				a.logger.Info("hardware faults reported", "accepted", ans.Accepted, "duplicates", ans.Duplicates)
				if err := a.hw.Commit(values); err != nil {
					a.logger.Error("error saving reported hardware counters", "error", err)
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(a.cfg.HardwareInterval):
		}
	}
}
