package agent

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// The spool is the agent's on-disk queue of samples not yet accepted by the
// server. Every sample is appended to it (and synced) before it is sent, so a
// crash, a restart or a server outage loses nothing; the sender replays it
// oldest first and removes what the server answered.
//
// It is a directory of segment files, seg-<sequence>.log. Only the newest is
// appended to, until it reaches the segment size (1 MiB, or an eighth of the
// spool); a segment is sent as one batch (one POST), so a long outage leaves
// a row of bounded batches. Each record is
//
//	uint32 length (big endian) | uint32 CRC-32C of the payload | payload
//
// where the payload is NDJSON lines. A record cut short by a crash, or whose
// checksum does not match, ends the segment: the records before it are kept,
// the torn tail is dropped with a log line (and cut off the open segment, so
// appends continue on a clean end).
//
// The spool is bounded: when its files exceed the limit, the oldest segments
// are dropped and counted.

var crcTable = crc32.MakeTable(crc32.Castagnoli)

const (
	recordHeader = 8
	// maxRecord bounds a record's length, so garbage in a header is taken for
	// a torn record instead of an allocation of gigabytes.
	maxRecord = 16 << 20
	segPrefix = "seg-"
	segSuffix = ".log"
)

// SpoolStats is what the heartbeat reports about the spool.
type SpoolStats struct {
	QueuedBytes    int64 `json:"queued_bytes"`
	QueuedBatches  int64 `json:"queued_batches"`
	DroppedBatches int64 `json:"dropped_batches"`
}

// Spool is the bounded on-disk queue. It is safe for concurrent use.
type Spool struct {
	dir      string
	maxBytes int64
	segBytes int64
	logger   *slog.Logger

	mu      sync.Mutex
	segs    []segment // oldest first; the last is open for appends when open != nil
	open    *os.File
	dropped int64
	// droppedLines counts the samples in dropped segments.
	droppedLines int64
}

type segment struct {
	seq   uint64
	bytes int64
	lines int64
}

func (s segment) name() string { return fmt.Sprintf("%s%020d%s", segPrefix, s.seq, segSuffix) }

// OpenSpool opens (creating) the spool in dir, bounded to maxBytes, checking
// every segment: torn tails are cut off and logged.
func OpenSpool(dir string, maxBytes int64, logger *slog.Logger) (*Spool, error) {
	if maxBytes < 4096 {
		return nil, fmt.Errorf("spool size %d bytes is too small (at least 4096)", maxBytes)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("error creating spool directory: %w", err)
	}
	s := &Spool{dir: dir, maxBytes: maxBytes, segBytes: min(1<<20, maxBytes/8), logger: logger}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("error reading spool directory: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, segPrefix) || !strings.HasSuffix(name, segSuffix) {
			continue
		}
		seq, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(name, segPrefix), segSuffix), 10, 64)
		if err != nil {
			continue
		}
		seg := segment{seq: seq}
		path := filepath.Join(dir, name)
		recs, good, total, err := readSegment(path)
		if err != nil {
			return nil, err
		}
		if good < total {
			logger.Warn("spool segment has a torn tail (a crash during a write?): keeping the good records, dropping the rest",
				"segment", name, "good_records", len(recs), "kept_bytes", good, "dropped_bytes", total-good)
			if err := os.Truncate(path, good); err != nil {
				return nil, fmt.Errorf("error cutting the torn tail of %s: %w", path, err)
			}
		}
		if good == 0 {
			_ = os.Remove(path)
			continue
		}
		seg.bytes = good
		for _, r := range recs {
			seg.lines += int64(countLines(r))
		}
		s.segs = append(s.segs, seg)
	}
	slices.SortFunc(s.segs, func(a, b segment) int { return cmp.Compare(a.seq, b.seq) })
	return s, nil
}

func countLines(b []byte) int {
	n := 0
	for _, c := range b {
		if c == '\n' {
			n++
		}
	}
	return n
}

// readSegment reads the records of a segment file. good is the length of its
// sound prefix, total the file's length: good < total is a torn tail.
func readSegment(path string) (recs [][]byte, good, total int64, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("error reading spool segment: %w", err)
	}
	total = int64(len(b))
	for off := int64(0); ; {
		if total-off < recordHeader {
			return recs, off, total, nil
		}
		n := int64(binary.BigEndian.Uint32(b[off:]))
		sum := binary.BigEndian.Uint32(b[off+4:])
		if n == 0 || n > maxRecord || off+recordHeader+n > total {
			return recs, off, total, nil
		}
		payload := b[off+recordHeader : off+recordHeader+n]
		if crc32.Checksum(payload, crcTable) != sum {
			return recs, off, total, nil
		}
		recs = append(recs, payload)
		off += recordHeader + n
	}
}

// Append adds lines (NDJSON, each ending in '\n') as one record and syncs it
// to disk. When the spool is over its bound afterwards, the oldest sealed
// segments are dropped.
func (s *Spool) Append(lines []byte) error {
	if len(lines) == 0 {
		return nil
	}
	if len(lines) > maxRecord {
		return fmt.Errorf("spool record of %d bytes is over the %d-byte limit", len(lines), maxRecord)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.open != nil && s.segs[len(s.segs)-1].bytes >= s.segBytes {
		s.sealLocked()
	}
	if s.open == nil {
		if err := s.newSegmentLocked(); err != nil {
			return err
		}
	}
	rec := make([]byte, recordHeader+len(lines))
	binary.BigEndian.PutUint32(rec, uint32(len(lines)))
	binary.BigEndian.PutUint32(rec[4:], crc32.Checksum(lines, crcTable))
	copy(rec[recordHeader:], lines)
	last := &s.segs[len(s.segs)-1]
	if _, err := s.open.Write(rec); err != nil {
		// A partial write is a torn tail: cut it so later records stay readable.
		_ = s.open.Truncate(last.bytes)
		_, _ = s.open.Seek(last.bytes, io.SeekStart)
		return fmt.Errorf("error writing to the spool: %w", err)
	}
	if err := s.open.Sync(); err != nil {
		return fmt.Errorf("error syncing the spool: %w", err)
	}
	last.bytes += int64(len(rec))
	last.lines += int64(countLines(lines))
	s.enforceLocked()
	return nil
}

func (s *Spool) newSegmentLocked() error {
	seq := uint64(1)
	if n := len(s.segs); n > 0 {
		seq = s.segs[n-1].seq + 1
	}
	seg := segment{seq: seq}
	f, err := os.OpenFile(filepath.Join(s.dir, seg.name()), os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("error creating a spool segment: %w", err)
	}
	syncDir(s.dir)
	s.segs = append(s.segs, seg)
	s.open = f
	return nil
}

func (s *Spool) sealLocked() {
	if s.open != nil {
		_ = s.open.Close()
		s.open = nil
	}
}

// enforceLocked drops the oldest segments while the spool is over its bound,
// never the one being written to.
func (s *Spool) enforceLocked() {
	for s.totalLocked() > s.maxBytes && len(s.segs) > 1 {
		old := s.segs[0]
		if err := os.Remove(filepath.Join(s.dir, old.name())); err != nil && !errors.Is(err, os.ErrNotExist) {
			s.logger.Error("error dropping a spool segment", "segment", old.name(), "error", err)
			return
		}
		s.segs = s.segs[1:]
		s.dropped++
		s.droppedLines += old.lines
		s.logger.Warn("spool full: dropped its oldest batch", "segment", old.name(), "samples", old.lines,
			"bytes", old.bytes, "limit_bytes", s.maxBytes, "dropped_batches", s.dropped)
	}
}

func (s *Spool) totalLocked() int64 {
	var n int64
	for _, g := range s.segs {
		n += g.bytes
	}
	return n
}

// Batch is the content of the oldest segment, handed to the sender.
type Batch struct {
	seq   uint64
	bytes int64 // the segment's length when read
	Lines []byte
	// Samples is how many lines the batch holds.
	Samples int
}

// Next returns the oldest segment's samples to send; ok is false when the
// spool is empty. The open segment stays open: appends may continue while
// its batch is on the wire.
func (s *Spool) Next() (b Batch, ok bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.segs) == 0 {
		return Batch{}, false, nil
	}
	seg := s.segs[0]
	recs, good, total, err := readSegment(filepath.Join(s.dir, seg.name()))
	if err != nil {
		return Batch{}, false, err
	}
	if good < total {
		s.logger.Warn("spool segment has a torn tail: sending its good records only", "segment", seg.name(),
			"dropped_bytes", total-good)
	}
	var lines []byte
	for _, r := range recs {
		lines = append(lines, r...)
	}
	return Batch{seq: seg.seq, bytes: good, Lines: lines, Samples: countLines(lines)}, true, nil
}

// Done removes a batch the server answered (stored, or refused for good).
// Records appended to the segment after Next read it stay queued.
func (s *Spool) Done(b Batch) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := slices.IndexFunc(s.segs, func(g segment) bool { return g.seq == b.seq })
	if i < 0 {
		return nil // dropped meanwhile as the oldest of a full spool
	}
	path := filepath.Join(s.dir, s.segs[i].name())
	if s.segs[i].bytes > b.bytes {
		return s.keepTailLocked(i, path, b.bytes)
	}
	if i == len(s.segs)-1 {
		s.sealLocked()
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("error removing a sent spool segment: %w", err)
	}
	syncDir(s.dir)
	s.segs = slices.Delete(s.segs, i, i+1)
	return nil
}

// keepTailLocked replaces segment i by its records after the first sent
// bytes (written to a new file, renamed over the old one).
func (s *Spool) keepTailLocked(i int, path string, sent int64) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("error reading a spool segment: %w", err)
	}
	tail := b[min(sent, int64(len(b))):]
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, tail, 0o600); err != nil {
		return fmt.Errorf("error rewriting a spool segment: %w", err)
	}
	if f, err := os.Open(tmp); err == nil {
		_ = f.Sync()
		_ = f.Close()
	}
	open := i == len(s.segs)-1 && s.open != nil
	s.sealLocked()
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("error rewriting a spool segment: %w", err)
	}
	syncDir(s.dir)
	s.segs[i].bytes = int64(len(tail))
	s.segs[i].lines -= int64(countLines(b[:min(sent, int64(len(b)))]))
	if open {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return fmt.Errorf("error reopening the spool segment: %w", err)
		}
		s.open = f
	}
	return nil
}

// Stats reports the spool's size and the batches dropped since it was opened.
func (s *Spool) Stats() SpoolStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return SpoolStats{QueuedBytes: s.totalLocked(), QueuedBatches: int64(len(s.segs)), DroppedBatches: s.dropped}
}

// Close closes the open segment.
func (s *Spool) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sealLocked()
	return nil
}

// syncDir makes a created or removed file's directory entry durable.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}
