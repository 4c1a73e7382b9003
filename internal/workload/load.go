package workload

import (
	"context"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/workload/dbsqlc"
)

// JobSpec is a job as a source that knows it whole describes it (the demo
// fleet, a trace importer): unlike JobKey, it sets the owner, queue, priority
// and schedule too.
type JobSpec struct {
	Namespace, Name string
	// OwnerID, BUID, ClusterID and QueueID are 0 when none. BUID is set only
	// when the BU is not the owner's (see docs/workload.md, "Owners").
	OwnerID, BUID, ClusterID, QueueID int64
	Kind, Priority, Schedule          string
	Description                       string
	CreatedAt                         time.Time
}

// PutJobs creates or updates jobs by natural key with every field of specs and
// returns their ids by (namespace, name). One statement whatever the number of
// specs; a key given twice keeps its last spec.
func PutJobs(ctx context.Context, q db.DBTX, specs []JobSpec) (map[[2]string]int64, error) {
	merged := make(map[[2]string]JobSpec, len(specs))
	for _, s := range specs {
		merged[[2]string{s.Namespace, s.Name}] = s
	}
	sorted := make([]JobSpec, 0, len(merged))
	for _, s := range merged {
		sorted = append(sorted, s)
	}
	sort.Slice(sorted, func(i, j int) bool {
		if sorted[i].Namespace != sorted[j].Namespace {
			return sorted[i].Namespace < sorted[j].Namespace
		}
		return sorted[i].Name < sorted[j].Name
	})
	p := &dbsqlc.JobsPutParams{}
	for _, s := range sorted {
		p.Namespaces = append(p.Namespaces, s.Namespace)
		p.Names = append(p.Names, s.Name)
		p.OwnerIds = append(p.OwnerIds, s.OwnerID)
		p.BuIds = append(p.BuIds, s.BUID)
		p.ClusterIds = append(p.ClusterIds, s.ClusterID)
		p.QueueIds = append(p.QueueIds, s.QueueID)
		p.Kinds = append(p.Kinds, s.Kind)
		p.Priorities = append(p.Priorities, s.Priority)
		p.Schedules = append(p.Schedules, s.Schedule)
		p.Descriptions = append(p.Descriptions, s.Description)
		created := s.CreatedAt
		if created.IsZero() {
			created = time.Now()
		}
		p.CreatedAt = append(p.CreatedAt, created)
	}
	rows, err := queries.JobsPut(ctx, q, p)
	if err != nil {
		return nil, fmt.Errorf("error saving jobs: %w", db.Interpret(err, "job"))
	}
	ids := make(map[[2]string]int64, len(rows))
	for _, r := range rows {
		ids[[2]string{r.Namespace, r.Name}] = r.ID
	}
	return ids, nil
}

// RunRecord is one run as a source that knows it whole reports it: its times,
// and its totals once it has ended.
type RunRecord struct {
	JobID   int64
	RunUUID pgtype.UUID
	// State is RUNNING, COMPLETED, FAILED or ABORTED; StateAt when it was set.
	State                    string
	StateAt                  time.Time
	QueuedAt                 time.Time
	StartedAt                time.Time
	EndedAt                  *time.Time // nil while running
	NominalStart, NominalEnd time.Time
	Attempts                 int32
	QueueWaitSeconds         float64
	// Totals is nil while the run is running: a resource manager reports them
	// at the end.
	Totals *RunTotals
}

// RunTotals are what a run used against what it asked for, and how its tasks
// spread.
type RunTotals struct {
	RequestedCoreSeconds, UsedCoreSeconds             float64
	RequestedMemoryByteSeconds, UsedMemoryByteSeconds float64
	PeakMemoryBytes                                   int64
	TaskCount                                         int32
	TaskSecondsMin, TaskSecondsP50, TaskSecondsMax    float64
}

// LoadRuns stores runs not stored before (a source's history) by COPY and
// returns their ids in the order of runs. A run already stored fails the
// whole load: use PutRuns for runs that may exist.
func LoadRuns(ctx context.Context, q db.DBTX, runs []RunRecord) ([]int64, error) {
	if len(runs) == 0 {
		return nil, nil
	}
	rows := make([]*dbsqlc.RunsCopyParams, len(runs))
	for i := range runs {
		r := &runs[i]
		p := &dbsqlc.RunsCopyParams{JobID: r.JobID, RunUuid: r.RunUUID, State: r.State, StateAt: &r.StateAt,
			QueuedAt: &r.QueuedAt, StartedAt: &r.StartedAt, EndedAt: r.EndedAt, NominalStart: &r.NominalStart,
			NominalEnd: &r.NominalEnd, Attempts: max(r.Attempts, 1), QueueWaitSeconds: &r.QueueWaitSeconds}
		if t := r.Totals; t != nil {
			p.RequestedCoreSeconds, p.UsedCoreSeconds = &t.RequestedCoreSeconds, &t.UsedCoreSeconds
			p.RequestedMemoryByteSeconds, p.UsedMemoryByteSeconds = &t.RequestedMemoryByteSeconds, &t.UsedMemoryByteSeconds
			p.PeakMemoryBytes, p.TaskCount = &t.PeakMemoryBytes, &t.TaskCount
			p.TaskSecondsMin, p.TaskSecondsP50, p.TaskSecondsMax = &t.TaskSecondsMin, &t.TaskSecondsP50, &t.TaskSecondsMax
		}
		rows[i] = p
	}
	if _, err := queries.RunsCopy(ctx, q, rows); err != nil {
		return nil, fmt.Errorf("error loading runs: %w", err)
	}
	idp := &dbsqlc.RunIDsByUUIDsParams{JobIds: make([]int64, len(runs)), RunUuids: make([]pgtype.UUID, len(runs))}
	for i := range runs {
		idp.JobIds[i], idp.RunUuids[i] = runs[i].JobID, runs[i].RunUUID
	}
	found, err := queries.RunIDsByUUIDs(ctx, q, idp)
	if err != nil {
		return nil, fmt.Errorf("error loading run ids: %w", err)
	}
	return runIDsInOrder(runs, func(yield func(int64, pgtype.UUID, int64)) {
		for _, f := range found {
			yield(f.JobID, f.RunUuid, f.ID)
		}
	})
}

type runKey struct {
	job  int64
	uuid [16]byte
}

func runIDsInOrder(runs []RunRecord, found func(func(job int64, uuid pgtype.UUID, id int64))) ([]int64, error) {
	byKey := make(map[runKey]int64, len(runs))
	found(func(job int64, uuid pgtype.UUID, id int64) { byKey[runKey{job, uuid.Bytes}] = id })
	ids := make([]int64, len(runs))
	for i := range runs {
		id, ok := byKey[runKey{runs[i].JobID, runs[i].RunUUID.Bytes}]
		if !ok {
			return nil, fmt.Errorf("error saving runs: run %x of job %d missing after insert", runs[i].RunUUID.Bytes, runs[i].JobID)
		}
		ids[i] = id
	}
	return ids, nil
}

// PutRuns creates runs or replaces them whole, by (job, run UUID), and returns
// their ids in the order of runs: for a source that recomputes a run's state
// and totals (the demo fleet's ticker). One statement; a run given twice keeps
// its last record.
func PutRuns(ctx context.Context, q db.DBTX, runs []RunRecord) ([]int64, error) {
	if len(runs) == 0 {
		return nil, nil
	}
	last := make(map[runKey]int, len(runs))
	for i := range runs {
		last[runKey{runs[i].JobID, runs[i].RunUUID.Bytes}] = i
	}
	order := make([]int, 0, len(last))
	for _, i := range last {
		order = append(order, i)
	}
	sort.Slice(order, func(a, b int) bool {
		x, y := &runs[order[a]], &runs[order[b]]
		if x.JobID != y.JobID {
			return x.JobID < y.JobID
		}
		return string(x.RunUUID.Bytes[:]) < string(y.RunUUID.Bytes[:])
	})
	epoch := time.Unix(0, 0).UTC()
	nan := math.NaN()
	p := &dbsqlc.RunsPutParams{}
	for _, i := range order {
		r := &runs[i]
		p.JobIds = append(p.JobIds, r.JobID)
		p.RunUuids = append(p.RunUuids, r.RunUUID)
		p.States = append(p.States, r.State)
		p.StateAts = append(p.StateAts, r.StateAt)
		p.QueuedAts = append(p.QueuedAts, r.QueuedAt)
		p.StartedAts = append(p.StartedAts, r.StartedAt)
		ended := epoch
		if r.EndedAt != nil {
			ended = *r.EndedAt
		}
		p.EndedAts = append(p.EndedAts, ended)
		p.NominalStarts = append(p.NominalStarts, r.NominalStart)
		p.NominalEnds = append(p.NominalEnds, r.NominalEnd)
		p.Attempts = append(p.Attempts, max(r.Attempts, 1))
		p.QueueWaitSeconds = append(p.QueueWaitSeconds, r.QueueWaitSeconds)
		t := r.Totals
		if t == nil {
			t = &RunTotals{RequestedCoreSeconds: nan, UsedCoreSeconds: nan, RequestedMemoryByteSeconds: nan,
				UsedMemoryByteSeconds: nan, PeakMemoryBytes: -1, TaskCount: -1, TaskSecondsMin: nan,
				TaskSecondsP50: nan, TaskSecondsMax: nan}
		}
		p.RequestedCoreSeconds = append(p.RequestedCoreSeconds, t.RequestedCoreSeconds)
		p.UsedCoreSeconds = append(p.UsedCoreSeconds, t.UsedCoreSeconds)
		p.RequestedMemoryByteSeconds = append(p.RequestedMemoryByteSeconds, t.RequestedMemoryByteSeconds)
		p.UsedMemoryByteSeconds = append(p.UsedMemoryByteSeconds, t.UsedMemoryByteSeconds)
		p.PeakMemoryBytes = append(p.PeakMemoryBytes, t.PeakMemoryBytes)
		p.TaskCounts = append(p.TaskCounts, t.TaskCount)
		p.TaskSecondsMin = append(p.TaskSecondsMin, t.TaskSecondsMin)
		p.TaskSecondsP50 = append(p.TaskSecondsP50, t.TaskSecondsP50)
		p.TaskSecondsMax = append(p.TaskSecondsMax, t.TaskSecondsMax)
	}
	found, err := queries.RunsPut(ctx, q, p)
	if err != nil {
		return nil, fmt.Errorf("error saving runs: %w", err)
	}
	return runIDsInOrder(runs, func(yield func(int64, pgtype.UUID, int64)) {
		for _, f := range found {
			yield(f.JobID, f.RunUuid, f.ID)
		}
	})
}

// LoadQueueUsage stores snapshots not stored before (a source's history) by
// COPY; a snapshot already stored fails the load (RecordQueueUsage keeps it
// instead).
func LoadQueueUsage(ctx context.Context, q db.DBTX, samples []QueueSample) (int64, error) {
	rows := make([]*dbsqlc.QueueUsageCopyParams, len(samples))
	for i, s := range samples {
		rows[i] = &dbsqlc.QueueUsageCopyParams{QueueID: s.QueueID, Ts: s.TS, UsedVcores: s.UsedVcores,
			UsedMemoryBytes: s.UsedMemoryBytes, PendingApps: s.PendingApps, RunningApps: s.RunningApps,
			PendingVcores: s.PendingVcores, PendingMemoryBytes: s.PendingMemoryBytes}
	}
	n, err := queries.QueueUsageCopy(ctx, q, rows)
	if err != nil {
		return 0, fmt.Errorf("error loading queue usage: %w", err)
	}
	return n, nil
}

// LoadJobUsage stores hourly usage rows not stored before by COPY (hours are
// truncated here); a row already stored fails the load (UpsertJobUsage
// replaces instead).
func LoadJobUsage(ctx context.Context, q db.DBTX, usage []UsageHour) (int64, error) {
	rows := make([]*dbsqlc.JobUsageCopyParams, len(usage))
	for i, u := range usage {
		rows[i] = &dbsqlc.JobUsageCopyParams{JobID: u.JobID, Hour: u.Hour.UTC().Truncate(time.Hour), Runs: u.Runs,
			RequestedCoreSeconds: u.RequestedCoreSeconds, UsedCoreSeconds: u.UsedCoreSeconds,
			RequestedMemoryByteSeconds: u.RequestedMemoryByteSeconds, UsedMemoryByteSeconds: u.UsedMemoryByteSeconds,
			PeakMemoryBytes: u.PeakMemoryBytes}
	}
	n, err := queries.JobUsageCopy(ctx, q, rows)
	if err != nil {
		return 0, fmt.Errorf("error loading job usage: %w", err)
	}
	return n, nil
}
