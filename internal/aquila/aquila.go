// Package aquila runs cluster operations (UPGRADE, SCALE_OUT, DECOMMISSION,
// RESTART, CONFIG_APPLY, SELF_HEAL) durably: a Planner turns a request into a
// Plan of ordered stages of host-level tasks, the Engine stores it and the River
// job that starts it in one transaction, and River jobs on every replica claim
// the tasks of the current stage in batches, run them through an Executor and
// record the results, so an operation survives restarts and crashes and is
// shared by the replicas without running a task twice. Rules, states and crash
// semantics: docs/aquila.md.
//
// The package owns operation, operation_stage, operation_task and
// operation_event.
package aquila

import (
	"encoding/json"
	"time"
)

// ChannelOperation carries the id of an operation whenever its state or
// progress changed (a stage started, a batch of tasks was recorded); listeners
// load the snapshot through Service.Progress.
const ChannelOperation = "tesla_operation"

// Kind is what an operation does.
type Kind string

// The operation kinds. Only RESTART has a planner today; the others are
// stored and run the same way once their planners exist.
const (
	KindUpgrade      Kind = "UPGRADE"
	KindScaleOut     Kind = "SCALE_OUT"
	KindDecommission Kind = "DECOMMISSION"
	KindRestart      Kind = "RESTART"
	KindConfigApply  Kind = "CONFIG_APPLY"
	KindSelfHeal     Kind = "SELF_HEAL"
)

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool {
	switch k {
	case KindUpgrade, KindScaleOut, KindDecommission, KindRestart, KindConfigApply, KindSelfHeal:
		return true
	}
	return false
}

// State is an operation's state.
type State string

// The operation states: PENDING → RUNNING → (PAUSED) → SUCCEEDED | FAILED |
// ABORTED | ROLLED_BACK.
const (
	Pending    State = "PENDING"
	Running    State = "RUNNING"
	Paused     State = "PAUSED"
	Succeeded  State = "SUCCEEDED"
	Failed     State = "FAILED"
	Aborted    State = "ABORTED"
	RolledBack State = "ROLLED_BACK"
)

// Active reports whether an operation in state s holds its cluster (the
// one-disruptive-operation rule).
func (s State) Active() bool { return s == Pending || s == Running || s == Paused }

// TaskState is a task's state.
type TaskState string

// The task states.
const (
	TaskPending   TaskState = "PENDING"
	TaskRunning   TaskState = "RUNNING"
	TaskSucceeded TaskState = "SUCCEEDED"
	TaskFailed    TaskState = "FAILED"
	TaskSkipped   TaskState = "SKIPPED"
	TaskAborted   TaskState = "ABORTED"
)

// MaxOutput bounds a task's stored output; longer output keeps its head and
// ends with OutputTruncated.
const MaxOutput = 8192

// OutputTruncated ends an output that was cut to MaxOutput bytes.
const OutputTruncated = "\n…[output truncated]"

// Plan is what a Planner produces and Engine.Submit stores: the operation and
// its ordered stages of host tasks. Stages run one after another; the tasks of
// a stage run in parallel, so a stage is the unit of disruption (a rolling
// batch) and must stay within the operation's out-of-service share.
type Plan struct {
	Kind      Kind
	ClusterID int64
	// Params are the kind's typed parameters (RestartParams…), stored as JSON.
	Params      json.RawMessage
	RequestedBy string
	Reason      string
	// FailureBudget: the operation pauses when more than this many hosts failed.
	FailureBudget int
	// MaxOutOfServicePct caps the hosts of a stage (not in MAINTENANCE) as a
	// share of the cluster's hosts; 0 means DefaultMaxOutOfServicePct.
	MaxOutOfServicePct int
	Stages             []PlanStage
}

// DefaultMaxOutOfServicePct is the out-of-service share when a plan names none.
const DefaultMaxOutOfServicePct = 10

// PlanStage is one stage of a Plan.
type PlanStage struct {
	Name  string
	Tasks []PlanTask
	// PauseAfter pauses the operation once this stage is done (when stages
	// remain): an upgrade's first rolling batch, for an operator to look at
	// the canaries before resuming.
	PauseAfter bool
}

// PlanTask is one host-level step.
type PlanTask struct {
	HostID int64
	// Action names what the executor does ("RESTART", "UPGRADE"…).
	Action string
	// Params are the action's typed parameters as JSON (e.g. ServiceParams).
	Params json.RawMessage
}

// TaskCount is the number of tasks of the plan.
func (p *Plan) TaskCount() int {
	n := 0
	for _, s := range p.Stages {
		n += len(s.Tasks)
	}
	return n
}

// Operation is one stored operation with its progress.
type Operation struct {
	ID                 int64
	Kind               Kind
	ClusterID          int64
	State              State
	Params             json.RawMessage
	RequestedBy        string
	Reason             string
	FailureBudget      int
	MaxOutOfServicePct int
	CurrentStage       int
	RollingBack        bool
	TasksTotal         int
	TasksSucceeded     int
	TasksFailed        int
	TasksSkipped       int
	Error              string
	CreatedAt          time.Time
	StartedAt          *time.Time
	EndedAt            *time.Time
	UpdatedAt          time.Time
}

// Stage is one stored stage with its task counts.
type Stage struct {
	ID        int64
	Position  int
	Name      string
	State     string
	Rollback  bool
	StartedAt *time.Time
	EndedAt   *time.Time
	// Tasks counts the stage's tasks by state.
	Tasks map[TaskState]int
}

// Event is one line of an operation's log.
type Event struct {
	ID      int64
	At      time.Time
	Level   string
	Message string
	TaskID  *int64
}

// TaskRow is one stored task, as the UI lists them.
type TaskRow struct {
	ID        int64
	StageID   int64
	HostID    int64
	Hostname  string
	Action    string
	Params    json.RawMessage
	State     TaskState
	Attempts  int
	Output    string
	StartedAt *time.Time
	EndedAt   *time.Time
}

// Progress is the snapshot the operationProgress subscription sends: the
// operation, its stages with task counts and its latest events.
type Progress struct {
	Operation *Operation
	Stages    []*Stage
	// Events are the newest events, newest first (at most ProgressEvents).
	Events []*Event
}

// ProgressEvents bounds the events a Progress snapshot carries.
const ProgressEvents = 50

// truncateOutput bounds s to MaxOutput bytes, cutting on a rune boundary and
// ending with the marker.
func truncateOutput(s string) string {
	if len(s) <= MaxOutput {
		return s
	}
	cut := MaxOutput - len(OutputTruncated)
	for cut > 0 && !utf8RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + OutputTruncated
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
