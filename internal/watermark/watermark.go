// Package watermark computes and serves cluster water levels: how much of each
// resource every cluster (and the platform as a whole) uses against its capacity,
// minute by minute, hour by hour and day by day, and when the daily peak is
// expected to cross the cluster kind's threshold.
//
// Levels are precomputed: the rollup (Rollup.RunOnce, scheduled every minute by
// jobs) reads only the minutes of raw samples marked in rollup_dirty, writes
// watermark_1m, re-derives the affected rows of watermark_1h and watermark_1d and
// keeps watermark_latest; the forecaster (Forecaster.RunOnce, hourly) fits the
// trend of daily peaks into watermark_forecast. Service answers dashboard queries
// from those tables only, so no request ever scans host_metric.
//
// How a level is defined, per cluster and minute:
//   - A host's samples within the minute are averaged first (raw data arrives every
//     ~10 s), so a host that sent six samples weighs the same as one that sent one.
//   - The hosts of a level are those that reported the dimension in that minute.
//     Capacity counts the same hosts: a sample is the only evidence that a host was
//     in service at that minute (host.state is today's state, not history), so a
//     late correction gives the same answer as the original rollup, and an
//     ingestion gap lowers capacity and use together instead of showing a falsely
//     idle cluster. Hosts is reported with every level so screens can show coverage.
//   - A host belongs to its current cluster (host.cluster_id).
//
// Dimensions:
//   - CPU: used = Σ cpu% / 100 × cores, capacity = Σ cores (unit: cores).
//   - MEMORY: used = Σ mem% / 100 × memory_bytes, capacity = Σ memory_bytes (bytes).
//   - DISK_IO: used = Σ disk busy %, capacity = 100 × hosts (percent).
//   - NET_IN, NET_OUT: used = Σ bits/s, capacity = Σ nic_bps (bits/s); a host with
//     an unknown NIC speed (0) adds use but no capacity and has no utilisation.
//   - CONTAINERS: used = Σ containers, capacity = Σ max(cores / 2, 1) per host: the
//     platform's standard container is 2 vCPU, so a host holds cores/2 of them.
//   - QUEUE_SLOTS: from queue snapshots (queue_usage, written by internal/workload,
//     which marks their minutes dirty): used = Σ used vcores of the cluster's root
//     queues (the mean of the minute's snapshots), capacity = the cluster's cores
//     that minute (the CPU capacity: YARN offers a vcore per core; 0 when no host
//     reported), p95 and max = the other queues' used vcores over their maximum
//     share of those cores, hosts = the queues that reported. A cluster without
//     queue snapshots has no QUEUE_SLOTS level.
package watermark

import (
	"fmt"
	"slices"

	"github.com/teslaops/tesla/internal/fault"
)

// Dimension is a resource whose water level is tracked.
type Dimension string

// The dimensions, matching the GraphQL enum WatermarkDimension.
const (
	CPU        Dimension = "CPU"
	Memory     Dimension = "MEMORY"
	DiskIO     Dimension = "DISK_IO"
	NetIn      Dimension = "NET_IN"
	NetOut     Dimension = "NET_OUT"
	Containers Dimension = "CONTAINERS"
	QueueSlots Dimension = "QUEUE_SLOTS"
)

// AllDimensions lists every dimension in display order.
func AllDimensions() []Dimension {
	return []Dimension{CPU, Memory, DiskIO, NetIn, NetOut, Containers, QueueSlots}
}

// Valid reports whether d is a known dimension.
func (d Dimension) Valid() bool { return slices.Contains(AllDimensions(), d) }

// Unit is the unit of used and capacity in d.
func (d Dimension) Unit() string {
	switch d {
	case CPU:
		return "cores"
	case Memory:
		return "bytes"
	case DiskIO:
		return "percent"
	case NetIn, NetOut:
		return "bits/s"
	case Containers:
		return "containers"
	case QueueSlots:
		return "slots"
	}
	return ""
}

// PlatformID is the pseudo cluster id under which the whole platform's levels are
// stored and queried: the sum over every cluster's hosts.
const PlatformID int64 = 0

// PlatformKind is the watermark_threshold row that holds the platform's threshold.
const PlatformKind = "PLATFORM"

// The channels the rollup notifies after each run that changed levels. Payloads
// are small: the id of a changed cluster, or the time of the run; listeners load
// what they show themselves.
const (
	// ChannelWatermark carries the id of each cluster whose levels changed.
	ChannelWatermark = "tesla_watermark"
	// ChannelPulse carries the RFC 3339 time of each rollup run that changed levels.
	ChannelPulse = "tesla_pulse"
)

// The statuses of a level against its threshold.
const (
	StatusOK       = "OK"
	StatusWarn     = "WARN"
	StatusCritical = "CRITICAL"
)

// warnShare is the share of the threshold above which a level is WARN: early
// enough to plan capacity before the threshold, late enough not to cry wolf.
const warnShare = 0.85

// StatusOf classifies a utilisation against a threshold: OK below 85% of it, WARN
// up to it, CRITICAL above.
func StatusOf(utilization, threshold float64) string {
	switch {
	case utilization > threshold:
		return StatusCritical
	case utilization >= warnShare*threshold:
		return StatusWarn
	}
	return StatusOK
}

// utilization is used/capacity, 0 when there is no capacity to speak of.
func utilization(used, capacity float64) float64 {
	if capacity <= 0 {
		return 0
	}
	return used / capacity
}

// parseDimensions validates dims (empty means all) and returns them in display
// order without duplicates.
func parseDimensions(field string, dims []Dimension) ([]Dimension, error) {
	if len(dims) == 0 {
		return AllDimensions(), nil
	}
	var out []Dimension
	for _, d := range AllDimensions() {
		if slices.Contains(dims, d) {
			out = append(out, d)
		}
	}
	for _, d := range dims {
		if !d.Valid() {
			return nil, fault.Field(field, "unknown dimension %q", string(d))
		}
	}
	return out, nil
}

func dimensionStrings(dims []Dimension) []string {
	out := make([]string, len(dims))
	for i, d := range dims {
		out[i] = string(d)
	}
	return out
}

func dimensionIndex(d Dimension) int { return slices.Index(AllDimensions(), d) }

func percent(v float64) string { return fmt.Sprintf("%.0f%%", v*100) }
