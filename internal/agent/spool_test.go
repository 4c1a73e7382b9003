package agent

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func line(i int) []byte { return fmt.Appendf(nil, `{"hostname":"h","ts":"%d","cpu":1}`+"\n", i) }

// drainAll reads the spool to the end, marking every batch done.
func drainAll(t *testing.T, s *Spool) []string {
	t.Helper()
	var out []string
	for {
		b, ok, err := s.Next()
		require.NoError(t, err)
		if !ok {
			return out
		}
		out = append(out, strings.Split(strings.TrimSuffix(string(b.Lines), "\n"), "\n")...)
		require.NoError(t, s.Done(b))
	}
}

func lines(from, to int) []string {
	var out []string
	for i := from; i < to; i++ {
		out = append(out, strings.TrimSuffix(string(line(i)), "\n"))
	}
	return out
}

func TestSpoolKeepsOrderAcrossSegmentsAndRestarts(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenSpool(dir, 64<<10, slog.New(slog.DiscardHandler)) // 8 KiB segments
	require.NoError(t, err)
	for i := range 300 {
		require.NoError(t, s.Append(line(i)))
	}
	st := s.Stats()
	require.Greater(t, st.QueuedBatches, int64(1), "a long outage leaves several bounded batches")
	require.Zero(t, st.DroppedBatches)
	require.NoError(t, s.Close())

	// A restart: the segments are read back, and new samples go after them.
	s, err = OpenSpool(dir, 64<<10, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	require.Equal(t, st.QueuedBytes, s.Stats().QueuedBytes)
	for i := 300; i < 310; i++ {
		require.NoError(t, s.Append(line(i)))
	}
	require.Equal(t, lines(0, 310), drainAll(t, s))
	require.Equal(t, SpoolStats{}, s.Stats())
	entries, _ := os.ReadDir(dir)
	require.Empty(t, entries, "sent segments are removed")
}

func TestSpoolDropsOldestWhenFullAndCountsIt(t *testing.T) {
	dir := t.TempDir()
	var logs bytes.Buffer
	s, err := OpenSpool(dir, 64<<10, slog.New(slog.NewTextHandler(&logs, nil)))
	require.NoError(t, err)
	// 120 records of 20 samples: ~100 KiB, over the 64 KiB bound.
	n := 2400
	for i := 0; i < n; i += 20 {
		var rec []byte
		for j := i; j < i+20; j++ {
			rec = append(rec, line(j)...)
		}
		require.NoError(t, s.Append(rec))
	}
	st := s.Stats()
	require.LessOrEqual(t, st.QueuedBytes, int64(64<<10))
	require.Positive(t, st.DroppedBatches)
	require.Contains(t, logs.String(), "spool full: dropped its oldest batch")
	got := drainAll(t, s)
	// What is left is the newest samples, in order, with nothing missing
	// after the first kept one.
	first := n - len(got)
	require.Positive(t, first)
	require.Equal(t, lines(first, n), got)
}

func TestSpoolTornTailIsCutAndLogged(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenSpool(dir, 1<<20, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	for i := range 5 {
		require.NoError(t, s.Append(line(i)))
	}
	require.NoError(t, s.Close())
	segs, _ := filepath.Glob(filepath.Join(dir, "seg-*.log"))
	require.Len(t, segs, 1)
	full, err := os.ReadFile(segs[0])
	require.NoError(t, err)

	for name, damage := range map[string]func([]byte) []byte{
		// A crash in the middle of the last record's write.
		"truncated": func(b []byte) []byte { return b[:len(b)-7] },
		// A header written, its payload not.
		"header only": func(b []byte) []byte { return append(b, 0, 0, 0, 40, 1, 2, 3, 4) },
		// The last record's bytes are garbage (checksum mismatch).
		"corrupt": func(b []byte) []byte { c := bytes.Clone(b); c[len(c)-3] ^= 0xff; return c },
	} {
		t.Run(name, func(t *testing.T) {
			d := t.TempDir()
			path := filepath.Join(d, filepath.Base(segs[0]))
			require.NoError(t, os.WriteFile(path, damage(full), 0o600))
			var logs bytes.Buffer
			s, err := OpenSpool(d, 1<<20, slog.New(slog.NewTextHandler(&logs, nil)))
			require.NoError(t, err)
			require.Contains(t, logs.String(), "torn tail")
			// New records append after the good ones, not after the garbage.
			require.NoError(t, s.Append(line(99)))
			want := lines(0, 5)
			if name != "header only" {
				want = lines(0, 4)
			}
			require.Equal(t, append(want, lines(99, 100)...), drainAll(t, s))
		})
	}
}

func TestSpoolKeepsRecordsAppendedWhileABatchIsSent(t *testing.T) {
	s, err := OpenSpool(t.TempDir(), 1<<20, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	require.NoError(t, s.Append(line(0)))
	require.NoError(t, s.Append(line(1)))
	b, ok, err := s.Next()
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, 2, b.Samples)
	require.NoError(t, s.Append(line(2))) // arrives during the POST
	require.NoError(t, s.Done(b))
	require.NoError(t, s.Append(line(3)))
	require.Equal(t, lines(2, 4), drainAll(t, s))
}

func TestSpoolFilesArePrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "spool")
	s, err := OpenSpool(dir, 1<<20, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	require.NoError(t, s.Append(line(0)))
	segs, _ := filepath.Glob(filepath.Join(dir, "seg-*.log"))
	info, err := os.Stat(segs[0])
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), info.Mode().Perm())
	_, err = OpenSpool(t.TempDir(), 100, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.ErrorContains(t, err, "too small")
}
