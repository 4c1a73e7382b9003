package alibaba

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"time"

	"github.com/teslaops/tesla/internal/inventory"
	"github.com/teslaops/tesla/internal/telemetry"
)

// usageFields is machine_usage's column count: machine_id, time_stamp,
// cpu_util_percent, mem_util_percent, mem_gps, mkpi, net_in, net_out,
// disk_io_percent.
const usageFields = 9

// The usage columns that become host_metric values.
const (
	colCPU    = 2
	colMem    = 3
	colNetIn  = 6
	colNetOut = 7
	colDiskIO = 8
)

var usageColumnNames = [usageFields]string{"machine_id", "time_stamp", "cpu_util_percent", "mem_util_percent",
	"mem_gps", "mkpi", "net_in", "net_out", "disk_io_percent"}

// maxTraceSeconds bounds a time_stamp: the trace covers 8 days, and anything
// beyond a few years is corrupt (and would overflow a time.Duration).
const maxTraceSeconds = 10 * 365 * 24 * 3600

// unknownMachine tallies the rows of a machine with no host.
type unknownMachine struct {
	rows      int64
	firstLine int
}

// importUsage streams the usage file into host_metric in batches. Rows may come
// in any order: each batch is written as it fills.
func (im *importer) importUsage(ctx context.Context, hosts map[string]int64, start time.Time) error {
	f, err := openTrace("machine_usage", im.opt.UsagePath)
	if err != nil {
		return err
	}
	defer f.Close()

	lr := newLineReader(f)
	fields := make([]string, usageFields)
	batch := make([]telemetry.Sample, 0, batchSize)
	unknown := map[string]*unknownMachine{}
	var invalid [usageFields]int64
	lastSample := map[int64]time.Time{}
	nicBps := float64(im.opt.NICBps)

	for {
		line, tooLong, err := lr.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("error reading machine_usage file %s: %w", im.opt.UsagePath, err)
		}
		if !tooLong && isBlank(line) {
			continue
		}
		im.stats.Rows++
		bad := func(format string, args ...any) {
			im.stats.Skipped++
			im.warn("machine_usage line %d: "+format+", skipped", append([]any{lr.line}, args...)...)
		}
		if tooLong {
			bad("longer than %d bytes", maxLine)
			continue
		}
		if n := split(line, fields); n != usageFields {
			bad("expected %d fields, got %d", usageFields, n)
			continue
		}
		if fields[0] == "" {
			bad("empty machine_id")
			continue
		}
		ts, ok := parseTS(fields[1])
		if !ok {
			bad("time_stamp %q is not a number of seconds from the trace start", fields[1])
			continue
		}
		// Values: empty → NULL; not a number → bad line; outside 0..100 → NULL, counted.
		var vals [usageFields]*float64
		badCol := -1
		for _, c := range []int{colCPU, colMem, colNetIn, colNetOut, colDiskIO} {
			if fields[c] == "" {
				continue
			}
			v, err := strconv.ParseFloat(fields[c], 64)
			if err != nil {
				badCol = c
				break
			}
			if math.IsNaN(v) || v < 0 || v > 100 {
				invalid[c]++
				im.stats.InvalidValues++
				continue
			}
			vals[c] = &v
		}
		if badCol >= 0 {
			bad("%s %q is not a number", usageColumnNames[badCol], fields[badCol])
			continue
		}
		hostID, ok := hosts[fields[0]]
		if !ok {
			u := unknown[fields[0]]
			if u == nil {
				u = &unknownMachine{firstLine: lr.line}
				unknown[fields[0]] = u
			}
			u.rows++
			im.stats.Skipped++
			continue
		}
		at := start.Add(time.Duration(ts * float64(time.Second))).Truncate(time.Second)
		batch = append(batch, telemetry.Sample{
			HostID:    hostID,
			TS:        at,
			CPUPct:    pct(vals[colCPU]),
			MemPct:    pct(vals[colMem]),
			DiskIOPct: pct(vals[colDiskIO]),
			NetInBps:  bps(vals[colNetIn], nicBps),
			NetOutBps: bps(vals[colNetOut], nicBps),
		})
		if at.After(lastSample[hostID]) {
			lastSample[hostID] = at
		}
		if len(batch) == batchSize {
			if err := im.flush(ctx, batch); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	if err := im.flush(ctx, batch); err != nil {
		return err
	}

	for c, n := range invalid {
		if n == 0 {
			continue
		}
		note := ""
		if c == colDiskIO {
			note = " (the trace marks abnormal disk readings as -1 or 101)"
		}
		im.warn("%s: %d values outside 0..100 stored as NULL%s", usageColumnNames[c], n, note)
	}
	ids := make([]string, 0, len(unknown))
	for id := range unknown {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		u := unknown[id]
		im.warn("machine %s is not in machine_meta nor a host of cluster %s: %d rows skipped (first at line %d)",
			id, im.opt.Cluster, u.rows, u.firstLine)
	}
	return im.heartbeats(ctx, lastSample)
}

func isBlank(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != ' ' && s[i] != '\t' {
			return false
		}
	}
	return true
}

// parseTS reads a time_stamp (a double in the schema) as seconds from the trace
// start.
func parseTS(s string) (float64, bool) {
	ts, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(ts) || ts < 0 || ts > maxTraceSeconds {
		return 0, false
	}
	return ts, true
}

func pct(v *float64) *float32 {
	if v == nil {
		return nil
	}
	f := float32(*v)
	return &f
}

// bps reads a normalised net_in/net_out (0..100) as a percentage of the NIC.
func bps(v *float64, nicBps float64) *float64 {
	if v == nil {
		return nil
	}
	b := *v / 100 * nicBps
	return &b
}

// flush writes one batch.
func (im *importer) flush(ctx context.Context, batch []telemetry.Sample) error {
	if len(batch) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("error importing machine_usage: %w", err)
	}
	// The writer creates the daily partitions the batch needs.
	res, err := im.writer.Write(ctx, &telemetry.SliceSource{Samples: batch})
	if err != nil {
		return err
	}
	im.stats.Samples += int64(len(batch))
	im.stats.Accepted += res.Accepted
	im.stats.Duplicates += res.Duplicates
	return nil
}

// heartbeats moves each host's last heartbeat up to its latest sample, so the
// inventory shows when each imported machine last reported.
func (im *importer) heartbeats(ctx context.Context, last map[int64]time.Time) error {
	if len(last) == 0 {
		return nil
	}
	ids := make([]int64, 0, len(last))
	times := make([]time.Time, 0, len(last))
	for id, t := range last {
		ids = append(ids, id)
		times = append(times, t)
	}
	_, err := inventory.RecordHeartbeats(ctx, im.pool, ids, times)
	return err
}
