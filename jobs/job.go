// Package jobs holds Tesla's scheduled maintenance and analytics jobs and the
// scheduler that runs them. A job is a thin adapter: a Spec (name, description and
// a Schedule of interval and timeout — the same description for every job) and a
// RunOnce(ctx) that calls one domain service (telemetry, watermark) for one pass of
// the work. The scheduler merely calls RunOnce on the interval, and the same
// RunOnce serves `tesla jobs run NAME` and tests through Run.
//
// These are the platform's scheduled jobs. The analytics jobs of YARN
// applications and runs — the workload a cluster runs — are another thing and
// live in internal/workload.
//
// Every run — scheduled or not — goes through one path (execute): it is recorded
// in scheduler_run (replica, start, end, rows, error text, details) and logged in
// one summary line. With several replicas on one database each run happens on one
// replica only: a PostgreSQL advisory lock per job, held on a dedicated session
// for the length of the run, and a check that no replica started the job within
// the last 90% of its interval (see locker.go).
package jobs

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/teslaops/tesla/internal/fault"
)

// Job is one scheduled job; New makes one from a Spec and a function.
type Job interface {
	// Name identifies the job in scheduler_run, locks, logs and the CLI.
	Name() string
	// Description says in a sentence what the job does, for operators.
	Description() string
	// Interval is the time between runs.
	Interval() time.Duration
	// Timeout bounds one run; the run's context is cancelled after it.
	Timeout() time.Duration
	// RunOnce does one pass of the work.
	RunOnce(ctx context.Context) (Result, error)
}

// Schedule is when and for how long a job runs. Every job has one; jobs differ
// in the values only.
type Schedule struct {
	// Interval is the time between runs.
	Interval time.Duration
	// Timeout bounds one run; the run's context is cancelled after it.
	Timeout time.Duration
}

// Or returns s with its zero fields taken from def.
func (s Schedule) Or(def Schedule) Schedule {
	return Schedule{Interval: cmp.Or(s.Interval, def.Interval), Timeout: cmp.Or(s.Timeout, def.Timeout)}
}

// Spec describes a job for the scheduler, operators and the API.
type Spec struct {
	// Name identifies the job in scheduler_run, locks, logs and the CLI.
	Name string
	// Description says in a sentence what the job does.
	Description string
	Schedule
}

// New returns the Job described by spec whose runs call run.
func New(spec Spec, run func(ctx context.Context) (Result, error)) Job {
	return &task{spec: spec, run: run}
}

// task is the one Job implementation: a description and a function.
type task struct {
	spec Spec
	run  func(ctx context.Context) (Result, error)
}

func (t *task) Name() string                                { return t.spec.Name }
func (t *task) Description() string                         { return t.spec.Description }
func (t *task) Interval() time.Duration                     { return t.spec.Interval }
func (t *task) Timeout() time.Duration                      { return t.spec.Timeout }
func (t *task) RunOnce(ctx context.Context) (Result, error) { return t.run(ctx) }

// Result is what a run did: Rows counts the rows it touched (written, deleted,
// partitions created…), Details carries job-specific counts for scheduler_run.
type Result struct {
	Rows    int64
	Details map[string]any
}

// RunRecord is one row of scheduler_run.
type RunRecord struct {
	ID        int64
	Job       string
	Replica   string
	StartedAt time.Time
	// FinishedAt is nil while the run is in progress (or if its process died).
	FinishedAt *time.Time
	Rows       int64
	// Error is the run's error text, empty on success.
	Error   string
	Details map[string]any
}

// Duration is how long the run took, nil while it is in progress.
func (r RunRecord) Duration() *time.Duration {
	if r.FinishedAt == nil {
		return nil
	}
	d := r.FinishedAt.Sub(r.StartedAt)
	return &d
}

// Succeeded reports whether the run finished without error.
func (r RunRecord) Succeeded() bool { return r.FinishedAt != nil && r.Error == "" }

// JobStatus is a job's schedule and recent history, for the schedulerJobs query
// and `tesla jobs list`.
type JobStatus struct {
	Name        string
	Description string
	Interval    time.Duration
	Timeout     time.Duration
	// LastRun is the newest run, LastSuccess the newest successful one.
	LastRun     *RunRecord
	LastSuccess *RunRecord
	// Recent holds up to RecentRuns runs, newest first.
	Recent []RunRecord
}

// RecentRuns is how many runs Status returns per job.
const RecentRuns = 10

// MaxRuns bounds Runs' n.
const MaxRuns = 1000

// maxErrorText bounds the error text stored per run: enough for any wrapped
// error chain, not enough for a runaway message to bloat the table.
const maxErrorText = 4000

// DefaultReplica names this process for scheduler_run: host name and process id,
// so two replicas on one host are still told apart.
func DefaultReplica() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown"
	}
	return fmt.Sprintf("%s:%d", host, os.Getpid())
}

// Find returns the job called name, or NotFound naming the jobs there are.
func Find(jobs []Job, name string) (Job, error) {
	var names []string
	for _, j := range jobs {
		if j.Name() == name {
			return j, nil
		}
		names = append(names, j.Name())
	}
	return nil, fault.NotFoundf("no job named %q (jobs: %v)", name, names)
}

// ErrRunning is returned by Run when another process holds the job's lock.
var ErrRunning = fault.New(fault.Conflict, "the job is running on another replica")

// Run runs job once now, as `tesla jobs run NAME` and tests do: under the job's
// advisory lock (ErrRunning if a replica holds it) and recorded like a scheduled
// run. Unlike the scheduler it does not skip a job that ran recently: an
// operator asking for a run gets one.
func Run(ctx context.Context, pool *pgxpool.Pool, logger *slog.Logger, replica string, job Job) (Result, error) {
	lock, err := acquire(ctx, pool, job.Name(), 0)
	if err != nil {
		return Result{}, err
	}
	defer lock.Unlock(context.WithoutCancel(ctx)) //nolint:errcheck // closing the session releases the lock anyway
	return execute(ctx, pool, logger, orDefaultReplica(replica), job)
}

func orDefaultReplica(replica string) string {
	if replica == "" {
		return DefaultReplica()
	}
	return replica
}

// execute runs job with its timeout, records the run and logs one line. The
// caller holds the job's lock.
func execute(ctx context.Context, pool *pgxpool.Pool, logger *slog.Logger, replica string, job Job) (Result, error) {
	name := job.Name()
	var id int64
	if err := pool.QueryRow(ctx, `INSERT INTO scheduler_run (job, replica, started_at)
		VALUES ($1, $2, clock_timestamp()) RETURNING id`, name, replica).Scan(&id); err != nil {
		err = fmt.Errorf("error recording start of job %s: %w", name, err)
		logger.ErrorContext(ctx, "job not run", "job", name, "replica", replica, "error", err)
		return Result{}, err
	}
	began := time.Now()
	res, runErr := runGuarded(ctx, job)
	elapsed := time.Since(began)

	details := res.Details
	if details == nil {
		details = map[string]any{}
	}
	detailJSON, err := json.Marshal(details)
	if err != nil {
		detailJSON = []byte(`{}`)
		runErr = errorsJoin(runErr, fmt.Errorf("error encoding details: %w", err))
	}
	errText := ""
	if runErr != nil {
		errText = runErr.Error()
		if len(errText) > maxErrorText {
			errText = errText[:maxErrorText] + "…"
		}
	}
	// Recorded even when ctx was cancelled (shutdown, timeout): the record is
	// how operators learn that it was.
	recCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, err := pool.Exec(recCtx, `UPDATE scheduler_run
		SET finished_at = clock_timestamp(), rows = $2, error = $3, details = $4 WHERE id = $1`,
		id, res.Rows, errText, detailJSON); err != nil {
		runErr = errorsJoin(runErr, fmt.Errorf("error recording end of job %s: %w", name, err))
	}

	attrs := []any{"job", name, "replica", replica, "run_id", id, "rows", res.Rows,
		"duration_ms", elapsed.Milliseconds(), "details", details}
	if runErr != nil {
		logger.ErrorContext(ctx, "job failed", append(attrs, "error", runErr)...)
	} else {
		logger.InfoContext(ctx, "job done", attrs...)
	}
	return res, runErr
}

// runGuarded calls RunOnce under the job's timeout and turns a panic into an
// error, so one bad run neither kills the scheduler nor goes unrecorded.
func runGuarded(ctx context.Context, job Job) (res Result, err error) {
	if t := job.Timeout(); t > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t)
		defer cancel()
	}
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("job %s panicked: %v\n%s", job.Name(), p, debug.Stack())
		}
	}()
	res, err = job.RunOnce(ctx)
	if err != nil {
		err = fmt.Errorf("job %s: %w", job.Name(), err)
	}
	return res, err
}

func errorsJoin(a, b error) error {
	if a == nil {
		return b
	}
	return fmt.Errorf("%w; %w", a, b)
}

// expireRuns deletes the runs started before before and returns how many.
func expireRuns(ctx context.Context, pool *pgxpool.Pool, before time.Time) (int64, error) {
	tag, err := pool.Exec(ctx, `DELETE FROM scheduler_run WHERE started_at < $1`, before)
	if err != nil {
		return 0, fmt.Errorf("error expiring scheduler runs: %w", err)
	}
	return tag.RowsAffected(), nil
}

const runColumns = `id, job, replica, started_at, finished_at, rows, error, details`

func scanRun(row pgx.CollectableRow) (RunRecord, error) {
	var r RunRecord
	err := row.Scan(&r.ID, &r.Job, &r.Replica, &r.StartedAt, &r.FinishedAt, &r.Rows, &r.Error, &r.Details)
	return r, err
}

// Runs returns the newest n runs of the job called job, newest first.
func Runs(ctx context.Context, pool *pgxpool.Pool, job string, n int) ([]RunRecord, error) {
	if n < 1 || n > MaxRuns {
		return nil, fault.Field("first", "first must be between 1 and %d, got %d", MaxRuns, n)
	}
	rows, err := pool.Query(ctx, `SELECT `+runColumns+` FROM scheduler_run
		WHERE job = $1 ORDER BY started_at DESC, id DESC LIMIT $2`, job, n)
	if err != nil {
		return nil, fmt.Errorf("error loading runs of job %s: %w", job, err)
	}
	runs, err := pgx.CollectRows(rows, scanRun)
	if err != nil {
		return nil, fmt.Errorf("error loading runs of job %s: %w", job, err)
	}
	return runs, nil
}

// Status returns each job's schedule, last run, last success and recent runs, in
// the order given, with two queries whatever the number of jobs.
func Status(ctx context.Context, pool *pgxpool.Pool, jobs []Job) ([]JobStatus, error) {
	names := make([]string, len(jobs))
	out := make([]JobStatus, len(jobs))
	index := map[string]int{}
	for i, j := range jobs {
		names[i] = j.Name()
		index[j.Name()] = i
		out[i] = JobStatus{Name: j.Name(), Description: j.Description(), Interval: j.Interval(),
			Timeout: j.Timeout(), Recent: []RunRecord{}}
	}
	rows, err := pool.Query(ctx, `SELECT r.* FROM unnest($1::text[]) AS j (name)
		CROSS JOIN LATERAL (SELECT `+runColumns+` FROM scheduler_run
			WHERE job = j.name ORDER BY started_at DESC, id DESC LIMIT $2) AS r`, names, RecentRuns)
	if err != nil {
		return nil, fmt.Errorf("error loading job status: %w", err)
	}
	recent, err := pgx.CollectRows(rows, scanRun)
	if err != nil {
		return nil, fmt.Errorf("error loading job status: %w", err)
	}
	for _, r := range recent {
		st := &out[index[r.Job]]
		st.Recent = append(st.Recent, r)
	}
	for i := range out {
		if len(out[i].Recent) > 0 {
			out[i].LastRun = &out[i].Recent[0]
		}
	}
	rows, err = pool.Query(ctx, `SELECT r.* FROM unnest($1::text[]) AS j (name)
		CROSS JOIN LATERAL (SELECT `+runColumns+` FROM scheduler_run
			WHERE job = j.name AND finished_at IS NOT NULL AND error = ''
			ORDER BY started_at DESC, id DESC LIMIT 1) AS r`, names)
	if err != nil {
		return nil, fmt.Errorf("error loading job status: %w", err)
	}
	last, err := pgx.CollectRows(rows, scanRun)
	if err != nil {
		return nil, fmt.Errorf("error loading job status: %w", err)
	}
	for _, r := range last {
		out[index[r.Job]].LastSuccess = &r
	}
	return out, nil
}
