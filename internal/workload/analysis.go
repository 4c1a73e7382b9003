package workload

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Job analysis in the manner of Dr. Elephant: a set of heuristics looks at the
// window of a job's last runs (batch) or hours (streaming), each grades what it
// sees on one severity scale, gives its evidence in numbers and advice with
// numbers, and the job gets a score and wasted resources per day so the worst
// jobs can be ranked. The heuristics are pure functions of the window
// (AnalyzeWindow); the job-analysis job and AnalyzeJob load windows and store
// the results (analysis_store.go).

// Severity grades a finding, Dr. Elephant's scale: NONE is healthy.
type Severity int16

// Severities, in increasing order of concern.
const (
	SeverityNone Severity = iota
	SeverityLow
	SeverityModerate
	SeveritySevere
	SeverityCritical
)

func (s Severity) String() string {
	if s < SeverityNone || s > SeverityCritical {
		return "NONE"
	}
	return [...]string{"NONE", "LOW", "MODERATE", "SEVERE", "CRITICAL"}[s]
}

// Heuristic names.
const (
	HeuristicMemory     = "MEMORY_OVERPROVISIONED"
	HeuristicCPU        = "CPU_WASTE"
	HeuristicSkew       = "TASK_SKEW"
	HeuristicQueueWait  = "QUEUE_WAIT"
	HeuristicFailures   = "FAILURES_AND_RETRIES"
	HeuristicRegression = "RUNTIME_REGRESSION"
	// Queue heuristics.
	HeuristicStarved = "STARVED"
	HeuristicHoarded = "HOARDED"
	HeuristicIdle    = "IDLE"
)

// Evidence is one number behind a finding.
type Evidence struct {
	Key   string  `json:"key"`
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
}

// JobFinding is what one heuristic concluded about a job (or a queue: then
// JobID is the queue's id).
type JobFinding struct {
	JobID     int64
	Heuristic string
	Severity  Severity
	Evidence  []Evidence
	Advice    string
	// Wasted core-hours and GB-hours per day this finding accounts for (what
	// following the advice would save); zero for findings that waste nothing
	// measurable.
	WastedCoreHoursPerDay, WastedGBHoursPerDay float64
	AnalyzedAt                                 time.Time
}

// JobScore sums up a job's findings.
type JobScore struct {
	JobID int64
	// Score is Σ severity × tasks over the findings (Dr. Elephant's score),
	// tasks being the median task count of the window's runs (1 when unknown).
	Score                                      float64
	WastedCoreHoursPerDay, WastedGBHoursPerDay float64
	// Waste ranks "worst by waste": core-hours plus GB-hours divided by
	// Thresholds.GBPerCore.
	Waste         float64
	WorstSeverity Severity
	RunsAnalyzed  int
	HoursAnalyzed int
	AnalyzedAt    time.Time
}

// Grades are the four boundaries of LOW, MODERATE, SEVERE and CRITICAL for a
// value where more is worse: a value at or above Grades[i] is severity i+1.
type Grades [4]float64

// Grade returns the severity of v.
func (g Grades) Grade(v float64) Severity {
	s := SeverityNone
	for i, b := range g {
		if v >= b {
			s = Severity(i + 1)
		}
	}
	return s
}

// Thresholds are every number the heuristics judge by, in one place; the
// table in docs/workload.md mirrors DefaultThresholds.
type Thresholds struct {
	// Window is how many finished runs of a job are analysed.
	Window int
	// StreamingHours is how many hours of a streaming job's usage are analysed.
	StreamingHours int
	// GiB is what "GB" means in evidence and advice (YARN counts memory in
	// MiB, so 2^30 bytes).
	GiB float64
	// GBPerCore converts GB-hours to core-hours for the waste ranking.
	GBPerCore float64

	// Memory: unused share of requested memory, 1 - peak / requested.
	MemoryUnused Grades
	// MemoryMinRequestGB: smaller requests are not worth a finding.
	MemoryMinRequestGB float64
	// MemoryHeadroom multiplies the peak for the recommended request.
	MemoryHeadroom float64

	// CPU: unused share of requested core-seconds.
	CPUUnused       Grades
	CPUMinCoreHours float64 // requested core-hours over the window below which nothing is said
	CPUHeadroom     float64

	// Skew: max / p50 task duration (median over the window's runs).
	SkewRatio         Grades
	SkewMinTasks      int
	SkewMinMaxSeconds float64

	// Queue wait: median wait before a run started, in seconds.
	QueueWaitSeconds Grades

	// Failures: share of runs that failed or were aborted, and share that
	// needed more than one attempt (the worse of the two grades).
	FailureShare Grades
	RetryShare   Grades
	MinRuns      int // fewer finished runs: no failure or regression finding

	// Regression: median duration of the newest RecentRuns completed runs over
	// the median of the earlier ones of the window.
	RegressionRatio      Grades
	RecentRuns           int
	RegressionMinSeconds float64 // earlier median below this: too short to matter

	// Queues: STARVED is the share of snapshots with pending apps while under
	// the guarantee; HOARDED the top job's share of the queue's used
	// core-seconds (with at least two jobs); IDLE grades 1 - p95 usage /
	// guarantee.
	QueueWindow  time.Duration
	StarvedShare Grades
	HoardedShare Grades
	IdleUnused   Grades
}

// DefaultThresholds are the thresholds the job-analysis job and AnalyzeJob
// use unless configured otherwise.
func DefaultThresholds() Thresholds {
	return Thresholds{
		Window:               20,
		StreamingHours:       7 * 24,
		GiB:                  1 << 30,
		GBPerCore:            4,
		MemoryUnused:         Grades{0.5, 0.6, 0.7, 0.8},
		MemoryMinRequestGB:   2,
		MemoryHeadroom:       1.25,
		CPUUnused:            Grades{0.5, 0.6, 0.7, 0.8},
		CPUMinCoreHours:      1,
		CPUHeadroom:          1.2,
		SkewRatio:            Grades{2, 4, 8, 16},
		SkewMinTasks:         10,
		SkewMinMaxSeconds:    60,
		QueueWaitSeconds:     Grades{5 * 60, 15 * 60, 30 * 60, 60 * 60},
		FailureShare:         Grades{0.1, 0.2, 0.3, 0.5},
		RetryShare:           Grades{0.1, 0.2, 0.3, 0.5},
		MinRuns:              5,
		RegressionRatio:      Grades{1.25, 1.5, 2, 3},
		RecentRuns:           3,
		RegressionMinSeconds: 60,
		QueueWindow:          7 * 24 * time.Hour,
		StarvedShare:         Grades{0.05, 0.1, 0.25, 0.5},
		HoardedShare:         Grades{0.5, 0.6, 0.75, 0.9},
		IdleUnused:           Grades{0.5, 0.7, 0.8, 0.9},
	}
}

// WindowRun is one finished run as the heuristics see it.
type WindowRun struct {
	ID                         int64
	State                      string
	StartedAt, EndedAt         *time.Time
	Attempts                   int
	RequestedCoreSeconds       *float64
	UsedCoreSeconds            *float64
	RequestedMemoryByteSeconds *float64
	PeakMemoryBytes            *int64
	QueueWaitSeconds           *float64
	TaskCount                  *int32
	TaskSecondsP50             *float64
	TaskSecondsMax             *float64
}

func (r *WindowRun) seconds() (float64, bool) {
	if r.StartedAt == nil || r.EndedAt == nil || !r.EndedAt.After(*r.StartedAt) {
		return 0, false
	}
	return r.EndedAt.Sub(*r.StartedAt).Seconds(), true
}

// WindowHour is one hour of a streaming job's usage.
type WindowHour = UsageHour

// Window is what a job's analysis reads: its newest finished runs, newest
// first, and for a streaming job its recent hours.
type Window struct {
	JobID int64
	Kind  string
	Runs  []WindowRun
	Hours []WindowHour
}

// AnalyzeWindow runs every heuristic over w and returns the findings of
// those that had data (NONE included) and the job's score.
func AnalyzeWindow(t Thresholds, w Window, now time.Time) ([]JobFinding, JobScore) {
	var fs []JobFinding
	add := func(f *JobFinding) {
		if f != nil {
			f.JobID, f.AnalyzedAt = w.JobID, now
			fs = append(fs, *f)
		}
	}
	if w.Kind == "STREAMING" {
		add(streamMemory(t, w.Hours))
		add(streamCPU(t, w.Hours))
	} else {
		perDay := runsPerDay(w.Runs)
		add(runMemory(t, w.Runs, perDay))
		add(runCPU(t, w.Runs, perDay))
	}
	add(taskSkew(t, w.Runs))
	add(queueWait(t, w.Runs))
	add(failures(t, w.Runs, runsPerDay(w.Runs)))
	add(regression(t, w.Runs))
	slices.SortStableFunc(fs, func(a, b JobFinding) int { return int(b.Severity - a.Severity) })

	score := JobScore{JobID: w.JobID, RunsAnalyzed: len(w.Runs), HoursAnalyzed: len(w.Hours), AnalyzedAt: now}
	tasks := 1.0
	var counts []float64
	for _, r := range w.Runs {
		if r.TaskCount != nil && *r.TaskCount > 0 {
			counts = append(counts, float64(*r.TaskCount))
		}
	}
	if len(counts) > 0 {
		tasks = median(counts)
	}
	for _, f := range fs {
		score.Score += float64(f.Severity) * tasks
		score.WastedCoreHoursPerDay += f.WastedCoreHoursPerDay
		score.WastedGBHoursPerDay += f.WastedGBHoursPerDay
		score.WorstSeverity = max(score.WorstSeverity, f.Severity)
	}
	score.Waste = score.WastedCoreHoursPerDay + score.WastedGBHoursPerDay/t.GBPerCore
	return fs, score
}

// runsPerDay estimates how often the job runs from the window's start times:
// n runs spread over n mean intervals. One run, or runs without start times,
// count as one a day.
func runsPerDay(runs []WindowRun) float64 {
	var first, last *time.Time
	n := 0
	for i := range runs {
		s := runs[i].StartedAt
		if s == nil {
			continue
		}
		n++
		if first == nil || s.Before(*first) {
			first = s
		}
		if last == nil || s.After(*last) {
			last = s
		}
	}
	if n < 2 || !last.After(*first) {
		return 1
	}
	interval := last.Sub(*first).Seconds() / float64(n-1)
	return 86400 / interval
}

// runMemory: peak memory against the memory requested (requested
// byte-seconds over the run's duration).
func runMemory(t Thresholds, runs []WindowRun, perDay float64) *JobFinding {
	var peak float64
	var requested []float64
	var wastedByteSeconds float64
	type sized struct{ req, secs float64 }
	var rs []sized
	for i := range runs {
		r := &runs[i]
		secs, ok := r.seconds()
		if !ok || r.RequestedMemoryByteSeconds == nil || r.PeakMemoryBytes == nil {
			continue
		}
		req := *r.RequestedMemoryByteSeconds / secs
		requested = append(requested, req)
		peak = max(peak, float64(*r.PeakMemoryBytes))
		rs = append(rs, sized{req, secs})
	}
	if len(requested) == 0 {
		return nil
	}
	req := median(requested)
	if req/t.GiB < t.MemoryMinRequestGB {
		return nil
	}
	recommend := math.Ceil(peak*t.MemoryHeadroom/t.GiB*2) / 2 * t.GiB // to half a GB
	for _, s := range rs {
		wastedByteSeconds += max(0, s.req-recommend) * s.secs
	}
	unused := 1 - peak/req
	sev := t.MemoryUnused.Grade(unused)
	f := &JobFinding{Heuristic: HeuristicMemory, Severity: sev, Evidence: []Evidence{
		{"peak memory", round(peak/t.GiB, 2), "GB"},
		{"requested memory (median)", round(req/t.GiB, 2), "GB"},
		{"unused share", round(unused, 3), "ratio"},
		{"runs", float64(len(requested)), "runs"},
	}}
	if sev == SeverityNone {
		f.Advice = fmt.Sprintf("No change needed: the peak of %.1f GB uses %.0f%% of the %.1f GB requested.", peak/t.GiB, 100*peak/req, req/t.GiB)
		return f
	}
	f.WastedGBHoursPerDay = wastedByteSeconds / 3600 / t.GiB / float64(len(rs)) * perDay
	f.Evidence = append(f.Evidence, Evidence{"wasted", round(f.WastedGBHoursPerDay, 1), "GB-hours/day"})
	f.Advice = fmt.Sprintf("Request %.1f GB instead of %.1f GB: peak was %.1f GB over the last %d runs; saves about %.0f GB-hours a day.",
		recommend/t.GiB, req/t.GiB, peak/t.GiB, len(rs), f.WastedGBHoursPerDay)
	return f
}

// runCPU: core-seconds used against requested over the window.
func runCPU(t Thresholds, runs []WindowRun, perDay float64) *JobFinding {
	var req, used, wasted, secs float64
	n := 0
	for i := range runs {
		r := &runs[i]
		if r.RequestedCoreSeconds == nil || r.UsedCoreSeconds == nil || *r.RequestedCoreSeconds <= 0 {
			continue
		}
		n++
		req += *r.RequestedCoreSeconds
		used += *r.UsedCoreSeconds
		wasted += max(0, *r.RequestedCoreSeconds-t.CPUHeadroom**r.UsedCoreSeconds)
		if s, ok := r.seconds(); ok {
			secs += s
		}
	}
	if n == 0 || req/3600 < t.CPUMinCoreHours {
		return nil
	}
	unused := 1 - used/req
	sev := t.CPUUnused.Grade(unused)
	f := &JobFinding{Heuristic: HeuristicCPU, Severity: sev, Evidence: []Evidence{
		{"used", round(used/3600, 2), "core-hours"},
		{"requested", round(req/3600, 2), "core-hours"},
		{"unused share", round(unused, 3), "ratio"},
		{"runs", float64(n), "runs"},
	}}
	if sev == SeverityNone {
		f.Advice = fmt.Sprintf("No change needed: runs used %.0f%% of the cores requested.", 100*used/req)
		return f
	}
	f.WastedCoreHoursPerDay = wasted / 3600 / float64(n) * perDay
	f.Evidence = append(f.Evidence, Evidence{"wasted", round(f.WastedCoreHoursPerDay, 1), "core-hours/day"})
	if secs > 0 {
		reqCores, usedCores := req/secs, used/secs
		f.Advice = fmt.Sprintf("Request %.0f cores instead of %.0f: runs used %.1f cores on average (%.0f%% of %.1f core-hours) over the last %d runs; saves about %.0f core-hours a day.",
			math.Max(1, math.Ceil(usedCores*t.CPUHeadroom)), math.Round(reqCores), usedCores, 100*used/req, req/3600, n, f.WastedCoreHoursPerDay)
	} else {
		f.Advice = fmt.Sprintf("Request about %.0f%% of the cores asked for now: runs used %.0f%% of %.1f core-hours over the last %d runs; saves about %.0f core-hours a day.",
			math.Ceil(100*used/req*t.CPUHeadroom), 100*used/req, req/3600, n, f.WastedCoreHoursPerDay)
	}
	return f
}

// streamMemory and streamCPU are runMemory and runCPU over a streaming job's
// hours: requested memory in an hour is its byte-seconds over 3,600.
func streamMemory(t Thresholds, hours []WindowHour) *JobFinding {
	var peak float64
	var requested []float64
	var wasted float64
	for _, h := range hours {
		if h.RequestedMemoryByteSeconds <= 0 {
			continue
		}
		requested = append(requested, h.RequestedMemoryByteSeconds/3600)
		peak = max(peak, float64(h.PeakMemoryBytes))
	}
	if len(requested) == 0 {
		return nil
	}
	req := median(requested)
	if req/t.GiB < t.MemoryMinRequestGB {
		return nil
	}
	recommend := math.Ceil(peak*t.MemoryHeadroom/t.GiB*2) / 2 * t.GiB
	for _, r := range requested {
		wasted += max(0, r-recommend)
	}
	unused := 1 - peak/req
	sev := t.MemoryUnused.Grade(unused)
	f := &JobFinding{Heuristic: HeuristicMemory, Severity: sev, Evidence: []Evidence{
		{"peak memory", round(peak/t.GiB, 2), "GB"},
		{"requested memory (median)", round(req/t.GiB, 2), "GB"},
		{"unused share", round(unused, 3), "ratio"},
		{"hours", float64(len(requested)), "hours"},
	}}
	if sev == SeverityNone {
		f.Advice = fmt.Sprintf("No change needed: the peak of %.1f GB uses %.0f%% of the %.1f GB requested.", peak/t.GiB, 100*peak/req, req/t.GiB)
		return f
	}
	f.WastedGBHoursPerDay = wasted / t.GiB / float64(len(requested)) * 24
	f.Evidence = append(f.Evidence, Evidence{"wasted", round(f.WastedGBHoursPerDay, 1), "GB-hours/day"})
	f.Advice = fmt.Sprintf("Request %.1f GB instead of %.1f GB: peak was %.1f GB over the last %d hours; saves about %.0f GB-hours a day.",
		recommend/t.GiB, req/t.GiB, peak/t.GiB, len(requested), f.WastedGBHoursPerDay)
	return f
}

func streamCPU(t Thresholds, hours []WindowHour) *JobFinding {
	var req, used, wasted float64
	n := 0
	for _, h := range hours {
		if h.RequestedCoreSeconds <= 0 {
			continue
		}
		n++
		req += h.RequestedCoreSeconds
		used += h.UsedCoreSeconds
		wasted += max(0, h.RequestedCoreSeconds-t.CPUHeadroom*h.UsedCoreSeconds)
	}
	if n == 0 || req/3600 < t.CPUMinCoreHours {
		return nil
	}
	unused := 1 - used/req
	sev := t.CPUUnused.Grade(unused)
	f := &JobFinding{Heuristic: HeuristicCPU, Severity: sev, Evidence: []Evidence{
		{"used", round(used/3600, 2), "core-hours"},
		{"requested", round(req/3600, 2), "core-hours"},
		{"unused share", round(unused, 3), "ratio"},
		{"hours", float64(n), "hours"},
	}}
	if sev == SeverityNone {
		f.Advice = fmt.Sprintf("No change needed: the job used %.0f%% of the cores requested.", 100*used/req)
		return f
	}
	f.WastedCoreHoursPerDay = wasted / 3600 / float64(n) * 24
	f.Evidence = append(f.Evidence, Evidence{"wasted", round(f.WastedCoreHoursPerDay, 1), "core-hours/day"})
	reqCores, usedCores := req/3600/float64(n), used/3600/float64(n)
	f.Advice = fmt.Sprintf("Request %.0f cores instead of %.0f: the job used %.1f cores on average over the last %d hours; saves about %.0f core-hours a day.",
		math.Max(1, math.Ceil(usedCores*t.CPUHeadroom)), math.Round(reqCores), usedCores, n, f.WastedCoreHoursPerDay)
	return f
}

// taskSkew: the slowest task against the median task, median over runs with
// enough tasks.
func taskSkew(t Thresholds, runs []WindowRun) *JobFinding {
	var ratios, maxes, p50s []float64
	for _, r := range runs {
		if r.TaskCount == nil || int(*r.TaskCount) < t.SkewMinTasks || r.TaskSecondsP50 == nil || r.TaskSecondsMax == nil || *r.TaskSecondsP50 <= 0 {
			continue
		}
		ratios = append(ratios, *r.TaskSecondsMax / *r.TaskSecondsP50)
		maxes = append(maxes, *r.TaskSecondsMax)
		p50s = append(p50s, *r.TaskSecondsP50)
	}
	if len(ratios) == 0 {
		return nil
	}
	ratio, mx, p50 := median(ratios), median(maxes), median(p50s)
	sev := t.SkewRatio.Grade(ratio)
	if mx < t.SkewMinMaxSeconds {
		sev = SeverityNone
	}
	f := &JobFinding{Heuristic: HeuristicSkew, Severity: sev, Evidence: []Evidence{
		{"slowest task (median)", round(mx, 1), "s"},
		{"median task (median)", round(p50, 1), "s"},
		{"max / p50", round(ratio, 2), "ratio"},
		{"runs", float64(len(ratios)), "runs"},
	}}
	if sev == SeverityNone {
		f.Advice = "No change needed: tasks take similar times."
		return f
	}
	f.Advice = fmt.Sprintf("The slowest task takes %.0f s against a median of %.0f s (%.1f×) over the last %d runs: split the input on a better-spread key or turn on skew handling (e.g. Spark AQE skew join); evened out, each run could finish up to %.0f s sooner.",
		mx, p50, ratio, len(ratios), mx-p50)
	return f
}

// queueWait: the median wait before a run started.
func queueWait(t Thresholds, runs []WindowRun) *JobFinding {
	var waits []float64
	for _, r := range runs {
		if r.QueueWaitSeconds != nil {
			waits = append(waits, *r.QueueWaitSeconds)
		}
	}
	if len(waits) == 0 {
		return nil
	}
	med, longest := median(waits), slices.Max(waits)
	sev := t.QueueWaitSeconds.Grade(med)
	f := &JobFinding{Heuristic: HeuristicQueueWait, Severity: sev, Evidence: []Evidence{
		{"median wait", round(med/60, 1), "min"},
		{"longest wait", round(longest/60, 1), "min"},
		{"runs", float64(len(waits)), "runs"},
	}}
	if sev == SeverityNone {
		f.Advice = "No change needed: runs start promptly."
		return f
	}
	f.Advice = fmt.Sprintf("Runs waited a median of %.0f min (longest %.0f min) before starting over the last %d runs: move the job to a less loaded queue, start it outside the queue's peak, or ask for a larger guaranteed share.",
		med/60, longest/60, len(waits))
	return f
}

// failures: runs that failed or were aborted, and runs that needed retries.
// The resources of failed runs are counted as waste.
func failures(t Thresholds, runs []WindowRun, perDay float64) *JobFinding {
	if len(runs) < t.MinRuns {
		return nil
	}
	var failed, retried, extra int
	var lastFailed int64
	var wastedCore, wastedMem float64
	for _, r := range runs {
		if r.State == "FAILED" || r.State == "ABORTED" {
			failed++
			if lastFailed == 0 {
				lastFailed = r.ID
			}
			if r.UsedCoreSeconds != nil {
				wastedCore += *r.UsedCoreSeconds
			}
			if r.RequestedMemoryByteSeconds != nil {
				wastedMem += *r.RequestedMemoryByteSeconds
			}
		}
		if r.Attempts > 1 {
			retried++
			extra += r.Attempts - 1
		}
	}
	n := float64(len(runs))
	fs, rs := float64(failed)/n, float64(retried)/n
	sev := max(t.FailureShare.Grade(fs), t.RetryShare.Grade(rs))
	f := &JobFinding{Heuristic: HeuristicFailures, Severity: sev, Evidence: []Evidence{
		{"failed runs", float64(failed), "runs"},
		{"runs retried", float64(retried), "runs"},
		{"extra attempts", float64(extra), "attempts"},
		{"runs", n, "runs"},
	}}
	if sev == SeverityNone {
		f.Advice = "No change needed: runs succeed at the first attempt."
		return f
	}
	f.WastedCoreHoursPerDay = wastedCore / 3600 / n * perDay
	f.WastedGBHoursPerDay = wastedMem / 3600 / t.GiB / n * perDay
	f.Evidence = append(f.Evidence, Evidence{"failure share", round(fs, 3), "ratio"}, Evidence{"retry share", round(rs, 3), "ratio"})
	switch {
	case failed > 0:
		f.Advice = fmt.Sprintf("%d of the last %d runs failed and %d needed retries (%d extra attempts): read the error of run %d and fix its cause; failed runs cost about %.0f core-hours a day.",
			failed, len(runs), retried, extra, lastFailed, f.WastedCoreHoursPerDay)
	default:
		f.Advice = fmt.Sprintf("%d of the last %d runs needed retries (%d extra attempts): find what makes first attempts fail (lost executors, out-of-memory, flaky inputs) before it turns into failures.",
			retried, len(runs), extra)
	}
	return f
}

// regression: the newest completed runs against the earlier ones of the
// window, by median duration.
func regression(t Thresholds, runs []WindowRun) *JobFinding {
	var secs []float64 // newest first
	for i := range runs {
		if runs[i].State != "COMPLETED" {
			continue
		}
		if s, ok := runs[i].seconds(); ok {
			secs = append(secs, s)
		}
	}
	if len(secs) < t.RecentRuns+t.MinRuns {
		return nil
	}
	recent, earlier := median(secs[:t.RecentRuns]), median(secs[t.RecentRuns:])
	if earlier < t.RegressionMinSeconds {
		return nil
	}
	ratio := recent / earlier
	sev := t.RegressionRatio.Grade(ratio)
	f := &JobFinding{Heuristic: HeuristicRegression, Severity: sev, Evidence: []Evidence{
		{"recent runs (median)", round(recent/60, 1), "min"},
		{"earlier runs (median)", round(earlier/60, 1), "min"},
		{"ratio", round(ratio, 2), "ratio"},
		{"recent runs", float64(t.RecentRuns), "runs"},
		{"earlier runs", float64(len(secs) - t.RecentRuns), "runs"},
	}}
	if sev == SeverityNone {
		f.Advice = "No change needed: runs take as long as before."
		return f
	}
	f.Advice = fmt.Sprintf("The last %d runs took a median of %.0f min against %.0f min for the %d before (+%.0f%%): check the growth of its inputs and what changed in the job or its queue since then.",
		t.RecentRuns, recent/60, earlier/60, len(secs)-t.RecentRuns, 100*(ratio-1))
	return f
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func quantile(v []float64, q float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	pos := q * float64(len(s)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(s)-1)
	return s[lo] + (s[hi]-s[lo])*(pos-float64(lo))
}

func round(v float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(v*p) / p
}
