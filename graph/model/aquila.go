package model

import (
	"time"

	"github.com/teslaops/tesla/internal/aquila"
)

// The global id kinds of operations and their tasks.
const (
	KindOperation     = "Operation"
	KindOperationTask = "OperationTask"
)

// Operation is one Aquila operation; cluster, stages, events, tasks and
// actions are resolved from DBID and ClusterID.
type Operation struct {
	ID                     string
	DBID                   int64
	Kind                   OperationKind
	ClusterID              int64
	State                  OperationState
	Params                 JSON
	RequestedBy            string
	Reason                 string
	FailureBudget          int
	MaxOutOfServicePercent int
	CurrentStage           int
	RollingBack            bool
	TasksTotal             int
	TasksSucceeded         int
	TasksFailed            int
	TasksSkipped           int
	Progress               float64
	Error                  *string
	CreatedAt              time.Time
	StartedAt              *time.Time
	EndedAt                *time.Time
	UpdatedAt              time.Time
}

func (Operation) IsNode()         {}
func (o Operation) GetID() string { return o.ID }

// FromOperation maps a stored operation.
func FromOperation(op *aquila.Operation) *Operation {
	if op == nil {
		return nil
	}
	out := &Operation{ID: GlobalID(KindOperation, op.ID), DBID: op.ID, Kind: OperationKind(op.Kind), ClusterID: op.ClusterID,
		State: OperationState(op.State), Params: JSON(op.Params), RequestedBy: op.RequestedBy, Reason: op.Reason,
		FailureBudget: op.FailureBudget, MaxOutOfServicePercent: op.MaxOutOfServicePct, CurrentStage: op.CurrentStage,
		RollingBack: op.RollingBack, TasksTotal: op.TasksTotal, TasksSucceeded: op.TasksSucceeded, TasksFailed: op.TasksFailed,
		TasksSkipped: op.TasksSkipped, CreatedAt: op.CreatedAt, StartedAt: op.StartedAt, EndedAt: op.EndedAt, UpdatedAt: op.UpdatedAt}
	if len(op.Params) == 0 {
		out.Params = JSON(`{}`)
	}
	if op.TasksTotal > 0 {
		out.Progress = float64(op.TasksSucceeded+op.TasksFailed+op.TasksSkipped) / float64(op.TasksTotal)
	}
	if op.Error != "" {
		out.Error = &op.Error
	}
	return out
}

// OperationTask is one host task of an operation; host is resolved from
// HostDBID.
type OperationTask struct {
	ID        string
	HostDBID  int64
	Hostname  string
	Action    string
	Params    JSON
	State     OperationTaskState
	Attempts  int
	Output    string
	StartedAt *time.Time
	EndedAt   *time.Time
}

// KindScaleOutProposal is the global id kind of scale-out proposals; spare
// machines use KindHost (they keep their host id for life).
const KindScaleOutProposal = "ScaleOutProposal"

// ScaleOutProposal is one scale-out proposal; cluster and operation are
// resolved from their ids.
type ScaleOutProposal struct {
	ID             string
	DBID           int64
	ClusterID      int64
	OperationID    *int64
	State          ScaleOutProposalState
	Hosts          int
	Figures        *ScaleOutFigures
	Reason         string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	DecidedBy      *string
	DecidedAt      *time.Time
	DecisionReason string
}

func (ScaleOutProposal) IsNode()         {}
func (p ScaleOutProposal) GetID() string { return p.ID }

// SpareHost is one machine of the spare pool; lastCluster is resolved from
// LastClusterID.
type SpareHost struct {
	ID            string
	Hostname      string
	Pool          string
	Region        string
	Rack          string
	CPUCores      int
	MemoryBytes   float64
	DiskBytes     float64
	Model         string
	State         string
	StateReason   string
	LastClusterID *int64
	Since         time.Time
}

// UpgradeClusterOutcome is one cluster's part of upgradeClusters; cluster is
// resolved from ClusterDBID.
type UpgradeClusterOutcome struct {
	ClusterDBID int64
	Operation   *Operation
	Checks      []*PreCheck
	Error       *string
}
