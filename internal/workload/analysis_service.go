package workload

import (
	"context"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/internal/audit"
	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/page"
	"github.com/teslaops/tesla/internal/workload/dbsqlc"
)

// A job's findings and score are run detail: they are read under the rule of
// its runs (CanSeeRuns), and listed in the caller's scope only.

// thresholds are the service's analysis thresholds (see WithAnalysis).
func (s *Service) thresholds() Thresholds {
	if s.analysis.Thresholds != nil {
		return *s.analysis.Thresholds
	}
	return DefaultThresholds()
}

// WithAnalysis makes on-demand analysis (AnalyzeJob) and queue analysis use
// cfg's thresholds, the ones the job-analysis job uses, and returns s.
func (s *Service) WithAnalysis(cfg AnalysisConfig) *Service {
	s.analysis = cfg.withDefaults()
	return s
}

// FindingsOfJobs returns the stored findings of the jobs of ids the caller
// may read the runs of (worst first), for a dataloader; jobs without
// findings, or that the caller may not read, have no entry.
func (s *Service) FindingsOfJobs(ctx context.Context, ids []int64) (map[int64][]*JobFinding, error) {
	visible, err := s.visibleJobs(ctx, ids)
	if err != nil {
		return nil, err
	}
	rows, err := queries.FindingsOfJobs(ctx, s.pool, visible)
	if err != nil {
		return nil, fmt.Errorf("error loading findings: %w", err)
	}
	out := make(map[int64][]*JobFinding, len(visible))
	for _, r := range rows {
		f, err := findingFromRow(r)
		if err != nil {
			return nil, err
		}
		out[r.JobID] = append(out[r.JobID], f)
	}
	return out, nil
}

// ScoresOfJobs returns the scores of the jobs of ids the caller may read the
// runs of; jobs never analysed have no entry.
func (s *Service) ScoresOfJobs(ctx context.Context, ids []int64) (map[int64]*JobScore, error) {
	visible, err := s.visibleJobs(ctx, ids)
	if err != nil {
		return nil, err
	}
	rows, err := queries.ScoresOfJobs(ctx, s.pool, visible)
	if err != nil {
		return nil, fmt.Errorf("error loading scores: %w", err)
	}
	out := make(map[int64]*JobScore, len(rows))
	for _, r := range rows {
		out[r.JobID] = scoreFromRow(r)
	}
	return out, nil
}

func (s *Service) visibleJobs(ctx context.Context, ids []int64) ([]int64, error) {
	p, err := auth.Require(ctx)
	if err != nil {
		return nil, err
	}
	jobs, err := LoadJobs(ctx, s.pool, ids)
	if err != nil {
		return nil, err
	}
	visible := make([]int64, 0, len(jobs))
	for id, j := range jobs {
		if CanSeeRuns(p, j) {
			visible = append(visible, id)
		}
	}
	return visible, nil
}

// AnalyzeJob analyses one job now, replacing its stored findings and score,
// and returns them. Who may read the job's runs may ask (operators, its
// owner, a BU admin of its BU); the request is audited.
func (s *Service) AnalyzeJob(ctx context.Context, log *audit.Log, jobID int64) ([]*JobFinding, *JobScore, error) {
	var fs []*JobFinding
	var score *JobScore
	err := log.Do(ctx, "analyzeJob", "job:"+strconv.FormatInt(jobID, 10), map[string]any{"id": jobID}, func(tx pgx.Tx) error {
		j, err := s.Job(ctx, jobID)
		if err != nil {
			return err
		}
		if err := CheckRuns(ctx, j); err != nil {
			return fault.Forbiddenf("you may not analyse job %s/%s: operators, its owner and BU admins of its BU may", j.Namespace, j.Name)
		}
		now := s.analysis.Now()
		a, err := analyzeJobs(ctx, tx, s.thresholds(), []int64{jobID}, now)
		if err != nil {
			return err
		}
		for i := range a.byJob[jobID] {
			fs = append(fs, &a.byJob[jobID][i])
		}
		if sc, ok := a.scores[jobID]; ok {
			score = &sc
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	if fs == nil {
		fs = []*JobFinding{}
	}
	return fs, score, nil
}

// WorstBy orders WorstJobs.
type WorstBy int

// Orderings of WorstJobs.
const (
	WorstByScore WorstBy = iota
	WorstByWaste
)

// WorstFilter narrows WorstJobs: a BU (the job's effective BU) and a cluster.
type WorstFilter struct {
	BU, Cluster *int64
}

var worstKeysets = [...]page.Keyset{
	WorstByScore: {Tag: "worstJobs/SCORE", Desc: true, Cols: []page.Col{{Expr: "s.score", Type: "float8"}, {Expr: "s.job_id", Type: "bigint"}}},
	WorstByWaste: {Tag: "worstJobs/WASTE", Desc: true, Cols: []page.Col{{Expr: "s.waste", Type: "float8"}, {Expr: "s.job_id", Type: "bigint"}}},
}

// WorstJobs lists analysed jobs worst first, by score or by waste, a keyset
// page at a time (forward: first/after), in the caller's scope: operators and
// admins every job, BU admins their BU subtree's and their own, others their
// own (the rule of CanSeeRuns). The page walks the ranking's index and filters
// as it goes; the total is not counted (0).
func (s *Service) WorstJobs(ctx context.Context, by WorstBy, f WorstFilter, args page.Args) (page.Page[*JobScore], error) {
	p, err := auth.Require(ctx)
	if err != nil {
		return page.Page[*JobScore]{}, err
	}
	if by != WorstByScore && by != WorstByWaste {
		return page.Page[*JobScore]{}, fault.Field("by", "by must be SCORE or WASTE")
	}
	if args.Last != nil || args.Before != nil {
		return page.Page[*JobScore]{}, fault.Field("last", "worstJobs pages forward only: use first and after")
	}
	seek, err := args.Seek(worstKeysets[by])
	if err != nil {
		return page.Page[*JobScore]{}, err
	}
	params := &dbsqlc.WorstByScoreParams{SeeAll: p.Is(auth.Operator), Person: &p.PersonID, Bus: []int64{},
		BuScope: []int64{}, Cluster: f.Cluster, Max: int32(seek.Size + 1)}
	if f.BU != nil {
		// A BU means its whole subtree, as everywhere else a BU filters.
		if params.BuScope, err = auth.BUSubtree(ctx, s.pool, *f.BU); err != nil {
			return page.Page[*JobScore]{}, err
		}
		params.FilterBu = true
	}
	if p.Role == auth.BUAdmin {
		params.Bus = p.BUSubtree
	}
	if seek.After != nil {
		k, err1 := strconv.ParseFloat(seek.After[0], 64)
		j, err2 := strconv.ParseInt(seek.After[1], 10, 64)
		if err1 != nil || err2 != nil {
			return page.Page[*JobScore]{}, fault.Field("after", "after is not a valid cursor; use a cursor returned by this connection")
		}
		params.AfterKey, params.AfterJob = &k, j
	}
	var rows []*dbsqlc.WorstByScoreRow
	if by == WorstByScore {
		rows, err = queries.WorstByScore(ctx, s.pool, params)
	} else {
		var wr []*dbsqlc.WorstByWasteRow
		wr, err = queries.WorstByWaste(ctx, s.pool, (*dbsqlc.WorstByWasteParams)(params))
		for _, r := range wr {
			rows = append(rows, (*dbsqlc.WorstByScoreRow)(r))
		}
	}
	if err != nil {
		return page.Page[*JobScore]{}, fmt.Errorf("error loading worst jobs: %w", err)
	}
	items := make([]*JobScore, len(rows))
	keys := make([][]string, len(rows))
	for i, r := range rows {
		items[i] = scoreFromRow(&dbsqlc.JobScore{JobID: r.JobID, Score: r.Score, WastedCoreHoursPerDay: r.WastedCoreHoursPerDay,
			WastedGbHoursPerDay: r.WastedGbHoursPerDay, Waste: r.Waste, WorstSeverity: r.WorstSeverity,
			RunsAnalyzed: r.RunsAnalyzed, HoursAnalyzed: r.HoursAnalyzed, AnalyzedAt: r.AnalyzedAt})
		keys[i] = []string{r.Key0, r.Key1}
	}
	return page.KeysetPage(seek, items, keys, page.Total{}), nil
}
