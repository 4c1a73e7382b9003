// Package alibaba imports the Alibaba cluster-trace-v2018 machine tables into
// Tesla: machine_meta.csv becomes a BATCH cluster with one host per machine, and
// machine_usage.csv becomes host_metric samples, so the portal's analytics run on
// a real production fleet and not only on the simulated one. The v2017
// batch_task table becomes jobs and runs (ImportTasks, tasks2017.go).
//
// The trace is anonymised and normalised, so some mapping is a choice rather than
// a translation; every choice is a named constant or an Options field below:
//
//   - hostname = "<cluster>-<machine_id>" (e.g. alibaba-v2018-m_1932): hostnames are
//     globally unique, and the prefix lets the same trace be imported into two
//     clusters (say, with different start times) without collisions;
//   - rack = failure_domain_1 verbatim (the trace's enumerated failure domain, the
//     closest thing to a rack); failure_domain_2 is not kept;
//   - cores = cpu_num; memory = mem_size/100 × FullMemoryBytes (mem_size is
//     normalised so that 100 is the largest machine); disk and NIC speed are
//     defaults because the trace has neither;
//   - the latest meta row per machine (by time_stamp) gives its state: USING →
//     ONLINE, anything else (IMPORT_INSTALLING …) → MAINTENANCE with the trace
//     status in state_reason;
//   - usage time_stamp is seconds from the trace start: sample time = Start + ts,
//     truncated to the second (host_metric's resolution);
//   - net_in / net_out are normalised 0..100: read as a percentage of the NIC
//     speed, so bits/s = value/100 × NICBps;
//   - percentages outside 0..100 (the trace marks abnormal disk readings as -1 or
//     101) are stored as NULL and counted; the rest of the row is kept;
//   - rows whose machine is not in the meta file (nor already a host of the
//     cluster) are skipped with one warning per machine, because inventing
//     hardware for them would distort the cluster's capacity and watermark;
//   - mem_gps and mkpi have no host_metric column and are ignored.
package alibaba

import (
	"cmp"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/teslaops/tesla/internal/telemetry"
)

// Defaults for what the trace does not say.
const (
	// DefaultCluster is the cluster the trace is imported into.
	DefaultCluster = "alibaba-v2018"
	// DefaultRegion is Alibaba's home region (Hangzhou) in the simulated fleet's
	// region names; the trace does not say where its cluster runs.
	DefaultRegion = "cn-east"
	// DefaultFullMemoryBytes is the memory of a machine whose normalised mem_size
	// is 100: 512 GiB, typical of the 96-core servers of the trace's time (2017-18).
	DefaultFullMemoryBytes int64 = 512 << 30
	// DefaultDiskBytes and DefaultNICBps match the oldest hardware generation of
	// the simulated fleet, contemporary with the trace: 12 TB of disk, 10 Gbit/s.
	DefaultDiskBytes int64 = 12e12
	DefaultNICBps    int64 = 10e9
)

// batchSize is how many samples go to the database per write (one transaction
// each): big enough that COPY dominates, small enough to bound memory and the
// work lost to an interruption.
const batchSize = 20_000

// maxWarnings bounds Stats.Warnings: a file with a million bad lines must not
// produce a million-line report.
const maxWarnings = 100

// Options say what to import and how to map it.
type Options struct {
	// MetaPath is machine_meta.csv (optionally .gz). Empty skips the inventory
	// step: usage rows are then matched against the cluster's existing hosts.
	MetaPath string
	// UsagePath is machine_usage.csv (optionally .gz). Empty imports the
	// inventory only.
	UsagePath string
	// Cluster to import into; default DefaultCluster. Created (kind BATCH, no
	// stack) when missing.
	Cluster string
	// Region of a newly created cluster; default DefaultRegion.
	Region string
	// Start is the wall time of trace second 0. When zero, the start recorded on
	// the cluster by an earlier import is reused (so re-imports are idempotent);
	// failing that, it is chosen so the last usage sample lands at the current
	// minute, which makes the trace look live on the dashboards.
	Start time.Time
	// FullMemoryBytes is the memory of a machine with mem_size 100; default
	// DefaultFullMemoryBytes.
	FullMemoryBytes int64
	// DiskBytes and NICBps are every host's disk size and NIC speed; defaults
	// DefaultDiskBytes and DefaultNICBps. NICBps also scales net_in/net_out.
	DiskBytes int64
	NICBps    int64
}

// Stats report what an import did.
type Stats struct {
	Machines      int64     // distinct machines in the meta file
	Hosts         int64     // hosts created or changed (0 when re-importing the same meta)
	Rows          int64     // usage lines read (blank lines excluded)
	Samples       int64     // samples handed to the writer
	Accepted      int64     // samples newly stored
	Duplicates    int64     // samples already stored: same host and second
	Skipped       int64     // usage rows not turned into samples (bad line, unknown machine)
	InvalidValues int64     // values outside 0..100 stored as NULL
	Start         time.Time // the wall time used for trace second 0
	Elapsed       time.Duration
	// Warnings describe skipped lines (with line numbers), unknown machines and
	// invalid values; at most maxWarnings entries, the last one saying how many
	// more there were.
	Warnings []string
}

// RowsPerSecond is the usage import throughput.
func (s Stats) RowsPerSecond() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Rows) / s.Elapsed.Seconds()
}

// Import loads the trace files into the inventory and host_metric. Both files are
// opened before anything is written, so a wrong path fails without side effects.
// Bad lines are skipped and reported in Stats.Warnings, never fatal; database
// errors and unreadable files are.
func Import(ctx context.Context, pool *pgxpool.Pool, w *telemetry.Writer, logger *slog.Logger, opt Options) (Stats, error) {
	began := time.Now()
	opt.Cluster = cmp.Or(opt.Cluster, DefaultCluster)
	opt.Region = cmp.Or(opt.Region, DefaultRegion)
	opt.FullMemoryBytes = cmp.Or(opt.FullMemoryBytes, DefaultFullMemoryBytes)
	opt.DiskBytes = cmp.Or(opt.DiskBytes, DefaultDiskBytes)
	opt.NICBps = cmp.Or(opt.NICBps, DefaultNICBps)
	if opt.MetaPath == "" && opt.UsagePath == "" {
		return Stats{}, errors.New("error importing alibaba trace: neither a machine_meta nor a machine_usage file given")
	}
	if opt.FullMemoryBytes < 0 || opt.DiskBytes < 0 || opt.NICBps < 0 {
		return Stats{}, errors.New("error importing alibaba trace: hardware sizes must not be negative")
	}
	for _, f := range []struct{ what, path string }{{"machine_meta", opt.MetaPath}, {"machine_usage", opt.UsagePath}} {
		if f.path == "" {
			continue
		}
		if err := checkReadable(f.what, f.path); err != nil {
			return Stats{}, err
		}
	}

	im := &importer{pool: pool, writer: w, logger: logger, opt: opt}
	var machines map[string]*machine
	if opt.MetaPath != "" {
		var err error
		if machines, err = im.readMeta(); err != nil {
			return im.stats, err
		}
		im.stats.Machines = int64(len(machines))
	}
	clusterID, recorded, err := im.ensureCluster(ctx)
	if err != nil {
		return im.stats, err
	}
	if len(machines) > 0 {
		if err := im.upsertHosts(ctx, clusterID, machines); err != nil {
			return im.stats, err
		}
	}
	if opt.UsagePath != "" {
		start, err := im.chooseStart(ctx, clusterID, recorded)
		if err != nil {
			return im.stats, err
		}
		im.stats.Start = start
		hosts, err := im.loadHosts(ctx, clusterID)
		if err != nil {
			return im.stats, err
		}
		if err := im.importUsage(ctx, hosts, start); err != nil {
			return im.stats, err
		}
	}
	im.stats.Elapsed = time.Since(began)
	im.finishWarnings()
	logger.InfoContext(ctx, "alibaba trace imported", "cluster", opt.Cluster, "machines", im.stats.Machines,
		"hosts_changed", im.stats.Hosts, "rows", im.stats.Rows, "accepted", im.stats.Accepted,
		"duplicates", im.stats.Duplicates, "skipped", im.stats.Skipped, "invalid_values", im.stats.InvalidValues,
		"warnings", len(im.stats.Warnings), "start", im.stats.Start, "elapsed", im.stats.Elapsed)
	return im.stats, nil
}

// importer carries one import's state.
type importer struct {
	pool       *pgxpool.Pool
	writer     *telemetry.Writer
	logger     *slog.Logger
	opt        Options
	stats      Stats
	suppressed int // warnings beyond maxWarnings
}

func (im *importer) warn(format string, args ...any) {
	if len(im.stats.Warnings) >= maxWarnings-1 {
		im.suppressed++
		return
	}
	im.stats.Warnings = append(im.stats.Warnings, fmt.Sprintf(format, args...))
}

func (im *importer) finishWarnings() {
	if im.suppressed > 0 {
		im.stats.Warnings = append(im.stats.Warnings, fmt.Sprintf("… and %d more warnings", im.suppressed))
		im.suppressed = 0
	}
}

// checkReadable turns a wrong path into a message that names the file and what it
// was supposed to be, before the import touches the database.
func checkReadable(what, path string) error {
	f, err := openTrace(what, path)
	if err != nil {
		return err
	}
	return f.Close()
}

// openTrace opens a trace file, decompressing .gz (the form the trace is
// published in) on the fly.
func openTrace(what, path string) (io.ReadCloser, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("error opening %s file: %w", what, err)
	}
	if fi.IsDir() {
		return nil, fmt.Errorf("error opening %s file: %s is a directory", what, path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("error opening %s file: %w", what, err)
	}
	if !strings.HasSuffix(path, ".gz") {
		return f, nil
	}
	gz, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("error opening %s file %s: %w", what, path, err)
	}
	return gzipFile{gz, f}, nil
}

type gzipFile struct {
	*gzip.Reader
	f *os.File
}

func (g gzipFile) Close() error { return errors.Join(g.Reader.Close(), g.f.Close()) }
