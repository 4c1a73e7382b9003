package model

import (
	"time"

	"github.com/teslaops/tesla/internal/lineage"
	"github.com/teslaops/tesla/internal/workload"
)

// Node kinds of the workload schema.
const (
	KindJob     = "Job"
	KindJobRun  = "JobRun"
	KindDataset = "Dataset"
	KindQueue   = "Queue"
)

// Job is a job.
type Job struct {
	ID          string
	DBID        int64
	Namespace   string
	Name        string
	Kind        JobKind
	Priority    JobPriority
	Schedule    string
	Description string
	OwnerID     *int64
	BUID        *int64
	// Domain is the job as the service returned it, for access checks.
	Domain *workload.Job
}

func (Job) IsNode()         {}
func (Job) IsLineageNode()  {}
func (j Job) GetID() string { return j.ID }

// FromJob maps a domain job.
func FromJob(j *workload.Job) *Job {
	return &Job{ID: GlobalID(KindJob, j.ID), DBID: j.ID, Namespace: j.Namespace, Name: j.Name, Kind: JobKind(j.Kind),
		Priority: JobPriority(j.Priority), Schedule: j.Schedule, Description: j.Description, OwnerID: j.OwnerID, BUID: j.BUID, Domain: j}
}

// JobRun is one run of a job.
type JobRun struct {
	ID                         string
	DBID                       int64
	JobID                      int64
	RunID                      string
	State                      JobRunState
	StartedAt                  *time.Time
	EndedAt                    *time.Time
	NominalStartTime           *time.Time
	NominalEndTime             *time.Time
	Attempts                   int
	RequestedCoreSeconds       *float64
	UsedCoreSeconds            *float64
	RequestedMemoryByteSeconds *float64
	UsedMemoryByteSeconds      *float64
	PeakMemoryBytes            *float64
	QueueWaitSeconds           *float64
	TaskCount                  *int
}

func (JobRun) IsNode()         {}
func (r JobRun) GetID() string { return r.ID }

// FromJobRun maps a domain run.
func FromJobRun(r *workload.Run) *JobRun {
	out := &JobRun{ID: GlobalID(KindJobRun, r.ID), DBID: r.ID, JobID: r.JobID, State: JobRunState(r.State),
		StartedAt: r.StartedAt, EndedAt: r.EndedAt, NominalStartTime: r.NominalStart, NominalEndTime: r.NominalEnd,
		Attempts: int(r.Attempts), RequestedCoreSeconds: r.RequestedCoreSeconds, UsedCoreSeconds: r.UsedCoreSeconds,
		RequestedMemoryByteSeconds: r.RequestedMemoryByteSeconds, UsedMemoryByteSeconds: r.UsedMemoryByteSeconds,
		QueueWaitSeconds: r.QueueWaitSeconds}
	if v, err := r.RunUuid.Value(); err == nil {
		out.RunID, _ = v.(string)
	}
	if r.PeakMemoryBytes != nil {
		f := float64(*r.PeakMemoryBytes)
		out.PeakMemoryBytes = &f
	}
	if r.TaskCount != nil {
		n := int(*r.TaskCount)
		out.TaskCount = &n
	}
	return out
}

// Dataset is a dataset.
type Dataset struct {
	ID        string
	DBID      int64
	Namespace string
	Name      string
	Facets    JSON
}

func (Dataset) IsNode()         {}
func (Dataset) IsLineageNode()  {}
func (d Dataset) GetID() string { return d.ID }

// FromDataset maps a domain dataset.
func FromDataset(d *lineage.Dataset) *Dataset {
	facets := JSON(d.Facets)
	if len(facets) == 0 {
		facets = JSON("{}")
	}
	return &Dataset{ID: GlobalID(KindDataset, d.ID), DBID: d.ID, Namespace: d.Namespace, Name: d.Name, Facets: facets}
}

// Queue is a queue of a cluster.
type Queue struct {
	ID               string
	DBID             int64
	ClusterID        int64
	ParentID         *int64
	Path             string
	Name             string
	SchedulerType    SchedulerType
	GuaranteedVcores float64
	MaxVcores        float64
	GuaranteedMemory float64
	MaxMemory        float64
	Weight           float64
}

func (Queue) IsNode()         {}
func (q Queue) GetID() string { return q.ID }

// FromQueue maps a domain queue.
func FromQueue(q *workload.Queue) *Queue {
	return &Queue{ID: GlobalID(KindQueue, q.ID), DBID: q.ID, ClusterID: q.ClusterID, ParentID: q.ParentID, Path: q.Path,
		Name: q.Name, SchedulerType: SchedulerType(q.SchedulerType), GuaranteedVcores: q.GuaranteedVcores,
		MaxVcores: q.MaxVcores, GuaranteedMemory: q.GuaranteedMemory, MaxMemory: q.MaxMemory, Weight: q.Weight}
}
