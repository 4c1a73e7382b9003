package workload

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/workload/dbsqlc"
)

// AnalysisConfig tunes the job-analysis job. Zero fields take the defaults.
type AnalysisConfig struct {
	// Thresholds are the heuristics' numbers (default DefaultThresholds()).
	Thresholds *Thresholds
	// BatchJobs is how many jobs one transaction analyses (default 500): a run
	// cut short by its timeout keeps every batch committed before.
	BatchJobs int
	// Grace is how far behind now a pass ends (default 1m): a run updated by a
	// transaction that commits late, with an earlier updated_at, is still
	// caught by the next pass as long as it commits within Grace.
	Grace time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

func (c AnalysisConfig) withDefaults() AnalysisConfig {
	if c.Thresholds == nil {
		t := DefaultThresholds()
		c.Thresholds = &t
	}
	c.BatchJobs = cmp.Or(c.BatchJobs, 500)
	c.Grace = cmp.Or(c.Grace, time.Minute)
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// AnalysisResult counts what one pass did.
type AnalysisResult struct {
	Jobs, Batches, Findings int
	// Flagged counts the jobs with a finding worse than NONE.
	Flagged int
	// Until is the end of the pass: runs changed up to it are analysed.
	Until time.Time
}

// RunAnalysis is one pass of the job-analysis job: it analyses every job with
// a finished run changed since the last pass, and every streaming job with a
// new complete hour of usage, BatchJobs jobs to a transaction. Progress
// (job_analysis_state) is committed with each batch, so a pass cut short
// resumes with the next job at the next run, and a pass that finished is not
// repeated: the next one starts where it ended.
func RunAnalysis(ctx context.Context, pool *pgxpool.Pool, cfg AnalysisConfig) (AnalysisResult, error) {
	cfg = cfg.withDefaults()
	st, err := queries.AnalysisState(ctx, pool)
	if err != nil {
		return AnalysisResult{}, fmt.Errorf("error loading analysis state: %w", err)
	}
	until := st.PendingUntil
	after := st.AfterJob
	if until == nil {
		u := cfg.Now().Add(-cfg.Grace)
		until = &u
		if err := queries.AnalysisStateBegin(ctx, pool, until); err != nil {
			return AnalysisResult{}, fmt.Errorf("error saving analysis state: %w", err)
		}
	}
	res := AnalysisResult{Until: *until}
	from := st.DoneUntil
	// Streaming hours: the complete hours that ended between the two ends.
	fromHour, toHour := from.Add(-time.Hour).Truncate(time.Hour), until.Add(-time.Hour).Truncate(time.Hour)
	if oldest := toHour.Add(-time.Duration(cfg.Thresholds.StreamingHours) * time.Hour); fromHour.Before(oldest) {
		fromHour = oldest // the first pass, or one after a long pause: only hours a window reads
	}
	for {
		ids, err := queries.ChangedJobs(ctx, pool, &dbsqlc.ChangedJobsParams{FromTs: from, ToTs: *until,
			AfterJob: after, FromHour: fromHour, ToHour: toHour, Max: int32(cfg.BatchJobs)})
		if err != nil {
			return res, fmt.Errorf("error listing jobs to analyse: %w", err)
		}
		if len(ids) == 0 {
			break
		}
		after = ids[len(ids)-1]
		err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			a, err := analyzeJobs(ctx, tx, *cfg.Thresholds, ids, cfg.Now())
			if err != nil {
				return err
			}
			res.Findings += a.findings
			res.Flagged += a.flagged
			return queries.AnalysisStateProgress(ctx, tx, after)
		})
		if err != nil {
			return res, fmt.Errorf("error analysing jobs: %w", err)
		}
		res.Jobs += len(ids)
		res.Batches++
	}
	if err := queries.AnalysisStateDone(ctx, pool); err != nil {
		return res, fmt.Errorf("error saving analysis state: %w", err)
	}
	return res, nil
}

type analyzed struct {
	findings, flagged int
	byJob             map[int64][]JobFinding
	scores            map[int64]JobScore
}

// analyzeJobs loads the windows of ids, runs the heuristics and replaces the
// jobs' findings and scores: six statements whatever the number of jobs.
func analyzeJobs(ctx context.Context, q db.DBTX, t Thresholds, ids []int64, now time.Time) (analyzed, error) {
	out := analyzed{byJob: map[int64][]JobFinding{}, scores: map[int64]JobScore{}}
	windows, err := loadWindows(ctx, q, t, ids, now)
	if err != nil {
		return out, err
	}
	fp := &dbsqlc.FindingsInsertParams{AnalyzedAt: now}
	sp := &dbsqlc.ScoresInsertParams{AnalyzedAt: now}
	for _, id := range ids {
		w := windows[id]
		if w == nil || (len(w.Runs) == 0 && len(w.Hours) == 0) {
			continue
		}
		fs, score := AnalyzeWindow(t, *w, now)
		out.byJob[id], out.scores[id] = fs, score
		for _, f := range fs {
			ev, err := json.Marshal(f.Evidence)
			if err != nil {
				return out, fmt.Errorf("error encoding evidence: %w", err)
			}
			fp.JobIds = append(fp.JobIds, id)
			fp.Heuristics = append(fp.Heuristics, f.Heuristic)
			fp.Severities = append(fp.Severities, int16(f.Severity))
			fp.Evidence = append(fp.Evidence, ev)
			fp.Advice = append(fp.Advice, f.Advice)
		}
		out.findings += len(fs)
		if score.WorstSeverity > SeverityNone {
			out.flagged++
		}
		sp.JobIds = append(sp.JobIds, id)
		sp.Scores = append(sp.Scores, score.Score)
		sp.CoreHours = append(sp.CoreHours, score.WastedCoreHoursPerDay)
		sp.GbHours = append(sp.GbHours, score.WastedGBHoursPerDay)
		sp.Waste = append(sp.Waste, score.Waste)
		sp.Worst = append(sp.Worst, int16(score.WorstSeverity))
		sp.Runs = append(sp.Runs, int32(score.RunsAnalyzed))
		sp.Hours = append(sp.Hours, int32(score.HoursAnalyzed))
	}
	if err := queries.FindingsDelete(ctx, q, ids); err != nil {
		return out, fmt.Errorf("error replacing findings: %w", err)
	}
	if err := queries.ScoresDelete(ctx, q, ids); err != nil {
		return out, fmt.Errorf("error replacing scores: %w", err)
	}
	if len(fp.JobIds) > 0 {
		if err := queries.FindingsInsert(ctx, q, fp); err != nil {
			return out, fmt.Errorf("error saving findings: %w", err)
		}
	}
	if len(sp.JobIds) > 0 {
		if err := queries.ScoresInsert(ctx, q, sp); err != nil {
			return out, fmt.Errorf("error saving scores: %w", err)
		}
	}
	return out, nil
}

// loadWindows reads each job's newest finished runs and, for streaming
// jobs, its recent hours.
func loadWindows(ctx context.Context, q db.DBTX, t Thresholds, ids []int64, now time.Time) (map[int64]*Window, error) {
	jobs, err := LoadJobs(ctx, q, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]*Window, len(jobs))
	var streaming []int64
	for id, j := range jobs {
		out[id] = &Window{JobID: id, Kind: j.Kind}
		if j.Kind == "STREAMING" {
			streaming = append(streaming, id)
		}
	}
	runs, err := queries.WindowRuns(ctx, q, &dbsqlc.WindowRunsParams{JobIds: ids, Max: int32(t.Window)})
	if err != nil {
		return nil, fmt.Errorf("error loading runs to analyse: %w", err)
	}
	for _, r := range runs {
		w := out[r.JobID]
		if w == nil {
			continue
		}
		w.Runs = append(w.Runs, WindowRun{ID: r.ID, State: r.State, StartedAt: r.StartedAt, EndedAt: r.EndedAt,
			Attempts: int(r.Attempts), RequestedCoreSeconds: r.RequestedCoreSeconds, UsedCoreSeconds: r.UsedCoreSeconds,
			RequestedMemoryByteSeconds: r.RequestedMemoryByteSeconds, PeakMemoryBytes: r.PeakMemoryBytes,
			QueueWaitSeconds: r.QueueWaitSeconds, TaskCount: r.TaskCount, TaskSecondsP50: r.TaskSecondsP50,
			TaskSecondsMax: r.TaskSecondsMax})
	}
	if len(streaming) > 0 {
		hours, err := queries.WindowHours(ctx, q, &dbsqlc.WindowHoursParams{JobIds: streaming,
			FromHour: now.Truncate(time.Hour).Add(-time.Duration(t.StreamingHours) * time.Hour)})
		if err != nil {
			return nil, fmt.Errorf("error loading hours to analyse: %w", err)
		}
		for _, h := range hours {
			w := out[h.JobID]
			w.Hours = append(w.Hours, WindowHour{JobID: h.JobID, Hour: h.Hour, Runs: h.Runs,
				RequestedCoreSeconds: h.RequestedCoreSeconds, UsedCoreSeconds: h.UsedCoreSeconds,
				RequestedMemoryByteSeconds: h.RequestedMemoryByteSeconds, UsedMemoryByteSeconds: h.UsedMemoryByteSeconds,
				PeakMemoryBytes: h.PeakMemoryBytes})
		}
	}
	return out, nil
}

func findingFromRow(r *dbsqlc.JobFinding) (*JobFinding, error) {
	f := &JobFinding{JobID: r.JobID, Heuristic: r.Heuristic, Severity: Severity(r.Severity), Advice: r.Advice, AnalyzedAt: r.AnalyzedAt}
	if err := json.Unmarshal(r.Evidence, &f.Evidence); err != nil {
		return nil, fmt.Errorf("error reading evidence of job %d: %w", r.JobID, err)
	}
	return f, nil
}

func scoreFromRow(r *dbsqlc.JobScore) *JobScore {
	return &JobScore{JobID: r.JobID, Score: r.Score, WastedCoreHoursPerDay: r.WastedCoreHoursPerDay,
		WastedGBHoursPerDay: r.WastedGbHoursPerDay, Waste: r.Waste, WorstSeverity: Severity(r.WorstSeverity),
		RunsAnalyzed: int(r.RunsAnalyzed), HoursAnalyzed: int(r.HoursAnalyzed), AnalyzedAt: r.AnalyzedAt}
}
