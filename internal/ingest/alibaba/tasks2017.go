package alibaba

// The Alibaba cluster-trace-v2017 batch_task table as jobs and runs
// (docs/workload.md, "Alibaba v2017 tasks"). Each line is one task of a batch
// job: create and end time (seconds from the trace start), job id, task id,
// number of instances, status (Waiting, Running, Terminated, Failed), cpus
// requested per instance (100 = one core) and memory requested per instance
// (normalised: 1 = a whole machine). The mapping:
//
//   - a trace job is a job "job_<id>" in namespace "alibaba-v2017" with one run
//     (the trace has no recurring jobs); the run's UUID is derived from the job
//     id, so a re-import finds the same run;
//   - task count = the job's tasks (lines); queued_at = its earliest task
//     creation; started_at = the earliest creation of a task that ran (not
//     Waiting); ended_at = the latest end of its ended tasks;
//   - state: any Failed task → FAILED; else any Running task, or Waiting tasks
//     beside ended ones → RUNNING (still going when the trace ends); all
//     Waiting → waiting in the queue (OTHER, no start); all Terminated →
//     COMPLETED;
//   - requested core-seconds = Σ over ended tasks of instances × cpus/100 ×
//     (end − create); requested memory byte-seconds likewise with memory ×
//     FullMemoryBytes. Tasks still running at the trace's end have no duration
//     and add nothing; Waiting tasks carry no request (the fields are empty);
//   - task-duration spread (min, p50, max) over the ended tasks; an end before
//     its create (one line of the real file) counts as 0 s and is reported;
//   - the trace records no use, so used totals stay unknown.

import (
	"cmp"
	"context"
	"crypto/sha1"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/workload"
)

// Defaults of the v2017 task import.
const (
	// TaskNamespace is the job namespace of the trace's jobs.
	TaskNamespace = "alibaba-v2017"
	// taskChunk is how many jobs go to the database per transaction.
	taskChunk = 1000
)

// DefaultTaskStart is the wall time of trace second 0 unless --start says
// otherwise. It is fixed, not "now", so importing the file again puts every
// run where it was: the trace was published in September 2017 and covers a
// day.
var DefaultTaskStart = time.Date(2017, 9, 1, 0, 0, 0, 0, time.UTC)

// TaskOptions say what to import and how to map it.
type TaskOptions struct {
	// Path is batch_task.csv (optionally .gz).
	Path string
	// Start is the wall time of trace second 0; default DefaultTaskStart.
	Start time.Time
	// Cluster, when given, is an existing cluster the jobs are placed on.
	Cluster string
	// FullMemoryBytes is the memory of a whole machine (normalised memory 1);
	// default DefaultFullMemoryBytes.
	FullMemoryBytes int64
}

// TaskStats report what a task import did.
type TaskStats struct {
	Lines       int64 // lines read, header and blank lines excluded
	Tasks       int64 // tasks kept
	Skipped     int64 // bad lines left out (each named in Warnings)
	Jobs        int64 // trace jobs, one run each
	RunsChanged int64 // runs whose totals changed (0 when re-importing the same file)
	// BadTimes counts tasks whose end is before their create.
	BadTimes int64
	Start    time.Time
	Elapsed  time.Duration
	Warnings []string
}

// taskJob aggregates one trace job's tasks.
type taskJob struct {
	id                       int64
	tasks                    int32
	queued, started, ended   int64 // trace seconds; started/ended valid when hasStart/hasEnd
	hasStart, hasEnd         bool
	failed, running, waiting bool
	terminated               bool
	coreSeconds, memFracSecs float64
	durations                []float64
}

var taskStatuses = map[string]bool{"Terminated": true, "Failed": true, "Running": true, "Waiting": true}

// ImportTasks loads batch_task.csv as jobs and runs. Bad lines are skipped and
// named in Stats.Warnings with their line number; the rest is stored. It is
// idempotent: importing the same file again changes nothing.
func ImportTasks(ctx context.Context, pool *pgxpool.Pool, logger *slog.Logger, opt TaskOptions) (TaskStats, error) {
	began := time.Now()
	if opt.Start.IsZero() {
		opt.Start = DefaultTaskStart
	}
	opt.Start = opt.Start.UTC()
	opt.FullMemoryBytes = cmp.Or(opt.FullMemoryBytes, DefaultFullMemoryBytes)
	if opt.FullMemoryBytes < 0 {
		return TaskStats{}, errors.New("error importing alibaba v2017 tasks: the machine memory must not be negative")
	}
	f, err := openTrace("batch_task", opt.Path)
	if err != nil {
		return TaskStats{}, err
	}
	defer f.Close()
	var clusterID *int64
	if opt.Cluster != "" {
		var id int64
		if err := pool.QueryRow(ctx, `SELECT id FROM cluster WHERE name = $1`, opt.Cluster).Scan(&id); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return TaskStats{}, fmt.Errorf("error importing alibaba v2017 tasks: cluster %q not found", opt.Cluster)
			}
			return TaskStats{}, fmt.Errorf("error importing alibaba v2017 tasks: %w", err)
		}
		clusterID = &id
	}

	im := &taskImporter{}
	jobs, err := im.readTasks(f)
	im.finishWarnings()
	st := im.st
	st.Start = opt.Start
	if err != nil {
		return st, err
	}
	st.Jobs = int64(len(jobs))
	for start := 0; start < len(jobs); start += taskChunk {
		chunk := jobs[start:min(start+taskChunk, len(jobs))]
		var changed int64
		err := db.InTx(ctx, pool, func(tx pgx.Tx) error {
			var err error
			changed, err = storeTaskJobs(ctx, tx, chunk, opt, clusterID)
			return err
		})
		if err != nil {
			return st, fmt.Errorf("error importing alibaba v2017 tasks (jobs %d to %d): %w", chunk[0].id, chunk[len(chunk)-1].id, err)
		}
		st.RunsChanged += changed
	}
	st.Elapsed = time.Since(began)
	logger.InfoContext(ctx, "alibaba v2017 tasks imported", "lines", st.Lines, "tasks", st.Tasks, "jobs", st.Jobs,
		"runs_changed", st.RunsChanged, "skipped", st.Skipped, "bad_times", st.BadTimes, "elapsed", st.Elapsed)
	return st, nil
}

// taskImporter carries one task import's reading state.
type taskImporter struct {
	st         TaskStats
	suppressed int // warnings beyond maxWarnings
}

// readTasks parses the file into jobs, in job id order.
func (im *taskImporter) readTasks(r io.Reader) ([]*taskJob, error) {
	lr := newLineReader(r)
	byID := make(map[int64]*taskJob)
	seen := make(map[[2]int64]int) // (job, task) → line
	fields := make([]string, 8)
	names := []string{"task_create_time", "task_end_time", "job_id", "task_id", "number_of_instances", "status",
		"number_of_cpus_requested_per_instance_in_the_task", "normalized_memory_requested_per_instance_in_the_task"}
	st := &im.st
	for {
		line, tooLong, err := lr.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("error reading batch_task file at line %d: %w", lr.line+1, err)
		}
		if tooLong {
			st.Lines++
			im.badTask(lr.line, "line longer than %d bytes", maxLine)
			continue
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		// The copy the real file comes from has a header line.
		if lr.line == 1 && strings.HasPrefix(strings.TrimSpace(line), "task_create_time") {
			continue
		}
		st.Lines++
		if n := split(line, fields); n != len(fields) {
			im.badTask(lr.line, "%d fields, expected %d", n, len(fields))
			continue
		}
		ints := make([]int64, 5)
		bad := false
		for i := range 5 {
			v, err := strconv.ParseInt(fields[i], 10, 64)
			// Times may be negative (tasks created before the trace began);
			// ids and counts may not.
			if err != nil || (i >= 2 && v < 0) {
				im.badTask(lr.line, "%s: %q is not a whole number (ids and counts: 0 or more)", names[i], clip(fields[i], 30))
				bad = true
				break
			}
			ints[i] = v
		}
		if bad {
			continue
		}
		status := fields[5]
		if !taskStatuses[status] {
			im.badTask(lr.line, "status: %q is not Waiting, Running, Terminated or Failed", clip(status, 30))
			continue
		}
		var cpus, mem float64
		if fields[6] != "" {
			if cpus, err = strconv.ParseFloat(fields[6], 64); err != nil || cpus < 0 || math.IsNaN(cpus) || math.IsInf(cpus, 0) {
				im.badTask(lr.line, "%s: %q is not a number of 0 or more", names[6], clip(fields[6], 30))
				continue
			}
		}
		if fields[7] != "" {
			if mem, err = strconv.ParseFloat(fields[7], 64); err != nil || mem < 0 || math.IsNaN(mem) || math.IsInf(mem, 0) {
				im.badTask(lr.line, "%s: %q is not a number of 0 or more", names[7], clip(fields[7], 30))
				continue
			}
		}
		create, end, jobID, taskID, instances := ints[0], ints[1], ints[2], ints[3], ints[4]
		key := [2]int64{jobID, taskID}
		if first, dup := seen[key]; dup {
			im.badTask(lr.line, "task %d of job %d is already on line %d", taskID, jobID, first)
			continue
		}
		seen[key] = lr.line
		st.Tasks++

		j := byID[jobID]
		if j == nil {
			j = &taskJob{id: jobID, queued: create}
			byID[jobID] = j
		}
		j.tasks++
		j.queued = min(j.queued, create)
		switch status {
		case "Waiting":
			j.waiting = true
			continue
		case "Running":
			j.running = true
		case "Failed":
			j.failed = true
		case "Terminated":
			j.terminated = true
		}
		if !j.hasStart || create < j.started {
			j.started, j.hasStart = create, true
		}
		// A running task's end is 0: it has not ended.
		if status == "Running" || end == 0 {
			continue
		}
		if !j.hasEnd || end > j.ended {
			j.ended, j.hasEnd = end, true
		}
		dur := float64(end - create)
		if dur < 0 {
			st.BadTimes++
			im.warnTask("line %d: task %d of job %d ends %d s before it is created; counted as 0 s", lr.line, taskID, jobID, -int64(dur))
			dur = 0
		}
		j.durations = append(j.durations, dur)
		j.coreSeconds += float64(instances) * cpus / 100 * dur
		j.memFracSecs += float64(instances) * mem * dur
	}
	jobs := make([]*taskJob, 0, len(byID))
	for _, j := range byID {
		jobs = append(jobs, j)
	}
	sort.Slice(jobs, func(a, b int) bool { return jobs[a].id < jobs[b].id })
	return jobs, nil
}

func (im *taskImporter) badTask(line int, format string, args ...any) {
	im.st.Skipped++
	im.warnTask("line %d: %s", line, fmt.Sprintf(format, args...))
}

func (im *taskImporter) warnTask(format string, args ...any) {
	if len(im.st.Warnings) >= maxWarnings-1 {
		im.suppressed++
		return
	}
	im.st.Warnings = append(im.st.Warnings, fmt.Sprintf(format, args...))
}

func (im *taskImporter) finishWarnings() {
	if im.suppressed > 0 {
		im.st.Warnings = append(im.st.Warnings, fmt.Sprintf("… and %d more warnings", im.suppressed))
		im.suppressed = 0
	}
}

// taskRunNamespace is the UUID namespace of the trace's run UUIDs.
var taskRunNamespace = [16]byte{0x0c, 0x8a, 0x41, 0x7e, 0x2d, 0x95, 0x4b, 0x10, 0xa3, 0x6f, 0x58, 0xe1, 0x07, 0xbc, 0x92, 0x34}

// taskRunUUID is a name-based UUID (version 5) of a trace job.
func taskRunUUID(jobID int64) pgtype.UUID {
	h := sha1.New()
	h.Write(taskRunNamespace[:])
	h.Write([]byte(TaskNamespace + "/" + strconv.FormatInt(jobID, 10)))
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = (u[6] & 0x0f) | 0x50
	u[8] = (u[8] & 0x3f) | 0x80
	return pgtype.UUID{Bytes: u, Valid: true}
}

// TaskJobName is the job name of a trace job.
func TaskJobName(jobID int64) string { return "job_" + strconv.FormatInt(jobID, 10) }

// storeTaskJobs writes one chunk of jobs in a fixed number of statements.
func storeTaskJobs(ctx context.Context, tx pgx.Tx, jobs []*taskJob, opt TaskOptions, clusterID *int64) (int64, error) {
	keys := make([]workload.JobKey, len(jobs))
	for i, j := range jobs {
		keys[i] = workload.JobKey{Namespace: TaskNamespace, Name: TaskJobName(j.id), Kind: "BATCH"}
	}
	ids, err := workload.UpsertJobs(ctx, tx, keys)
	if err != nil {
		return 0, err
	}
	at := func(sec int64) time.Time { return opt.Start.Add(time.Duration(sec) * time.Second) }
	var evs []workload.RunEvent
	last := make([]int, len(jobs))
	var places []workload.JobPlacement
	for i, j := range jobs {
		jobID := ids[[2]string{TaskNamespace, TaskJobName(j.id)}]
		run := taskRunUUID(j.id)
		ev := func(state string, sec int64) workload.RunEvent {
			return workload.RunEvent{JobID: jobID, RunUUID: run, State: state, Time: at(sec)}
		}
		terminal := ""
		switch {
		case j.failed:
			terminal = "FAILED"
		case !j.running && !j.waiting && j.terminated:
			terminal = "COMPLETED"
		}
		switch {
		case !j.hasStart:
			evs = append(evs, ev("", j.queued))
		case terminal != "" && j.hasEnd:
			e := ev(terminal, j.ended)
			started := at(j.started)
			e.StartedAt = &started
			evs = append(evs, e)
		default:
			evs = append(evs, ev("RUNNING", j.started))
		}
		last[i] = len(evs) - 1
		if clusterID != nil {
			places = append(places, workload.JobPlacement{JobID: jobID, ClusterID: *clusterID})
		}
	}
	runIDs, err := workload.ApplyRunEvents(ctx, tx, evs)
	if err != nil {
		return 0, err
	}
	stats := make([]workload.RunStats, len(jobs))
	for i, j := range jobs {
		s := workload.RunStats{JobID: evs[last[i]].JobID, RunID: runIDs[last[i]]}
		q := at(j.queued)
		tasks := j.tasks
		s.QueuedAt, s.TaskCount = &q, &tasks
		if len(j.durations) > 0 {
			cs, mbs := j.coreSeconds, j.memFracSecs*float64(opt.FullMemoryBytes)
			s.RequestedCoreSeconds, s.RequestedMemoryByteSeconds = &cs, &mbs
			d := append([]float64(nil), j.durations...)
			sort.Float64s(d)
			lo, hi, p50 := d[0], d[len(d)-1], median(d)
			s.TaskSecondsMin, s.TaskSecondsMax, s.TaskSecondsP50 = &lo, &hi, &p50
		}
		stats[i] = s
	}
	if _, err := workload.PlaceJobs(ctx, tx, places); err != nil {
		return 0, err
	}
	return workload.SetRunStats(ctx, tx, stats)
}

// median of sorted values.
func median(d []float64) float64 {
	n := len(d)
	if n%2 == 1 {
		return d[n/2]
	}
	return (d[n/2-1] + d[n/2]) / 2
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
