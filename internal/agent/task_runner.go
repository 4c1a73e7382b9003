package agent

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/teslaops/tesla/internal/agenttask"
)

// The task journal, under <state>/tasks: active-<id>.json for each task the
// agent claimed and has not yet seen the server take the end of (with the
// steps so far, and the final report once there is one), and done, the ids
// of the last tasks it finished. A restarted agent reports an active task
// without a final report as FAILED ("agent restarted mid-task"), resends one
// with it, and never runs an id in done or active.
const (
	journalDir = "tasks"
	doneFile   = "done"
	// doneKeep is how many finished ids are remembered; the server never
	// gives a task twice, so this guards only against the unexpected.
	doneKeep = 1000
)

// journalEntry is one active task.
type journalEntry struct {
	ID        int64             `json:"id"`
	Spec      agenttask.Spec    `json:"spec"`
	ClaimedAt time.Time         `json:"claimed_at"`
	Steps     []agenttask.Step  `json:"steps"`
	Final     *agenttask.Report `json:"final,omitempty"`
}

type journal struct {
	dir  string
	mu   sync.Mutex
	done []int64
}

func openJournal(stateDir string) (*journal, error) {
	j := &journal{dir: filepath.Join(stateDir, journalDir)}
	if err := os.MkdirAll(j.dir, 0o700); err != nil {
		return nil, fmt.Errorf("error creating the task journal: %w", err)
	}
	f, err := os.Open(filepath.Join(j.dir, doneFile))
	if err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if id, err := strconv.ParseInt(strings.TrimSpace(sc.Text()), 10, 64); err == nil {
				j.done = append(j.done, id)
			}
		}
		f.Close()
	}
	return j, nil
}

func (j *journal) path(id int64) string {
	return filepath.Join(j.dir, "active-"+strconv.FormatInt(id, 10)+".json")
}

// known reports whether the agent already took task id.
func (j *journal) known(id int64) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	if slices.Contains(j.done, id) {
		return true
	}
	_, err := os.Stat(j.path(id))
	return err == nil
}

// write saves an entry (synced: it is the proof of what was done).
func (j *journal) write(e journalEntry) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return writeFileAtomic(j.path(e.ID), b, 0o600)
}

// active returns the entries of tasks not yet closed.
func (j *journal) active() []journalEntry {
	names, _ := filepath.Glob(filepath.Join(j.dir, "active-*.json"))
	var out []journalEntry
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			continue
		}
		var e journalEntry
		if json.Unmarshal(b, &e) == nil && e.ID > 0 {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b journalEntry) int { return int(a.ID - b.ID) })
	return out
}

// close records id as done and forgets its entry.
func (j *journal) close(id int64) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.done = append(j.done, id)
	if len(j.done) > doneKeep {
		j.done = slices.Clone(j.done[len(j.done)-doneKeep:])
	}
	var sb strings.Builder
	for _, d := range j.done {
		sb.WriteString(strconv.FormatInt(d, 10))
		sb.WriteByte('\n')
	}
	if err := writeFileAtomic(filepath.Join(j.dir, doneFile), []byte(sb.String()), 0o600); err != nil {
		return err
	}
	return os.Remove(j.path(id))
}

// taskLoop takes the host's tasks from the server, one at a time, and
// carries them out. It first settles what a previous run left in the journal.
func (a *Agent) taskLoop(ctx context.Context) {
	select {
	case <-ctx.Done():
		return
	case <-a.registered:
	}
	j, err := openJournal(a.cfg.StateDir)
	if err != nil {
		a.logger.Error("the agent cannot keep a task journal: it takes no tasks", "error", err)
		return
	}
	proc := a.cfg.Paths.withDefaults().Proc
	for _, e := range j.active() {
		rep := e.Final
		if rep == nil {
			rep = interrupted(e, proc)
			if rep.State == agenttask.StateFailed {
				a.logger.Warn("a task was cut short by an agent restart: reporting it failed", "task", e.ID, "action", e.Spec.Action, "service", e.Spec.Service)
			}
		}
		if !a.deliver(ctx, e.ID, *rep) {
			return
		}
		if err := j.close(e.ID); err != nil {
			a.logger.Error("error updating the task journal", "task", e.ID, "error", err)
		}
	}
	exec := NewExecutor(a.cfg.ServicesRoot, proc).WithReboot(a.cfg.RebootCommand)
	failures, missing, reregistered := 0, false, false
	for ctx.Err() == nil {
		cred, _ := a.credential()
		tasks, err := a.client.PollTasks(ctx, cred, a.cfg.TaskWait)
		var he *HTTPError
		switch {
		case ctx.Err() != nil:
			return
		case Unauthorized(err) && !reregistered:
			if a.register(ctx, cred) != nil {
				return
			}
			reregistered = true
			continue
		case errors.As(err, &he) && he.Status == 404:
			if !missing {
				a.logger.Warn("the server has no task endpoint: asking again every minute", "error", err)
			}
			missing = true
			sleepCtx(ctx, time.Minute)
			continue
		case err != nil:
			if failures == 0 {
				a.logger.Warn("cannot poll for tasks: retrying", "error", err)
			}
			sleepCtx(ctx, backoff(failures, err))
			failures++
			continue
		}
		failures, missing, reregistered = 0, false, false
		for _, t := range tasks {
			if !a.runTask(ctx, j, exec, t) {
				return
			}
		}
	}
}

// runTask carries out one claimed task and reports it; false when the agent
// is stopping (the task then stays in the journal, for the next start to
// report).
func (a *Agent) runTask(ctx context.Context, j *journal, exec *Executor, t agenttask.Claimed) bool {
	log := a.logger.With("task", t.ID, "action", t.Spec.Action, "service", t.Spec.Service, "version", t.Spec.Version)
	if j.known(t.ID) {
		log.Error("the server gave a task this agent already took: refusing to run it twice")
		return a.deliver(ctx, t.ID, agenttask.Report{State: agenttask.StateFailed,
			Error: fmt.Sprintf("this agent already took task %d: it never runs a task twice", t.ID)})
	}
	entry := journalEntry{ID: t.ID, Spec: t.Spec, ClaimedAt: time.Now().UTC(), Steps: []agenttask.Step{}}
	if err := j.write(entry); err != nil {
		// Without the journal a restart could not tell the task was taken.
		log.Error("error writing the task journal: refusing the task", "error", err)
		return a.deliver(ctx, t.ID, agenttask.Report{State: agenttask.StateFailed, Error: "the agent cannot write its task journal: " + err.Error()})
	}
	log.Info("task started")
	taskCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if !t.Deadline.IsZero() {
		var stop context.CancelFunc
		taskCtx, stop = context.WithDeadline(taskCtx, t.Deadline)
		defer stop()
	}
	prog := NewProgress()
	reporting := make(chan struct{})
	go func() {
		defer close(reporting)
		a.reportProgress(taskCtx, cancel, j, entry, t, prog)
	}()
	out, err := exec.Run(taskCtx, t.Spec, prog)
	cancel(nil)
	<-reporting
	if ctx.Err() != nil {
		log.Warn("the agent stops mid-task: its next start reports it")
		return false
	}
	rep := agenttask.Report{State: agenttask.StateSucceeded, Steps: prog.Steps(), Output: out}
	if err != nil {
		rep.State, rep.Error = agenttask.StateFailed, err.Error()
		if cause := context.Cause(taskCtx); cause != nil && !errors.Is(cause, context.Canceled) {
			rep.Error = cause.Error() + ": " + rep.Error
		}
	}
	rep.Bound()
	entry.Steps, entry.Final = rep.Steps, &rep
	if err := j.write(entry); err != nil {
		log.Error("error writing the task journal", "error", err)
	}
	log.Info("task finished", "state", rep.State, "error", rep.Error)
	if !a.deliver(ctx, t.ID, rep) {
		return false
	}
	if err := j.close(t.ID); err != nil {
		log.Error("error updating the task journal", "error", err)
	}
	return true
}

// errCancelled and errExpired end a task the server no longer wants.
var (
	errCancelled = errors.New("cancelled by the server")
	errExpired   = errors.New("the server no longer takes this task (expired)")
)

// reportProgress reports the steps when they change, and at least three
// times a lease (which each report extends), until ctx ends; it stops the
// task when the server cancels or expired it.
func (a *Agent) reportProgress(ctx context.Context, stop context.CancelCauseFunc, j *journal, entry journalEntry, t agenttask.Claimed, prog *Progress) {
	every := time.Duration(max(t.LeaseSeconds, 3)) * time.Second / 3
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		steps := prog.Steps()
		entry.Steps = steps
		if err := j.write(entry); err != nil {
			a.logger.Warn("error writing the task journal", "task", t.ID, "error", err)
		}
		cred, _ := a.credential()
		rctx, cancel := context.WithTimeout(ctx, a.cfg.Timeout)
		ans, err := a.client.ReportTask(rctx, cred, t.ID, agenttask.Report{State: agenttask.StateRunning, Steps: steps})
		cancel()
		var he *HTTPError
		switch {
		case ctx.Err() != nil:
			return
		case errors.As(err, &he) && (he.Status == 409 || he.Status == 404):
			a.logger.Warn("the server refused a task's progress: stopping the task", "task", t.ID, "error", err)
			stop(errExpired)
			return
		case err != nil:
			a.logger.Warn("cannot report a task's progress: retrying", "task", t.ID, "error", err)
		case ans.Cancel:
			a.logger.Warn("the server cancelled the task: stopping it", "task", t.ID)
			stop(errCancelled)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-prog.Changed():
		case <-tick.C:
		}
	}
}

// deliver sends a final report until the server answers it (taken, or
// refused for good, logged); false when the agent stops first.
func (a *Agent) deliver(ctx context.Context, id int64, rep agenttask.Report) bool {
	for attempt := 0; ; attempt++ {
		cred, _ := a.credential()
		rctx, cancel := context.WithTimeout(ctx, a.cfg.Timeout)
		_, err := a.client.ReportTask(rctx, cred, id, rep)
		cancel()
		switch {
		case err == nil:
			return true
		case ctx.Err() != nil:
			return false
		case Unauthorized(err):
			if a.register(ctx, cred) != nil {
				return false
			}
			continue
		case !Retryable(err):
			a.logger.Warn("the server did not take a task's end", "task", id, "state", rep.State, "error", err)
			return true
		}
		wait := backoff(attempt, err)
		a.logger.Warn("cannot report a task's end: retrying", "task", id, "error", err, "retry_in", wait)
		if !sleepCtx(ctx, wait) {
			return false
		}
	}
}

// interrupted is the report of a task the journal holds unfinished after a
// restart: FAILED, as its steps may have been partly done, except a REBOOT
// the machine booted after the agent took: that boot was the reboot it asked
// for, which cut its own task short.
func interrupted(e journalEntry, proc string) *agenttask.Report {
	if e.Spec.Action == agenttask.ActionReboot {
		if boot, err := bootTime(proc); err == nil && boot.After(e.ClaimedAt) {
			return &agenttask.Report{State: agenttask.StateSucceeded, Steps: e.Steps,
				Output: "the machine rebooted: booted at " + boot.UTC().Format(time.RFC3339)}
		}
	}
	return &agenttask.Report{State: agenttask.StateFailed, Steps: e.Steps,
		Error: "agent restarted mid-task: the steps reported may have been partly done; the task is not run again"}
}

// bootTime is when the machine booted, from the btime line of <proc>/stat.
func bootTime(proc string) (time.Time, error) {
	b, err := os.ReadFile(filepath.Join(proc, "stat"))
	if err != nil {
		return time.Time{}, err
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			sec, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return time.Time{}, fmt.Errorf("btime %q is not a number", strings.TrimSpace(v))
			}
			return time.Unix(sec, 0), nil
		}
	}
	return time.Time{}, errors.New("no btime line in " + filepath.Join(proc, "stat"))
}

// sleepCtx waits d, or less when ctx ends (false).
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
