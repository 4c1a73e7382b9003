package telemetry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Writer is the path for samples arriving from outside. The two functions here
// serve the demo simulator, whose writes differ in shape, not in what they
// store: Load fills an empty database inside the caller's transaction, Upsert
// rewrites the current minute. Both mark the minutes they write dirty in the same
// transaction, like Writer.

// Load streams src into host_metric inside tx with one binary COPY and returns how
// many samples it stored. It is for seeding an empty database, where all or
// nothing matters more than batching: a sample already stored fails the load and
// the caller's transaction with it. The days' partitions must exist
// (EnsurePartitions, in a statement of its own): created inside a long
// transaction, their locks would be held until it ends.
func Load(ctx context.Context, tx pgx.Tx, src Source) (int64, error) {
	r := &sourceReader{src: src, minutes: map[int64]struct{}{}, lastMin: math.MinInt64,
		hosts: map[int64]struct{}{}, lastHost: math.MinInt64}
	tag, err := tx.Conn().PgConn().CopyFrom(ctx, r, "COPY host_metric ("+columnList+") FROM STDIN (FORMAT binary)")
	if err != nil {
		if r.err != nil {
			err = r.err
		}
		return 0, fmt.Errorf("error loading samples: %w", err)
	}
	minutes := make([]int64, 0, len(r.minutes))
	for m := range r.minutes {
		minutes = append(minutes, m)
	}
	slices.Sort(minutes)
	if err := markDirty(ctx, tx, minutes); err != nil {
		return 0, fmt.Errorf("error loading samples: %w", err)
	}
	hosts := make([]int64, 0, len(r.hosts))
	for h := range r.hosts {
		hosts = append(hosts, h)
	}
	slices.Sort(hosts)
	if err := refreshLatest(ctx, tx, hosts); err != nil {
		return 0, fmt.Errorf("error loading samples: %w", err)
	}
	return tag.RowsAffected(), nil
}

// sourceReader encodes a Source as a binary COPY stream, chunk by chunk, noting
// the distinct minutes and hosts it encodes.
type sourceReader struct {
	src     Source
	buf     []byte
	off     int
	started bool
	ended   bool
	err     error // the source's error, which COPY would otherwise report vaguely
	minutes map[int64]struct{}
	lastMin int64
	// hosts are the distinct hosts, touched only when the host changes.
	hosts    map[int64]struct{}
	lastHost int64
}

func (r *sourceReader) Read(p []byte) (int, error) {
	for r.off >= len(r.buf) {
		if r.ended {
			return 0, io.EOF
		}
		if r.buf == nil {
			r.buf = make([]byte, 0, chunkSize)
		}
		r.buf, r.off = r.buf[:0], 0
		if !r.started {
			r.buf = append(r.buf, copyHeader...)
			r.started = true
		}
		for len(r.buf) <= chunkSize-maxTupleBytes {
			if !r.src.Next() {
				if err := r.src.Err(); err != nil {
					r.err = err
					return 0, err
				}
				r.buf = append(r.buf, copyTrailer...)
				r.ended = true
				break
			}
			s := r.src.Sample()
			var us int64
			r.buf, us = appendTuple(r.buf, &s)
			if m := floorDiv(us, 60e6); m != r.lastMin {
				r.minutes[m] = struct{}{}
				r.lastMin = m
			}
			if s.HostID != r.lastHost {
				r.hosts[s.HostID] = struct{}{}
				r.lastHost = s.HostID
			}
		}
	}
	n := copy(p, r.buf[r.off:])
	r.off += n
	return n, nil
}

// Upsert stores samples inside tx, replacing the values of a sample already
// stored for the same host and time, and returns how many rows it inserted or
// updated. It serves a source that refines its latest value (the demo ticker
// rewrites the current minute every few seconds), where the Writer's "first value
// wins" would freeze the minute at its first tick. A missing daily partition is
// created under a savepoint, so tx survives it. samples must not repeat a host
// and time.
func Upsert(ctx context.Context, tx pgx.Tx, samples []Sample) (int64, error) {
	if len(samples) == 0 {
		return 0, nil
	}
	n, err := upsertOnce(ctx, tx, samples)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23514" && strings.Contains(pgErr.Message, "no partition") {
		lo, hi := samples[0].TS, samples[0].TS
		for _, s := range samples[1:] {
			lo, hi = minTime(lo, s.TS), maxTime(hi, s.TS)
		}
		if _, err := EnsurePartitions(ctx, tx, lo, hi); err != nil {
			return 0, err
		}
		n, err = upsertOnce(ctx, tx, samples)
	}
	if err != nil {
		return 0, fmt.Errorf("error upserting samples: %w", err)
	}
	return n, nil
}

// upsertOnce runs one attempt of Upsert under a savepoint, rolled back on error.
// Most calls store new rows (the ticker's first write of a time slot), which go
// straight into host_metric with one COPY, as fast as storing gets; only when a
// row exists does the batch take the slower staged INSERT … ON CONFLICT DO
// UPDATE. Either way the batch is staged once more to upsert host_latest and
// mark its minutes dirty.
func upsertOnce(ctx context.Context, tx pgx.Tx, samples []Sample) (int64, error) {
	buf := append(make([]byte, 0, len(copyHeader)+len(samples)*maxTupleBytes+len(copyTrailer)), copyHeader...)
	for i := range samples {
		buf, _ = appendTuple(buf, &samples[i])
	}
	buf = append(buf, copyTrailer...)
	var n int64
	err := pgx.BeginFunc(ctx, tx, func(sp pgx.Tx) error {
		err := pgx.BeginFunc(ctx, sp, func(direct pgx.Tx) error {
			tag, err := direct.Conn().PgConn().CopyFrom(ctx, bytes.NewReader(buf),
				"COPY host_metric ("+columnList+") FROM STDIN (FORMAT binary)")
			n = tag.RowsAffected()
			return err
		})
		var pgErr *pgconn.PgError
		refine := errors.As(err, &pgErr) && pgErr.Code == "23505"
		if err != nil && !refine {
			return err
		}
		if err := createStage(ctx, sp); err != nil {
			return err
		}
		if _, err := sp.Conn().PgConn().CopyFrom(ctx, bytes.NewReader(buf),
			"COPY host_metric_stage ("+columnList+") FROM STDIN (FORMAT binary)"); err != nil {
			return err
		}
		if refine {
			if err := sp.QueryRow(ctx, `WITH up AS (
					INSERT INTO host_metric (`+columnList+`)
					SELECT `+columnList+` FROM host_metric_stage
					ON CONFLICT (host_id, ts) DO UPDATE SET
						cpu_pct = EXCLUDED.cpu_pct, mem_pct = EXCLUDED.mem_pct, disk_io_pct = EXCLUDED.disk_io_pct,
						net_in_bps = EXCLUDED.net_in_bps, net_out_bps = EXCLUDED.net_out_bps, containers = EXCLUDED.containers
					RETURNING 1
				)
				SELECT count(*) FROM up`).Scan(&n); err != nil {
				return err
			}
		}
		if _, err := sp.Exec(ctx, latestUpsert("host_metric_stage", true)); err != nil {
			return err
		}
		// The dirty minutes are inserted in order, as the Writer does, so
		// concurrent writers take the rollup_dirty keys in the same order; and
		// last, because the rollup's claim waits for every transaction that has
		// marked a minute to commit.
		_, err = sp.Exec(ctx, `INSERT INTO rollup_dirty (minute)
			SELECT DISTINCT date_trunc('minute', ts) FROM host_metric_stage ORDER BY 1
			ON CONFLICT DO NOTHING`)
		return err
	})
	return n, err
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
