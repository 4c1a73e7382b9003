package ingest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"strconv"
	"time"

	"github.com/teslaops/tesla/internal/telemetry"
)

// format is a body's line format.
type format uint8

const (
	formatNDJSON format = iota + 1
	formatCSV
)

func (f format) String() string {
	if f == formatCSV {
		return "csv"
	}
	return "ndjson"
}

// Response is the JSON body of every ingestion response.
type Response struct {
	// Accepted counts the samples newly stored.
	Accepted int64 `json:"accepted"`
	// Duplicates counts valid samples not stored because the same host and time
	// were already stored or came earlier in the body.
	Duplicates int64 `json:"duplicates"`
	// Rejected counts the non-blank lines that were not valid samples.
	Rejected int64 `json:"rejected"`
	// Lines counts every line read, blank lines and the CSV header included.
	Lines int64 `json:"lines"`
	// Errors lists the first MaxErrors rejected lines.
	Errors []LineError `json:"errors"`
	// ErrorsTruncated is true when more lines were rejected than Errors lists.
	ErrorsTruncated bool `json:"errorsTruncated"`
	// Error is the request-level problem, if any (see the package documentation).
	Error string `json:"error,omitempty"`
}

// LineError is why one line was rejected.
type LineError struct {
	Line int64 `json:"line"`
	// Field is the field at fault as the sender named it; empty for the line.
	Field  string `json:"field,omitempty"`
	Reason string `json:"reason"`
}

// lineSource parses a request body into samples for telemetry.Writer: it is the
// telemetry.Source the writer pulls from, so parsing runs at the pace of the
// database and memory stays that of one read buffer and one batch.
type lineSource struct {
	ctx    context.Context
	cfg    Config
	format format
	lr     lineReader
	hosts  *hostCache
	snap   *hostSnapshot
	resp   *Response

	now, oldest, newest time.Time

	// fatal is a request-level problem found in the body (a bad CSV header);
	// readErr is why reading the body stopped early.
	fatal   error
	readErr error

	// self is the host a host credential is bound to (0: any host may be
	// named), selfName its name for the rejection.
	self     int64
	selfName string
	// beats holds, per host, the newest sample time of the body, for the
	// hosts' heartbeats; last* skip the map for runs of one host's lines.
	beats  map[int64]time.Time
	lastID int64
	lastTS time.Time

	rec record
	cur telemetry.Sample
	// The sample's fields point here; the writer encodes a sample before asking
	// for the next, so one set of storage serves every line.
	cpu, mem, disk float32
	netIn, netOut  float64
	containers     int32
	headerDone     bool
	cols           []field
	colNames       [][]byte
	cells          [][]byte
	scratch        []byte
}

func newLineSource(ctx context.Context, r io.Reader, f format, cfg Config, hosts *hostCache, snap *hostSnapshot, now time.Time, resp *Response) *lineSource {
	return &lineSource{
		ctx: ctx, cfg: cfg, format: f, hosts: hosts, snap: snap, resp: resp,
		lr:  lineReader{br: bufio.NewReaderSize(r, cfg.MaxLineBytes+2), max: cfg.MaxLineBytes},
		now: now, oldest: now.Add(-cfg.MaxAge), newest: now.Add(cfg.FutureSkew),
	}
}

// Next implements telemetry.Source: it advances to the next valid sample,
// recording every rejected line on the way.
func (s *lineSource) Next() bool {
	for {
		line, err := s.lr.next()
		s.resp.Lines = s.lr.n
		switch {
		case errors.Is(err, errLineTooLong):
			s.reject("", "line longer than "+strconv.Itoa(s.cfg.MaxLineBytes)+" bytes")
			continue
		case errors.Is(err, io.EOF):
			return false
		case err != nil:
			s.readErr = err
			if len(line) > 0 {
				s.reject("", "line cut off where the body failed; not stored")
			}
			return false
		}
		if s.lr.n == 1 {
			line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf")) // a UTF-8 byte order mark
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if s.format == formatCSV && !s.headerDone {
			s.headerDone = true
			if err := s.parseCSVHeader(line); err != nil {
				s.fatal = err
				return false
			}
			continue
		}
		s.rec = record{}
		var p *problem
		if s.format == formatCSV {
			p = s.parseCSVLine(line)
		} else {
			p = s.parseJSONLine(line)
		}
		if p == nil {
			p = s.finish()
		}
		if p == nil {
			return true
		}
		s.reject(p.field, p.reason)
	}
}

// Sample implements telemetry.Source.
func (s *lineSource) Sample() telemetry.Sample { return s.cur }

// Err implements telemetry.Source.
func (s *lineSource) Err() error {
	if s.fatal != nil {
		return s.fatal
	}
	return s.readErr
}

// finish checks the record is complete, resolves its host and fills s.cur.
func (s *lineSource) finish() *problem {
	r := &s.rec
	if r.hostKind == fieldNone {
		return &problem{field: "host", reason: "missing host: give host, hostname or host_id"}
	}
	if !r.hasTS {
		return &problem{field: "ts", reason: "missing timestamp: give ts or timestamp"}
	}
	id, p := s.resolve()
	if p != nil {
		return p
	}
	if s.self != 0 && id != s.self {
		return &problem{field: s.hostField(), reason: s.detail(func() string {
			return "this host credential speaks for host " + strconv.Quote(s.selfName) + " only; a sample of another host is refused"
		}, "another host's sample")}
	}
	if id != s.lastID || r.ts.After(s.lastTS) {
		if s.beats == nil {
			s.beats = map[int64]time.Time{}
		}
		if t, ok := s.beats[id]; !ok || r.ts.After(t) {
			s.beats[id] = r.ts
		}
		s.lastID, s.lastTS = id, s.beats[id]
	}
	s.cur = telemetry.Sample{HostID: id, TS: r.ts}
	if r.has&(1<<0) != 0 {
		s.cpu = float32(r.vals[0])
		s.cur.CPUPct = &s.cpu
	}
	if r.has&(1<<1) != 0 {
		s.mem = float32(r.vals[1])
		s.cur.MemPct = &s.mem
	}
	if r.has&(1<<2) != 0 {
		s.disk = float32(r.vals[2])
		s.cur.DiskIOPct = &s.disk
	}
	if r.has&(1<<3) != 0 {
		s.netIn = r.vals[3]
		s.cur.NetInBps = &s.netIn
	}
	if r.has&(1<<4) != 0 {
		s.netOut = r.vals[4]
		s.cur.NetOutBps = &s.netOut
	}
	if r.has&(1<<5) != 0 {
		s.containers = int32(r.vals[5])
		s.cur.Containers = &s.containers
	}
	return nil
}

// resolve finds the record's host id in the cache, refreshing it once on a miss.
func (s *lineSource) resolve() (int64, *problem) {
	r := &s.rec
	for attempt := 0; ; attempt++ {
		switch r.hostKind {
		case fieldHostID:
			if _, ok := s.snap.ids[r.hostID]; ok {
				return r.hostID, nil
			}
		default:
			if id, ok := s.snap.byName[string(r.hostName)]; ok {
				return id, nil
			}
			if r.hostKind == fieldHost {
				if id, err := strconv.ParseInt(string(r.hostName), 10, 64); err == nil {
					if _, ok := s.snap.ids[id]; ok {
						return id, nil
					}
				}
			}
		}
		if attempt > 0 {
			break
		}
		s.snap = s.hosts.refresh(s.ctx, s.snap)
	}
	if r.hostKind == fieldHostID {
		return 0, &problem{field: "host_id", reason: "unknown host id " + strconv.FormatInt(r.hostID, 10)}
	}
	return 0, &problem{field: s.hostField(), reason: "unknown host " + strconv.Quote(string(r.hostName))}
}

// hostField is the name the record gave its host under.
func (s *lineSource) hostField() string {
	switch s.rec.hostKind {
	case fieldHostID:
		return "host_id"
	case fieldHostname:
		return "hostname"
	}
	return "host"
}

// reject counts a rejected line and lists it while the list has room.
func (s *lineSource) reject(field, reason string) {
	s.resp.Rejected++
	if len(s.resp.Errors) >= s.cfg.MaxErrors {
		s.resp.ErrorsTruncated = true
		return
	}
	s.resp.Errors = append(s.resp.Errors, LineError{Line: s.lr.n, Field: field, Reason: reason})
}

// detail returns long() while the error list has room for the line, and short
// otherwise, so a body of a million bad lines does not format a million messages.
func (s *lineSource) detail(long func() string, short string) string {
	if len(s.resp.Errors) < s.cfg.MaxErrors {
		return long()
	}
	return short
}

// errLineTooLong reports a line over the limit, which lineReader has skipped.
var errLineTooLong = errors.New("line too long")

// lineReader splits a stream into lines of bounded length, in place in its
// buffer: a line is valid until the next call.
type lineReader struct {
	br  *bufio.Reader
	max int
	n   int64 // number of the line last returned
	eof bool
}

// next returns the next line without its line ending. At the end of the stream
// it returns io.EOF; when the stream fails it returns the error and the partial
// line read before it.
func (lr *lineReader) next() ([]byte, error) {
	if lr.eof {
		return nil, io.EOF
	}
	b, err := lr.br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		lr.n++
		for errors.Is(err, bufio.ErrBufferFull) {
			_, err = lr.br.ReadSlice('\n')
		}
		switch {
		case errors.Is(err, io.EOF):
			lr.eof = true
		case err != nil:
			return nil, err
		}
		return nil, errLineTooLong
	}
	if len(b) == 0 && err != nil {
		return nil, err
	}
	lr.n++
	switch {
	case err == nil:
		b = b[:len(b)-1]
	case errors.Is(err, io.EOF):
		lr.eof = true // a last line without a line ending
	default:
		return b, err
	}
	b = bytes.TrimSuffix(b, []byte{'\r'})
	if len(b) > lr.max {
		return nil, errLineTooLong
	}
	return b, nil
}
