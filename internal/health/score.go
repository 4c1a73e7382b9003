package health

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// The scoring formulas, one pure function per level over the facts the job
// gathered (compute.go), so each can be tested on constructed facts. Every
// formula is written out in docs/health.md.

// severities are the severities of anomaly episodes and hardware faults,
// worst first.
var severities = [4]string{"CRITICAL", "HIGH", "MEDIUM", "LOW"}

// HostFacts is what a host's score is computed from.
type HostFacts struct {
	State, StateReason string
	// CPU, Mem and DiskIO are the newest sample's utilisation in percent
	// (host_latest); SampleAt its time.
	CPU, Mem, DiskIO *float64
	SampleAt         *time.Time
	LastHeartbeat    *time.Time
	// Scrape is the node_exporter polling state ("" when the host is not scraped).
	ScrapeStatus   string
	ScrapeFailures int
	ScrapeError    string
	// Components counts the host's components; BadComponents describes those
	// not in their desired state ("HDFS/DATANODE FAILED").
	Components    int
	BadComponents []string
	// Anomalies and Faults count the open anomaly episodes and hardware faults
	// by severity (CRITICAL, HIGH, MEDIUM, LOW).
	Anomalies [4]int
	Faults    [4]int
}

// ScoreHost scores a host at now; interval is the heartbeat interval.
func ScoreHost(f HostFacts, now time.Time, interval time.Duration) (float64, []Component) {
	comps := make([]Component, 6)

	// utilisation: the highest of CPU, memory and disk I/O.
	comps[0].Score = 100
	var dim string
	p := -1.0
	for _, d := range []struct {
		name string
		v    *float64
	}{{"CPU", f.CPU}, {"memory", f.Mem}, {"disk I/O", f.DiskIO}} {
		if d.v != nil && *d.v > p {
			p, dim = *d.v, d.name
		}
	}
	if p > pressureFrom {
		comps[0].Score = 100 * (100 - p) / (100 - pressureFrom)
		comps[0].Reason = fmt.Sprintf("%s at %.0f%% (points lost above %.0f%%)", dim, p, pressureFrom)
	}

	// heartbeats: time since the last heartbeat or sample, and scrapes.
	comps[1].Score = 100
	var why []string
	if f.State != "MAINTENANCE" {
		last := f.LastHeartbeat
		if f.SampleAt != nil && (last == nil || f.SampleAt.After(*last)) {
			last = f.SampleAt
		}
		if last == nil {
			comps[1].Score = 0
			why = append(why, "no heartbeat or sample ever received")
		} else if missed := math.Floor(now.Sub(*last).Seconds() / interval.Seconds()); missed > freeBeats {
			comps[1].Score = 100 * (1 - (missed-freeBeats)/(silentBeats-freeBeats))
			why = append(why, fmt.Sprintf("silent for %s: %.0f heartbeats of %s missed", now.Sub(*last).Round(time.Second), missed, interval))
		}
	}
	if f.ScrapeStatus == "FAILING" && f.ScrapeFailures > 0 {
		comps[1].Score = math.Min(comps[1].Score, 100-scrapeFailurePoints*float64(f.ScrapeFailures))
		why = append(why, fmt.Sprintf("node_exporter scrape failing (%d in a row): %s", f.ScrapeFailures, f.ScrapeError))
	}
	comps[1].Reason = strings.Join(why, "; ")

	// findings: open anomaly episodes by severity.
	comps[2].Score, comps[2].Reason = severityScore(f.Anomalies, anomalyPoints, "open anomaly episode")

	// components: those not in their desired state.
	comps[3].Score = 100
	if n := len(f.BadComponents); n > 0 {
		comps[3].Score = 100 - componentPoints*float64(n)
		comps[3].Reason = fmt.Sprintf("%d of %d components not in their desired state: %s", n, f.Components, strings.Join(f.BadComponents, ", "))
	}

	// state.
	s, ok := statePoints[f.State]
	if !ok {
		s = 0
	}
	comps[4].Score = s
	if s < 100 {
		comps[4].Reason = "host is " + f.State
		if f.StateReason != "" {
			comps[4].Reason += ": " + f.StateReason
		}
	}

	// hardware: open faults by severity.
	comps[5].Score, comps[5].Reason = severityScore(f.Faults, faultPoints, "open hardware fault")
	return combine(Host, comps)
}

// severityScore is 100 less the points of counts (by severity, worst first),
// and its reason.
func severityScore(counts [4]int, points map[string]float64, what string) (float64, string) {
	score := 100.0
	var parts []string
	total := 0
	for i, n := range counts {
		if n > 0 {
			score -= float64(n) * points[severities[i]]
			parts = append(parts, fmt.Sprintf("%d %s", n, severities[i]))
			total += n
		}
	}
	if total == 0 {
		return 100, ""
	}
	plural := ""
	if total > 1 {
		plural = "s"
	}
	return score, fmt.Sprintf("%d %s%s (%s)", total, what, plural, strings.Join(parts, ", "))
}

// Level is a cluster's water level in one dimension.
type WaterLevel struct {
	Dimension   string
	Utilisation float64
}

// ClusterFacts is what a cluster's score is computed from.
type ClusterFacts struct {
	// Threshold is the cluster kind's utilisation threshold (0..1).
	Threshold float64
	Levels    []WaterLevel
	// CrossesAt is the earliest forecast crossing of the threshold, and its
	// dimension; nil when no forecast crosses.
	CrossesAt                     *time.Time
	CrossDimension                string
	Hosts, SickHosts              int
	Components, FailingComponents int
}

// ScoreCluster scores a cluster at now.
func ScoreCluster(f ClusterFacts, now time.Time) (float64, []Component) {
	comps := make([]Component, 4)

	// waterlevel: the worst dimension against the threshold.
	comps[0].Score = 100
	t := f.Threshold
	for _, l := range f.Levels {
		u := l.Utilisation
		var s float64
		switch {
		case u <= waterWarn*t:
			s = 100
		case u <= t:
			s = 100 - (100-waterAtThreshold)*(u-waterWarn*t)/((1-waterWarn)*t)
		case t >= 1:
			s = 0
		default:
			s = waterAtThreshold * (1 - (u-t)/(1-t))
		}
		if s < comps[0].Score {
			comps[0].Score = s
			comps[0].Reason = fmt.Sprintf("%s at %s against a threshold of %s", l.Dimension, pct(u), pct(t))
		}
	}

	// forecast: the earliest crossing of the threshold within the horizon.
	comps[1].Score = 100
	if f.CrossesAt != nil {
		left := f.CrossesAt.Sub(now)
		if left < forecastHorizon {
			comps[1].Score = 100 * math.Max(0, left.Hours()) / forecastHorizon.Hours()
			comps[1].Reason = fmt.Sprintf("%s forecast to cross %s in %.0f days", f.CrossDimension, pct(t), math.Max(0, left.Hours()/24))
		}
	}

	// hosts: the share of POOR hosts.
	comps[2].Score = 100
	if f.Hosts > 0 && f.SickHosts > 0 {
		share := float64(f.SickHosts) / float64(f.Hosts)
		comps[2].Score = 100 * (1 - share/sickHostShare)
		comps[2].Reason = fmt.Sprintf("%d of %d hosts (%.1f%%) are POOR (health below %.0f)", f.SickHosts, f.Hosts, 100*share, FairFrom)
	}

	// components: the share of host components not in their desired state.
	comps[3].Score = 100
	if f.Components > 0 && f.FailingComponents > 0 {
		share := float64(f.FailingComponents) / float64(f.Components)
		comps[3].Score = 100 * (1 - share/failingComponentShare)
		comps[3].Reason = fmt.Sprintf("%d of %d components (%.1f%%) not in their desired state", f.FailingComponents, f.Components, 100*share)
	}
	return combine(Cluster, comps)
}

// JobFacts is what a job's score is computed from, over the window.
type JobFacts struct {
	// Finished runs in the window and the failed (FAILED or ABORTED) ones.
	Runs, FailedRuns int
	// Runs with a nominal end, and those that ended after it (or are still
	// running past it).
	DeadlineRuns, LateRuns int
	// WorstSeverity is the job analysis's worst finding (0..4, -1 when never
	// analysed), WorstHeuristic its heuristic.
	WorstSeverity  int
	WorstHeuristic string
	// Requested and used core-seconds and memory byte-seconds in the window.
	ReqCore, UsedCore, ReqMem, UsedMem float64
}

// ScoreJob scores a job.
func ScoreJob(f JobFacts) (float64, []Component) {
	comps := make([]Component, 4)
	days := jobWindow.Hours() / 24

	comps[0].Score = 100
	if f.Runs > 0 && f.FailedRuns > 0 {
		share := float64(f.FailedRuns) / float64(f.Runs)
		comps[0].Score = 100 * (1 - failurePenalty*share)
		comps[0].Reason = fmt.Sprintf("%d of %d runs failed in %.0f days (%s)", f.FailedRuns, f.Runs, days, pct(share))
	}

	comps[1].Score = 100
	if f.DeadlineRuns > 0 && f.LateRuns > 0 {
		share := float64(f.LateRuns) / float64(f.DeadlineRuns)
		comps[1].Score = 100 * (1 - failurePenalty*share)
		comps[1].Reason = fmt.Sprintf("%d of %d runs missed their deadline in %.0f days (%s)", f.LateRuns, f.DeadlineRuns, days, pct(share))
	}

	comps[2].Score = 100
	if f.WorstSeverity > 0 && f.WorstSeverity < len(findingScore) {
		comps[2].Score = findingScore[f.WorstSeverity]
		comps[2].Reason = fmt.Sprintf("worst finding %s is %s", f.WorstHeuristic, [...]string{"NONE", "LOW", "MODERATE", "SEVERE", "CRITICAL"}[f.WorstSeverity])
	}

	comps[3].Score = 100
	var shares []float64
	var parts []string
	if f.ReqCore > 0 {
		s := f.UsedCore / f.ReqCore
		shares, parts = append(shares, s), append(parts, pct(s)+" of requested cores")
	}
	if f.ReqMem > 0 {
		s := f.UsedMem / f.ReqMem
		shares, parts = append(shares, s), append(parts, pct(s)+" of requested memory")
	}
	if len(shares) > 0 {
		eff := 0.0
		for _, s := range shares {
			eff += math.Min(s, 1)
		}
		eff /= float64(len(shares))
		if eff < efficientFrom {
			comps[3].Score = 100 * eff / efficientFrom
			comps[3].Reason = fmt.Sprintf("used %s in %.0f days (points lost below %s)", strings.Join(parts, " and "), days, pct(efficientFrom))
		}
	}
	return combine(Job, comps)
}

// OwnerFacts is what a person's or BU's score is computed from.
type OwnerFacts struct {
	// Jobs is how many scored jobs they own; JobScore their scores' mean
	// weighted by each job's cost over the cost window (unweighted when none
	// cost anything); Cost the total; WorstJob the lowest-scored job's name and
	// WorstJobScore its score.
	Jobs          int
	JobScore      float64
	Cost          float64
	Currency      string
	WorstJob      string
	WorstJobScore float64
	// Spent is spend ÷ budget for the month (nil: no budget, or no budget source).
	Spent *float64
}

// ScoreOwner scores a person or BU (level Person or BU).
func ScoreOwner(level Level, f OwnerFacts) (float64, []Component) {
	comps := make([]Component, 2)
	comps[0].Score = 100
	if f.Jobs > 0 {
		comps[0].Score = f.JobScore
		if f.JobScore < 100 {
			weighting := fmt.Sprintf("weighted by their cost over %.0f days (%.2f %s)", costWindow.Hours()/24, f.Cost, f.Currency)
			if f.Cost <= 0 {
				weighting = "unweighted: no cost billed"
			}
			comps[0].Reason = fmt.Sprintf("%d jobs score %.1f on average, %s; worst %s at %.1f", f.Jobs, f.JobScore, weighting, f.WorstJob, f.WorstJobScore)
		}
	}

	comps[1].Score = 100
	switch {
	case f.Spent == nil:
		comps[1].Reason = "no budget"
	case *f.Spent > budgetWarn:
		r := *f.Spent
		if r <= 1 {
			comps[1].Score = 100 - (100-budgetAtAmount)*(r-budgetWarn)/(1-budgetWarn)
		} else {
			comps[1].Score = budgetAtAmount * (1 - (r-1)/(budgetZero-1))
		}
		comps[1].Reason = fmt.Sprintf("spent %s of the month's budget", pct(r))
	}
	return combine(level, comps)
}
