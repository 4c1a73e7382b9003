package ingest

import (
	"compress/flate"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"mime"
	"net/http"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/inventory"
	"github.com/teslaops/tesla/internal/telemetry"
)

// handler serves POST /api/v1/metrics/hosts; see the package documentation for
// the wire format.
type handler struct {
	pool   *pgxpool.Pool
	writer *telemetry.Writer
	logger *slog.Logger
	cfg    Config
	hosts  *hostCache
	slots  chan struct{}
}

// NewHTTPHandler returns the bulk ingestion handler. It expects the
// authentication middleware to have put the caller's auth.Principal in the
// request context, and checks it with Authorize. Samples are stored through w,
// committing every cfg.BatchRows; hostnames are resolved through a cache over
// pool shared by all requests.
func NewHTTPHandler(pool *pgxpool.Pool, w *telemetry.Writer, logger *slog.Logger, cfg Config) http.Handler {
	cfg = cfg.withDefaults(pool.Config().MaxConns)
	return &handler{
		pool:   pool,
		writer: w.WithBatchRows(cfg.BatchRows),
		logger: logger,
		cfg:    cfg,
		hosts:  newHostCache(pool, logger, cfg.HostRefreshInterval),
		slots:  make(chan struct{}, cfg.MaxConcurrent),
	}
}

// outcome is what a request came to, for the response and the log line.
type outcome struct {
	status int
	resp   *Response
	err    error // the internal cause of a 5xx, for the log only
	login  string
	format format
	gzip   bool
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	body := &countingReader{r: r.Body}
	r.Body = body
	out := outcome{status: http.StatusInternalServerError, resp: &Response{Errors: []LineError{}}}
	defer func() {
		if v := recover(); v != nil {
			out.status, out.err = http.StatusInternalServerError, fmt.Errorf("panic: %v\n%s", v, debug.Stack())
			out.resp.Error = "internal error while storing samples; the counts say what was stored before it"
			writeJSON(w, out.status, out.resp)
		}
		h.log(r.Context(), &out, body.n, time.Since(start))
	}()
	h.serve(w, r, &out)
	if out.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="tesla"`)
	}
	if out.status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", http.MethodPost)
	}
	if out.status == http.StatusUnauthorized || out.status == http.StatusForbidden || out.status == http.StatusMethodNotAllowed {
		writeJSON(w, out.status, map[string]string{"error": out.resp.Error})
		return
	}
	writeJSON(w, out.status, out.resp)
}

// serve does the work of one request and fills out.
func (h *handler) serve(w http.ResponseWriter, r *http.Request, out *outcome) {
	ctx := r.Context()
	fail := func(status int, format string, args ...any) {
		out.status, out.resp.Error = status, fmt.Sprintf(format, args...)
	}
	if r.Method != http.MethodPost {
		fail(http.StatusMethodNotAllowed, "use POST")
		return
	}
	p, err := Authorize(ctx)
	if err != nil {
		status := http.StatusForbidden
		if fault.Is(err, fault.Unauthenticated) {
			status = http.StatusUnauthorized
		}
		fail(status, "%s", err.Error())
		return
	}
	out.login = p.Login

	f, err := parseContentType(r.Header.Get("Content-Type"))
	if err != nil {
		fail(http.StatusBadRequest, "%s", err.Error())
		return
	}
	out.format = f
	switch strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))) {
	case "", "identity":
	case "gzip", "x-gzip":
		out.gzip = true
	default:
		fail(http.StatusBadRequest, "unsupported Content-Encoding %q: send gzip or nothing", r.Header.Get("Content-Encoding"))
		return
	}
	if r.ContentLength > h.cfg.MaxBodyBytes {
		fail(http.StatusRequestEntityTooLarge, "request body of %d bytes is over the limit of %d bytes: split it", r.ContentLength, h.cfg.MaxBodyBytes)
		return
	}

	// Bulk uploads take turns so they never hold every database connection.
	select {
	case h.slots <- struct{}{}:
		defer func() { <-h.slots }()
	case <-ctx.Done():
		fail(http.StatusServiceUnavailable, "request canceled while waiting for an ingestion slot")
		return
	}
	snap, err := h.hosts.get(ctx)
	if err != nil {
		out.err = err
		if msg, ok := db.Unavailable(err); ok {
			w.Header().Set("Retry-After", "30")
			fail(http.StatusServiceUnavailable, "%s; nothing was stored", msg)
			return
		}
		fail(http.StatusInternalServerError, "internal error while loading the host inventory")
		return
	}

	var rd io.Reader = http.MaxBytesReader(w, r.Body, h.cfg.MaxBodyBytes)
	if out.gzip {
		gz, err := gzip.NewReader(rd)
		if err != nil {
			if h.tooLarge(err) {
				fail(http.StatusRequestEntityTooLarge, "request body is over the limit of %d bytes: split it", h.cfg.MaxBodyBytes)
				return
			}
			fail(http.StatusBadRequest, "the body is not gzip data (%v) although Content-Encoding says gzip", err)
			return
		}
		defer gz.Close()
		rd = &decodedLimit{r: gz, left: h.cfg.MaxBodyBytes}
	}

	src := newLineSource(ctx, rd, f, h.cfg, h.hosts, snap, time.Now(), out.resp)
	src.self, src.selfName = p.HostID, p.Name
	res, err := h.writer.Write(ctx, src)
	out.resp.Accepted, out.resp.Duplicates = res.Accepted, res.Duplicates
	if err == nil || (src.Err() != nil && errors.Is(err, src.Err())) {
		// The samples stored are signs of life: one statement for the body's hosts.
		if berr := h.recordBeats(ctx, src, p.HostID); berr != nil {
			h.logger.WarnContext(ctx, "recording heartbeats of ingested hosts failed", "error", berr)
		}
	}
	switch {
	case src.fatal != nil:
		fail(http.StatusBadRequest, "%s", src.fatal.Error())
	case src.readErr != nil && h.tooLarge(src.readErr):
		fail(http.StatusRequestEntityTooLarge, "request body is over the limit of %d bytes (decompressed, for gzip); "+
			"the lines before the limit were processed, split the rest", h.cfg.MaxBodyBytes)
	case src.readErr != nil && out.gzip && isCorruptGzip(src.readErr):
		fail(http.StatusBadRequest, "the gzip stream is truncated or corrupt (%v); the lines before the fault were processed "+
			"and are counted, send the rest again", src.readErr)
	case src.readErr != nil:
		fail(http.StatusBadRequest, "the request body ended early (%v); the lines before were processed and are counted", src.readErr)
	case err != nil && ctx.Err() != nil:
		out.err = err
		fail(499, "request canceled; the counts say what was stored before")
	case err != nil:
		out.err = err
		if msg, ok := db.Unavailable(err); ok {
			w.Header().Set("Retry-After", "30")
			fail(http.StatusServiceUnavailable, "%s and cannot store samples now; the counts say what was stored before, send the rest again later "+
				"(re-sending stored samples is a no-op)", msg)
			break
		}
		fail(http.StatusInternalServerError, "internal error while storing samples; the counts say what was stored before it")
	default:
		out.status = http.StatusOK
	}
	if err != nil && out.err == nil && !errors.Is(err, src.Err()) {
		out.err = err // the database failed too
	}
}

// recordBeats moves the last heartbeat of every host the body carried samples
// of to its newest sample's time (never past now), and brings such hosts back
// ONLINE if they were marked OFFLINE before it. A host credential's own host
// beats at now: its agent is speaking, whatever the age of the samples it
// replays from its spool.
func (h *handler) recordBeats(ctx context.Context, src *lineSource, self int64) error {
	if len(src.beats) == 0 {
		return nil
	}
	now := time.Now()
	// In host order, so concurrent requests lock host rows in the same order.
	ids := slices.Sorted(maps.Keys(src.beats))
	at := make([]time.Time, len(ids))
	for i, id := range ids {
		at[i] = src.beats[id]
		if id == self || at[i].After(now) {
			at[i] = now
		}
	}
	return db.InTx(ctx, h.pool, func(tx pgx.Tx) error {
		_, err := inventory.RecordLiveHeartbeats(ctx, tx, ids, at)
		return err
	})
}

func (h *handler) tooLarge(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe) || errors.Is(err, errDecodedTooLarge)
}

func isCorruptGzip(err error) bool {
	var corrupt flate.CorruptInputError
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) ||
		errors.As(err, &corrupt)
}

// log writes the request's one summary line.
func (h *handler) log(ctx context.Context, out *outcome, bytes int64, d time.Duration) {
	level := slog.LevelInfo
	switch {
	case out.status >= 500:
		level = slog.LevelError
	case out.status >= 400:
		level = slog.LevelWarn
	}
	attrs := []slog.Attr{
		slog.Int("status", out.status),
		slog.String("login", out.login),
		slog.Bool("gzip", out.gzip),
		slog.Int64("bytes", bytes),
		slog.Int64("lines", out.resp.Lines),
		slog.Int64("accepted", out.resp.Accepted),
		slog.Int64("duplicates", out.resp.Duplicates),
		slog.Int64("rejected", out.resp.Rejected),
		slog.Int64("duration_ms", d.Milliseconds()),
	}
	if out.format != 0 {
		attrs = append(attrs, slog.String("format", out.format.String()))
	}
	if out.resp.Error != "" {
		attrs = append(attrs, slog.String("problem", out.resp.Error))
	}
	if out.err != nil {
		attrs = append(attrs, slog.Any("error", out.err))
	}
	h.logger.LogAttrs(ctx, level, "ingest request", attrs...)
}

func parseContentType(ct string) (format, error) {
	if ct == "" {
		return 0, errors.New("missing Content-Type: send application/x-ndjson or text/csv")
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return 0, fmt.Errorf("bad Content-Type %q: send application/x-ndjson or text/csv", ct)
	}
	switch mt {
	case "application/x-ndjson", "application/ndjson", "application/jsonl", "application/x-jsonlines", "application/json":
		return formatNDJSON, nil
	case "text/csv", "application/csv":
		return formatCSV, nil
	}
	return 0, fmt.Errorf("unsupported Content-Type %q: send application/x-ndjson (or application/json, read as NDJSON) or text/csv", mt)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// countingReader counts the bytes read off the wire, for the log.
type countingReader struct {
	r io.ReadCloser
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (c *countingReader) Close() error { return c.r.Close() }

// errDecodedTooLarge reports a gzip stream that inflates past MaxBodyBytes.
var errDecodedTooLarge = errors.New("decompressed body over the limit")

// decodedLimit bounds the decompressed stream, so a small gzip bomb cannot keep
// a request busy for hours.
type decodedLimit struct {
	r    io.Reader
	left int64
}

func (l *decodedLimit) Read(p []byte) (int, error) {
	if l.left <= 0 {
		var one [1]byte
		n, err := l.r.Read(one[:])
		if n > 0 {
			return 0, errDecodedTooLarge
		}
		return 0, err
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}
