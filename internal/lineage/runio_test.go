package lineage

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/workload"
)

// TestLoadAndRecordRunIO stores a run's lineage by COPY, then again through
// the upsert: edges widen, a version given replaces, repeating changes nothing,
// and loading the same run I/O twice is refused.
func TestLoadAndRecordRunIO(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := context.Background()
	jobs, err := workload.PutJobs(ctx, pool, []workload.JobSpec{{Namespace: "c", Name: "j", Kind: "BATCH", Priority: "P2"}})
	require.NoError(t, err)
	job := jobs[[2]string{"c", "j"}]
	t0 := time.Date(2026, 3, 10, 1, 0, 0, 0, time.UTC)
	runs := []workload.RunRecord{
		{JobID: job, RunUUID: pgtype.UUID{Bytes: [16]byte{1}, Valid: true}, State: "COMPLETED", StateAt: t0, QueuedAt: t0, StartedAt: t0},
		{JobID: job, RunUUID: pgtype.UUID{Bytes: [16]byte{2}, Valid: true}, State: "COMPLETED", StateAt: t0, QueuedAt: t0, StartedAt: t0},
	}
	ids, err := workload.LoadRuns(ctx, pool, runs)
	require.NoError(t, err)
	require.Len(t, ids, 2)
	in := DatasetRef{Namespace: "hive", Name: "raw.a", Version: "2026-03-09"}
	out := DatasetRef{Namespace: "hive", Name: "agg.a", Version: "2026-03-09"}
	first := []RunIO{{JobID: job, RunID: ids[0], At: t0, Inputs: []DatasetRef{in}, Outputs: []DatasetRef{out}}}
	require.NoError(t, LoadRunIO(ctx, pool, first))
	require.Error(t, LoadRunIO(ctx, pool, first), "a run I/O already stored is refused by COPY")

	t1 := t0.Add(24 * time.Hour)
	out2 := out
	out2.Version = "2026-03-10"
	second := []RunIO{
		{JobID: job, RunID: ids[1], At: t1, Inputs: []DatasetRef{in}, Outputs: []DatasetRef{out2}},
		{JobID: job, RunID: ids[0], At: t0, Inputs: []DatasetRef{in}, Outputs: []DatasetRef{out}},
	}
	require.NoError(t, RecordRunIO(ctx, pool, second))
	require.NoError(t, RecordRunIO(ctx, pool, second), "repeating changes nothing")

	var edges, ios int
	var first0, last0 time.Time
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*), min(first_seen), max(last_seen) FROM lineage_edge WHERE job_id = $1`, job).Scan(&edges, &first0, &last0))
	require.Equal(t, 2, edges)
	require.True(t, first0.Equal(t0))
	require.True(t, last0.Equal(t1), "the edge widened to the later run")
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM run_io WHERE job_id = $1`, job).Scan(&ios))
	require.Equal(t, 4, ios)
	var producer int64
	require.NoError(t, pool.QueryRow(ctx, `
		SELECT io.run_id FROM run_io io JOIN dataset d ON d.id = io.dataset_id
		WHERE d.name = 'agg.a' AND io.direction = 'WRITE' AND io.version = '2026-03-10'`).Scan(&producer))
	require.Equal(t, ids[1], producer)
}
