package ingest

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseRFC3339AgreesWithTimeParse(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		"2026-03-01T12:00:00Z", "2026-03-01t12:00:00z", "2026-03-01T12:00:00.5Z", "2026-03-01T12:00:00.123456789Z",
		"2026-03-01T12:00:00.1234567891Z", "2026-03-01T12:00:00+08:00", "2026-03-01T00:30:00-05:30",
		"2024-02-29T23:59:59Z", "1999-12-31T23:59:59.999999Z", "2026-03-01 12:00:00Z",
		"2026-02-29T00:00:00Z", "2026-13-01T00:00:00Z", "2026-03-01T24:00:00Z", "2026-03-01T12:60:00Z",
		"2026-03-01T12:00:60Z", "2026-03-01T12:00:00", "2026-03-01T12:00:00.Z", "2026-03-01T12:00:00+8:00",
		"2026-03-01T12:00:00+08:00x", "2026-3-1T12:00:00Z", "x026-03-01T12:00:00Z", "", "Z",
	} {
		// RFC 3339 allows a lowercase t and z, which time.Parse does not.
		want, err := time.Parse(time.RFC3339Nano, strings.ToUpper(s))
		got, ok := parseRFC3339([]byte(s))
		require.Equal(t, err == nil, ok, "%q: time.Parse says %v", s, err)
		if ok {
			require.True(t, want.Equal(got), "%q: %s, want %s", s, got, want)
			require.Equal(t, time.UTC, got.Location())
		}
	}
}

func TestDaysFromCivil(t *testing.T) {
	t.Parallel()
	for d := time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() < 2500; d = d.AddDate(0, 0, 7) {
		require.Equal(t, d.Unix()/86400, daysFromCivil(d.Year(), int(d.Month()), d.Day()), d.String())
	}
}

func TestSplitCSV(t *testing.T) {
	t.Parallel()
	s := &lineSource{}
	for _, c := range []struct {
		in   string
		want []string
		err  string
	}{
		{"a,b,c", []string{"a", "b", "c"}, ""},
		{" a , b ,c ", []string{"a", "b", "c"}, ""},
		{"a,,", []string{"a", "", ""}, ""},
		{`"a,b","say ""hi""",c`, []string{"a,b", `say "hi"`, "c"}, ""},
		{` "x" ,"",""""`, []string{"x", "", `"`}, ""},
		{"", []string{""}, ""},
		{`"open,b`, nil, "unterminated quoted cell"},
		{`"a"b,c`, nil, "text after a quoted cell"},
	} {
		cells, p := s.splitCSV([]byte(c.in))
		if c.err != "" {
			require.NotNil(t, p, c.in)
			require.Contains(t, p.reason, c.err)
			continue
		}
		require.Nil(t, p, c.in)
		var got []string
		for _, cell := range cells {
			got = append(got, string(cell))
		}
		require.Equal(t, c.want, got, c.in)
	}
}

func TestLineReader(t *testing.T) {
	t.Parallel()
	read := func(r io.Reader, max int) (lines []string, errs []error) {
		lr := lineReader{br: newTestReader(r, max), max: max}
		for {
			b, err := lr.next()
			if errors.Is(err, io.EOF) {
				return
			}
			lines = append(lines, string(b))
			errs = append(errs, err)
			if err != nil && !errors.Is(err, errLineTooLong) {
				return
			}
		}
	}
	lines, errs := read(strings.NewReader("a\r\n\nbb\n"+strings.Repeat("x", 40)+"\nccc"), 16)
	require.Equal(t, []string{"a", "", "bb", "", "ccc"}, lines)
	require.Equal(t, []error{nil, nil, nil, errLineTooLong, nil}, errs)

	// Exactly max bytes, with or without CR, fits; one more does not.
	lines, errs = read(strings.NewReader(strings.Repeat("y", 16)+"\r\n"+strings.Repeat("z", 17)+"\n"+strings.Repeat("w", 30)), 16)
	require.Equal(t, []string{strings.Repeat("y", 16), "", ""}, lines)
	require.Equal(t, []error{nil, errLineTooLong, errLineTooLong}, errs)

	// A failing stream hands over the partial line with the error.
	boom := errors.New("boom")
	lines, errs = read(io.MultiReader(strings.NewReader("ok\npart"), iotest.ErrReader(boom)), 16)
	require.Equal(t, []string{"ok", "part"}, lines)
	require.Equal(t, []error{nil, boom}, errs)
}

// TestParsingAGoodLineAllocatesNothing guards the hot path: a valid line must
// cost no allocation, or ingesting millions of lines turns into GC work.
func TestParsingAGoodLineAllocatesNothing(t *testing.T) {
	now := time.Now()
	s := &lineSource{
		cfg:  Config{}.withDefaults(4),
		snap: &hostSnapshot{byName: map[string]int64{"bulk-0001-n0001": 7}, ids: map[int64]struct{}{7: {}}},
		resp: &Response{}, now: now, oldest: now.Add(-time.Hour), newest: now.Add(time.Hour),
	}
	ts := now.UTC().Format(time.RFC3339)
	ndjson := []byte(`{"host":"bulk-0001-n0001","ts":"` + ts + `","cpu":12.5,"mem":40.1,"disk_io":3,"net_in":1.002e+09,"net_out":5e8,"containers":12}`)
	csv := []byte(`bulk-0001-n0001,` + ts + `,12.5,40.1,3,1.002e+09,5e8,12`)
	require.NoError(t, s.parseCSVHeader([]byte("host,ts,cpu,mem,disk_io,net_in,net_out,containers")))
	allocs := testing.AllocsPerRun(1000, func() {
		s.rec = record{}
		if p := s.parseJSONLine(ndjson); p != nil {
			t.Fatal(p.reason)
		}
		if p := s.finish(); p != nil {
			t.Fatal(p.reason)
		}
		s.rec = record{}
		if p := s.parseCSVLine(csv); p != nil {
			t.Fatal(p.reason)
		}
		if p := s.finish(); p != nil {
			t.Fatal(p.reason)
		}
	})
	require.Zero(t, allocs)
	require.Equal(t, int64(7), s.Sample().HostID)
	require.Equal(t, int32(12), *s.Sample().Containers)
	require.Equal(t, 1.002e9, *s.Sample().NetInBps)
}

func BenchmarkParseNDJSONLine(b *testing.B) {
	now := time.Now()
	s := &lineSource{
		cfg:  Config{}.withDefaults(4),
		snap: &hostSnapshot{byName: map[string]int64{"bulk-0001-n0001": 7}, ids: map[int64]struct{}{7: {}}},
		resp: &Response{}, now: now, oldest: now.Add(-time.Hour), newest: now.Add(time.Hour),
	}
	line := []byte(`{"host":"bulk-0001-n0001","ts":"` + now.UTC().Format(time.RFC3339) + `","cpu":12.5,"mem":40.1,"disk_io":3,"net_in":1.002e+09,"net_out":5e8,"containers":12}`)
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for b.Loop() {
		s.rec = record{}
		if p := s.parseJSONLine(line); p != nil {
			b.Fatal(p.reason)
		}
		if p := s.finish(); p != nil {
			b.Fatal(p.reason)
		}
	}
}

func newTestReader(r io.Reader, max int) *bufio.Reader { return bufio.NewReaderSize(r, max+2) }
