package workload

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/page"
)

// JobFilter narrows a job listing. Every field set must hold.
type JobFilter struct {
	OwnerID *int64
	// BUID selects the jobs whose effective BU lies in this BU's subtree.
	BUID      *int64
	ClusterID *int64
	QueueID   *int64
	Kind      string
	Priority  string
	// HasFindings keeps the jobs whose last analysis found something (a
	// finding graded LOW or worse), or, false, those it found healthy. Findings
	// are run detail (CanSeeRuns), so the filter keeps only jobs whose runs the
	// caller may read: telling a job has findings is telling one of them.
	HasFindings *bool
}

// JobOrder is a job listing's ordering: ID (the default), NAME or PRIORITY,
// ascending unless Desc; the id breaks ties.
type JobOrder struct {
	Field string
	Desc  bool
}

// jobKeys are the key columns of the job orderings; each has an index (id the
// primary key, name and priority migration 0013), and each single filter pages
// through its own (filter, id) index in the default order.
var jobKeys = map[string]page.Col{
	"NAME":     {Expr: "j.name", Type: "text"},
	"PRIORITY": {Expr: "j.priority", Type: "text"},
}

func jobKeyset(o JobOrder) (page.Keyset, error) {
	field := cmp.Or(o.Field, "ID")
	dir := "ASC"
	if o.Desc {
		dir = "DESC"
	}
	id := page.Col{Expr: "j.id", Type: "bigint"}
	ks := page.Keyset{Tag: "jobs/" + field + "/" + dir, Desc: o.Desc, Cols: []page.Col{id}}
	if field == "ID" {
		return ks, nil
	}
	col, ok := jobKeys[field]
	if !ok {
		return page.Keyset{}, fault.Field("orderBy.field", "cannot order jobs by %q: use ID, NAME or PRIORITY", o.Field)
	}
	ks.Cols = []page.Col{col, id}
	return ks, nil
}

// Kinds and priorities a job may have.
var (
	jobKinds      = []string{"BATCH", "STREAMING"}
	jobPriorities = []string{"P0", "P1", "P2", "P3", "P4"}
)

// conds is a WHERE clause built with its named arguments.
type conds struct {
	parts []string
	args  pgx.NamedArgs
}

func (c *conds) add(sql, name string, v any) {
	c.parts = append(c.parts, sql)
	if name != "" {
		c.args[name] = v
	}
}

func (c *conds) where() string {
	if len(c.parts) == 0 {
		return "true"
	}
	return strings.Join(c.parts, " AND ")
}

func (s *Service) jobConds(ctx context.Context, f JobFilter) (*conds, error) {
	c := &conds{args: pgx.NamedArgs{}}
	if f.OwnerID != nil {
		c.add(`j.owner_id = @owner`, "owner", *f.OwnerID)
	}
	if f.BUID != nil {
		sub, err := auth.BUSubtree(ctx, s.pool, *f.BUID)
		if err != nil {
			return nil, err
		}
		// The effective BU is the job's own, else its owner's: two index
		// conditions (job_bu_idx, job_owner_idx) joined by a BitmapOr. Arrays,
		// not IN (subquery), so neither becomes a hash join over all jobs.
		c.add(`(j.bu_id = ANY(@bus) OR (j.bu_id IS NULL AND
			j.owner_id = ANY(ARRAY(SELECT id FROM person WHERE bu_id = ANY(@bus)))))`, "bus", sub)
	}
	if f.ClusterID != nil {
		c.add(`j.cluster_id = @cluster`, "cluster", *f.ClusterID)
	}
	if f.QueueID != nil {
		c.add(`j.queue_id = @queue`, "queue", *f.QueueID)
	}
	if f.Kind != "" {
		if !slices.Contains(jobKinds, f.Kind) {
			return nil, fault.Field("filter.kind", "filter.kind: %q is not BATCH or STREAMING", f.Kind)
		}
		c.add(`j.kind = @kind`, "kind", f.Kind)
	}
	if f.Priority != "" {
		if !slices.Contains(jobPriorities, f.Priority) {
			return nil, fault.Field("filter.priority", "filter.priority: %q is not P0..P4", f.Priority)
		}
		c.add(`j.priority = @priority`, "priority", f.Priority)
	}
	if f.HasFindings != nil {
		if *f.HasFindings {
			c.add(`EXISTS (SELECT 1 FROM job_score s WHERE s.job_id = j.id AND s.worst_severity > 0)`, "", nil)
		} else {
			c.add(`EXISTS (SELECT 1 FROM job_score s WHERE s.job_id = j.id AND s.worst_severity = 0)`, "", nil)
		}
		p, _ := auth.FromContext(ctx)
		switch {
		case p.Is(auth.Operator):
		case p.Role == auth.BUAdmin:
			// The same rule as CanSeeRuns: their own jobs and their BU subtree's.
			c.add(`(j.owner_id = @self OR coalesce(j.bu_id, p.bu_id) = ANY(@scope))`, "self", p.PersonID)
			c.args["scope"] = p.BUSubtree
		default:
			c.add(`j.owner_id = @self`, "self", p.PersonID)
		}
	}
	return c, nil
}

const jobColumns = `j.id, j.namespace, j.name, j.owner_id, coalesce(j.bu_id, p.bu_id), j.cluster_id, j.queue_id,
	j.kind, j.priority, j.schedule, j.description, j.created_at`

// Jobs lists jobs by keyset. Listing is open to every signed-in role: a job's
// identity (namespace, name, kind, priority, owner id, BU, cluster, queue) is
// platform metadata, as the lineage graph already shows it to everyone; its
// runs, usage and share of a queue are not (CanSeeRuns, checked per job by
// the fields that read them).
func (s *Service) Jobs(ctx context.Context, f JobFilter, o JobOrder, args page.Args) (page.Page[*Job], error) {
	if _, err := auth.Require(ctx); err != nil {
		return page.Page[*Job]{}, err
	}
	ks, err := jobKeyset(o)
	if err != nil {
		return page.Page[*Job]{}, err
	}
	seek, err := args.Seek(ks)
	if err != nil {
		return page.Page[*Job]{}, err
	}
	c, err := s.jobConds(ctx, f)
	if err != nil {
		return page.Page[*Job]{}, err
	}
	filtered := len(c.parts) > 0
	where := c.where()
	sk := seek.Where("_k")
	rowArgs := maps.Clone(c.args)
	maps.Copy(rowArgs, sk.Args)
	sql := `SELECT ` + jobColumns + `, ` + seek.Select() + ` FROM job j LEFT JOIN person p ON p.id = j.owner_id
		WHERE ` + where + ` AND ` + sk.SQL + ` ` + seek.OrderLimit()
	rows, err := s.pool.Query(ctx, sql, rowArgs)
	if err != nil {
		return page.Page[*Job]{}, fmt.Errorf("error listing jobs: %w", err)
	}
	var items []*Job
	var keys [][]string
	for rows.Next() {
		j := &Job{}
		key := make([]string, len(ks.Cols))
		dests := []any{&j.ID, &j.Namespace, &j.Name, &j.OwnerID, &j.BUID, &j.ClusterID, &j.QueueID, &j.Kind, &j.Priority,
			&j.Schedule, &j.Description, &j.CreatedAt}
		for i := range key {
			dests = append(dests, &key[i])
		}
		if err := rows.Scan(dests...); err != nil {
			rows.Close()
			return page.Page[*Job]{}, fmt.Errorf("error listing jobs: %w", err)
		}
		items, keys = append(items, j), append(keys, key)
	}
	if err := rows.Err(); err != nil {
		return page.Page[*Job]{}, fmt.Errorf("error listing jobs: %w", err)
	}
	var total page.Total
	if seek.Complete(len(items)) {
		total.N = len(items)
	} else if seek.NeedsCount(len(items)) {
		total, err = page.CountTotal(ctx, s.pool, "job", filtered, func() (int, error) {
			var n int
			err := s.pool.QueryRow(ctx, `SELECT count(*) FROM job j LEFT JOIN person p ON p.id = j.owner_id WHERE `+where, c.args).Scan(&n)
			return n, err
		})
		if err != nil {
			return page.Page[*Job]{}, fmt.Errorf("error counting jobs: %w", err)
		}
	}
	return page.KeysetPage(seek, items, keys, total), nil
}

// RunFilter narrows a job's runs: started in [From, To) when set, in State
// when set.
type RunFilter struct {
	From, To *time.Time
	State    string
}

// runKeyset pages a job's runs newest first; a run not started yet counts as
// the newest (the expression index of migration 0013 serves the order).
var runKeyset = page.Keyset{Tag: "runs/STARTED/DESC", Desc: true, Cols: []page.Col{
	{Expr: "coalesce(r.started_at, 'infinity'::timestamptz)", Type: "timestamptz"},
	{Expr: "r.id", Type: "bigint"},
}}

var runStates = []string{"RUNNING", "COMPLETED", "FAILED", "ABORTED", "OTHER"}

const runColumns = `r.id, r.job_id, r.run_uuid, r.state, r.state_at, r.queued_at, r.started_at, r.ended_at,
	r.nominal_start, r.nominal_end, r.attempts, r.requested_core_seconds, r.used_core_seconds,
	r.requested_memory_byte_seconds, r.used_memory_byte_seconds, r.peak_memory_bytes, r.queue_wait_seconds,
	r.task_count, r.task_seconds_min, r.task_seconds_p50, r.task_seconds_max, r.parent_run_uuid, r.created_at, r.updated_at`

// Runs pages a job's runs newest first, after checking the caller may read
// them. A time bound keeps only runs started within it.
func (s *Service) Runs(ctx context.Context, j *Job, f RunFilter, args page.Args) (page.Page[*Run], error) {
	if err := CheckRuns(ctx, j); err != nil {
		return page.Page[*Run]{}, err
	}
	pages, err := s.runPages(ctx, []int64{j.ID}, f, args)
	if err != nil {
		return page.Page[*Run]{}, err
	}
	return *pages[j.ID], nil
}

// RunPagesByJob pages the runs of several jobs at once (Job.runs under a job
// listing): one LATERAL statement for the pages and at most one for their
// totals, however many jobs. A job whose runs the caller may not read gets its
// own Forbidden in refused; a job that does not exist, NotFound.
func (s *Service) RunPagesByJob(ctx context.Context, ids []int64, f RunFilter, args page.Args) (map[int64]*page.Page[*Run], map[int64]error, error) {
	p, err := auth.Require(ctx)
	if err != nil {
		return nil, nil, err
	}
	jobs, err := LoadJobs(ctx, s.pool, ids)
	if err != nil {
		return nil, nil, err
	}
	refused := map[int64]error{}
	var allowed []int64
	for _, id := range ids {
		j, ok := jobs[id]
		switch {
		case !ok:
			refused[id] = fault.NotFoundf("job %d not found", id)
		case !CanSeeRuns(p, j):
			refused[id] = CheckRuns(ctx, j)
		default:
			allowed = append(allowed, id)
		}
	}
	if len(allowed) == 0 {
		return map[int64]*page.Page[*Run]{}, refused, nil
	}
	pages, err := s.runPages(ctx, allowed, f, args)
	return pages, refused, err
}

// runPages reads one keyset page of runs per job, unchecked.
func (s *Service) runPages(ctx context.Context, jobs []int64, f RunFilter, args page.Args) (map[int64]*page.Page[*Run], error) {
	seek, err := args.Seek(runKeyset)
	if err != nil {
		return nil, err
	}
	c := &conds{args: pgx.NamedArgs{}}
	if f.From != nil {
		c.add(`r.started_at >= @from`, "from", *f.From)
	}
	if f.To != nil {
		c.add(`r.started_at < @to`, "to", *f.To)
	}
	if f.From != nil && f.To != nil && !f.From.Before(*f.To) {
		return nil, fault.Field("from", "from must be before to")
	}
	if f.State != "" {
		if !slices.Contains(runStates, f.State) {
			return nil, fault.Field("state", "state: %q is not a run state", f.State)
		}
		c.add(`r.state = @state`, "state", f.State)
	}
	where := c.where()
	sk := seek.Where("_k")
	rowArgs := maps.Clone(c.args)
	maps.Copy(rowArgs, sk.Args)
	rowArgs["jobs"] = jobs
	// A LATERAL subquery per job seeks job_run_job_started_key_idx and returns
	// its rows in its own order.
	rows, err := s.pool.Query(ctx, `SELECT p.job, r.* FROM unnest(@jobs::bigint[]) AS p(job)
		CROSS JOIN LATERAL (SELECT `+runColumns+`, `+seek.Select()+` FROM job_run r
			WHERE r.job_id = p.job AND `+where+` AND `+sk.SQL+` `+seek.OrderLimit()+`) r`, rowArgs)
	if err != nil {
		return nil, fmt.Errorf("error listing runs: %w", err)
	}
	items := map[int64][]*Run{}
	keys := map[int64][][]string{}
	for rows.Next() {
		var job int64
		r := &Run{}
		key := make([]string, 2)
		if err := rows.Scan(&job, &r.ID, &r.JobID, &r.RunUuid, &r.State, &r.StateAt, &r.QueuedAt, &r.StartedAt, &r.EndedAt,
			&r.NominalStart, &r.NominalEnd, &r.Attempts, &r.RequestedCoreSeconds, &r.UsedCoreSeconds,
			&r.RequestedMemoryByteSeconds, &r.UsedMemoryByteSeconds, &r.PeakMemoryBytes, &r.QueueWaitSeconds,
			&r.TaskCount, &r.TaskSecondsMin, &r.TaskSecondsP50, &r.TaskSecondsMax, &r.ParentRunUuid, &r.CreatedAt, &r.UpdatedAt,
			&key[0], &key[1]); err != nil {
			rows.Close()
			return nil, fmt.Errorf("error listing runs: %w", err)
		}
		items[job], keys[job] = append(items[job], r), append(keys[job], key)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("error listing runs: %w", err)
	}
	totals := map[int64]int{}
	var uncounted []int64
	for _, id := range jobs {
		switch n := len(items[id]); {
		case seek.Complete(n):
			totals[id] = n
		case seek.NeedsCount(n):
			uncounted = append(uncounted, id)
		}
	}
	if len(uncounted) > 0 {
		// Each job's runs are counted exactly through its index range.
		cargs := maps.Clone(c.args)
		cargs["jobs"] = uncounted
		crows, err := s.pool.Query(ctx, `SELECT r.job_id, count(*) FROM job_run r
			WHERE r.job_id = ANY(@jobs) AND `+where+` GROUP BY 1`, cargs)
		if err != nil {
			return nil, fmt.Errorf("error counting runs: %w", err)
		}
		for crows.Next() {
			var id int64
			var n int
			if err := crows.Scan(&id, &n); err != nil {
				crows.Close()
				return nil, fmt.Errorf("error counting runs: %w", err)
			}
			totals[id] = n
		}
		if err := crows.Err(); err != nil {
			return nil, fmt.Errorf("error counting runs: %w", err)
		}
	}
	out := make(map[int64]*page.Page[*Run], len(jobs))
	for _, id := range jobs {
		pg := page.KeysetPage(seek, items[id], keys[id], page.Total{N: totals[id]})
		out[id] = &pg
	}
	return out, nil
}
