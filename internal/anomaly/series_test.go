package anomaly

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestReadSeries(t *testing.T) {
	var b strings.Builder
	b.WriteString("\ufefftimestamp,value\n")
	for i := 0; i < 20; i++ {
		fmt.Fprintf(&b, "2026-01-01 00:%02d:00,%d\n", i, i) // lines 2..21
	}
	b.WriteString("2026-01-01 00:19:00,5\n")      // 22: repeated timestamp
	b.WriteString("2026-01-01 00:10:00,5\n")      // 23: back in time
	b.WriteString("2026-01-01T00:20:00Z,NaN\n")   // 24: RFC 3339, NaN kept
	b.WriteString("2026-01-01 00:21:00,\"x\"y\n") // 25: broken quoting
	b.WriteString("2026-01-01 00:22:00\n")        // 26: one field
	b.WriteString("2026-01-01 00:23:00,1e400\n")  // 27: overflow: +Inf, kept
	b.WriteString("2026-01-01 01:30:00,3\n")      // 28: a gap
	b.WriteString("2026-01-01 01:31:00,4\n")      // 29
	s, err := ReadSeries(strings.NewReader(b.String()), ReadOptions{MinRows: 10})
	require.NoError(t, err)
	require.Len(t, s.Values, 24)
	require.True(t, math.IsNaN(s.Values[20]))
	require.True(t, math.IsInf(s.Values[21], 1))
	require.Equal(t, 29, s.Lines[23])
	w := strings.Join(s.Warnings, "\n")
	for _, want := range []string{
		"line 22: skipped: timestamp 2026-01-01 00:19:00 is not after 2026-01-01 00:19:00 (line 21)",
		"line 23: skipped: timestamp 2026-01-01 00:10:00 is not after",
		"line 24: value \"NaN\" is not a finite number",
		"line 25: skipped:",
		"line 26: skipped: 1 fields, want at least 2",
		"line 27: value \"1e400\" is not a finite number",
		"line 28: gap of 1h7m0s after 2026-01-01 00:23:00 (usual step 1m0s)",
	} {
		require.Contains(t, w, want)
	}

	// NAB's own rules keep every row in file order
	s, err = ReadSeries(strings.NewReader(b.String()), ReadOptions{KeepOrder: true, AllowGaps: true})
	require.NoError(t, err)
	require.Len(t, s.Values, 26)
	require.NotContains(t, strings.Join(s.Warnings, "\n"), "gap")

	_, err = ReadSeries(strings.NewReader("timestamp,value\n2026-01-01 00:00:00,1\n"), ReadOptions{MinRows: 2})
	require.ErrorIs(t, err, ErrShortSeries)
	_, err = ReadSeries(strings.NewReader(""), ReadOptions{})
	require.ErrorIs(t, err, ErrShortSeries)
	_, err = ReadSeries(strings.NewReader("time,v\n"), ReadOptions{})
	require.ErrorContains(t, err, "line 1: header \"time,v\" lacks")

	var many strings.Builder
	many.WriteString("value,timestamp\n") // columns in any order
	for i := 0; i < 100; i++ {
		many.WriteString("oops,2026-01-01 00:00:00\n")
	}
	s, err = ReadSeries(strings.NewReader(many.String()), ReadOptions{MaxWarnings: 5})
	require.NoError(t, err)
	require.Len(t, s.Warnings, 6)
	require.Equal(t, "… and 95 more warnings", s.Warnings[5])
}
