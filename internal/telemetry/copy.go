package telemetry

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"sync"
)

// The Writer encodes samples itself in PostgreSQL's binary COPY format instead of
// going through pgx.CopyFromSource: no []any per row, no per-value type dispatch,
// and the encoded bytes are what a batch keeps for a replay.

const (
	// chunkSize is the unit of hand-over between parser and database goroutines.
	chunkSize = 256 << 10
	// maxTupleBytes is the largest encoded sample: field count, then length-prefixed
	// int8, timestamptz, 3 × float4, 2 × float8 and int4.
	maxTupleBytes = 2 + 2*(4+8) + 3*(4+4) + 2*(4+8) + (4 + 4)
	// pgEpochMicros is 2000-01-01T00:00:00Z in unix microseconds: binary timestamps
	// count from there.
	pgEpochMicros = 946_684_800_000_000
)

var (
	copyHeader  = []byte("PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00")
	copyTrailer = []byte{0xff, 0xff}
)

var chunkPool = sync.Pool{New: func() any { b := make([]byte, 0, chunkSize); return &b }}

func getChunk() []byte { return (*chunkPool.Get().(*[]byte))[:0] }

func putChunk(b []byte) {
	if cap(b) == chunkSize {
		chunkPool.Put(&b)
	}
}

// appendTuple encodes s as one binary COPY tuple and returns the extended buffer
// and the sample's time in unix microseconds (PostgreSQL's precision).
func appendTuple(b []byte, s *Sample) ([]byte, int64) {
	us := s.TS.UnixMicro()
	b = binary.BigEndian.AppendUint16(b, 8)
	b = binary.BigEndian.AppendUint32(b, 8)
	b = binary.BigEndian.AppendUint64(b, uint64(s.HostID))
	b = binary.BigEndian.AppendUint32(b, 8)
	b = binary.BigEndian.AppendUint64(b, uint64(us-pgEpochMicros))
	b = appendFloat4(b, s.CPUPct)
	b = appendFloat4(b, s.MemPct)
	b = appendFloat4(b, s.DiskIOPct)
	b = appendFloat8(b, s.NetInBps)
	b = appendFloat8(b, s.NetOutBps)
	if s.Containers == nil {
		b = binary.BigEndian.AppendUint32(b, math.MaxUint32) // -1: NULL
	} else {
		b = binary.BigEndian.AppendUint32(b, 4)
		b = binary.BigEndian.AppendUint32(b, uint32(*s.Containers))
	}
	return b, us
}

func appendFloat4(b []byte, v *float32) []byte {
	if v == nil {
		return binary.BigEndian.AppendUint32(b, math.MaxUint32)
	}
	b = binary.BigEndian.AppendUint32(b, 4)
	return binary.BigEndian.AppendUint32(b, math.Float32bits(*v))
}

func appendFloat8(b []byte, v *float64) []byte {
	if v == nil {
		return binary.BigEndian.AppendUint32(b, math.MaxUint32)
	}
	b = binary.BigEndian.AppendUint32(b, 8)
	return binary.BigEndian.AppendUint64(b, math.Float64bits(*v))
}

// errSourceAborted means the producer stopped in the middle of a batch, which it
// does only when the Write's context ended.
var errSourceAborted = errors.New("sample stream ended in the middle of a batch")

// batchInput is one batch on the consumer's side: the chunks received so far,
// kept so the batch can be replayed, and its summary once the last chunk came.
type batchInput struct {
	ctx    context.Context
	parts  <-chan part
	chunks [][]byte
	meta   *batchMeta
}

// receive takes the next chunk of the batch. It reports false when the stream
// ended cleanly before a new batch began.
func (in *batchInput) receive() (bool, error) {
	select {
	case p, ok := <-in.parts:
		if !ok {
			if len(in.chunks) > 0 {
				return false, errSourceAborted
			}
			return false, nil
		}
		in.chunks = append(in.chunks, p.data)
		in.meta = p.end
		return true, nil
	case <-in.ctx.Done():
		return false, context.Cause(in.ctx)
	}
}

// drain receives the rest of the batch.
func (in *batchInput) drain() error {
	for in.meta == nil {
		more, err := in.receive()
		if err != nil {
			return err
		}
		if !more {
			return errSourceAborted
		}
	}
	return nil
}

// recycle returns the batch's chunks for reuse once it is committed.
func (in *batchInput) recycle() {
	for _, c := range in.chunks {
		putChunk(c)
	}
	in.chunks = nil
}

// reader returns the batch as one binary COPY stream: header, every chunk (those
// already received, then those still to come), trailer.
func (in *batchInput) reader() io.Reader { return &copyReader{in: in, cur: copyHeader} }

type copyReader struct {
	in      *batchInput
	next    int    // index of the next retained chunk
	cur     []byte // unread rest of the current piece
	trailed bool
}

func (r *copyReader) Read(p []byte) (int, error) {
	for len(r.cur) == 0 {
		switch {
		case r.next < len(r.in.chunks):
			r.cur = r.in.chunks[r.next]
			r.next++
		case r.in.meta != nil && !r.trailed:
			r.cur, r.trailed = copyTrailer, true
		case r.in.meta != nil:
			return 0, io.EOF
		default:
			more, err := r.in.receive()
			if err != nil {
				return 0, err
			}
			if !more {
				return 0, errSourceAborted
			}
		}
	}
	n := copy(p, r.cur)
	r.cur = r.cur[n:]
	return n, nil
}
