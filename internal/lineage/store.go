package lineage

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/jackc/pgx/v5"
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
	err = db.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		duplicate, err = apply(ctx, tx, ev)
		if duplicate {
			return errDuplicate // roll back the job upsert, however harmless
		}
		return err
	})
	if errors.Is(err, errDuplicate) {
		return true, nil
	}
	return false, err
}

var errDuplicate = errors.New("duplicate event")

func apply(ctx context.Context, tx pgx.Tx, ev *Event) (bool, error) {
	if ev.Kind == DatasetEvent {
		_, err := upsertDatasets(ctx, tx, []DatasetRef{ev.Dataset})
		return false, err
	}
	jobID, err := workload.UpsertJob(ctx, tx, workload.JobKey{Namespace: ev.Job.Namespace, Name: ev.Job.Name,
		Kind: ev.Job.Kind, Description: ev.Job.Description})
	if err != nil {
		return false, err
	}
	var runID int64
	if ev.Kind == RunEvent {
		problems := ev.Problems
		if problems == nil {
			problems = []string{}
		}
		_, err := queries.EventClaim(ctx, tx, &dbsqlc.EventClaimParams{RunUuid: ev.RunID, EventType: ev.Type,
			EventTime: ev.Time, JobID: jobID, Problems: problems})
		if errors.Is(err, pgx.ErrNoRows) {
			return true, nil
		}
		if err != nil {
			return false, fmt.Errorf("error recording event: %w", err)
		}
		runID, err = workload.ApplyRunEvent(ctx, tx, workload.RunEvent{JobID: jobID, RunUUID: ev.RunID, State: ev.State(),
			Time: ev.Time, NominalStart: ev.NominalStart, NominalEnd: ev.NominalEnd, ParentRunUUID: ev.ParentRunID})
		if err != nil {
			return false, err
		}
	}
	refs := append(append([]DatasetRef{}, ev.Inputs...), ev.Outputs...)
	if len(refs) == 0 {
		return false, nil
	}
	ids, err := upsertDatasets(ctx, tx, refs)
	if err != nil {
		return false, err
	}
	type io struct {
		dataset   int64
		direction string
		version   string
	}
	seen := map[[2]any]int{}
	var ios []io
	add := func(list []DatasetRef, direction string) {
		for _, d := range list {
			id := ids[[2]string{d.Namespace, d.Name}]
			k := [2]any{id, direction}
			if i, ok := seen[k]; ok {
				if d.Version != "" {
					ios[i].version = d.Version
				}
				continue
			}
			seen[k] = len(ios)
			ios = append(ios, io{id, direction, d.Version})
		}
	}
	add(ev.Inputs, "READ")
	add(ev.Outputs, "WRITE")
	sort.Slice(ios, func(i, j int) bool {
		if ios[i].dataset != ios[j].dataset {
			return ios[i].dataset < ios[j].dataset
		}
		return ios[i].direction < ios[j].direction
	})
	dsIDs, dirs, versions := make([]int64, len(ios)), make([]string, len(ios)), make([]string, len(ios))
	for i, x := range ios {
		dsIDs[i], dirs[i], versions[i] = x.dataset, x.direction, x.version
	}
	if err := queries.EdgesUpsert(ctx, tx, &dbsqlc.EdgesUpsertParams{JobID: jobID, DatasetIds: dsIDs, Directions: dirs, At: ev.Time}); err != nil {
		return false, fmt.Errorf("error saving lineage edges: %w", err)
	}
	if ev.Kind == RunEvent {
		if err := queries.RunIOUpsert(ctx, tx, &dbsqlc.RunIOUpsertParams{JobID: jobID, RunID: runID, DatasetIds: dsIDs,
			Directions: dirs, Versions: versions, At: ev.Time}); err != nil {
			return false, fmt.Errorf("error saving the run's inputs and outputs: %w", err)
		}
	}
	return false, nil
}

// upsertDatasets saves refs (in key order, so concurrent events lock rows in
// one order) and returns their ids by (namespace, name).
func upsertDatasets(ctx context.Context, tx pgx.Tx, refs []DatasetRef) (map[[2]string]int64, error) {
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
