package alibaba

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/internal/inventory"
)

// machine is what the meta file says about one machine: its latest event, and the
// hardware from the latest event that had any.
type machine struct {
	id         string
	ts         int64 // time_stamp of the latest event
	line       int   // its line, to break ties in file order
	rack       string
	status     string
	cores      int
	memSize    float64 // normalised, 100 = the largest machine
	hardwareTS int64
	hasHW      bool
}

// metaFields is machine_meta's column count: machine_id, time_stamp,
// failure_domain_1, failure_domain_2, cpu_num, mem_size, status.
const metaFields = 7

// readMeta reads the whole meta file into one entry per machine. The table is
// small (17,592 rows for the full trace), and the latest row per machine can only
// be known at the end.
func (im *importer) readMeta() (map[string]*machine, error) {
	f, err := openTrace("machine_meta", im.opt.MetaPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	machines := map[string]*machine{}
	lr := newLineReader(f)
	fields := make([]string, metaFields)
	for {
		line, tooLong, err := lr.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("error reading machine_meta file %s: %w", im.opt.MetaPath, err)
		}
		if tooLong {
			im.warn("machine_meta line %d: longer than %d bytes, skipped", lr.line, maxLine)
			continue
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		if n := split(line, fields); n != metaFields {
			im.warn("machine_meta line %d: expected %d fields, got %d, skipped", lr.line, metaFields, n)
			continue
		}
		id := fields[0]
		ts, err := strconv.ParseInt(fields[1], 10, 64)
		if id == "" || err != nil {
			im.warn("machine_meta line %d: missing machine_id or bad time_stamp %q, skipped", lr.line, fields[1])
			continue
		}
		m := machines[id]
		if m == nil {
			m = &machine{id: id, ts: math.MinInt64}
			machines[id] = m
		}
		if ts >= m.ts {
			m.ts, m.line, m.rack, m.status = ts, lr.line, fields[2], fields[6]
		}
		cores, cErr := strconv.Atoi(fields[4])
		mem, mErr := strconv.ParseFloat(fields[5], 64)
		if cErr == nil && mErr == nil && cores > 0 && mem > 0 && mem <= 100 && (!m.hasHW || ts >= m.hardwareTS) {
			m.cores, m.memSize, m.hardwareTS, m.hasHW = cores, mem, ts, true
		}
	}
	return machines, nil
}

// clusterStartMarker precedes the trace start in the description of a cluster
// the importer created; a later import without an explicit start reads it back,
// so importing the same file twice stores the same sample times.
const clusterStartMarker = "trace second 0 = "

// ensureCluster returns the cluster's id and the trace start recorded on it, if
// any. With a meta file it creates the cluster when missing; a usage-only import
// needs the cluster (and its hosts) from an earlier one.
func (im *importer) ensureCluster(ctx context.Context) (int64, time.Time, error) {
	var id int64
	var desc string
	if im.opt.MetaPath == "" {
		err := im.pool.QueryRow(ctx, `SELECT id, description FROM cluster WHERE name = $1`, im.opt.Cluster).Scan(&id, &desc)
		if errors.Is(err, pgx.ErrNoRows) {
			return 0, time.Time{}, fmt.Errorf("error loading cluster %q: it does not exist; import a machine_meta file first", im.opt.Cluster)
		}
		if err != nil {
			return 0, time.Time{}, fmt.Errorf("error loading cluster %q: %w", im.opt.Cluster, err)
		}
		return id, recordedStart(desc), nil
	}
	id, desc, err := inventory.EnsureCluster(ctx, im.pool, im.opt.Cluster, im.opt.Region, "BATCH",
		"Alibaba cluster-trace-v2018, imported by tesla")
	if err != nil {
		return 0, time.Time{}, err
	}
	return id, recordedStart(desc), nil
}

func recordedStart(desc string) time.Time {
	i := strings.Index(desc, clusterStartMarker)
	if i < 0 {
		return time.Time{}
	}
	rest := desc[i+len(clusterStartMarker):]
	if j := strings.IndexAny(rest, " ;,\n"); j >= 0 {
		rest = rest[:j]
	}
	t, err := time.Parse(time.RFC3339, rest)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

// chooseStart settles the wall time of trace second 0: the one asked for, else
// the one recorded by an earlier import, else one that puts the last sample at
// the current minute. The chosen start is recorded on the cluster when none is.
func (im *importer) chooseStart(ctx context.Context, clusterID int64, recorded time.Time) (time.Time, error) {
	start := im.opt.Start.UTC().Truncate(time.Second)
	switch {
	case !im.opt.Start.IsZero():
		if !recorded.IsZero() && !recorded.Equal(start) {
			im.warn("start %s differs from the %s recorded by an earlier import: samples land at other times than before",
				start.Format(time.RFC3339), recorded.Format(time.RFC3339))
		}
	case !recorded.IsZero():
		return recorded, nil
	default:
		maxTS, err := im.maxUsageTS()
		if err != nil {
			return time.Time{}, err
		}
		start = time.Now().UTC().Truncate(time.Minute).Add(-time.Duration(math.Ceil(maxTS)) * time.Second)
	}
	if recorded.IsZero() {
		if err := inventory.AppendClusterNote(ctx, im.pool, clusterID, clusterStartMarker+start.Format(time.RFC3339)); err != nil {
			return time.Time{}, fmt.Errorf("error recording trace start on cluster %q: %w", im.opt.Cluster, err)
		}
	}
	return start, nil
}

// maxUsageTS scans the usage file once for its largest valid time_stamp. It
// reads only the second field, so it costs a fraction of the import itself.
func (im *importer) maxUsageTS() (float64, error) {
	f, err := openTrace("machine_usage", im.opt.UsagePath)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	lr := newLineReader(f)
	fields := make([]string, 2)
	maxTS := 0.0
	for {
		line, tooLong, err := lr.next()
		if errors.Is(err, io.EOF) {
			return maxTS, nil
		}
		if err != nil {
			return 0, fmt.Errorf("error reading machine_usage file %s: %w", im.opt.UsagePath, err)
		}
		if tooLong || split(line, fields) != usageFields {
			continue
		}
		if ts, ok := parseTS(fields[1]); ok {
			maxTS = max(maxTS, ts)
		}
	}
}

// upsertHosts creates or updates one host per machine (see
// inventory.UpsertClusterHosts). A hostname taken by another cluster's host is
// left alone and reported.
func (im *importer) upsertHosts(ctx context.Context, clusterID int64, machines map[string]*machine) error {
	ids := make([]string, 0, len(machines))
	for id := range machines {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	hosts := make([]inventory.ImportedHost, len(ids))
	for i, id := range ids {
		m := machines[id]
		if !m.hasHW {
			im.warn("machine %s has no valid cpu_num/mem_size in machine_meta: assumed 96 cores and mem_size 100", id)
			m.cores, m.memSize = 96, 100
		}
		state, reason := hostState(m.status)
		hosts[i] = inventory.ImportedHost{Hostname: im.hostname(id), Rack: m.rack, Cores: int32(m.cores),
			MemoryBytes: max(1, int64(math.Round(m.memSize/100*float64(im.opt.FullMemoryBytes)))),
			DiskBytes:   im.opt.DiskBytes, NICBps: im.opt.NICBps, State: state, Reason: reason}
	}
	changed, taken, err := inventory.UpsertClusterHosts(ctx, im.pool, clusterID, hosts)
	if err != nil {
		return err
	}
	im.stats.Hosts = changed
	for _, h := range taken {
		im.warn("hostname %s belongs to a host of another cluster: machine not imported", h)
	}
	return nil
}

// hostState maps a trace status to a host state: only USING machines serve.
func hostState(status string) (state, reason string) {
	if status == "USING" {
		return "ONLINE", ""
	}
	if status == "" {
		status = "(empty)"
	}
	return "MAINTENANCE", "alibaba-v2018 trace status " + status
}

func (im *importer) hostname(machineID string) string { return im.opt.Cluster + "-" + machineID }

// loadHosts maps machine ids to the host ids of the cluster, including hosts
// from earlier imports that this meta file does not mention.
func (im *importer) loadHosts(ctx context.Context, clusterID int64) (map[string]int64, error) {
	rows, err := im.pool.Query(ctx, `SELECT id, hostname FROM host WHERE cluster_id = $1 AND hostname LIKE $2`,
		clusterID, likePrefix(im.opt.Cluster+"-")+"%")
	if err != nil {
		return nil, fmt.Errorf("error loading hosts of cluster %q: %w", im.opt.Cluster, err)
	}
	hosts := map[string]int64{}
	prefix := im.opt.Cluster + "-"
	var id int64
	var hostname string
	_, err = pgx.ForEachRow(rows, []any{&id, &hostname}, func() error {
		hosts[strings.TrimPrefix(hostname, prefix)] = id
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("error loading hosts of cluster %q: %w", im.opt.Cluster, err)
	}
	return hosts, nil
}

// likePrefix escapes LIKE's wildcards: cluster names may contain '_'.
func likePrefix(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
