package sim

// The demo fleet's hardware history (docs/hardware.md): every host gets a
// lifecycle (racks are bought together, so a rack shares its in-service date,
// by generation: the newest racks a year or two old, the oldest seven or
// eight), and two years of hardware faults drawn at a rate that grows with the
// generation's age, so the Hardware page's failure rates by model and age have
// something true to show. Faults older than a month went through repair
// (resolved); recent serious ones wait in an OPEN ticket, the others without a
// ticket; hosts the plan put in REPAIRING are in an IN_REPAIR ticket, and
// DECOMMISSIONED ones were replaced. Everything is marked as the demo's:
// faults with source "sim", tickets with origin "sim", lifecycles with source
// "sim".

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/internal/hardware"
)

// simHardware is how each generation ages and fails.
type simHardware struct {
	ageYears      [2]float64 // the racks' age range
	warrantyYrs   int
	faultsPerYear float64 // per host
}

var simGenHardware = map[string]simHardware{
	"g6-96c":        {[2]float64{0.5, 2}, 5, 0.04},
	"g6-96c-bigmem": {[2]float64{0.5, 2}, 5, 0.06},
	"g5-64c":        {[2]float64{2.5, 4}, 3, 0.09},
	"g4-48c":        {[2]float64{4, 6}, 3, 0.16},
	"g3-32c":        {[2]float64{6, 8}, 3, 0.30},
}

// simFaultKinds are the faults drawn, with their weights.
var simFaultKinds = []struct {
	component, kind, severity, detail string
	weight                            float64
}{
	{"DISK", "SMART_REALLOCATED", "MEDIUM", "reallocated sector count rising", 25},
	{"DISK", "DISK_IO_ERROR", "HIGH", "I/O errors on a data disk", 15},
	{"DISK", "DISK_MISSING", "CRITICAL", "data disk no longer detected", 5},
	{"MEMORY", "EDAC_CE", "LOW", "correctable ECC errors over threshold", 15},
	{"MEMORY", "EDAC_UE", "CRITICAL", "uncorrectable ECC error", 6},
	{"NIC", "LINK_FLAP", "MEDIUM", "link flapping on the uplink", 8},
	{"PSU", "PSU_FAILED", "HIGH", "one power supply failed (redundant)", 8},
	{"CPU", "MCE", "HIGH", "machine check exception", 4},
	{"BOARD", "BMC_UNREACHABLE", "MEDIUM", "BMC not answering", 6},
	{"BOARD", "MACHINE_FAIL", "CRITICAL", "machine hung, power-cycled", 8},
}

// simHistoryYears is how far back the demo's fault history reaches.
const simHistoryYears = 2

// seedHardware writes the lifecycles, faults and tickets of the planned fleet
// (ids[i] is f.hosts[i]).
func seedHardware(ctx context.Context, tx pgx.Tx, f *fleet, cfg Config, ids []int64, st *Stats) error {
	r := rand.New(rand.NewPCG(cfg.Seed, 0x4a7d))
	gens := map[string]string{}
	for _, g := range hardwareGens {
		gens[g.model] = g.name
	}
	var totalWeight float64
	for _, k := range simFaultKinds {
		totalWeight += k.weight
	}
	pick := func() int {
		x := r.Float64() * totalWeight
		for i, k := range simFaultKinds {
			if x -= k.weight; x < 0 {
				return i
			}
		}
		return 0
	}
	now := f.now
	historyStart := now.AddDate(-simHistoryYears, 0, 0)
	rackService := map[string]time.Time{}
	type planned struct {
		host int
		kind int
		at   time.Time
		ref  string
	}
	var lcs []hardware.Lifecycle
	var faults []planned
	for i, h := range f.hosts {
		gen := gens[h.model]
		hw := simGenHardware[gen]
		in, ok := rackService[h.rack]
		if !ok {
			age := hw.ageYears[0] + r.Float64()*(hw.ageYears[1]-hw.ageYears[0])
			in = now.Add(-time.Duration(age * 365.25 * 24 * float64(time.Hour))).Truncate(24 * time.Hour)
			rackService[h.rack] = in
		}
		warranty := in.AddDate(hw.warrantyYrs, 0, 0)
		since := historyStart
		if in.After(since) {
			since = in
		}
		lc := hardware.Lifecycle{HostID: ids[i], InServiceAt: &in, TrackedSince: since, WarrantyEnd: &warranty, Generation: gen}
		until := now
		if h.state == stateDecommissioned && !h.lastHeartbeat.IsZero() {
			until = h.lastHeartbeat
		}
		// Faults as a Poisson process over the host's tracked time.
		n := 0
		for t := since.Add(expDuration(r, hw.faultsPerYear)); t.Before(until); t = t.Add(expDuration(r, hw.faultsPerYear)) {
			n++
			faults = append(faults, planned{host: i, kind: pick(), at: t, ref: fmt.Sprintf("sim:%s:%d", h.hostname, n)})
		}
		// A host under repair or retired failed for a reason.
		if (h.state == stateRepairing || h.state == stateDecommissioned) && (n == 0 || faults[len(faults)-1].at.Before(until.Add(-14*24*time.Hour))) {
			at := until.Add(-time.Duration(1+r.IntN(48)) * time.Hour)
			if !h.sickSince.IsZero() && h.sickSince.Before(until) {
				at = h.sickSince.Add(-time.Hour)
			}
			k := pick()
			for simFaultKinds[k].severity == "LOW" || simFaultKinds[k].severity == "MEDIUM" {
				k = pick()
			}
			faults = append(faults, planned{host: i, kind: k, at: at, ref: fmt.Sprintf("sim:%s:%d", h.hostname, n+1)})
		}
		lcs = append(lcs, lc)
	}
	if _, err := hardware.ImportLifecycles(ctx, tx, "sim", lcs); err != nil {
		return err
	}
	reports := make([]hardware.Report, len(faults))
	for i, p := range faults {
		k := simFaultKinds[p.kind]
		reports[i] = hardware.Report{HostID: ids[p.host], Component: k.component, Kind: k.kind, Severity: k.severity,
			DetectedAt: p.at, Source: hardware.SourceSim, SourceRef: p.ref, Detail: k.detail + " (simulated)"}
	}
	rec, err := hardware.RecordFaults(ctx, tx, reports, nil)
	if err != nil {
		return err
	}
	st.HardwareFaults = int64(len(rec.Faults))
	faultIDs := map[string]int64{}
	for _, fl := range rec.Faults {
		faultIDs[fl.SourceRef] = fl.ID
	}

	// Tickets, per host, oldest first.
	sort.SliceStable(faults, func(i, j int) bool {
		if faults[i].host != faults[j].host {
			return faults[i].host < faults[j].host
		}
		return faults[i].at.Before(faults[j].at)
	})
	var tickets []hardware.HistoryTicket
	step := func(at time.Time, state, actor, note string) hardware.HistoryStep {
		if at.After(now) {
			at = now
		}
		return hardware.HistoryStep{At: at, State: state, Actor: actor, Note: note}
	}
	recent := now.Add(-30 * 24 * time.Hour)
	for i, p := range faults {
		h := f.hosts[p.host]
		k := simFaultKinds[p.kind]
		id := faultIDs[p.ref]
		last := i == len(faults)-1 || faults[i+1].host != p.host
		t := hardware.HistoryTicket{HostID: ids[p.host], Origin: "sim", FaultIDs: []int64{id}, HostStateBefore: "ONLINE"}
		open := step(p.at.Add(time.Duration(30+r.IntN(240))*time.Minute), hardware.StateOpen, "sim", k.kind+" on "+h.hostname)
		switch {
		case last && h.state == stateRepairing:
			start := open.At.Add(time.Duration(1+r.IntN(6)) * time.Hour)
			t.Steps = []hardware.HistoryStep{open, step(start, hardware.StateInRepair, "sim", "vendor engineer dispatched")}
		case last && h.state == stateDecommissioned:
			start := open.At.Add(time.Hour)
			t.Steps = []hardware.HistoryStep{open, step(start, hardware.StateInRepair, "sim", "diagnosing"),
				step(start.Add(time.Hour), hardware.StateReplaced, "sim", "out of warranty, not worth repairing: host retired")}
		case p.at.Before(recent):
			start := open.At.Add(time.Duration(2+r.IntN(46)) * time.Hour)
			t.Steps = []hardware.HistoryStep{open, step(start, hardware.StateInRepair, "sim", "part ordered"),
				step(start.Add(time.Duration(4+r.IntN(68))*time.Hour), hardware.StateResolved, "sim", "part replaced, burn-in test passed")}
		case k.severity == "HIGH" || k.severity == "CRITICAL":
			t.Steps = []hardware.HistoryStep{open}
		default:
			continue // recent and minor: waits for someone to open a ticket
		}
		// One unfinished ticket per host: a later fault joins it, and the
		// ticket takes the later fault's course (a host's last fault decides
		// whether it is under repair or was replaced).
		if n := len(tickets); n > 0 && tickets[n-1].HostID == t.HostID && unfinished(tickets[n-1]) {
			prev := &tickets[n-1]
			prev.FaultIDs = append(prev.FaultIDs, id)
			if len(t.Steps) > len(prev.Steps) {
				first := prev.Steps[0]
				prev.Steps = t.Steps
				prev.Steps[0] = first
			}
			continue
		}
		tickets = append(tickets, t)
	}
	if err := hardware.LoadTickets(ctx, tx, tickets); err != nil {
		return err
	}
	st.RepairTickets = int64(len(tickets))
	return nil
}

func unfinished(t hardware.HistoryTicket) bool {
	s := t.Steps[len(t.Steps)-1].State
	return s == hardware.StateOpen || s == hardware.StateInRepair
}

// expDuration draws the wait until the next event of a Poisson process of
// perYear events a year.
func expDuration(r *rand.Rand, perYear float64) time.Duration {
	years := r.ExpFloat64() / perYear
	return time.Duration(math.Min(years, 100) * 365.25 * 24 * float64(time.Hour))
}
