package telemetry

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DefaultBatchRows is how many samples one Write transaction commits. At ~82 bytes
// per encoded sample a batch holds ~8 MB, which bounds the memory of a Write (the
// batch is kept until it commits, so it can be replayed) and the size of the
// transaction, while the per-commit cost stays negligible next to the COPY.
const DefaultBatchRows = 100_000

// ErrNoPartition reports a sample whose day has no host_metric partition and whose
// partition could not be created.
var ErrNoPartition = errors.New("no host_metric partition for a sample's day")

// WriterConfig tunes a Writer. Zero values take the defaults.
type WriterConfig struct {
	// BatchRows is how many samples each transaction commits (DefaultBatchRows).
	// Batches already committed stay when a later one fails.
	BatchRows int
	// AsyncCommit sets synchronous_commit = off for ingest transactions: a commit no
	// longer waits for its WAL flush, so a server crash may lose the last few
	// hundred milliseconds of acknowledged samples (never corrupt anything). Worth
	// it only for many small writes, where the flush dominates; with batches of
	// 100k rows the flush is a rounding error, so it is off by default.
	AsyncCommit bool
	// Logger receives the writer's rare diagnostics (partition creation, fallback
	// to the deduplicating path); nil discards them.
	Logger *slog.Logger
}

// Writer stores samples. It is safe for concurrent use; each Write holds one pool
// connection for its duration.
type Writer struct {
	pool   *pgxpool.Pool
	cfg    WriterConfig
	logger *slog.Logger
}

// NewWriter returns a Writer on pool with the default configuration.
func NewWriter(pool *pgxpool.Pool) *Writer { return NewWriterWithConfig(pool, WriterConfig{}) }

// NewWriterWithConfig returns a Writer on pool configured by cfg.
func NewWriterWithConfig(pool *pgxpool.Pool, cfg WriterConfig) *Writer {
	cfg.BatchRows = cmp.Or(cfg.BatchRows, DefaultBatchRows)
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Writer{pool: pool, cfg: cfg, logger: logger}
}

// WithBatchRows returns a copy of w committing every n samples (n <= 0 keeps w's),
// so one caller (e.g. the HTTP ingest handler) can tune batching without changing
// the Writer others share.
func (w *Writer) WithBatchRows(n int) *Writer {
	c := *w
	if n > 0 {
		c.cfg.BatchRows = n
	}
	return &c
}

// Write streams src into host_metric and marks the touched minutes in rollup_dirty
// for the watermark rollup. Re-sending samples is a no-op: a sample whose host and
// time are already stored, or that repeats an earlier one of the same Write, counts
// as a duplicate and the first value wins.
//
// Samples are committed in batches of BatchRows, each its own transaction, so
// memory and transaction size stay bounded whatever the source's length. Parsing
// the source (this goroutine) overlaps with the database work of the batch before
// (a second goroutine). Each batch is first sent with a binary COPY straight into
// host_metric, the fastest path there is; if that hits an existing key the batch
// is replayed through a temporary staging table and INSERT … ON CONFLICT DO
// NOTHING, and the following batches take that path until one comes through
// without duplicates. Missing daily partitions for the batch's days are created.
//
// On error the Result still counts the batches committed before it: those samples
// are stored. When the source fails (src.Err), the samples read before the failure
// are stored too and the returned error wraps the source's error.
func (w *Writer) Write(ctx context.Context, src Source) (Result, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	conn, err := w.pool.Acquire(ctx)
	if err != nil {
		return Result{}, fmt.Errorf("error writing samples: %w", err)
	}
	defer conn.Release()

	parts := make(chan part, pipelineDepth)
	var (
		res   Result
		dbErr error
		wg    sync.WaitGroup
	)
	wg.Go(func() {
		res, dbErr = w.consume(ctx, conn, parts)
		if dbErr != nil {
			cancel(dbErr)
		}
	})
	defer func() {
		// A source that panics must not leave the consumer holding the connection.
		if v := recover(); v != nil {
			cancel(nil)
			wg.Wait()
			panic(v)
		}
	}()
	srcErr := w.produce(ctx, src, parts)
	close(parts)
	wg.Wait()

	switch {
	case dbErr != nil:
		return res, fmt.Errorf("error writing samples: %w", dbErr)
	case srcErr != nil && ctx.Err() == nil:
		return res, fmt.Errorf("error reading samples: %w", srcErr)
	case srcErr != nil:
		return res, fmt.Errorf("error writing samples: %w", srcErr)
	}
	return res, nil
}

// pipelineDepth is how many chunks the parser may run ahead of the database.
const pipelineDepth = 8

// part is one chunk of encoded COPY tuples travelling from the producer to the
// consumer; the last chunk of a batch carries the batch's summary.
type part struct {
	data []byte
	end  *batchMeta
}

// batchMeta summarises a batch for what follows its COPY.
type batchMeta struct {
	rows    int64
	minutes []int64 // distinct unix minutes, ascending
	// latest is a binary COPY stream of the newest sample of each host in the
	// batch: what host_latest gets when the whole batch is stored.
	latest []byte
}

// newestTuple is the encoded newest sample of one host within a batch.
type newestTuple struct {
	us int64
	n  int
	b  [maxTupleBytes]byte
}

// produce reads src, encodes each sample into chunks and hands them over batch by
// batch. It returns src's error, or the cause of ctx's end.
func (w *Writer) produce(ctx context.Context, src Source, parts chan<- part) error {
	send := func(p part) error {
		select {
		case parts <- p:
			return nil
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	var (
		buf     = getChunk()
		rows    int64
		minutes = make(map[int64]struct{})
		lastMin = int64(math.MinInt64)
		newest  = make(map[int64]*newestTuple)
	)
	endBatch := func() error {
		meta := &batchMeta{rows: rows, minutes: make([]int64, 0, len(minutes))}
		for m := range minutes {
			meta.minutes = append(meta.minutes, m)
		}
		slices.Sort(meta.minutes)
		clear(minutes)
		meta.latest = append(make([]byte, 0, len(copyHeader)+len(newest)*maxTupleBytes+len(copyTrailer)), copyHeader...)
		for _, t := range newest {
			meta.latest = append(meta.latest, t.b[:t.n]...)
		}
		meta.latest = append(meta.latest, copyTrailer...)
		clear(newest)
		rows, lastMin = 0, math.MinInt64
		err := send(part{data: buf, end: meta})
		buf = getChunk()
		return err
	}
	for src.Next() {
		s := src.Sample()
		var us int64
		start := len(buf)
		buf, us = appendTuple(buf, &s)
		rows++
		// The newest sample per host, kept encoded. A tie (the same host and time
		// twice) fails the direct COPY, and the staged path takes the latest from
		// the rows it actually stored, so ties need no rule here.
		if t := newest[s.HostID]; t == nil {
			t = &newestTuple{us: us, n: len(buf) - start}
			copy(t.b[:], buf[start:])
			newest[s.HostID] = t
		} else if us > t.us {
			t.us, t.n = us, len(buf)-start
			copy(t.b[:], buf[start:])
		}
		// Samples mostly arrive in time order, so the map is touched only when the
		// minute changes.
		if m := floorDiv(us, 60e6); m != lastMin {
			minutes[m] = struct{}{}
			lastMin = m
		}
		switch {
		case rows >= int64(w.cfg.BatchRows):
			if err := endBatch(); err != nil {
				return err
			}
		case len(buf) > chunkSize-maxTupleBytes:
			if err := send(part{data: buf}); err != nil {
				return err
			}
			buf = getChunk()
		}
	}
	if rows > 0 {
		// Whether the source ended or failed, what it yielded so far is stored.
		if err := endBatch(); err != nil {
			return err
		}
	}
	putChunk(buf)
	return src.Err()
}

// consume writes the batches arriving on parts until the channel closes.
func (w *Writer) consume(ctx context.Context, conn *pgxpool.Conn, parts <-chan part) (Result, error) {
	var res Result
	staged := false
	for {
		in := &batchInput{ctx: ctx, parts: parts}
		more, err := in.receive()
		if err != nil || !more {
			return res, err
		}
		r, err := w.writeBatch(ctx, conn, in, &staged)
		res.Accepted += r.Accepted
		res.Duplicates += r.Duplicates
		if err != nil {
			return res, err
		}
		in.recycle()
	}
}

// writeBatch stores one batch, replaying it from its retained chunks when the
// first attempt hits duplicates, a missing partition or a deadlock with a
// concurrent writer of the same keys.
func (w *Writer) writeBatch(ctx context.Context, conn *pgxpool.Conn, in *batchInput, staged *bool) (Result, error) {
	partitioned := false
	deadlocks := 0
	for {
		var (
			r   Result
			err error
		)
		if *staged {
			r, err = w.copyStaged(ctx, conn, in)
		} else {
			r, err = w.copyDirect(ctx, conn, in)
		}
		if err == nil {
			if *staged && r.Duplicates == 0 {
				*staged = false
			}
			return r, nil
		}
		// Every retry replays the whole batch, so wait for the rest of it.
		if derr := in.drain(); derr != nil {
			return Result{}, derr
		}
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) {
			return Result{}, err
		}
		switch {
		case pgErr.Code == "23505" && !*staged:
			w.logger.DebugContext(ctx, "duplicate samples: deduplicating through staging", "rows", in.meta.rows)
			*staged = true
		case pgErr.Code == "23514" && strings.Contains(pgErr.Message, "no partition") && !partitioned:
			partitioned = true
			if err := w.ensureBatchPartitions(ctx, conn, in.meta.minutes); err != nil {
				return Result{}, err
			}
		case pgErr.Code == "23514" && strings.Contains(pgErr.Message, "no partition"):
			return Result{}, fmt.Errorf("%w: %w", ErrNoPartition, err)
		case pgErr.Code == "40P01" && deadlocks < 3:
			// Two writers inserting the same keys in different orders; the staged
			// path replays this batch and the other writer has since moved on.
			deadlocks++
			*staged = true
		default:
			return Result{}, err
		}
	}
}

const columnList = "host_id, ts, cpu_pct, mem_pct, disk_io_pct, net_in_bps, net_out_bps, containers"

// copyDirect COPYs the batch straight into host_metric: no staging, no conflict
// checks beyond the primary key, so a batch of new samples costs what a raw COPY
// costs. Every row is new, so the batch's minutes are all dirty.
func (w *Writer) copyDirect(ctx context.Context, conn *pgxpool.Conn, in *batchInput) (Result, error) {
	tx, err := w.begin(ctx, conn)
	if err != nil {
		return Result{}, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // a no-op after commit
	tag, err := tx.Conn().PgConn().CopyFrom(ctx, in.reader(),
		"COPY host_metric ("+columnList+") FROM STDIN (FORMAT binary)")
	if err != nil {
		return Result{}, err
	}
	if err := markDirty(ctx, tx, in.meta.minutes); err != nil {
		return Result{}, err
	}
	// Every row of the batch was stored, so host_latest gets the batch's newest
	// sample per host, staged: one row per host, not the whole batch again.
	if err := createStage(ctx, tx); err != nil {
		return Result{}, err
	}
	if _, err := tx.Conn().PgConn().CopyFrom(ctx, bytes.NewReader(in.meta.latest),
		"COPY host_metric_stage ("+columnList+") FROM STDIN (FORMAT binary)"); err != nil {
		return Result{}, err
	}
	if _, err := tx.Exec(ctx, latestUpsert("host_metric_stage", false)); err != nil {
		return Result{}, err
	}
	if err := tx.Commit(ctx); err != nil {
		return Result{}, err
	}
	return Result{Accepted: tag.RowsAffected()}, nil
}

// copyStaged COPYs the batch into a session-local staging table and inserts what
// is new, marking only the minutes of the rows actually inserted. The staging
// table is a temporary one (never WAL-logged) emptied by ON COMMIT DELETE ROWS,
// which costs nothing in transactions that do not touch it, and it lives as long
// as the pooled connection, so it is created once per connection, not per batch.
func (w *Writer) copyStaged(ctx context.Context, conn *pgxpool.Conn, in *batchInput) (Result, error) {
	tx, err := w.begin(ctx, conn)
	if err != nil {
		return Result{}, err
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // a no-op after commit
	if err := createStage(ctx, tx); err != nil {
		return Result{}, err
	}
	tag, err := tx.Conn().PgConn().CopyFrom(ctx, in.reader(),
		"COPY host_metric_stage ("+columnList+") FROM STDIN (FORMAT binary)")
	if err != nil {
		return Result{}, err
	}
	// The dirty minutes are inserted in order so two concurrent writers take the
	// rollup_dirty keys in the same order and cannot deadlock on them.
	var accepted int64
	if err := tx.QueryRow(ctx, `WITH ins AS (
			INSERT INTO host_metric (`+columnList+`)
			SELECT `+columnList+` FROM host_metric_stage
			ON CONFLICT (host_id, ts) DO NOTHING
			RETURNING `+columnList+`
		), dirty AS (
			INSERT INTO rollup_dirty (minute)
			SELECT DISTINCT date_trunc('minute', ts) FROM ins ORDER BY 1
			ON CONFLICT DO NOTHING
		), latest AS (
			`+latestUpsert("ins", false)+`
		)
		SELECT count(*) FROM ins`).Scan(&accepted); err != nil {
		return Result{}, err
	}
	if err := tx.Commit(ctx); err != nil {
		return Result{}, err
	}
	return Result{Accepted: accepted, Duplicates: tag.RowsAffected() - accepted}, nil
}

// createStage creates the session's staging table if it is missing. It is a
// temporary table (never WAL-logged) emptied by ON COMMIT DELETE ROWS, which costs
// nothing in transactions that do not touch it, and it lives as long as the
// pooled connection.
func createStage(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, `CREATE TEMP TABLE IF NOT EXISTS host_metric_stage
		(LIKE host_metric INCLUDING DEFAULTS) ON COMMIT DELETE ROWS`)
	return err
}

func (w *Writer) begin(ctx context.Context, conn *pgxpool.Conn) (pgx.Tx, error) {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return nil, err
	}
	if w.cfg.AsyncCommit {
		if _, err := tx.Exec(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
			_ = tx.Rollback(ctx)
			return nil, err
		}
	}
	return tx, nil
}

// ensureBatchPartitions creates the partitions of the days a batch touches, one
// call per run of consecutive days.
func (w *Writer) ensureBatchPartitions(ctx context.Context, conn *pgxpool.Conn, minutes []int64) error {
	var days []int64
	for _, m := range minutes {
		if d := floorDiv(m, 1440); len(days) == 0 || days[len(days)-1] != d {
			days = append(days, d)
		}
	}
	for i := 0; i < len(days); {
		j := i
		for j+1 < len(days) && days[j+1] == days[j]+1 {
			j++
		}
		from, to := time.Unix(days[i]*86400, 0).UTC(), time.Unix(days[j]*86400, 0).UTC()
		n, err := EnsurePartitions(ctx, conn, from, to)
		if err != nil {
			return err
		}
		if n > 0 {
			w.logger.InfoContext(ctx, "created host_metric partitions", "from", from.Format(time.DateOnly),
				"to", to.Format(time.DateOnly), "created", n)
		}
		i = j + 1
	}
	return nil
}

// floorDiv divides rounding towards minus infinity, so instants before the epoch
// fall in the right minute and day.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
