// Package telemetry stores raw host samples: the wide host_metric rows, written
// idempotently through a staging table with COPY, in daily partitions that are
// created ahead and dropped after the retention period.
//
// It is the only package that writes host_metric, its partitions, host_latest
// (each host's newest sample) and rollup_dirty (the minutes each write touched,
// for the watermark rollup): the
// ingest endpoint, the scraper and the importer call Writer, the demo simulator
// Load and Upsert, the scheduled jobs EnsurePartitions and DropPartitionsBefore,
// the rollup ClaimDirtyMinutes. Sample is the one type of a sample everywhere.
package telemetry

import (
	"time"
)

// Sample is one host's measurements at one time. Nil fields were not measured.
// Percentages are 0..100; network rates are bits per second.
type Sample struct {
	HostID     int64
	TS         time.Time
	CPUPct     *float32
	MemPct     *float32
	DiskIOPct  *float32
	NetInBps   *float64
	NetOutBps  *float64
	Containers *int32
}

// Result counts what a write did: rows newly stored, rows that were already
// there (same host and time: ingestion is idempotent, the first value wins).
type Result struct {
	Accepted   int64
	Duplicates int64
}

// Source yields samples one at a time so a writer can stream any number of them
// with bounded memory. Next returns false at the end; Err reports why it stopped.
//
// The Writer encodes each sample before it calls Next again, so a source may point
// the returned Sample's fields at storage it reuses for the next sample: a parser
// then allocates nothing per row. Next is only ever called from the goroutine that
// called Write.
type Source interface {
	Next() bool
	Sample() Sample
	Err() error
}

// SliceSource adapts a slice to Source.
type SliceSource struct {
	Samples []Sample
	i       int
}

// Next advances to the next sample.
func (s *SliceSource) Next() bool {
	if s.i >= len(s.Samples) {
		return false
	}
	s.i++
	return true
}

// Sample returns the current sample.
func (s *SliceSource) Sample() Sample { return s.Samples[s.i-1] }

// Err is always nil.
func (s *SliceSource) Err() error { return nil }
