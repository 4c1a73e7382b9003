// Package sim builds and runs the simulated demo fleet: a realistic organisation,
// stacks, clusters of the three kinds, a few thousand hosts with their components,
// and days of host telemetry with diurnal load, trends, sick hosts and anomalies.
// Each host's load follows its machine profile (profile.go), and the anomalies are
// injected events listed as ground truth by InjectedAnomalies (events.go), so the
// clustering and the anomaly scorer can be measured on the fleet.
//
// Everything is deterministic from Config.Seed and Config.Now, so screenshots,
// demos and tests see the same fleet every time, and the live Ticker continues the
// seeded history with the same load model (see load.go).
package sim

import (
	"cmp"
	"errors"
	"fmt"
	"time"

	"github.com/teslaops/tesla/internal/fault"
)

// Config sizes the demo fleet. Zero fields take the defaults below, so the zero
// Config is the standard demo.
type Config struct {
	// Seed drives all randomness; default 1. The Ticker must use the same seed to
	// continue the history smoothly.
	Seed uint64
	// Clusters is the number of clusters (default 12), split 4:5:3 over
	// STREAMING, BATCH and ONLINE.
	Clusters int
	// Hosts is the number of hosts over all clusters (default 3000), spread
	// unevenly: big batch clusters, smaller online ones.
	Hosts int
	// Largest, when set, is the exact size of the fleet's biggest cluster (the
	// first batch cluster); the other clusters share the rest as usual. A real
	// fleet has one giant or two (the fleet benchmark's 20,000 of 250,000), which
	// the even spread never produces.
	Largest int
	// People is the number of people including the four demo logins (default 60).
	People int
	// Days of metric history (default 7).
	Days int
	// Step between historical samples (default 5m); it must divide 24h.
	Step time.Duration
	// Now is the end of history. The zero value means the wall clock at the call,
	// resolved once by Seed before generation starts (generation itself never
	// reads the clock); any value is truncated to Step (UTC).
	//
	// Sample times are Now - k*Step for k = 0 … Days*24h/Step - 1. Every host
	// that is neither OFFLINE nor DECOMMISSIONED has all of them; an OFFLINE host
	// has those at or before its last_heartbeat; a DECOMMISSIONED host has none.
	Now time.Time
}

// Defaults of Config.
const (
	DefaultSeed     = 1
	DefaultClusters = 12
	DefaultHosts    = 3000
	DefaultPeople   = 60
	DefaultDays     = 7
	DefaultStep     = 5 * time.Minute
)

// Upper bounds of Config. They keep a typo (an extra zero) from filling the disk:
// the largest fleet allowed is already far beyond a demo.
const (
	MaxClusters = 1000
	MaxHosts    = 1_000_000
	MaxPeople   = 100_000
	MaxDays     = 90
	MinStep     = time.Minute
	MaxStep     = 24 * time.Hour
	MaxSamples  = 1_000_000_000
)

// withDefaults fills zero fields and resolves Now. It is the only place that reads
// the clock.
func (c Config) withDefaults() Config {
	c.Seed = cmp.Or(c.Seed, DefaultSeed)
	c.Clusters = cmp.Or(c.Clusters, DefaultClusters)
	c.Hosts = cmp.Or(c.Hosts, DefaultHosts)
	c.People = cmp.Or(c.People, DefaultPeople)
	c.Days = cmp.Or(c.Days, DefaultDays)
	c.Step = cmp.Or(c.Step, DefaultStep)
	if c.Now.IsZero() {
		c.Now = time.Now()
	}
	if c.Step > 0 {
		c.Now = c.Now.UTC().Truncate(c.Step)
	}
	return c
}

// stepsPerDay is how many samples a reporting host has per day.
func (c Config) stepsPerDay() int { return int(24 * time.Hour / c.Step) }

// samplesPerHost is how many history samples a host that reports throughout gets.
func (c Config) samplesPerHost() int { return c.Days * c.stepsPerDay() }

// validate reports every bad field at once, each as a fault.Field error naming
// the field, so a CLI or API caller can point at what to fix.
func (c Config) validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fault.Field(field, "invalid sim config: "+field+" "+format, args...))
	}
	if c.Clusters < 1 || c.Clusters > MaxClusters {
		bad("Clusters", "must be between 1 and %d, got %d", MaxClusters, c.Clusters)
	}
	if c.Hosts < 1 || c.Hosts > MaxHosts {
		bad("Hosts", "must be between 1 and %d, got %d", MaxHosts, c.Hosts)
	}
	if c.Largest < 0 || (c.Largest > 0 && c.Largest > c.Hosts-(c.Clusters-1)) {
		bad("Largest", "must be between 1 and Hosts - (Clusters - 1) = %d so every other cluster has a host, got %d",
			c.Hosts-(c.Clusters-1), c.Largest)
	}
	if c.Hosts < c.Clusters {
		bad("Hosts", "must be at least Clusters (%d) so every cluster has a host, got %d", c.Clusters, c.Hosts)
	}
	if n := len(demoPeople); c.People < n || c.People > MaxPeople {
		bad("People", "must be between %d (the demo logins) and %d, got %d", n, MaxPeople, c.People)
	}
	if c.Days < 1 || c.Days > MaxDays {
		bad("Days", "must be between 1 and %d, got %d", MaxDays, c.Days)
	}
	stepOK := c.Step >= MinStep && c.Step <= MaxStep && (24*time.Hour)%c.Step == 0
	if !stepOK {
		bad("Step", "must be between %s and %s and divide 24h evenly, got %s", MinStep, MaxStep, c.Step)
	}
	if stepOK && c.Hosts > 0 && c.Days > 0 {
		if n := int64(c.Hosts) * int64(c.samplesPerHost()); n > MaxSamples {
			bad("Days", "with Hosts %d and Step %s gives %d samples, more than %d", c.Hosts, c.Step, n, int64(MaxSamples))
		}
	}
	return errors.Join(errs...)
}

// Stats counts what Seed wrote, for its log line and the CLI.
type Stats struct {
	BUs, People, Stacks, StackVersions, Packages, Clusters, Hosts, Components, Samples int64
	// The workload: queues, jobs, runs, hourly usage rows and queue snapshots.
	Queues, Jobs, Runs, UsageHours, QueueSamples int64
	// The hardware history: faults and repair tickets (hardware_seed.go).
	HardwareFaults, RepairTickets int64
	// SpareHosts are the machines of the spare pool (spare_seed.go).
	SpareHosts int64
	// Elapsed is the whole seed; WorkloadElapsed the part spent on the
	// workload (planning, runs, lineage, usage, snapshots).
	Elapsed, WorkloadElapsed time.Duration
}

// ErrNotEmpty is returned by Seed when the database already has clusters: the
// demo fleet is only ever laid onto an empty inventory, never mixed with real or
// earlier data.
var ErrNotEmpty = fault.New(fault.Conflict, "the database already has clusters: the demo fleet seeds only an empty database")

// String summarises the stats in one line, for the `tesla seed` command.
func (s Stats) String() string {
	return fmt.Sprintf("%d BUs, %d people, %d stacks (%d versions, %d packages), %d clusters, %d hosts, %d components, %d samples, %d queues, %d jobs, %d runs, %d job-hours, %d queue snapshots, %d hardware faults, %d repair tickets in %s",
		s.BUs, s.People, s.Stacks, s.StackVersions, s.Packages, s.Clusters, s.Hosts, s.Components, s.Samples,
		s.Queues, s.Jobs, s.Runs, s.UsageHours, s.QueueSamples, s.HardwareFaults, s.RepairTickets, s.Elapsed.Round(time.Millisecond))
}
