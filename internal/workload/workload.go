// Package workload owns what runs on the clusters: queues, jobs, their runs and
// hourly usage (tables queue, queue_usage, job, job_namespace_owner, job_run,
// job_usage_1h). Other packages record jobs and runs through the functions
// here (OpenLineage ingestion through UpsertJobs and ApplyRunEvents) and read
// them through Service, which checks the caller.
package workload

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/teslaops/tesla/internal/audit"
	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/workload/dbsqlc"
)

var queries = dbsqlc.New()

// Job is a job with its effective BU (its own, else its owner's).
type Job struct {
	ID          int64
	Namespace   string
	Name        string
	OwnerID     *int64
	BUID        *int64
	ClusterID   *int64
	QueueID     *int64
	Kind        string
	Priority    string
	Schedule    string
	Description string
	CreatedAt   time.Time
}

// Run is one run of a job (JobRun).
type Run = dbsqlc.JobRun

// JobKey names a job by its natural key and carries what a source knows of it.
type JobKey struct {
	Namespace, Name string
	// Kind (BATCH or STREAMING) and Description replace the stored ones when
	// not empty.
	Kind, Description string
}

// UpsertJobs returns the ids of the jobs of keys by (namespace, name), creating
// the new ones with the owner and BU their namespace maps to in
// job_namespace_owner (or none: see docs/workload.md, "Owners"). A kind or
// description given replaces the stored one. Three statements whatever the
// number of keys.
func UpsertJobs(ctx context.Context, q db.DBTX, keys []JobKey) (map[[2]string]int64, error) {
	merged := make(map[[2]string]JobKey, len(keys))
	for _, k := range keys {
		nk := [2]string{k.Namespace, k.Name}
		m := merged[nk]
		m.Namespace, m.Name = k.Namespace, k.Name
		if k.Kind != "" {
			m.Kind = k.Kind
		}
		if k.Description != "" {
			m.Description = k.Description
		}
		merged[nk] = m
	}
	sorted := make([]JobKey, 0, len(merged))
	for _, k := range merged {
		sorted = append(sorted, k)
	}
	sort.Slice(sorted, func(i, j int) bool {
		if sorted[i].Namespace != sorted[j].Namespace {
			return sorted[i].Namespace < sorted[j].Namespace
		}
		return sorted[i].Name < sorted[j].Name
	})
	ins := &dbsqlc.JobsInsertParams{}
	describe := &dbsqlc.JobsDescribeParams{}
	for _, k := range sorted {
		ins.Namespaces = append(ins.Namespaces, k.Namespace)
		ins.Names = append(ins.Names, k.Name)
		ins.Kinds = append(ins.Kinds, k.Kind)
		ins.Descriptions = append(ins.Descriptions, k.Description)
	}
	if err := queries.JobsInsert(ctx, q, ins); err != nil {
		return nil, fmt.Errorf("error saving jobs: %w", err)
	}
	rows, err := queries.JobIDsByNames(ctx, q, &dbsqlc.JobIDsByNamesParams{Namespaces: ins.Namespaces, Names: ins.Names})
	if err != nil {
		return nil, fmt.Errorf("error loading jobs: %w", err)
	}
	ids := make(map[[2]string]int64, len(rows))
	for _, r := range rows {
		ids[[2]string{r.Namespace, r.Name}] = r.ID
	}
	for _, k := range sorted {
		id, ok := ids[[2]string{k.Namespace, k.Name}]
		if !ok {
			return nil, fmt.Errorf("error saving jobs: job %s/%s missing after insert", k.Namespace, k.Name)
		}
		if k.Kind != "" || k.Description != "" {
			describe.Ids = append(describe.Ids, id)
			describe.Kinds = append(describe.Kinds, k.Kind)
			describe.Descriptions = append(describe.Descriptions, k.Description)
		}
	}
	if len(describe.Ids) > 0 {
		if err := queries.JobsDescribe(ctx, q, describe); err != nil {
			return nil, fmt.Errorf("error describing jobs: %w", err)
		}
	}
	return ids, nil
}

// RunEvent is one transition of a run, from whatever source.
type RunEvent struct {
	JobID   int64
	RunUUID pgtype.UUID
	// State is RUNNING, COMPLETED, FAILED, ABORTED, or "" for an event that
	// changes no state.
	State                    string
	Time                     time.Time
	NominalStart, NominalEnd *time.Time
	ParentRunUUID            pgtype.UUID
	// StartedAt, when set, is the run's start carried by an event of another
	// state: a scheduler that reports a finished run whole (YARN, a trace)
	// sends one terminal event instead of a RUNNING and a terminal one.
	StartedAt *time.Time
}

// ApplyRunEvents applies each event to its run, creating a run on its first
// event, and returns the runs' ids in the order of evs. All go to the server
// in one round trip. Events may come in any order: a terminal state is
// replaced only by a later terminal event, the start is the earliest START or
// RUNNING seen, the end the time of the terminal state kept.
func ApplyRunEvents(ctx context.Context, q db.DBTX, evs []RunEvent) ([]int64, error) {
	params := make([]*dbsqlc.RunUpsertParams, len(evs))
	for i := range evs {
		ev := &evs[i]
		p := &dbsqlc.RunUpsertParams{JobID: ev.JobID, RunUuid: ev.RunUUID, EventTime: &ev.Time,
			NominalStart: ev.NominalStart, NominalEnd: ev.NominalEnd, ParentRunUuid: ev.ParentRunUUID}
		if ev.State != "" {
			p.State = &ev.State
		}
		switch ev.State {
		case "RUNNING":
			p.StartedAt = &ev.Time
		case "COMPLETED", "FAILED", "ABORTED":
			p.EndedAt = &ev.Time
		}
		if ev.StartedAt != nil && (p.StartedAt == nil || ev.StartedAt.Before(*p.StartedAt)) {
			p.StartedAt = ev.StartedAt
		}
		params[i] = p
	}
	ids := make([]int64, len(evs))
	var first error
	queries.RunUpsert(ctx, q, params).QueryRow(func(i int, id int64, err error) {
		if err != nil && first == nil {
			first = err
		}
		ids[i] = id
	})
	if first != nil {
		return nil, fmt.Errorf("error saving runs: %w", first)
	}
	return ids, nil
}

// Service reads jobs, runs and queues for callers, checking what they may see,
// and changes job priorities (audited in log).
type Service struct {
	pool     *pgxpool.Pool
	audit    *audit.Log
	cfg      Config
	analysis AnalysisConfig
}

// NewService returns a Service over pool, auditing its changes in log.
func NewService(pool *pgxpool.Pool, log *audit.Log, cfg Config) *Service {
	return &Service{pool: pool, audit: log, cfg: cfg.withDefaults(), analysis: AnalysisConfig{}.withDefaults()}
}

// JobsByIDs returns the jobs of ids that exist. Job identity (namespace, name,
// kind, owner id) is platform structure that every signed-in role reads, as
// the lineage graph shows it; runs are not (see CheckRuns).
func (s *Service) JobsByIDs(ctx context.Context, ids []int64) (map[int64]*Job, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	return LoadJobs(ctx, s.pool, ids)
}

// LoadJobs reads the jobs of ids that exist, unchecked: for packages that
// checked their caller already (lineage walks).
func LoadJobs(ctx context.Context, q db.DBTX, ids []int64) (map[int64]*Job, error) {
	rows, err := queries.JobsByIDs(ctx, q, ids)
	if err != nil {
		return nil, fmt.Errorf("error loading jobs: %w", err)
	}
	out := make(map[int64]*Job, len(rows))
	for _, r := range rows {
		out[r.ID] = jobFromRow(r)
	}
	return out, nil
}

func jobFromRow(r *dbsqlc.JobsByIDsRow) *Job {
	bu := r.BuID
	if bu == nil {
		bu = r.OwnerBuID
	}
	return &Job{ID: r.ID, Namespace: r.Namespace, Name: r.Name, OwnerID: r.OwnerID, BUID: bu,
		ClusterID: r.ClusterID, QueueID: r.QueueID, Kind: r.Kind, Priority: r.Priority, Schedule: r.Schedule,
		Description: r.Description, CreatedAt: r.CreatedAt}
}

// Job returns one job, or NotFound.
func (s *Service) Job(ctx context.Context, id int64) (*Job, error) {
	jobs, err := s.JobsByIDs(ctx, []int64{id})
	if err != nil {
		return nil, err
	}
	j, ok := jobs[id]
	if !ok {
		return nil, fault.NotFoundf("job %d not found", id)
	}
	return j, nil
}

// CanSeeRuns is the one rule for reading a job's runs and usage: operators and
// admins see every job's, a BU admin the jobs of their BU subtree, anyone their
// own jobs'. A job with no owner and no BU is the platform's: operators only.
func CanSeeRuns(p *auth.Principal, j *Job) bool {
	switch {
	case p.Is(auth.Operator):
		return true
	case j.OwnerID != nil && *j.OwnerID == p.PersonID:
		return true
	case p.Role == auth.BUAdmin && j.BUID != nil:
		return p.InBUSubtree(*j.BUID)
	}
	return false
}

// CheckRuns returns Forbidden when the caller may not read j's runs.
func CheckRuns(ctx context.Context, j *Job) error {
	p, err := auth.Require(ctx)
	if err != nil {
		return err
	}
	if !CanSeeRuns(p, j) {
		return fault.Forbiddenf("you may not read the runs of job %s/%s: viewers read their own jobs' runs, BU admins their BU subtree's", j.Namespace, j.Name)
	}
	return nil
}

// MaxRuns is the most runs LastRuns returns per job.
const MaxRuns = 100

// LastRuns returns the newest n runs of j (running ones first), after
// checking the caller may read them.
func (s *Service) LastRuns(ctx context.Context, j *Job, n int) ([]*Run, error) {
	if err := CheckRuns(ctx, j); err != nil {
		return nil, err
	}
	if n < 1 || n > MaxRuns {
		return nil, fault.Field("first", "first must be between 1 and %d", MaxRuns)
	}
	runs, err := queries.RunsOfJobs(ctx, s.pool, &dbsqlc.RunsOfJobsParams{JobIds: []int64{j.ID}, Max: int32(n)})
	if err != nil {
		return nil, fmt.Errorf("error loading runs: %w", err)
	}
	return runs, nil
}

// LoadRun reads one run, unchecked (see LoadJobs); NotFound when absent.
func LoadRun(ctx context.Context, q db.DBTX, runID int64) (*Run, error) {
	runs, err := queries.RunsByIDs(ctx, q, []int64{runID})
	if err != nil {
		return nil, fmt.Errorf("error loading run: %w", err)
	}
	if len(runs) == 0 {
		return nil, fault.NotFoundf("run %d not found", runID)
	}
	return runs[0], nil
}

// Run returns one run, checking the caller may read its job's runs.
func (s *Service) Run(ctx context.Context, runID int64) (*Run, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	run, err := LoadRun(ctx, s.pool, runID)
	if err != nil {
		return nil, err
	}
	j, err := s.Job(ctx, run.JobID)
	if err != nil {
		return nil, err
	}
	if err := CheckRuns(ctx, j); err != nil {
		return nil, err
	}
	return run, nil
}
