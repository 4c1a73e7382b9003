package lineage

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/lineage/dbsqlc"
)

// RunIO is what one stored run read and wrote, for sources that know runs
// whole rather than as OpenLineage events (the demo fleet, trace importers).
// A dataset's Version (its partition, e.g. the day) is what
// dataset.producer(version) finds; an output's SizeBytes and RowCount are
// what the run wrote (the dataset's size after the run).
type RunIO struct {
	JobID, RunID    int64
	At              time.Time
	Inputs, Outputs []DatasetRef
}

// RecordRunIO stores the datasets, job-level edges and run inputs and outputs
// of runs, as ApplyBatch does for events: idempotent (a repeated run I/O keeps
// its version unless a new one is given, edges only widen), in four statements
// whatever the number of runs. The runs must exist.
func RecordRunIO(ctx context.Context, q db.DBTX, runs []RunIO) error {
	ds, edges, ios, err := prepareRunIO(ctx, q, runs)
	if err != nil || ds == 0 {
		return err
	}
	if err := saveEdges(ctx, q, edges); err != nil {
		return err
	}
	return saveRunIO(ctx, q, ios)
}

// LoadRunIO stores the same as RecordRunIO for runs that have no inputs and
// outputs recorded yet (a source's history), the run I/O by COPY: a run I/O
// already stored fails the load.
func LoadRunIO(ctx context.Context, q db.DBTX, runs []RunIO) error {
	ds, edges, ios, err := prepareRunIO(ctx, q, runs)
	if err != nil || ds == 0 {
		return err
	}
	if err := saveEdges(ctx, q, edges); err != nil {
		return err
	}
	rows := make([]*dbsqlc.RunIOCopyParams, 0, len(ios))
	for k, v := range ios {
		rows = append(rows, &dbsqlc.RunIOCopyParams{JobID: k.job, RunID: k.run, DatasetID: k.dataset,
			Direction: k.direction, Version: v.version, At: v.at, SizeBytes: v.size, RowCount: v.rows})
	}
	sort.Slice(rows, func(a, b int) bool { // the primary key's order: COPY appends to its index
		x, y := rows[a], rows[b]
		if x.JobID != y.JobID {
			return x.JobID < y.JobID
		}
		if x.RunID != y.RunID {
			return x.RunID < y.RunID
		}
		if x.DatasetID != y.DatasetID {
			return x.DatasetID < y.DatasetID
		}
		return x.Direction < y.Direction
	})
	if _, err := queries.RunIOCopy(ctx, q, rows); err != nil {
		return fmt.Errorf("error loading the runs' inputs and outputs: %w", err)
	}
	return refreshSizes(ctx, q, ios)
}

// prepareRunIO saves the datasets runs name and folds the runs into edges and
// run I/O rows, merging repeats as ApplyBatch does.
func prepareRunIO(ctx context.Context, q db.DBTX, runs []RunIO) (int, map[edgeKey]span, map[runIOKey]runIO, error) {
	var refs []DatasetRef
	for i := range runs {
		refs = append(refs, runs[i].Inputs...)
		refs = append(refs, runs[i].Outputs...)
	}
	if len(refs) == 0 {
		return 0, nil, nil, nil
	}
	for i := range refs {
		if refs[i].Facets == "" {
			refs[i].Facets = "{}"
		}
	}
	dsIDs, err := upsertDatasets(ctx, q, refs)
	if err != nil {
		return 0, nil, nil, err
	}
	edges := map[edgeKey]span{}
	ios := map[runIOKey]runIO{}
	for i := range runs {
		r := &runs[i]
		for _, side := range [2]struct {
			list      []DatasetRef
			direction string
		}{{r.Inputs, "READ"}, {r.Outputs, "WRITE"}} {
			for _, d := range side.list {
				ds := dsIDs[[2]string{d.Namespace, d.Name}]
				ek := edgeKey{r.JobID, side.direction, ds}
				sp, ok := edges[ek]
				if !ok || r.At.Before(sp.first) {
					sp.first = r.At
				}
				if !ok || r.At.After(sp.last) {
					sp.last = r.At
				}
				edges[ek] = sp
				rk := runIOKey{r.JobID, r.RunID, ds, side.direction}
				cur, ok := ios[rk]
				if side.direction == "READ" {
					d.SizeBytes, d.RowCount = nil, nil // sizes are what a run wrote
				}
				cur.merge(d, r.At, ok)
				ios[rk] = cur
			}
		}
	}
	return len(dsIDs), edges, ios, nil
}
