package sim

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/inventory"
	"github.com/teslaops/tesla/internal/telemetry"
)

// seedLockID serialises concurrent seeds of one database (two replicas started
// with seeding on), so the emptiness check and the inserts cannot interleave.
const seedLockID = 7305_2003

// IsEmpty reports whether the inventory has no clusters, which is when Seed may
// run and when `tesla serve` may offer to seed a demo fleet.
func IsEmpty(ctx context.Context, dbtx db.DBTX) (bool, error) {
	var exists bool
	if err := dbtx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM cluster)`).Scan(&exists); err != nil {
		return false, fmt.Errorf("error checking for clusters: %w", err)
	}
	return !exists, nil
}

// Seed lays the demo fleet described by cfg onto an empty database and returns
// what it wrote. It refuses, with ErrNotEmpty, a database that has clusters.
//
// Inventory, metric history and the workload (queues, jobs, runs, usage,
// lineage: see workload.go) are written in one transaction: a failure at any
// point leaves the database as it was, apart from empty daily partitions of
// host_metric, which Seed creates first in their own statement so the partition
// lock is not held for the whole seed. The single transaction costs little: the
// default fleet (about 6M samples) seeds in about 7.5 s on a 2-core machine, ~11%
// slower than a raw COPY of the same rows precomputed (BenchmarkSeedDemo).
// Splitting the COPY over two sessions gained ~10% there, within run-to-run
// noise, because generator and server already share the two cores; it would
// have cost the all-or-nothing guarantee, so it is not done.
func Seed(ctx context.Context, pool *pgxpool.Pool, cfg Config, logger *slog.Logger) (Stats, error) {
	began := time.Now()
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return Stats{}, err
	}
	empty, err := IsEmpty(ctx, pool)
	if err != nil {
		return Stats{}, err
	}
	if !empty {
		return Stats{}, ErrNotEmpty
	}
	f := planFleet(cfg)
	logger.InfoContext(ctx, "seeding demo fleet",
		"seed", cfg.Seed, "clusters", len(f.clusters), "hosts", len(f.hosts), "people", len(f.people),
		"days", cfg.Days, "step", cfg.Step.String(), "now", cfg.Now)

	// Tomorrow's partition too, so a Ticker started right after does not have to
	// create one on its first minutes.
	if _, err := telemetry.EnsurePartitions(ctx, pool, f.start.Add(cfg.Step), f.now.Add(24*time.Hour)); err != nil {
		return Stats{}, err
	}

	var st Stats
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, seedLockID); err != nil {
			return fmt.Errorf("error taking seed lock: %w", err)
		}
		// Checked again under the lock: another seeder may have won the race.
		if empty, err := IsEmpty(ctx, tx); err != nil {
			return err
		} else if !empty {
			return ErrNotEmpty
		}
		ids, err := insertInventory(ctx, tx, f, &st)
		if err != nil {
			return err
		}
		logger.DebugContext(ctx, "demo inventory inserted", "hosts", st.Hosts, "components", st.Components,
			"elapsed_ms", time.Since(began).Milliseconds())
		if err := seedHardware(ctx, tx, f, cfg, ids, &st); err != nil {
			return err
		}
		if err := seedSparePool(ctx, tx, f, &st); err != nil {
			return err
		}
		copyStart := time.Now()
		n, err := copyHistory(ctx, tx, f, cfg, ids)
		if err != nil {
			return err
		}
		st.Samples = n
		secs := time.Since(copyStart).Seconds()
		logger.DebugContext(ctx, "demo history copied", "samples", n, "elapsed_ms", int64(secs*1000),
			"rows_per_second", int64(float64(n)/math.Max(secs, 1e-9)))
		wlStart := time.Now()
		if err := seedWorkload(ctx, tx, f, cfg, &st); err != nil {
			return err
		}
		st.WorkloadElapsed = time.Since(wlStart)
		logger.DebugContext(ctx, "demo workload seeded", "queues", st.Queues, "jobs", st.Jobs, "runs", st.Runs,
			"usage_hours", st.UsageHours, "queue_samples", st.QueueSamples, "elapsed_ms", st.WorkloadElapsed.Milliseconds())
		return nil
	})
	if err != nil {
		return Stats{}, err
	}
	st.Elapsed = time.Since(began)
	logger.InfoContext(ctx, "demo fleet seeded",
		"bus", st.BUs, "people", st.People, "clusters", st.Clusters, "hosts", st.Hosts,
		"components", st.Components, "samples", st.Samples, "jobs", st.Jobs, "runs", st.Runs,
		"elapsed_ms", st.Elapsed.Milliseconds(),
		"rows_per_second", int64(float64(st.Samples)/math.Max(st.Elapsed.Seconds(), 1e-9)))
	return st, nil
}

// reportingHosts turns the plan into the generator's view of each host that has
// any history: DECOMMISSIONED hosts have none, OFFLINE ones stop at their last
// heartbeat, and sick ones bend their load from the moment they fell sick.
func reportingHosts(f *fleet, ids []int64) []metricHost {
	out := make([]metricHost, 0, len(f.hosts))
	for i := range f.hosts {
		h := &f.hosts[i]
		if h.state == stateDecommissioned {
			continue
		}
		mh := metricHost{id: ids[i], load: &h.load, sickMode: modeFor(h.state), sickFrom: math.MaxInt64, until: f.now.Unix()}
		if h.state == stateOffline {
			mh.until = h.lastHeartbeat.Unix()
		}
		if !h.sickSince.IsZero() {
			mh.sickFrom = h.sickSince.Unix()
		}
		out = append(out, mh)
	}
	return out
}

// historyDays lists the UTC midnights of the days the history touches.
func historyDays(first, last int64) []int64 {
	var days []int64
	for d := floorDiv(first, 86400) * 86400; d <= last; d += 86400 {
		days = append(days, d)
	}
	return days
}

// copyHistory streams the metric history into host_metric in tx (telemetry.Load
// also marks its minutes for the watermark rollup).
func copyHistory(ctx context.Context, tx pgx.Tx, f *fleet, cfg Config, ids []int64) (int64, error) {
	step := int64(cfg.Step / time.Second)
	last := f.now.Unix()
	first := last - int64(cfg.samplesPerHost()-1)*step
	src := newMetricSource(reportingHosts(f, ids), historyDays(first, last), first, last, step)
	n, err := telemetry.Load(ctx, tx, src)
	if err != nil {
		return 0, fmt.Errorf("error copying host metric history: %w", err)
	}
	return n, nil
}

// insertInventory writes the organisation, stacks, clusters, hosts and components
// through inventory.LoadBulk and returns the host ids in plan order.
func insertInventory(ctx context.Context, tx pgx.Tx, f *fleet, st *Stats) ([]int64, error) {
	res, err := inventory.LoadBulk(ctx, tx, f.bulk())
	if err != nil {
		return nil, err
	}
	st.BUs, st.People, st.Stacks, st.StackVersions = res.BUs, res.People, res.Stacks, res.StackVersions
	st.Packages, st.Clusters, st.Hosts, st.Components = res.Packages, res.Clusters, int64(len(res.HostIDs)), res.Components
	return res.HostIDs, nil
}

// bulk describes the planned fleet for inventory.LoadBulk. Everything exists
// since the start of the history; a sick host's state and components changed when
// it fell sick.
func (f *fleet) bulk() inventory.Bulk {
	b := inventory.Bulk{CreatedAt: f.start, Simulated: true}
	for _, bu := range f.bus {
		b.BUs = append(b.BUs, inventory.BulkBU{Code: bu.code, Name: bu.name, Parent: bu.parent})
	}
	for _, p := range f.people {
		b.People = append(b.People, inventory.BulkPerson{Login: p.login, Name: p.name, Email: p.email, BU: p.buCode, Role: p.role})
	}
	for _, s := range stackSpecs {
		bs := inventory.BulkStack{Name: s.name, Description: s.description}
		for _, v := range s.versions {
			bv := inventory.BulkStackVersion{Version: v.version, Notes: v.notes,
				Released: f.now.Add(-time.Duration(v.ageDays) * 24 * time.Hour).Truncate(24 * time.Hour)}
			for _, svc := range serviceOrder {
				if pv, ok := v.packages[svc]; ok {
					bv.Packages = append(bv.Packages, inventory.BulkPackageRef{Service: svc, Version: pv})
				}
			}
			bs.Versions = append(bs.Versions, bv)
		}
		b.Stacks = append(b.Stacks, bs)
	}
	for _, p := range f.packages {
		b.Packages = append(b.Packages, inventory.BulkPackage{PackageInput: p.input, Operations: p.operations})
	}
	for _, c := range f.clusters {
		b.Clusters = append(b.Clusters, inventory.BulkCluster{Name: c.name, Region: c.region, Kind: c.kind, Status: c.status,
			Stack: c.stack, StackVersion: c.version, OwnerBU: c.ownerBU, Description: c.description})
	}
	for _, h := range f.hosts {
		// Sick hosts fell sick around their last heartbeat; the rest have been fine
		// all along.
		changed := f.start
		if h.state != stateOnline {
			changed = h.lastHeartbeat
		}
		b.Hosts = append(b.Hosts, inventory.BulkHost{Cluster: f.clusters[h.cluster].name, Hostname: h.hostname,
			Rack: h.rack, IP: h.ip, Cores: int32(h.cores), MemoryBytes: h.memBytes, DiskBytes: h.diskBytes, NICBps: h.nicBps,
			OS: h.os, Kernel: h.kernel, Model: h.model, State: h.state, Reason: h.reason,
			LastHeartbeat: h.lastHeartbeat, StateChangedAt: changed})
	}
	for _, c := range f.components {
		h := &f.hosts[c.host]
		updated := f.start
		if !h.sickSince.IsZero() {
			updated = h.sickSince
		}
		b.Components = append(b.Components, inventory.BulkComponent{Host: c.host, Service: c.service, Component: c.component,
			Desired: c.desired, Actual: c.actual, Version: c.version, UpdatedAt: updated})
	}
	return b
}
