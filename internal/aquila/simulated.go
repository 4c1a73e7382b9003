package aquila

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/internal/inventory"
)

// SimulatedConfig shapes the simulated fleet's task runs.
type SimulatedConfig struct {
	// Median is the median task duration (default 3s); durations are
	// log-normal around it, as real restarts are: most quick, a few slow.
	Median time.Duration
	// Spread is the log-normal sigma (default 0.5); 0 with Median gives fixed
	// durations only when Fixed is set.
	Spread float64
	// Max caps a duration (default 10 × Median).
	Max time.Duration
	// FailureRate is the chance a task fails, 0..1.
	FailureRate float64
	// Seed makes runs reproducible: a task's duration and outcome depend only
	// on the seed and its idempotency key, so a re-sent key gets the same
	// result.
	Seed uint64
}

// SimulatedExecutor runs tasks on the simulated fleet: it waits a realistic
// time, fails at the configured rate, and (as an Applier) changes the hosts'
// components in the database — state for a restart, version too for an
// upgrade — so watermarks and health react as they would on a real fleet.
type SimulatedExecutor struct {
	cfg SimulatedConfig
	now func() time.Time
}

// NewSimulatedExecutor returns a simulated executor.
func NewSimulatedExecutor(cfg SimulatedConfig) *SimulatedExecutor {
	if cfg.Median <= 0 {
		cfg.Median = 3 * time.Second
	}
	if cfg.Spread == 0 {
		cfg.Spread = 0.5
	}
	if cfg.Max <= 0 {
		cfg.Max = 10 * cfg.Median
	}
	return &SimulatedExecutor{cfg: cfg, now: time.Now}
}

// ErrSimulatedFailure is the error of a task the simulation failed.
var ErrSimulatedFailure = errors.New("simulated failure")

// Run waits the task's simulated duration and reports its simulated outcome.
func (s *SimulatedExecutor) Run(ctx context.Context, t Task) (Result, error) {
	h := fnv.New64a()
	_, _ = h.Write([]byte(t.IdempotencyKey()))
	rng := rand.New(rand.NewPCG(s.cfg.Seed, h.Sum64()))
	d := time.Duration(float64(s.cfg.Median) * math.Exp(rng.NormFloat64()*s.cfg.Spread))
	d = min(d, s.cfg.Max)
	fail := rng.Float64() < s.cfg.FailureRate
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return Result{}, ctx.Err()
	case <-timer.C:
	}
	out := fmt.Sprintf("%s %s on %s in %s", t.Action, serviceOf(t), t.Hostname, d.Round(time.Millisecond))
	if t.Action == ActionWriteConfig {
		out += writeConfigSummary(t)
	}
	if fail {
		return Result{Output: out}, ErrSimulatedFailure
	}
	return Result{Output: out + ": ok"}, nil
}

// Apply writes the batch's component changes in one statement: a restarted
// service STARTED (FAILED when the task failed), an upgraded one at its new
// version; a CONFIG_APPLY's restarted components are stamped with the
// configuration version they now run. Writing configuration files changes
// no component state. Services installed or removed by an upgrade are
// created or deleted (applyServiceChanges).
func (s *SimulatedExecutor) Apply(ctx context.Context, tx pgx.Tx, done []Done) error {
	if err := applyServiceChanges(ctx, tx, done, s.now()); err != nil {
		return err
	}
	if _, err := inventory.StampConfigVersions(ctx, tx, configApplyStamps(done)); err != nil {
		return err
	}
	changes := make([]inventory.ComponentChange, 0, len(done))
	for _, d := range done {
		if d.Task.Action == ActionWriteConfig || d.Task.Action == ActionInstallService || d.Task.Action == ActionRemoveService {
			continue // no component state, or applied above
		}
		// Planned upgrades (a host's ordered services) and express stops.
		if up := upgradeChanges([]Done{d}); len(up) > 0 {
			changes = append(changes, up...)
			continue
		}
		var p ServiceParams
		if len(d.Task.Params) > 0 {
			_ = json.Unmarshal(d.Task.Params, &p)
		}
		if p.Service == "" {
			continue
		}
		c := inventory.ComponentChange{HostID: d.Task.HostID, Service: p.Service, State: "STARTED"}
		if d.Err != nil {
			c.State = "FAILED"
		} else if d.Task.Action == "UPGRADE" {
			c.Version = p.Version
		}
		changes = append(changes, c)
	}
	_, err := inventory.ApplyComponentChanges(ctx, tx, changes, s.now())
	return err
}

// writeConfigSummary says what a WRITE_CONFIG writes and removes, as the
// agent's output does on real hosts, so a simulated rollout's record shows
// which files a version removed.
func writeConfigSummary(t Task) string {
	var p ConfigTaskParams
	if json.Unmarshal(t.Params, &p) != nil {
		return ""
	}
	paths := make([]string, len(p.Files))
	for i, f := range p.Files {
		paths[i] = f.Path
	}
	var out string
	if len(paths) > 0 {
		out += ": wrote " + strings.Join(paths, ", ")
	}
	if len(p.Remove) > 0 {
		out += ": removed " + strings.Join(p.Remove, ", ")
	}
	return out
}

func serviceOf(t Task) string {
	var p struct {
		ServiceParams
		Services []ServiceStep `json:"services"`
	}
	_ = json.Unmarshal(t.Params, &p)
	if p.Service == "" && len(p.Services) > 0 {
		names := make([]string, len(p.Services))
		for i, s := range p.Services {
			names[i] = s.Service
		}
		return strings.Join(names, ",")
	}
	return p.Service
}
