package lineage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/lineage/dbsqlc"
	"github.com/teslaops/tesla/internal/workload"
)

var queries = dbsqlc.New()

// Store writes OpenLineage events.
type Store struct {
	pool *pgxpool.Pool
}

// NewStore returns a Store over pool.
func NewStore(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// Apply stores one event in one transaction, all of it or nothing. It reports
// duplicate (and changes nothing) for a RunEvent whose runId, eventType and
// eventTime were applied before.
func (s *Store) Apply(ctx context.Context, ev *Event) (duplicate bool, err error) {
	dups, err := s.ApplyBatch(ctx, []*Event{ev})
	if err != nil {
		return false, err
	}
	return dups[0], nil
}

// maxAttempts bounds the retries of a batch that lost a deadlock to another.
const maxAttempts = 4

// ApplyBatch stores events in one transaction: all of them or none, each
// whole. One commit for many events is what makes ingestion fast (a commit
// waits for the WAL to reach the disk). dups[i] reports an event applied
// before. A batch that deadlocks with a concurrent one (they may lock the same
// datasets in different orders across events) is retried from the start.
func (s *Store) ApplyBatch(ctx context.Context, events []*Event) (dups []bool, err error) {
	for attempt := 1; ; attempt++ {
		err = db.InTx(ctx, s.pool, func(tx pgx.Tx) error {
			var err error
			dups, err = applyBatch(ctx, tx, events)
			return err
		})
		var pgErr *pgconn.PgError
		if err == nil || attempt == maxAttempts || !errors.As(err, &pgErr) ||
			(pgErr.Code != "40P01" && pgErr.Code != "40001") || ctx.Err() != nil {
			return dups, err
		}
	}
}

type eventKey struct {
	run  pgtype.UUID
	typ  string
	time time.Time
}

// applyBatch stores events with a fixed number of statements: the jobs, the
// run events' keys (which tell the duplicates), the runs (pipelined, one per
// event), the datasets, the job-level edges and the runs' inputs and outputs.
func applyBatch(ctx context.Context, tx pgx.Tx, events []*Event) ([]bool, error) {
	dups := make([]bool, len(events))
	var keys []workload.JobKey
	for _, ev := range events {
		if ev.Kind != DatasetEvent {
			keys = append(keys, workload.JobKey{Namespace: ev.Job.Namespace, Name: ev.Job.Name,
				Kind: deref(ev.Job.Kind), Description: deref(ev.Job.Description)})
		}
	}
	var jobIDs map[[2]string]int64
	if len(keys) > 0 {
		var err error
		if jobIDs, err = workload.UpsertJobs(ctx, tx, keys); err != nil {
			return nil, err
		}
	}
	jobOf := func(ev *Event) int64 { return jobIDs[[2]string{ev.Job.Namespace, ev.Job.Name}] }

	// Claim the run events' keys; a key not claimed was applied before, and a
	// key repeated within the batch counts once.
	claim := &dbsqlc.EventsClaimParams{}
	for _, ev := range events {
		if ev.Kind != RunEvent {
			continue
		}
		problems := []byte("[]")
		if len(ev.Problems) > 0 {
			if b, err := json.Marshal(ev.Problems); err == nil {
				problems = b
			}
		}
		claim.RunUuids = append(claim.RunUuids, ev.RunID)
		claim.EventTypes = append(claim.EventTypes, ev.Type)
		claim.EventTimes = append(claim.EventTimes, ev.Time)
		claim.JobIds = append(claim.JobIds, jobOf(ev))
		claim.Problems = append(claim.Problems, string(problems))
	}
	if len(claim.RunUuids) > 0 {
		claimed, err := queries.EventsClaim(ctx, tx, claim)
		if err != nil {
			return nil, fmt.Errorf("error recording events: %w", err)
		}
		fresh := make(map[eventKey]bool, len(claimed))
		for _, c := range claimed {
			fresh[eventKey{c.RunUuid, c.EventType, c.EventTime.UTC()}] = true
		}
		for i, ev := range events {
			if ev.Kind != RunEvent {
				continue
			}
			k := eventKey{ev.RunID, ev.Type, ev.Time.UTC()}
			if fresh[k] {
				delete(fresh, k)
			} else {
				dups[i] = true
			}
		}
	}

	// The runs, in (job, run) order so that concurrent batches lock them alike.
	var runIdx []int
	for i, ev := range events {
		if ev.Kind == RunEvent && !dups[i] {
			runIdx = append(runIdx, i)
		}
	}
	sort.SliceStable(runIdx, func(a, b int) bool {
		ea, eb := events[runIdx[a]], events[runIdx[b]]
		if ja, jb := jobOf(ea), jobOf(eb); ja != jb {
			return ja < jb
		}
		return bytes.Compare(ea.RunID.Bytes[:], eb.RunID.Bytes[:]) < 0
	})
	runIDs := make(map[int]int64, len(runIdx))
	if len(runIdx) > 0 {
		revs := make([]workload.RunEvent, len(runIdx))
		for n, i := range runIdx {
			ev := events[i]
			revs[n] = workload.RunEvent{JobID: jobOf(ev), RunUUID: ev.RunID, State: ev.State(), Time: ev.Time,
				NominalStart: ev.NominalStart, NominalEnd: ev.NominalEnd, ParentRunUUID: ev.ParentRunID}
		}
		ids, err := workload.ApplyRunEvents(ctx, tx, revs)
		if err != nil {
			return nil, err
		}
		for n, i := range runIdx {
			runIDs[i] = ids[n]
		}
	}

	// Datasets, then what reads and writes them.
	var refs []DatasetRef
	for i, ev := range events {
		switch {
		case dups[i]:
		case ev.Kind == DatasetEvent:
			refs = append(refs, ev.Dataset)
		default:
			refs = append(refs, ev.Inputs...)
			refs = append(refs, ev.Outputs...)
		}
	}
	if len(refs) == 0 {
		return dups, nil
	}
	dsIDs, err := upsertDatasets(ctx, tx, refs)
	if err != nil {
		return nil, err
	}
	edges := map[edgeKey]span{}
	ios := map[runIOKey]runIO{}
	for i, ev := range events {
		if dups[i] || ev.Kind == DatasetEvent {
			continue
		}
		job := jobOf(ev)
		for _, side := range [2]struct {
			list      []DatasetRef
			direction string
		}{{ev.Inputs, "READ"}, {ev.Outputs, "WRITE"}} {
			for _, d := range side.list {
				ds := dsIDs[[2]string{d.Namespace, d.Name}]
				ek := edgeKey{job, side.direction, ds}
				sp, ok := edges[ek]
				if !ok || ev.Time.Before(sp.first) {
					sp.first = ev.Time
				}
				if !ok || ev.Time.After(sp.last) {
					sp.last = ev.Time
				}
				edges[ek] = sp
				if ev.Kind != RunEvent {
					continue
				}
				rk := runIOKey{job, runIDs[i], ds, side.direction}
				cur, ok := ios[rk]
				// The version and size of the latest event that named one win.
				cur.merge(d, ev.Time, ok)
				ios[rk] = cur
			}
		}
	}
	if err := saveEdges(ctx, tx, edges); err != nil {
		return nil, err
	}
	if err := saveRunIO(ctx, tx, ios); err != nil {
		return nil, err
	}
	return dups, nil
}

type edgeKey struct {
	job       int64
	direction string
	dataset   int64
}

type span struct{ first, last time.Time }

type runIOKey struct {
	job, run, dataset int64
	direction         string
}

type runIO struct {
	version       string
	versionAt, at time.Time
	// size and rows are the latest reported outputStatistics (nil: none).
	size, rows *int64
	sizeAt     time.Time
}

// merge folds one sighting at t of a run's dataset into the run I/O row
// (seen: the row had a sighting before): the latest version and size named
// win, at is the latest sighting.
func (cur *runIO) merge(d DatasetRef, t time.Time, seen bool) {
	if d.Version != "" && (cur.version == "" || !t.Before(cur.versionAt)) {
		cur.version, cur.versionAt = d.Version, t
	}
	if d.SizeBytes != nil && (cur.size == nil || !t.Before(cur.sizeAt)) {
		cur.size, cur.rows, cur.sizeAt = d.SizeBytes, d.RowCount, t
	}
	if !seen || t.After(cur.at) {
		cur.at = t
	}
}

// orNone encodes an unknown count as -1 for the array parameters.
func orNone(v *int64) int64 {
	if v == nil {
		return -1
	}
	return *v
}

func saveEdges(ctx context.Context, tx db.DBTX, edges map[edgeKey]span) error {
	if len(edges) == 0 {
		return nil
	}
	keys := make([]edgeKey, 0, len(edges))
	for k := range edges {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(a, b int) bool { // the primary key's order
		x, y := keys[a], keys[b]
		if x.job != y.job {
			return x.job < y.job
		}
		if x.direction != y.direction {
			return x.direction < y.direction
		}
		return x.dataset < y.dataset
	})
	p := &dbsqlc.EdgesUpsertParams{}
	for _, k := range keys {
		p.JobIds = append(p.JobIds, k.job)
		p.DatasetIds = append(p.DatasetIds, k.dataset)
		p.Directions = append(p.Directions, k.direction)
		p.FirstSeen = append(p.FirstSeen, edges[k].first)
		p.LastSeen = append(p.LastSeen, edges[k].last)
	}
	if err := queries.EdgesUpsert(ctx, tx, p); err != nil {
		return fmt.Errorf("error saving lineage edges: %w", err)
	}
	return nil
}

func saveRunIO(ctx context.Context, tx db.DBTX, ios map[runIOKey]runIO) error {
	if len(ios) == 0 {
		return nil
	}
	keys := make([]runIOKey, 0, len(ios))
	for k := range ios {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(a, b int) bool { // the primary key's order
		x, y := keys[a], keys[b]
		if x.job != y.job {
			return x.job < y.job
		}
		if x.run != y.run {
			return x.run < y.run
		}
		if x.dataset != y.dataset {
			return x.dataset < y.dataset
		}
		return x.direction < y.direction
	})
	p := &dbsqlc.RunIOUpsertParams{}
	for _, k := range keys {
		p.JobIds = append(p.JobIds, k.job)
		p.RunIds = append(p.RunIds, k.run)
		p.DatasetIds = append(p.DatasetIds, k.dataset)
		p.Directions = append(p.Directions, k.direction)
		p.Versions = append(p.Versions, ios[k].version)
		p.Ats = append(p.Ats, ios[k].at)
		p.Sizes = append(p.Sizes, orNone(ios[k].size))
		p.RowCounts = append(p.RowCounts, orNone(ios[k].rows))
	}
	if err := queries.RunIOUpsert(ctx, tx, p); err != nil {
		return fmt.Errorf("error saving the runs' inputs and outputs: %w", err)
	}
	return refreshSizes(ctx, tx, ios)
}

// refreshSizes sets the current size of the datasets the runs wrote with a
// size from run_io (their latest sized write), in one statement. Datasets
// written without a size are left alone (no row lock for a START event's
// outputs); a later event of a run that repeats no size leaves the dataset's
// size, and its time, as the sized event set them.
func refreshSizes(ctx context.Context, tx db.DBTX, ios map[runIOKey]runIO) error {
	seen := map[int64]bool{}
	var ids []int64
	for k, v := range ios {
		if k.direction == "WRITE" && v.size != nil && !seen[k.dataset] {
			seen[k.dataset] = true
			ids = append(ids, k.dataset)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	slices.Sort(ids)
	if err := queries.DatasetSizesRefresh(ctx, tx, ids); err != nil {
		return fmt.Errorf("error saving dataset sizes: %w", err)
	}
	return nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// upsertDatasets saves refs (in key order, so concurrent events lock rows in
// one order) and returns their ids by (namespace, name).
func upsertDatasets(ctx context.Context, tx db.DBTX, refs []DatasetRef) (map[[2]string]int64, error) {
	merged := map[[2]string]string{}
	for _, d := range refs {
		k := [2]string{d.Namespace, d.Name}
		if f, ok := merged[k]; !ok || f == "{}" {
			merged[k] = d.Facets
		}
	}
	keys := make([][2]string, 0, len(merged))
	for k := range merged {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i][0] != keys[j][0] {
			return keys[i][0] < keys[j][0]
		}
		return keys[i][1] < keys[j][1]
	})
	p := &dbsqlc.DatasetsUpsertParams{}
	for _, k := range keys {
		p.Namespaces = append(p.Namespaces, k[0])
		p.Names = append(p.Names, k[1])
		p.Facets = append(p.Facets, merged[k])
	}
	rows, err := queries.DatasetsUpsert(ctx, tx, p)
	if err != nil {
		return nil, fmt.Errorf("error saving datasets: %w", err)
	}
	ids := make(map[[2]string]int64, len(rows))
	for _, r := range rows {
		ids[[2]string{r.Namespace, r.Name}] = r.ID
	}
	return ids, nil
}
