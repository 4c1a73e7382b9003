// Package ingest turns external telemetry into host samples. This file and its
// neighbours hold the HTTP bulk ingestion endpoint; the node_exporter scraper and
// the trace importers live in sub-packages.
//
// # Bulk ingestion: POST /api/v1/metrics/hosts
//
// The body is a stream of samples, one per line, in one of two formats chosen by
// Content-Type:
//
//   - application/x-ndjson (also application/ndjson, application/jsonl and
//     application/json, which is read as NDJSON): one JSON object per line, e.g.
//     {"host": "rt-ads-1-n01", "ts": "2026-03-01T12:00:00Z", "cpu": 12.5, "mem": 40,
//     "disk_io": 3, "net_in": 1e9, "net_out": 5e8, "containers": 12}
//   - text/csv (also application/csv): a header row naming the columns, then one
//     sample per row; an empty cell means "not measured". Cells may be quoted
//     ("a,b", "" for a quote) but may not span lines.
//
// Content-Encoding: gzip is decompressed as it streams. The body is never held in
// memory: lines are parsed one by one and stored in batches, so any size up to
// MaxBodyBytes costs the same bounded memory.
//
// Fields (JSON keys or CSV columns; aliases after the slash):
//
//   - host: a hostname, or a host id when it is a JSON number (or a string of
//     digits that is no known hostname). hostname: always a hostname. host_id: a
//     host id (integer). Exactly one of the three is required.
//   - ts / timestamp: required; an RFC 3339 time ("2026-03-01T12:00:00.5+08:00") or
//     a number of unix seconds (fractions allowed). Stored to the microsecond. It
//     must lie within [now − MaxAge, now + FutureSkew].
//   - cpu / cpu_pct, mem / mem_pct, disk_io / disk_io_pct: percent, 0 to 100.
//     Values up to 100.5 are taken as 100 (counters sampled a little late overshoot
//     by rounding); above that the line is rejected.
//   - net_in / net_in_bps, net_out / net_out_bps: bits per second, 0 to 1e15
//     (one petabit: anything above is a unit mistake).
//   - containers: an integer, 0 to 2^31−1 (12.0 counts as 12; 12.5 is rejected).
//
// A metric that is absent, JSON null or an empty CSV cell was not measured and
// is stored as NULL. Values must have the right JSON type ("12" is not a number);
// NaN and Infinity (as some JSON encoders write them) are rejected.
//
// Unknown fields reject the line (an unknown CSV column rejects the request)
// unless Config.AllowUnknownFields is set: a misspelt "cpu_percent" would
// otherwise be dropped without anyone noticing, and a loud rejection that names
// the field costs the sender one fix. Senders that add fields ahead of the server
// can ask for the lenient mode.
//
// Each bad line is reported with its number and reason and skipped; the good lines
// are stored. Blank lines are skipped silently. A sample whose host and time are
// already stored, or that repeats an earlier line, counts as a duplicate and is
// not stored again (the first value wins), so a failed upload can simply be sent
// again.
//
// # Response
//
// JSON, see Response: {"accepted": N, "duplicates": N, "rejected": N, "lines": N,
// "errors": [{"line": 12, "field": "cpu", "reason": "..."}], "errorsTruncated":
// false}, plus "error" for a request-level problem. "lines" counts every line read
// (blank lines and the CSV header included). Status:
//
//   - 200: the body was read to its end, whatever the number of rejected lines;
//   - 400: a request-level problem: unknown Content-Type or Content-Encoding, a
//     CSV header that names no host or ts column, a body that is cut off or whose
//     gzip stream is corrupt (the lines before the fault are stored and counted,
//     the cut line is reported);
//   - 413: the body (or its decompressed stream) exceeds MaxBodyBytes; refused
//     before reading when Content-Length says so, otherwise the lines before the
//     limit are stored and counted;
//   - 401, 403 (and 405 for a method other than POST): see Authorize; the body is
//     only {"error": "..."}, a refused caller learns nothing else;
//   - 500: the database failed; the counts say what was stored before it.
package ingest

import (
	"cmp"
	"context"
	"time"

	"github.com/teslaops/tesla/internal/auth"
)

// ScopeIngest is the token scope that allows ingestion whatever the token's role,
// so a fleet's agents can carry a VIEWER token that can do nothing else.
const ScopeIngest = "ingest"

// Authorize decides whether the caller in ctx may ingest telemetry. Every path
// that stores samples on a caller's behalf (this HTTP endpoint, and any later
// GraphQL mutation or agent protocol) calls it, so the rule lives in one place.
//
// A token restricted to scopes may ingest only if "ingest" is one of them,
// whatever its role. An unrestricted credential needs role OPERATOR or higher.
// It returns a fault.Unauthenticated or fault.Forbidden error otherwise.
func Authorize(ctx context.Context) (*auth.Principal, error) {
	return auth.RequireIngest(ctx, "ingesting metrics")
}

// Config bounds the HTTP ingestion endpoint. Zero values take the defaults.
type Config struct {
	// MaxBodyBytes bounds the request body on the wire and, for gzip, its
	// decompressed stream (default 4 GiB).
	MaxBodyBytes int64
	// MaxLineBytes is the longest line accepted (default 64 KiB); a longer line is
	// reported and skipped. It is also the size of the read buffer.
	MaxLineBytes int
	// MaxErrors is how many line errors a response lists (default 100); the rest
	// are counted in "rejected" and flagged by errorsTruncated.
	MaxErrors int
	// BatchRows is how many samples each database transaction commits (default:
	// the writer's, telemetry.DefaultBatchRows).
	BatchRows int
	// FutureSkew is how far ahead of the server's clock a timestamp may be
	// (default 10 minutes): agents' clocks drift, but a sample from tomorrow is a
	// bug that would pollute the forecasts.
	FutureSkew time.Duration
	// MaxAge is how old a timestamp may be (default 14 days). Keep it within the
	// retention period: older samples would be dropped with their partition.
	MaxAge time.Duration
	// AllowUnknownFields ignores unknown JSON fields and CSV columns instead of
	// rejecting them.
	AllowUnknownFields bool
	// MaxConcurrent bounds the requests storing at once, each of which holds a
	// database connection for its duration (default: half the pool, at least 1),
	// so bulk uploads never starve the API of connections. Others wait their turn.
	MaxConcurrent int
	// HostRefreshInterval is the least time between two reloads of the hostname
	// cache caused by unknown hosts (default 1s), so a body full of unknown hosts
	// cannot turn into one query per line.
	HostRefreshInterval time.Duration
}

func (c Config) withDefaults(poolConns int32) Config {
	c.MaxBodyBytes = cmp.Or(c.MaxBodyBytes, 4<<30)
	c.MaxLineBytes = cmp.Or(c.MaxLineBytes, 64<<10)
	c.MaxErrors = cmp.Or(c.MaxErrors, 100)
	c.FutureSkew = cmp.Or(c.FutureSkew, 10*time.Minute)
	c.MaxAge = cmp.Or(c.MaxAge, 14*24*time.Hour)
	c.MaxConcurrent = cmp.Or(c.MaxConcurrent, max(1, int(poolConns)/2))
	c.HostRefreshInterval = cmp.Or(c.HostRefreshInterval, time.Second)
	return c
}
