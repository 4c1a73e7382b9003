package alibaba

// The Alibaba cluster-trace-v2017 server_event table as hosts, lifecycles and
// hardware faults (docs/hardware.md, "Alibaba v2017 server events"). Each line
// is timestamp (seconds from the trace start), machine id, event type (add,
// remove, softerror), event detail, cpus, normalised memory, normalised disk;
// no header. The quirks of the real file, and what is done with them:
//
//   - every machine is "added" at second 0: it was there when the trace began,
//     not installed then, so its in-service date stays unknown (its age is
//     unknown); an add later in the trace is a real entry into service;
//   - a softerror carries 0 cpus, memory and disk: only add lines describe
//     hardware;
//   - the same condition is re-reported every ~2 hours while it lasts (machine
//     930's machine_fail twelve times in the day): reports of one machine and
//     detail no more than EventRepeatGap apart are one fault, whose detail
//     says how often and until when it was seen;
//   - details are monitoring checks, not all hardware: machine_fail (the
//     machine failed: BOARD, HIGH) and nc_diskless (the node controller sees no
//     disk: DISK, HIGH) become faults; agent_check, daemon_check (software
//     checks) and disk_full (capacity) are counted and left out, since a
//     hardware failure rate must not count them;
//   - the trace watched its machines for one day only: each host's lifecycle
//     is tracked from its add to the trace's end (at least 24 h), so the rates
//     count that day's exposure, not the years since 2017.
//
// Hosts are "<cluster>-<machine id>" in cluster alibaba-v2017 (created, BATCH,
// when missing), as the v2018 importer names its hosts. Everything is keyed so
// that importing the file again changes nothing.

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/hardware"
	"github.com/teslaops/tesla/internal/inventory"
)

// Defaults of the v2017 server event import.
const (
	// DefaultEventCluster is the cluster the v2017 machines are imported into.
	DefaultEventCluster = "alibaba-v2017"
	// EventRepeatGap is the longest gap between two reports of one machine's
	// condition that still makes them one fault.
	EventRepeatGap = 3 * time.Hour
	// eventTraceLength is the least span the trace is taken to cover.
	eventTraceLength = 24 * time.Hour
	// eventCores is assumed for an add line without a valid cpu count.
	eventCores = 64
)

// eventFaults maps the softerror details that are hardware faults.
var eventFaults = map[string]struct{ component, kind, severity string }{
	"machine_fail": {"BOARD", "MACHINE_FAIL", "HIGH"},
	"nc_diskless":  {"DISK", "NO_DISK", "HIGH"},
}

// EventOptions say what to import and how.
type EventOptions struct {
	// Path is server_event.csv (optionally .gz).
	Path string
	// Cluster to import into; default DefaultEventCluster.
	Cluster string
	Region  string
	// Start is the wall time of trace second 0; default DefaultTaskStart (the
	// same day as the batch tasks).
	Start time.Time
	// FullMemoryBytes and DiskBytes are a machine's memory and disk at
	// normalised 1; defaults DefaultFullMemoryBytes and DefaultDiskBytes.
	FullMemoryBytes int64
	DiskBytes       int64
}

// EventStats report what an event import did.
type EventStats struct {
	Lines     int64 // lines read, blank ones excluded
	Skipped   int64 // bad lines (each named in Warnings)
	Machines  int64 // machines added
	Hosts     int64 // hosts created or changed (0 on a re-import)
	Lifecycle int64 // lifecycles created or changed (0 on a re-import)
	// Reports are softerror lines that are hardware faults; Faults the faults
	// they make once repeats are merged; Accepted those newly stored and
	// Duplicates those stored by an earlier import.
	Reports    int64
	Faults     int64
	Accepted   int64
	Duplicates int64
	// NotHardware counts the softerror lines left out, by detail.
	NotHardware map[string]int64
	Start       time.Time
	Elapsed     time.Duration
	Warnings    []string
}

type eventMachine struct {
	addedAt   int64
	removedAt int64 // -1: never
	cores     int
	mem, disk float64
}

type eventReport struct {
	machine, detail string
	ts              int64
}

// ImportEvents loads server_event.csv: the machines as hosts of the cluster
// with their lifecycles, and the hardware softerrors as faults. Bad lines are
// skipped and named in Warnings; a fault of a machine never added is skipped
// with a warning. Idempotent.
func ImportEvents(ctx context.Context, pool *pgxpool.Pool, logger *slog.Logger, opt EventOptions) (EventStats, error) {
	began := time.Now()
	opt.Cluster = cmp.Or(opt.Cluster, DefaultEventCluster)
	opt.Region = cmp.Or(opt.Region, DefaultRegion)
	if opt.Start.IsZero() {
		opt.Start = DefaultTaskStart
	}
	opt.Start = opt.Start.UTC()
	opt.FullMemoryBytes = cmp.Or(opt.FullMemoryBytes, DefaultFullMemoryBytes)
	opt.DiskBytes = cmp.Or(opt.DiskBytes, DefaultDiskBytes)
	f, err := openTrace("server_event", opt.Path)
	if err != nil {
		return EventStats{}, err
	}
	defer f.Close()
	st := EventStats{NotHardware: map[string]int64{}, Start: opt.Start}
	warn := func(format string, args ...any) {
		if len(st.Warnings) < maxWarnings {
			st.Warnings = append(st.Warnings, fmt.Sprintf(format, args...))
		}
	}
	machines, reports, lastTS, err := readEvents(f, &st, warn)
	if err != nil {
		return st, err
	}
	end := opt.Start.Add(max(eventTraceLength, time.Duration(lastTS)*time.Second))

	ids := make([]string, 0, len(machines))
	for id := range machines {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return machineLess(ids[i], ids[j]) })
	hostname := func(id string) string { return opt.Cluster + "-" + id }

	faults := mergeReports(reports, opt.Start)
	st.Faults = int64(len(faults))
	err = db.InTx(ctx, pool, func(tx pgx.Tx) error {
		clusterID, _, err := inventory.EnsureCluster(ctx, tx, opt.Cluster, opt.Region, "BATCH",
			"Alibaba cluster-trace-v2017 machines, imported by tesla")
		if err != nil {
			return err
		}
		hosts := make([]inventory.ImportedHost, len(ids))
		for i, id := range ids {
			m := machines[id]
			state, reason := "ONLINE", ""
			if m.removedAt >= 0 {
				state, reason = "DECOMMISSIONED", "alibaba-v2017 trace: removed"
			}
			hosts[i] = inventory.ImportedHost{Hostname: hostname(id), Cores: int32(m.cores),
				MemoryBytes: max(1, int64(math.Round(m.mem*float64(opt.FullMemoryBytes)))),
				DiskBytes:   max(0, int64(math.Round(m.disk*float64(opt.DiskBytes)))), NICBps: DefaultNICBps, State: state, Reason: reason}
		}
		changed, taken, err := inventory.UpsertClusterHosts(ctx, tx, clusterID, hosts)
		if err != nil {
			return err
		}
		st.Hosts = changed
		for _, h := range taken {
			warn("hostname %s belongs to a host of another cluster: machine not imported", h)
		}
		hostIDs, err := clusterHostIDs(ctx, tx, clusterID, opt.Cluster+"-")
		if err != nil {
			return err
		}
		var lcs []hardware.Lifecycle
		for _, id := range ids {
			hid, ok := hostIDs[id]
			if !ok {
				continue
			}
			m := machines[id]
			l := hardware.Lifecycle{HostID: hid, TrackedSince: opt.Start.Add(time.Duration(m.addedAt) * time.Second),
				Generation: fmt.Sprintf("%d-core", m.cores)}
			if m.addedAt > 0 {
				t := l.TrackedSince
				l.InServiceAt = &t
			}
			until := end
			if m.removedAt >= 0 {
				until = opt.Start.Add(time.Duration(m.removedAt) * time.Second)
			}
			l.TrackedUntil = &until
			lcs = append(lcs, l)
		}
		if st.Lifecycle, err = hardware.ImportLifecycles(ctx, tx, "import", lcs); err != nil {
			return err
		}
		var rs []hardware.Report
		for _, f := range faults {
			hid, ok := hostIDs[f.machine]
			if !ok {
				warn("machine %s has %s events but was never added: its fault is not imported", f.machine, f.detail)
				continue
			}
			f.report.HostID = hid
			rs = append(rs, f.report)
		}
		rec, err := hardware.RecordFaults(ctx, tx, rs, nil)
		if err != nil {
			return err
		}
		st.Accepted, st.Duplicates = int64(len(rec.Faults)), int64(rec.Duplicates)
		return nil
	})
	if err != nil {
		return st, fmt.Errorf("error importing alibaba v2017 server events: %w", err)
	}
	st.Elapsed = time.Since(began)
	logger.InfoContext(ctx, "alibaba v2017 server events imported", "lines", st.Lines, "machines", st.Machines,
		"hosts_changed", st.Hosts, "fault_reports", st.Reports, "faults", st.Faults, "accepted", st.Accepted,
		"duplicates", st.Duplicates, "skipped", st.Skipped, "elapsed", st.Elapsed)
	return st, nil
}

// readEvents parses the file: machines by id, hardware reports in file order,
// and the last timestamp seen.
func readEvents(r io.Reader, st *EventStats, warn func(string, ...any)) (map[string]*eventMachine, []eventReport, int64, error) {
	lr := newLineReader(r)
	machines := map[string]*eventMachine{}
	var reports []eventReport
	var lastTS int64
	fields := make([]string, 7)
	bad := func(format string, args ...any) {
		st.Skipped++
		warn("line %d: "+format, append([]any{lr.line}, args...)...)
	}
	for {
		line, tooLong, err := lr.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, 0, fmt.Errorf("error reading server_event file at line %d: %w", lr.line+1, err)
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		st.Lines++
		if tooLong {
			bad("line longer than %d bytes", maxLine)
			continue
		}
		if n := split(line, fields); n != len(fields) {
			bad("%d fields, expected %d (timestamp, machine id, event type, detail, cpus, memory, disk)", n, len(fields))
			continue
		}
		ts, err := strconv.ParseInt(strings.TrimSpace(fields[0]), 10, 64)
		if err != nil || ts < 0 {
			bad("timestamp %q is not a non-negative whole number of seconds", fields[0])
			continue
		}
		machine := strings.TrimSpace(fields[1])
		if _, err := strconv.ParseInt(machine, 10, 64); err != nil {
			bad("machine id %q is not a number", machine)
			continue
		}
		lastTS = max(lastTS, ts)
		switch typ := strings.TrimSpace(fields[2]); typ {
		case "add":
			cores, err := strconv.Atoi(strings.TrimSpace(fields[4]))
			mem, err2 := strconv.ParseFloat(strings.TrimSpace(fields[5]), 64)
			disk, err3 := strconv.ParseFloat(strings.TrimSpace(fields[6]), 64)
			if err != nil || err2 != nil || err3 != nil || cores <= 0 || mem <= 0 || mem > 1 || disk < 0 || disk > 1 {
				bad("add of machine %s: cpus, memory and disk must be a positive count and fractions in (0, 1]; got %q, %q, %q",
					machine, fields[4], fields[5], fields[6])
				continue
			}
			if m, ok := machines[machine]; ok {
				m.cores, m.mem, m.disk = cores, mem, disk // a re-add updates the hardware, keeps the first entry
				continue
			}
			st.Machines++
			machines[machine] = &eventMachine{addedAt: ts, removedAt: -1, cores: cores, mem: mem, disk: disk}
		case "remove":
			if m, ok := machines[machine]; ok {
				m.removedAt = ts
			} else {
				bad("remove of machine %s, which was never added", machine)
			}
		case "softerror":
			detail := strings.TrimSpace(fields[3])
			if _, ok := eventFaults[detail]; !ok {
				st.NotHardware[cmp.Or(detail, "(empty)")]++
				continue
			}
			st.Reports++
			reports = append(reports, eventReport{machine: machine, detail: detail, ts: ts})
		default:
			bad("unknown event type %q (add, remove or softerror)", typ)
		}
	}
	return machines, reports, lastTS, nil
}

// mergedFault is one fault made of a machine's repeated reports.
type mergedFault struct {
	machine, detail string
	report          hardware.Report
}

// mergeReports turns reports into faults: the reports of one machine and detail
// no more than EventRepeatGap apart are one fault, detected at the first.
func mergeReports(reports []eventReport, start time.Time) []*mergedFault {
	sort.SliceStable(reports, func(i, j int) bool {
		a, b := reports[i], reports[j]
		if a.machine != b.machine {
			return machineLess(a.machine, b.machine)
		}
		if a.detail != b.detail {
			return a.detail < b.detail
		}
		return a.ts < b.ts
	})
	gap := int64(EventRepeatGap / time.Second)
	var out []*mergedFault
	for i := 0; i < len(reports); {
		j := i + 1
		for j < len(reports) && reports[j].machine == reports[i].machine && reports[j].detail == reports[i].detail &&
			reports[j].ts-reports[j-1].ts <= gap {
			j++
		}
		first, last := reports[i], reports[j-1]
		m := eventFaults[first.detail]
		detail := fmt.Sprintf("alibaba-v2017 softerror %s at trace second %d", first.detail, first.ts)
		if n := j - i; n > 1 {
			detail = fmt.Sprintf("alibaba-v2017 softerror %s, reported %d times from trace second %d to %d", first.detail, n, first.ts, last.ts)
		}
		out = append(out, &mergedFault{machine: first.machine, detail: first.detail, report: hardware.Report{
			Component: m.component, Kind: m.kind, Severity: m.severity, DetectedAt: start.Add(time.Duration(first.ts) * time.Second),
			Source: hardware.SourceImport, SourceRef: fmt.Sprintf("alibaba-v2017:server_event:%s:%s:%d", first.machine, first.detail, first.ts),
			Detail: detail}})
		i = j
	}
	return out
}

// machineLess orders numeric machine ids as numbers.
func machineLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// clusterHostIDs maps machine ids to the host ids of a cluster's hosts named
// prefix+id.
func clusterHostIDs(ctx context.Context, tx pgx.Tx, clusterID int64, prefix string) (map[string]int64, error) {
	rows, err := tx.Query(ctx, `SELECT id, hostname FROM host WHERE cluster_id = $1 AND hostname LIKE $2`, clusterID, likePrefix(prefix)+"%")
	if err != nil {
		return nil, fmt.Errorf("error loading hosts: %w", err)
	}
	out := map[string]int64{}
	var id int64
	var hostname string
	_, err = pgx.ForEachRow(rows, []any{&id, &hostname}, func() error {
		out[strings.TrimPrefix(hostname, prefix)] = id
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("error loading hosts: %w", err)
	}
	return out, nil
}
