package workload

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/telemetry"
	"github.com/teslaops/tesla/internal/workload/dbsqlc"
)

// Scheduler types of a queue tree.
const (
	SchedulerCapacity = "CAPACITY"
	SchedulerFair     = "FAIR"
	SchedulerFIFO     = "FIFO"
)

// QueueSpec is one queue as a resource manager describes it. Shares are
// fractions 0..1 of the cluster.
type QueueSpec struct {
	// Path is the full dotted name, e.g. "root.etl.daily"; the parent is the
	// path less its last segment.
	Path             string
	SchedulerType    string
	GuaranteedVcores float64
	MaxVcores        float64
	GuaranteedMemory float64
	MaxMemory        float64
	Weight           float64
}

func (s QueueSpec) check(i int) error {
	field := func(f string) string { return fmt.Sprintf("queues[%d].%s", i, f) }
	if s.Path == "" || strings.HasPrefix(s.Path, ".") || strings.HasSuffix(s.Path, ".") || strings.Contains(s.Path, "..") {
		return fault.Field(field("path"), "%s: %q is not a dotted queue path such as root.etl", field("path"), s.Path)
	}
	switch s.SchedulerType {
	case SchedulerCapacity, SchedulerFair, SchedulerFIFO:
	default:
		return fault.Field(field("schedulerType"), "%s: %q is not CAPACITY, FAIR or FIFO", field("schedulerType"), s.SchedulerType)
	}
	for _, v := range []struct {
		name string
		v    float64
	}{{"guaranteedVcores", s.GuaranteedVcores}, {"maxVcores", s.MaxVcores}, {"guaranteedMemory", s.GuaranteedMemory}, {"maxMemory", s.MaxMemory}} {
		if math.IsNaN(v.v) || v.v < 0 || v.v > 1 {
			return fault.Field(field(v.name), "%s: %v is not a share between 0 and 1", field(v.name), v.v)
		}
	}
	if s.GuaranteedVcores > s.MaxVcores || s.GuaranteedMemory > s.MaxMemory {
		return fault.Field(field("guaranteedVcores"), "%s: a guaranteed share is above its maximum", field("path"))
	}
	if math.IsNaN(s.Weight) || s.Weight < 0 {
		return fault.Field(field("weight"), "%s: %v is not a weight of 0 or more", field("weight"), s.Weight)
	}
	return nil
}

// UpsertQueues creates or updates a cluster's queues by path and links each to
// its parent; it returns the queues' ids by path. Queues the specs do not name
// are left as they are. Specs are validated first: a bad one refuses them all
// (fault.Invalid naming the field).
func UpsertQueues(ctx context.Context, q db.DBTX, clusterID int64, specs []QueueSpec) (map[string]int64, error) {
	sorted := append([]QueueSpec(nil), specs...)
	for i, s := range sorted {
		if err := s.check(i); err != nil {
			return nil, err
		}
	}
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Path < sorted[j].Path })
	p := &dbsqlc.QueuesUpsertParams{ClusterID: clusterID}
	for i, s := range sorted {
		if i > 0 && sorted[i-1].Path == s.Path {
			return nil, fault.Field("queues", "queue %q is named twice", s.Path)
		}
		p.Paths = append(p.Paths, s.Path)
		p.Names = append(p.Names, s.Path[strings.LastIndex(s.Path, ".")+1:])
		p.SchedulerTypes = append(p.SchedulerTypes, s.SchedulerType)
		p.GuaranteedVcores = append(p.GuaranteedVcores, s.GuaranteedVcores)
		p.MaxVcores = append(p.MaxVcores, s.MaxVcores)
		p.GuaranteedMemory = append(p.GuaranteedMemory, s.GuaranteedMemory)
		p.MaxMemory = append(p.MaxMemory, s.MaxMemory)
		p.Weights = append(p.Weights, s.Weight)
	}
	rows, err := queries.QueuesUpsert(ctx, q, p)
	if err != nil {
		return nil, fmt.Errorf("error saving queues: %w", db.Interpret(err, "queue"))
	}
	if err := queries.QueuesLinkParents(ctx, q, clusterID); err != nil {
		return nil, fmt.Errorf("error linking queues to their parents: %w", err)
	}
	ids := make(map[string]int64, len(rows))
	for _, r := range rows {
		ids[r.Path] = r.ID
	}
	return ids, nil
}

// QueueSample is one usage snapshot of a queue.
type QueueSample struct {
	QueueID            int64
	TS                 time.Time
	UsedVcores         float64
	UsedMemoryBytes    int64
	PendingApps        int32
	RunningApps        int32
	PendingVcores      float64
	PendingMemoryBytes int64
}

// RecordQueueUsage stores snapshots and returns how many were new: a snapshot
// of a queue at a time already stored is kept as it was. The snapshots'
// minutes are marked for the watermark rollup in the same transaction, which
// turns them into QUEUE_SLOTS levels.
func RecordQueueUsage(ctx context.Context, q db.DBTX, samples []QueueSample) (int64, error) {
	if len(samples) == 0 {
		return 0, nil
	}
	p := &dbsqlc.QueueUsageInsertParams{}
	for _, s := range samples {
		p.QueueIds = append(p.QueueIds, s.QueueID)
		p.Ts = append(p.Ts, s.TS)
		p.UsedVcores = append(p.UsedVcores, s.UsedVcores)
		p.UsedMemoryBytes = append(p.UsedMemoryBytes, s.UsedMemoryBytes)
		p.PendingApps = append(p.PendingApps, s.PendingApps)
		p.RunningApps = append(p.RunningApps, s.RunningApps)
		p.PendingVcores = append(p.PendingVcores, s.PendingVcores)
		p.PendingMemoryBytes = append(p.PendingMemoryBytes, s.PendingMemoryBytes)
	}
	var n int64
	err := db.InTx(ctx, q, func(tx pgx.Tx) error {
		var err error
		if n, err = queries.QueueUsageInsert(ctx, tx, p); err != nil {
			return fmt.Errorf("error saving queue usage: %w", err)
		}
		return telemetry.MarkMinutesDirty(ctx, tx, p.Ts)
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// UsageHour is one job's usage over one hour, for streaming and batch jobs
// alike.
type UsageHour struct {
	JobID int64
	// Hour is the start of the hour (truncated here).
	Hour                       time.Time
	Runs                       int32
	RequestedCoreSeconds       float64
	UsedCoreSeconds            float64
	RequestedMemoryByteSeconds float64
	UsedMemoryByteSeconds      float64
	PeakMemoryBytes            int64
}

// UpsertJobUsage sets hourly usage rows to the totals given (replacing: a
// source recomputes an hour rather than adding to it, so repeating is
// harmless). Rows for the same job and hour must be merged by the caller: a
// repeated key is refused.
func UpsertJobUsage(ctx context.Context, q db.DBTX, rows []UsageHour) error {
	if len(rows) == 0 {
		return nil
	}
	sorted := append([]UsageHour(nil), rows...)
	for i := range sorted {
		sorted[i].Hour = sorted[i].Hour.UTC().Truncate(time.Hour)
	}
	sort.Slice(sorted, func(i, j int) bool {
		if sorted[i].JobID != sorted[j].JobID {
			return sorted[i].JobID < sorted[j].JobID
		}
		return sorted[i].Hour.Before(sorted[j].Hour)
	})
	p := &dbsqlc.JobUsageUpsertParams{}
	for i, r := range sorted {
		if i > 0 && sorted[i-1].JobID == r.JobID && sorted[i-1].Hour.Equal(r.Hour) {
			return fault.Field("usage", "job %d hour %s is given twice: merge the rows", r.JobID, r.Hour.Format(time.RFC3339))
		}
		p.JobIds = append(p.JobIds, r.JobID)
		p.Hours = append(p.Hours, r.Hour)
		p.Runs = append(p.Runs, r.Runs)
		p.RequestedCoreSeconds = append(p.RequestedCoreSeconds, r.RequestedCoreSeconds)
		p.UsedCoreSeconds = append(p.UsedCoreSeconds, r.UsedCoreSeconds)
		p.RequestedMemoryByteSeconds = append(p.RequestedMemoryByteSeconds, r.RequestedMemoryByteSeconds)
		p.UsedMemoryByteSeconds = append(p.UsedMemoryByteSeconds, r.UsedMemoryByteSeconds)
		p.PeakMemoryBytes = append(p.PeakMemoryBytes, r.PeakMemoryBytes)
	}
	if err := queries.JobUsageUpsert(ctx, q, p); err != nil {
		return fmt.Errorf("error saving job usage: %w", err)
	}
	return nil
}

// UsageRow is a job's usage over one hour as stored.
type UsageRow = dbsqlc.JobUsage1h

// Usage returns a job's hourly usage in [from, to), checking the caller may
// read the job's runs (usage is run detail).
func (s *Service) Usage(ctx context.Context, j *Job, from, to time.Time) ([]*dbsqlc.JobUsage1h, error) {
	if err := CheckRuns(ctx, j); err != nil {
		return nil, err
	}
	if err := checkRange(from, to); err != nil {
		return nil, err
	}
	rows, err := queries.JobUsageRange(ctx, s.pool, &dbsqlc.JobUsageRangeParams{JobID: j.ID, FromHour: from, ToHour: to})
	if err != nil {
		return nil, fmt.Errorf("error loading job usage: %w", err)
	}
	return rows, nil
}
