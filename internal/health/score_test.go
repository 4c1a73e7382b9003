package health

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestWeightsAddUpToOne(t *testing.T) {
	for _, l := range Levels {
		sum := 0.0
		for _, w := range weights[l] {
			require.Positive(t, w.weight, "%s %s", l, w.name)
			sum += w.weight
		}
		require.InDelta(t, 1, sum, 1e-9, "weights of %s", l)
		require.Contains(t, retention, l)
	}
}

func ptr[T any](v T) *T { return &v }

// component returns the named component of comps.
func component(t *testing.T, comps []Component, name string) Component {
	t.Helper()
	for _, c := range comps {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no component %q in %v", name, comps)
	return Component{}
}

// lost asserts that only the named component lost points, that the total lost
// what it did, and that its reason contains why.
func lost(t *testing.T, score float64, comps []Component, name string, componentScore float64, why string) {
	t.Helper()
	total := 0.0
	for _, c := range comps {
		if c.Name == name {
			require.InDelta(t, componentScore, c.Score, 0.05, "%s score", name)
			require.Contains(t, c.Reason, why)
		} else {
			require.Equal(t, 100.0, c.Score, "%s should keep its points (%s)", c.Name, c.Reason)
		}
		total += c.LostPoints()
	}
	require.InDelta(t, 100-total, score, 0.051)
}

func TestScoreHost(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	healthy := func() HostFacts {
		return HostFacts{State: "ONLINE", CPU: ptr(40.0), Mem: ptr(60.0), DiskIO: ptr(10.0), SampleAt: ptr(now.Add(-30 * time.Second)),
			LastHeartbeat: ptr(now.Add(-10 * time.Second)), ScrapeStatus: "UP", Components: 2}
	}
	score, comps := ScoreHost(healthy(), now, 15*time.Second)
	require.Equal(t, 100.0, score)
	require.Len(t, comps, 6)
	name, _ := worst(comps)
	require.Empty(t, name)

	cases := []struct {
		name      string
		change    func(*HostFacts)
		component string
		score     float64
		why       string
	}{
		{"memory pressure", func(f *HostFacts) { f.Mem = ptr(95.0) }, "utilisation", 25, "memory at 95%"},
		{"silent two minutes", func(f *HostFacts) {
			f.LastHeartbeat, f.SampleAt = ptr(now.Add(-2*time.Minute)), nil
		}, "heartbeats", 75, "8 heartbeats of 15s missed"},
		{"never heard of", func(f *HostFacts) { f.LastHeartbeat, f.SampleAt = nil, nil }, "heartbeats", 0, "no heartbeat or sample ever received"},
		{"scrape failing", func(f *HostFacts) {
			f.ScrapeStatus, f.ScrapeFailures, f.ScrapeError = "FAILING", 3, "connection refused"
		}, "heartbeats", 40, "scrape failing (3 in a row): connection refused"},
		{"anomalies", func(f *HostFacts) { f.Anomalies = [4]int{0, 1, 2, 0} }, "findings", 40, "3 open anomaly episodes (1 HIGH, 2 MEDIUM)"},
		{"failed component", func(f *HostFacts) { f.BadComponents = []string{"HDFS/DATANODE FAILED"} }, "components", 75, "1 of 2 components not in their desired state: HDFS/DATANODE FAILED"},
		{"degraded", func(f *HostFacts) { f.State, f.StateReason = "DEGRADED", "disk slow" }, "state", 50, "host is DEGRADED: disk slow"},
		{"critical fault", func(f *HostFacts) { f.Faults = [4]int{1, 0, 0, 0} }, "hardware", 0, "1 open hardware fault (1 CRITICAL)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := healthy()
			c.change(&f)
			score, comps := ScoreHost(f, now, 15*time.Second)
			lost(t, score, comps, c.component, c.score, c.why)
			name, reason := worst(comps)
			require.Equal(t, c.component, name)
			require.Contains(t, reason, c.why)
		})
	}

	// A host in maintenance is not expected to beat; it loses state points only.
	f := healthy()
	f.State, f.LastHeartbeat, f.SampleAt = "MAINTENANCE", nil, nil
	score, comps = ScoreHost(f, now, 15*time.Second)
	lost(t, score, comps, "state", 70, "host is MAINTENANCE")
	require.InDelta(t, 95.5, score, 1e-9)
}

func TestScoreCluster(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	healthy := func() ClusterFacts {
		return ClusterFacts{Threshold: 0.8, Levels: []WaterLevel{{"CPU", 0.5}, {"MEMORY", 0.6}}, Hosts: 100, Components: 200}
	}
	score, _ := ScoreCluster(healthy(), now)
	require.Equal(t, 100.0, score)
	cases := []struct {
		name      string
		change    func(*ClusterFacts)
		component string
		score     float64
		why       string
	}{
		// 0.85 × 0.8 = 0.68: at 0.8 the level keeps 60.
		{"at threshold", func(f *ClusterFacts) { f.Levels[1].Utilisation = 0.8 }, "waterlevel", 60, "MEMORY at 80% against a threshold of 80%"},
		{"over threshold", func(f *ClusterFacts) { f.Levels[0].Utilisation = 0.9 }, "waterlevel", 30, "CPU at 90%"},
		{"forecast in 45 days", func(f *ClusterFacts) {
			f.CrossesAt, f.CrossDimension = ptr(now.Add(45*24*time.Hour)), "CPU"
		}, "forecast", 50, "CPU forecast to cross 80% in 45 days"},
		{"sick hosts", func(f *ClusterFacts) { f.SickHosts = 10 }, "hosts", 60, "10 of 100 hosts (10.0%) are POOR"},
		{"failing components", func(f *ClusterFacts) { f.FailingComponents = 10 }, "components", 50, "10 of 200 components (5.0%) not in their desired state"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := healthy()
			c.change(&f)
			score, comps := ScoreCluster(f, now)
			lost(t, score, comps, c.component, c.score, c.why)
		})
	}
}

func TestScoreJob(t *testing.T) {
	healthy := func() JobFacts {
		return JobFacts{Runs: 20, DeadlineRuns: 20, ReqCore: 100, UsedCore: 80, ReqMem: 100, UsedMem: 70}
	}
	score, _ := ScoreJob(healthy())
	require.Equal(t, 100.0, score)
	cases := []struct {
		name      string
		change    func(*JobFacts)
		component string
		score     float64
		why       string
	}{
		{"failures", func(f *JobFacts) { f.FailedRuns = 4 }, "success", 60, "4 of 20 runs failed in 7 days (20%)"},
		{"late", func(f *JobFacts) { f.LateRuns = 5 }, "deadlines", 50, "5 of 20 runs missed their deadline"},
		{"severe finding", func(f *JobFacts) { f.WorstSeverity, f.WorstHeuristic = 3, "Mapper Memory" }, "findings", 40, "worst finding Mapper Memory is SEVERE"},
		{"wasteful", func(f *JobFacts) { f.UsedCore, f.UsedMem = 30, 30 }, "efficiency", 50, "used 30% of requested cores and 30% of requested memory"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := healthy()
			c.change(&f)
			score, comps := ScoreJob(f)
			lost(t, score, comps, c.component, c.score, c.why)
		})
	}
	// All runs failing takes all the success points, not more.
	f := healthy()
	f.FailedRuns = 20
	_, comps := ScoreJob(f)
	require.Equal(t, 0.0, component(t, comps, "success").Score)
}

func TestScoreOwner(t *testing.T) {
	score, comps := ScoreOwner(Person, OwnerFacts{})
	require.Equal(t, 100.0, score)
	require.Equal(t, "no budget", component(t, comps, "budget").Reason)

	f := OwnerFacts{Jobs: 3, JobScore: 70, Cost: 12.5, Currency: "EUR", WorstJob: "etl/daily", WorstJobScore: 40}
	score, comps = ScoreOwner(BU, f)
	require.InDelta(t, 100-0.7*30, score, 1e-9)
	require.Contains(t, component(t, comps, "jobs").Reason, "3 jobs score 70.0 on average, weighted by their cost over 7 days (12.50 EUR); worst etl/daily at 40.0")

	for _, c := range []struct{ spent, score float64 }{{0.5, 100}, {0.95, 85}, {1.0, 70}, {1.25, 35}, {2, 0}} {
		_, comps := ScoreOwner(Person, OwnerFacts{Spent: ptr(c.spent)})
		b := component(t, comps, "budget")
		require.InDelta(t, c.score, b.Score, 0.05, "spent %v", c.spent)
		if c.score < 100 {
			require.Contains(t, b.Reason, "of the month's budget")
		}
	}
}

func TestGrade(t *testing.T) {
	require.Equal(t, "GOOD", Grade(80))
	require.Equal(t, "FAIR", Grade(79.9))
	require.Equal(t, "FAIR", Grade(60))
	require.Equal(t, "POOR", Grade(59.9))
	require.False(t, math.IsNaN(round1(0.05)))
}
