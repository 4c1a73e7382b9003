package workload

import (
	"context"
	"fmt"
	"maps"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/page"
	"github.com/teslaops/tesla/internal/workload/dbsqlc"
)

// Queue is one queue of a cluster's tree.
type Queue = dbsqlc.Queue

// Queues are cluster structure, read by every signed-in role like the
// inventory; what a queue's jobs used is per job (see QueueJobs).

// QueuesByIDs returns the queues of ids that exist.
func (s *Service) QueuesByIDs(ctx context.Context, ids []int64) (map[int64]*Queue, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	rows, err := queries.QueuesByIDs(ctx, s.pool, ids)
	if err != nil {
		return nil, fmt.Errorf("error loading queues: %w", err)
	}
	out := make(map[int64]*Queue, len(rows))
	for _, r := range rows {
		out[r.ID] = r
	}
	return out, nil
}

// Queue returns one queue, or NotFound.
func (s *Service) Queue(ctx context.Context, id int64) (*Queue, error) {
	qs, err := s.QueuesByIDs(ctx, []int64{id})
	if err != nil {
		return nil, err
	}
	if qs[id] == nil {
		return nil, fault.NotFoundf("queue %d not found", id)
	}
	return qs[id], nil
}

// MaxQueuesPerCluster is the size a cluster's queue tree is read (and priced)
// at: YARN trees hold tens of queues, the largest a few hundred.
const MaxQueuesPerCluster = 500

// QueueTrees returns each cluster's queues in path order (parents before
// children), at most MaxQueuesPerCluster per cluster.
func (s *Service) QueueTrees(ctx context.Context, clusters []int64) (map[int64][]*Queue, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	rows, err := queries.QueueTrees(ctx, s.pool, clusters)
	if err != nil {
		return nil, fmt.Errorf("error loading queues: %w", err)
	}
	out := map[int64][]*Queue{}
	for _, r := range rows {
		if len(out[r.ClusterID]) < MaxQueuesPerCluster {
			out[r.ClusterID] = append(out[r.ClusterID], r)
		}
	}
	return out, nil
}

// QueueChildren returns the children of each parent queue, in path order.
func (s *Service) QueueChildren(ctx context.Context, parents []int64) (map[int64][]*Queue, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	rows, err := queries.QueueChildren(ctx, s.pool, parents)
	if err != nil {
		return nil, fmt.Errorf("error loading queues: %w", err)
	}
	out := map[int64][]*Queue{}
	for _, r := range rows {
		out[*r.ParentID] = append(out[*r.ParentID], r)
	}
	return out, nil
}

// queueKeyset pages queues by cluster then path, the order of queue_path_key.
var queueKeyset = page.Keyset{Tag: "queues/PATH/ASC", Cols: []page.Col{
	{Expr: "q.cluster_id", Type: "bigint"}, {Expr: "q.path", Type: "text"},
}}

// ListQueues pages queues of one cluster (or all) by cluster and path.
func (s *Service) ListQueues(ctx context.Context, clusterID *int64, args page.Args) (page.Page[*Queue], error) {
	if _, err := auth.Require(ctx); err != nil {
		return page.Page[*Queue]{}, err
	}
	seek, err := args.Seek(queueKeyset)
	if err != nil {
		return page.Page[*Queue]{}, err
	}
	c := &conds{args: pgx.NamedArgs{}}
	if clusterID != nil {
		c.add(`q.cluster_id = @cluster`, "cluster", *clusterID)
	}
	sk := seek.Where("_k")
	rowArgs := maps.Clone(c.args)
	maps.Copy(rowArgs, sk.Args)
	rows, err := s.pool.Query(ctx, `SELECT q.id, q.cluster_id, q.parent_id, q.name, q.path, q.scheduler_type,
		q.guaranteed_vcores, q.max_vcores, q.guaranteed_memory, q.max_memory, q.weight, q.created_at, q.updated_at,
		`+seek.Select()+` FROM queue q WHERE `+c.where()+` AND `+sk.SQL+` `+seek.OrderLimit(), rowArgs)
	if err != nil {
		return page.Page[*Queue]{}, fmt.Errorf("error listing queues: %w", err)
	}
	var items []*Queue
	var keys [][]string
	for rows.Next() {
		q := &Queue{}
		key := make([]string, 2)
		if err := rows.Scan(&q.ID, &q.ClusterID, &q.ParentID, &q.Name, &q.Path, &q.SchedulerType, &q.GuaranteedVcores,
			&q.MaxVcores, &q.GuaranteedMemory, &q.MaxMemory, &q.Weight, &q.CreatedAt, &q.UpdatedAt, &key[0], &key[1]); err != nil {
			rows.Close()
			return page.Page[*Queue]{}, fmt.Errorf("error listing queues: %w", err)
		}
		items, keys = append(items, q), append(keys, key)
	}
	if err := rows.Err(); err != nil {
		return page.Page[*Queue]{}, fmt.Errorf("error listing queues: %w", err)
	}
	var total page.Total
	if seek.Complete(len(items)) {
		total.N = len(items)
	} else if seek.NeedsCount(len(items)) {
		if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM queue q WHERE `+c.where(), c.args).Scan(&total.N); err != nil {
			return page.Page[*Queue]{}, fmt.Errorf("error counting queues: %w", err)
		}
	}
	return page.KeysetPage(seek, items, keys, total), nil
}

// Limits on usage windows.
const (
	// MaxUsageRange bounds a usage window (job hours, queue snapshots, shares).
	MaxUsageRange = 93 * 24 * time.Hour
	// DefaultQueuePoints and MaxQueuePoints bound the points of Queue.usage.
	DefaultQueuePoints = 500
	MaxQueuePoints     = 5000
)

// checkRange validates a [from, to) window.
func checkRange(from, to time.Time) error {
	if !from.Before(to) {
		return fault.Field("from", "from must be before to")
	}
	if to.Sub(from) > MaxUsageRange {
		return fault.Field("from", "the window is limited to %d days", int(MaxUsageRange/(24*time.Hour)))
	}
	return nil
}

// QueuePoint is a queue's usage over one bin: means of the snapshots in it,
// and the highest used vcores.
type QueuePoint = dbsqlc.QueueUsageBinnedRow

// QueueUsage returns a queue's snapshots in [from, to). Up to maxPoints
// snapshots come back as they are (bins of a minute, the finest a poller
// reports); a longer window is downsampled into maxPoints bins of whole
// minutes, each the mean of its snapshots, with the peak kept.
func (s *Service) QueueUsage(ctx context.Context, queueID int64, from, to time.Time, maxPoints int) ([]*QueuePoint, time.Duration, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, 0, err
	}
	if err := checkRange(from, to); err != nil {
		return nil, 0, err
	}
	if maxPoints < 1 || maxPoints > MaxQueuePoints {
		return nil, 0, fault.Field("maxPoints", "maxPoints must be between 1 and %d", MaxQueuePoints)
	}
	bin := max(time.Minute, (to.Sub(from) / time.Duration(maxPoints)).Truncate(time.Minute))
	for to.Sub(from)/bin > time.Duration(maxPoints) {
		bin += time.Minute
	}
	rows, err := queries.QueueUsageBinned(ctx, s.pool, &dbsqlc.QueueUsageBinnedParams{BinSeconds: bin.Seconds(), QueueID: queueID, FromTs: from, ToTs: to})
	if err != nil {
		return nil, 0, fmt.Errorf("error loading queue usage: %w", err)
	}
	return rows, bin, nil
}

// QueueJob is a job of a queue with what it used of the queue over a window.
// UsedCoreSeconds and Share are nil when the caller may not read the job's
// usage (CanSeeRuns).
type QueueJob struct {
	Job             *Job
	UsedCoreSeconds *float64
	// Share is the job's part of the core-seconds used by all the queue's
	// jobs in the window (0 when they used none).
	Share *float64
}

// QueueJobs pages the jobs a queue holds now (by id), each with its share of
// the core-seconds the queue's jobs used in [from, to). Usage is attributed
// to a job's current queue (job.queue_id): a job moved to another queue takes
// its past hours with it.
func (s *Service) QueueJobs(ctx context.Context, queueID int64, from, to time.Time, args page.Args) (page.Page[*QueueJob], error) {
	p, err := auth.Require(ctx)
	if err != nil {
		return page.Page[*QueueJob]{}, err
	}
	if err := checkRange(from, to); err != nil {
		return page.Page[*QueueJob]{}, err
	}
	jobs, err := s.Jobs(ctx, JobFilter{QueueID: &queueID}, JobOrder{}, args)
	if err != nil {
		return page.Page[*QueueJob]{}, err
	}
	out := page.Page[*QueueJob]{Info: jobs.Info, Items: make([]*QueueJob, len(jobs.Items))}
	var visible []int64
	for i, j := range jobs.Items {
		out.Items[i] = &QueueJob{Job: j}
		if CanSeeRuns(p, j) {
			visible = append(visible, j.ID)
		}
	}
	if len(visible) == 0 {
		return out, nil
	}
	total, err := queries.QueueUsedCoreSeconds(ctx, s.pool, &dbsqlc.QueueUsedCoreSecondsParams{QueueID: &queueID, FromHour: from, ToHour: to})
	if err != nil {
		return page.Page[*QueueJob]{}, fmt.Errorf("error loading queue usage: %w", err)
	}
	sums, err := queries.JobsUsedCoreSeconds(ctx, s.pool, &dbsqlc.JobsUsedCoreSecondsParams{JobIds: visible, FromHour: from, ToHour: to})
	if err != nil {
		return page.Page[*QueueJob]{}, fmt.Errorf("error loading job usage: %w", err)
	}
	used := make(map[int64]float64, len(sums))
	for _, r := range sums {
		used[r.JobID] = r.UsedCoreSeconds
	}
	for _, qj := range out.Items {
		if !CanSeeRuns(p, qj.Job) {
			continue
		}
		u, share := used[qj.Job.ID], 0.0
		if total > 0 {
			share = u / total
		}
		qj.UsedCoreSeconds, qj.Share = &u, &share
	}
	return out, nil
}
