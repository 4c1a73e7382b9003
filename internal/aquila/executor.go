package aquila

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// Task is what an Executor runs: one host-level step of an operation.
type Task struct {
	OperationID int64
	Kind        Kind
	ClusterID   int64
	TaskID      int64
	// Attempt is the task's execution attempt (1 on the first run). A task
	// recovered from a worker that died keeps its attempt, hence its key.
	Attempt  int
	HostID   int64
	Hostname string
	Action   string
	Params   json.RawMessage
}

// IdempotencyKey identifies one attempt of one task. An executor that sees a
// key again (the engine re-sends a task whose worker died before recording its
// result) must not run the step a second time but report the first run's
// result, or run it again only if the step is itself idempotent.
func (t Task) IdempotencyKey() string { return fmt.Sprintf("task-%d-attempt-%d", t.TaskID, t.Attempt) }

// Result is what a task run produced. Output is stored bounded (MaxOutput).
type Result struct {
	Output string
}

// Executor runs tasks on hosts: the agent (through its task queue) or the
// simulated fleet. Run returns an error when the step failed; the task is then
// FAILED with the error (and any output) recorded. When ctx ends (the engine is
// stopping) Run should return promptly: the engine does not record a task
// interrupted so, and runs it again, with the same key, after a restart.
type Executor interface {
	Run(ctx context.Context, t Task) (Result, error)
}

// Done is a task that ran, with its outcome, as an Applier sees it.
type Done struct {
	Task   Task
	Result Result
	Err    error
}

// Applier is implemented by executors whose effects are rows in this database
// (the simulated fleet): the engine calls Apply with a batch's finished tasks
// in the transaction that records their results, so the effects commit exactly
// when the tasks are marked done and never twice.
type Applier interface {
	Apply(ctx context.Context, tx pgx.Tx, done []Done) error
}

// ZeroExecutor succeeds at once without doing anything: the engine's own cost,
// for benchmarks and tests.
type ZeroExecutor struct{}

// Run succeeds.
func (ZeroExecutor) Run(context.Context, Task) (Result, error) { return Result{}, nil }
