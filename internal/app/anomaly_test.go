package app

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestAnomalyScoreCommand(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.csv")
	out := filepath.Join(dir, "out.csv")
	var b strings.Builder
	b.WriteString("timestamp,value\n")
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	line := 1
	var lines []string
	add := func(s string) {
		b.WriteString(s + "\n")
		line++
		lines = append(lines, s)
	}
	for i := 0; i < 400; i++ {
		v := 10 + math.Sin(float64(i)/7)
		if i == 300 {
			v = 60 // the anomaly
		}
		add(fmt.Sprintf("%s,%g", t0.Add(time.Duration(i)*5*time.Minute).Format("2006-01-02 15:04:05"), v))
		if i == 100 {
			add("2026-03-01 08:20:00,abc") // line 103: bad value
			add("not a time,3")            // line 104: bad timestamp
			add("2026-03-01 01:00:00,10")  // line 105: back in time
			add("2026-03-01 08:25:00,")    // line 106: empty value: kept as missing
		}
	}
	require.NoError(t, os.WriteFile(in, []byte(b.String()), 0o644))

	var stdout, stderr bytes.Buffer
	err := Run(context.Background(), []string{"anomaly", "score", "--in", in, "--out", out}, &stdout, &stderr)
	require.NoError(t, err)
	msg := stderr.String()
	require.Contains(t, msg, "line 103: skipped: value \"abc\" is not a number")
	require.Contains(t, msg, "line 104: skipped: timestamp \"not a time\"")
	require.Contains(t, msg, "line 105: skipped: timestamp 2026-03-01 01:00:00 is not after 2026-03-01 08:20:00 (line 102)")
	require.Contains(t, msg, "line 106: value \"\" is not a finite number")
	require.Contains(t, msg, "line 107: skipped: timestamp 2026-03-01 08:25:00 is not after 2026-03-01 08:25:00 (line 106)")
	require.Contains(t, msg, "400 samples scored, 1 alerts")

	got, err := os.ReadFile(out)
	require.NoError(t, err)
	rows := strings.Split(strings.TrimSpace(string(got)), "\n")
	require.Equal(t, "timestamp,value,anomaly_score,label", rows[0])
	require.Len(t, rows, 401)
	for _, r := range rows[1:] {
		f := strings.Split(r, ",")
		require.Len(t, f, 4, r)
		if f[3] == "1" {
			require.Equal(t, "60", f[1], "the alert is the anomaly")
		}
	}

	// a series too short to score, and missing flags, are refused clearly
	short := filepath.Join(dir, "short.csv")
	require.NoError(t, os.WriteFile(short, []byte("timestamp,value\n2026-01-01 00:00:00,1\n"), 0o644))
	err = Run(context.Background(), []string{"anomaly", "score", "--in", short, "--out", out}, &stdout, &stderr)
	require.ErrorContains(t, err, "1 good rows, want at least 145")
	err = Run(context.Background(), []string{"anomaly", "score", "--in", in}, &stdout, &stderr)
	require.ErrorContains(t, err, "--out")
	bad := filepath.Join(dir, "bad.csv")
	require.NoError(t, os.WriteFile(bad, []byte("time,val\n"), 0o644))
	err = Run(context.Background(), []string{"anomaly", "score", "--in", bad, "--out", out}, &stdout, &stderr)
	require.ErrorContains(t, err, "line 1: header")
}

func TestAnomalyEvaluateCommand(t *testing.T) {
	const nab = "../../../shared/data/nab"
	if _, err := os.Stat(nab); err != nil {
		t.Skipf("NAB data not available (%v): skipping; it lives in ../shared/data/nab next to the repository", err)
	}
	var stdout bytes.Buffer
	require.NoError(t, Run(context.Background(), []string{"anomaly", "evaluate", "--nab", nab}, &stdout, &stdout))
	out := stdout.String()
	require.Contains(t, out, "realKnownCause/machine_temperature_system_failure.csv")
	require.Contains(t, out, "ARTime                             79.2")
	require.Contains(t, out, "tesla (NAB-optimised threshold)")
}
