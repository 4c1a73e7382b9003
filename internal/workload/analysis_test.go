package workload_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/workload"
)

const gib = 1 << 30

var analysisNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func ptr[T any](v T) *T { return &v }

// healthyRuns are n daily one-hour runs, newest first, that no heuristic
// should flag: 8 cores and 8 GB requested, 83% of the cores and a 7 GB peak
// used, half a minute in the queue, even tasks, one attempt each.
func healthyRuns(n int) []workload.WindowRun {
	runs := make([]workload.WindowRun, n)
	for i := range runs {
		start := analysisNow.Add(-time.Duration(i+1) * 24 * time.Hour)
		end := start.Add(time.Hour)
		runs[i] = workload.WindowRun{ID: int64(100 - i), State: "COMPLETED", StartedAt: ptr(start), EndedAt: ptr(end), Attempts: 1,
			RequestedCoreSeconds: ptr(8 * 3600.0), UsedCoreSeconds: ptr(24000.0),
			RequestedMemoryByteSeconds: ptr(8.0 * gib * 3600), PeakMemoryBytes: ptr(int64(7 * gib)),
			QueueWaitSeconds: ptr(30.0), TaskCount: ptr(int32(100)), TaskSecondsP50: ptr(60.0), TaskSecondsMax: ptr(90.0)}
	}
	return runs
}

func findingOf(fs []workload.JobFinding, h string) *workload.JobFinding {
	for i := range fs {
		if fs[i].Heuristic == h {
			return &fs[i]
		}
	}
	return nil
}

// TestHealthyJobHasNoFindings: every heuristic reports (NONE), none fires.
func TestHealthyJobHasNoFindings(t *testing.T) {
	t.Parallel()
	fs, score := workload.AnalyzeWindow(workload.DefaultThresholds(), workload.Window{JobID: 1, Kind: "BATCH", Runs: healthyRuns(20)}, analysisNow)
	require.Len(t, fs, 6)
	for _, f := range fs {
		require.Equal(t, workload.SeverityNone, f.Severity, "%s: %s %v", f.Heuristic, f.Advice, f.Evidence)
		require.Contains(t, f.Advice, "No change needed")
	}
	require.Zero(t, score.Score)
	require.Zero(t, score.Waste)
	require.Equal(t, 20, score.RunsAnalyzed)
}

// TestEachHeuristicFires crafts runs that trigger one heuristic at a time and
// checks its severity, evidence and advice.
func TestEachHeuristicFires(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		heuristic string
		mutate    func(i int, r *workload.WindowRun)
		severity  workload.Severity
		advice    string
		coreWaste float64
		gbWaste   float64
	}{
		{workload.HeuristicMemory, func(_ int, r *workload.WindowRun) { r.PeakMemoryBytes = ptr(int64(gib)) },
			workload.SeverityCritical, "Request 1.5 GB instead of 8.0 GB: peak was 1.0 GB over the last 20 runs; saves about 6 GB-hours a day.", 0, 6.5},
		{workload.HeuristicMemory, func(_ int, r *workload.WindowRun) { r.PeakMemoryBytes = ptr(int64(3.5 * gib)) }, // 56% unused
			workload.SeverityLow, "Request 4.5 GB instead of 8.0 GB", 0, 3.5},
		{workload.HeuristicCPU, func(_ int, r *workload.WindowRun) { r.UsedCoreSeconds = ptr(2400.0) },
			workload.SeverityCritical, "Request 1 cores instead of 8: runs used 0.7 cores on average", 7.2, 0},
		{workload.HeuristicSkew, func(_ int, r *workload.WindowRun) { r.TaskSecondsMax = ptr(1200.0) },
			workload.SeverityCritical, "The slowest task takes 1200 s against a median of 60 s (20.0×)", 0, 0},
		{workload.HeuristicQueueWait, func(_ int, r *workload.WindowRun) { r.QueueWaitSeconds = ptr(40 * 60.0) },
			workload.SeveritySevere, "Runs waited a median of 40 min", 0, 0},
		{workload.HeuristicFailures, func(i int, r *workload.WindowRun) {
			if i%5 == 1 {
				r.State = "FAILED"
			}
		}, workload.SeverityModerate, "4 of the last 20 runs failed and 0 needed retries (0 extra attempts): read the error of run 99", 4 * 24000.0 / 20 / 3600, 0}, // failed runs' cores are waste
		{workload.HeuristicFailures, func(i int, r *workload.WindowRun) {
			if i < 2 {
				r.Attempts = 3
			}
		}, workload.SeverityLow, "2 of the last 20 runs needed retries (4 extra attempts)", 0, 0},
		{workload.HeuristicRegression, func(i int, r *workload.WindowRun) {
			if i < 3 {
				r.EndedAt = ptr(r.StartedAt.Add(2 * time.Hour))
			}
		}, workload.SeveritySevere, "The last 3 runs took a median of 120 min against 60 min for the 17 before (+100%)", 0, 0},
	} {
		runs := healthyRuns(20)
		for i := range runs {
			c.mutate(i, &runs[i])
		}
		fs, score := workload.AnalyzeWindow(workload.DefaultThresholds(), workload.Window{JobID: 1, Kind: "BATCH", Runs: runs}, analysisNow)
		f := findingOf(fs, c.heuristic)
		require.NotNil(t, f, c.heuristic)
		require.Equal(t, c.severity, f.Severity, "%s: %v", c.heuristic, f.Evidence)
		require.Contains(t, f.Advice, c.advice, c.heuristic)
		require.Equal(t, fs[0].Heuristic, c.heuristic, "worst first")
		for _, other := range fs[1:] {
			if other.Heuristic != c.heuristic && c.heuristic != workload.HeuristicRegression && c.heuristic != workload.HeuristicFailures {
				require.Equal(t, workload.SeverityNone, other.Severity, "%s fired with %s", other.Heuristic, c.heuristic)
			}
		}
		require.InDelta(t, c.coreWaste, score.WastedCoreHoursPerDay, 0.01, c.heuristic)
		if c.heuristic != workload.HeuristicFailures {
			require.InDelta(t, c.gbWaste, score.WastedGBHoursPerDay, 0.01, c.heuristic)
		}
		require.InDelta(t, float64(f.Severity)*100, score.Score, 0.001, "score = Σ severity × tasks")
	}
}

// TestSeverityBoundaries: a value at a boundary takes its grade, just under
// it the grade below.
func TestSeverityBoundaries(t *testing.T) {
	t.Parallel()
	g := workload.Grades{2, 4, 8, 16}
	for _, c := range []struct {
		v    float64
		want workload.Severity
	}{{0, workload.SeverityNone}, {1.999, workload.SeverityNone}, {2, workload.SeverityLow}, {3.999, workload.SeverityLow},
		{4, workload.SeverityModerate}, {7.99, workload.SeverityModerate}, {8, workload.SeveritySevere}, {15.9, workload.SeveritySevere},
		{16, workload.SeverityCritical}, {1e9, workload.SeverityCritical}} {
		require.Equal(t, c.want, g.Grade(c.v), "%v", c.v)
	}
	// Through a heuristic: the memory boundaries are unused shares of 0.5, 0.6,
	// 0.7 and 0.8 of the 8 GB requested.
	for _, c := range []struct {
		peakGB float64
		want   workload.Severity
	}{{4.01, workload.SeverityNone}, {4, workload.SeverityLow}, {3.2, workload.SeverityModerate}, {2.4, workload.SeveritySevere}, {1.6, workload.SeverityCritical}} {
		runs := healthyRuns(20)
		for i := range runs {
			runs[i].PeakMemoryBytes = ptr(int64(c.peakGB * gib))
		}
		fs, _ := workload.AnalyzeWindow(workload.DefaultThresholds(), workload.Window{JobID: 1, Kind: "BATCH", Runs: runs}, analysisNow)
		require.Equal(t, c.want, findingOf(fs, workload.HeuristicMemory).Severity, "peak %v GB", c.peakGB)
	}
}

// TestSmallOrSparseWindowsSayNothing: too few runs for failures and
// regressions, small requests, short tasks and missing data give no finding.
func TestSmallOrSparseWindowsSayNothing(t *testing.T) {
	t.Parallel()
	runs := healthyRuns(3)
	for i := range runs {
		runs[i].State = "FAILED"
		runs[i].RequestedMemoryByteSeconds = ptr(1.0 * gib * 3600) // 1 GB: under the 2 GB floor
		runs[i].PeakMemoryBytes = ptr(int64(gib / 10))
		runs[i].TaskSecondsP50, runs[i].TaskSecondsMax = ptr(1.0), ptr(30.0) // skewed, but 30 s
		runs[i].QueueWaitSeconds = nil
	}
	fs, _ := workload.AnalyzeWindow(workload.DefaultThresholds(), workload.Window{JobID: 1, Kind: "BATCH", Runs: runs}, analysisNow)
	require.Nil(t, findingOf(fs, workload.HeuristicFailures))
	require.Nil(t, findingOf(fs, workload.HeuristicRegression))
	require.Nil(t, findingOf(fs, workload.HeuristicMemory))
	require.Nil(t, findingOf(fs, workload.HeuristicQueueWait))
	require.Equal(t, workload.SeverityNone, findingOf(fs, workload.HeuristicSkew).Severity)
}

// TestStreamingJobsAreJudgedByTheirHours.
func TestStreamingJobsAreJudgedByTheirHours(t *testing.T) {
	t.Parallel()
	var hours []workload.UsageHour
	for h := range 48 {
		hours = append(hours, workload.UsageHour{JobID: 1, Hour: analysisNow.Add(-time.Duration(h+1) * time.Hour),
			RequestedCoreSeconds: 16 * 3600, UsedCoreSeconds: 2 * 3600,
			RequestedMemoryByteSeconds: 32.0 * gib * 3600, PeakMemoryBytes: 30 * gib})
	}
	fs, score := workload.AnalyzeWindow(workload.DefaultThresholds(), workload.Window{JobID: 1, Kind: "STREAMING", Hours: hours}, analysisNow)
	cpu := findingOf(fs, workload.HeuristicCPU)
	require.Equal(t, workload.SeverityCritical, cpu.Severity)
	require.Contains(t, cpu.Advice, "Request 3 cores instead of 16: the job used 2.0 cores on average over the last 48 hours; saves about 326 core-hours a day.")
	require.Equal(t, workload.SeverityNone, findingOf(fs, workload.HeuristicMemory).Severity)
	require.InDelta(t, (16-2.4)*24, score.WastedCoreHoursPerDay, 0.01)
	require.Equal(t, 48, score.HoursAnalyzed)
}
