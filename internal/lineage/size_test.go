package lineage_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/lineage"
	"github.com/teslaops/tesla/internal/workload"
)

// TestRealOutputStatisticsStored posts the spec's example events that carry
// outputStatistics (shared/data/openlineage/events): the size and row count
// are kept on the run's write and as the dataset's current size, with the
// job that wrote it; the example whose outputStatistics is invalid (rowCount
// "wrong") stores its lineage but no size.
func TestRealOutputStatisticsStored(t *testing.T) {
	t.Parallel()
	files := []string{"fluentd-event_full.json", "example_full_event.client-python.json", "fluentd-event_invalid_output_dataset_facet.json"}
	for _, f := range files {
		if _, err := os.Stat(filepath.Join(eventsDir, f)); err != nil {
			t.Skipf("no OpenLineage example %s in %s (the shared data folder is absent)", f, eventsDir)
		}
	}
	e := newEnv(t)
	for _, f := range files {
		body, err := os.ReadFile(filepath.Join(eventsDir, f))
		require.NoError(t, err)
		status, resp := e.post(t, "agent", "application/json", string(body))
		require.Contains(t, []int{http.StatusCreated, http.StatusOK}, status, "%s: %+v", f, resp)
	}
	ctx := context.Background()
	var size, rows int64
	var job string
	require.NoError(t, e.pool.QueryRow(ctx, `SELECT s.size_bytes, s.row_count, j.name FROM dataset_size s
		JOIN dataset d ON d.id = s.dataset_id JOIN job j ON j.id = s.job_id
		WHERE d.namespace = 'my-datasource-namespace' AND d.name = 'instance.schema.table'`).Scan(&size, &rows, &job))
	require.Equal(t, int64(2097152), size)
	require.Equal(t, int64(2000), rows)
	require.Equal(t, "myjob.mytask", job)
	require.Equal(t, 1, e.count(t, `SELECT count(*) FROM run_io io JOIN dataset d ON d.id = io.dataset_id
		WHERE d.name = 'instance.schema.table' AND io.direction = 'WRITE' AND io.size_bytes = 2097152 AND io.row_count = 2000`))
	require.Equal(t, 0, e.count(t, `SELECT count(*) FROM run_io WHERE direction = 'READ' AND size_bytes IS NOT NULL`),
		"inputStatistics are not a size written")
	require.Equal(t, 1, e.count(t, `SELECT count(*) FROM run_io io JOIN dataset d ON d.id = io.dataset_id
		WHERE d.name = 'instance.schema.output-1' AND io.size_bytes IS NULL`), "the invalid facet's write is kept, without a size")
	require.Equal(t, 1, e.count(t, `SELECT count(*) FROM dataset_size`))

	// As of a time: nothing before the write (2020-12-28T19:51:01.641Z), the
	// size after it.
	at := time.Date(2020, 12, 28, 19, 51, 1, 641_000_000, time.UTC)
	before, err := lineage.StoredBytesByJob(ctx, e.pool, at)
	require.NoError(t, err)
	require.Empty(t, before)
	after, err := lineage.StoredBytesByJob(ctx, e.pool, at.Add(time.Millisecond))
	require.NoError(t, err)
	require.Len(t, after, 1)
	require.Equal(t, int64(1), after[0].Datasets)
	require.Equal(t, "2097152", after[0].Bytes.String())
}

// TestSizeOfTheLatestWrite: a dataset's size is what its latest sized write
// reported, by the job that wrote it; a later event of the run without
// statistics keeps the size and its time; a read's size is not kept; and the size as of an
// earlier time is that time's, by that time's writer.
func TestSizeOfTheLatestWrite(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := context.Background()
	jobs, err := workload.PutJobs(ctx, pool, []workload.JobSpec{
		{Namespace: "c", Name: "a", Kind: "BATCH", Priority: "P2"}, {Namespace: "c", Name: "b", Kind: "BATCH", Priority: "P2"}})
	require.NoError(t, err)
	a, b := jobs[[2]string{"c", "a"}], jobs[[2]string{"c", "b"}]
	t0 := time.Date(2026, 3, 10, 1, 0, 0, 0, time.UTC)
	t1 := t0.Add(24 * time.Hour)
	ids, err := workload.LoadRuns(ctx, pool, []workload.RunRecord{
		{JobID: a, RunUUID: pgtype.UUID{Bytes: [16]byte{1}, Valid: true}, State: "COMPLETED", StateAt: t0, QueuedAt: t0, StartedAt: t0},
		{JobID: b, RunUUID: pgtype.UUID{Bytes: [16]byte{2}, Valid: true}, State: "COMPLETED", StateAt: t1, QueuedAt: t1, StartedAt: t1},
	})
	require.NoError(t, err)
	n := func(v int64) *int64 { return &v }
	tbl := lineage.DatasetRef{Namespace: "hive", Name: "t", SizeBytes: n(100), RowCount: n(10)}
	other := lineage.DatasetRef{Namespace: "hive", Name: "u", SizeBytes: n(7)}
	require.NoError(t, lineage.LoadRunIO(ctx, pool, []lineage.RunIO{
		{JobID: a, RunID: ids[0], At: t0, Inputs: []lineage.DatasetRef{{Namespace: "hive", Name: "in", SizeBytes: n(5)}},
			Outputs: []lineage.DatasetRef{tbl, other}}}))
	bigger := tbl
	bigger.SizeBytes, bigger.RowCount = n(300), nil
	require.NoError(t, lineage.RecordRunIO(ctx, pool, []lineage.RunIO{{JobID: b, RunID: ids[1], At: t1, Outputs: []lineage.DatasetRef{bigger}}}))
	// A later sighting of b's run without statistics keeps its size.
	require.NoError(t, lineage.RecordRunIO(ctx, pool, []lineage.RunIO{{JobID: b, RunID: ids[1], At: t1.Add(time.Hour),
		Outputs: []lineage.DatasetRef{{Namespace: "hive", Name: "t"}}}}))

	var tID int64
	require.NoError(t, pool.QueryRow(ctx, `SELECT id FROM dataset WHERE name = 't'`).Scan(&tID))
	cur, err := lineage.CurrentSizes(ctx, pool, []int64{tID})
	require.NoError(t, err)
	require.Len(t, cur, 1)
	require.Equal(t, int64(300), cur[0].SizeBytes)
	require.Nil(t, cur[0].RowCount)
	require.Equal(t, b, cur[0].JobID)
	require.True(t, cur[0].At.Equal(t1), "the time of the event that reported the size")
	var reads int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM run_io WHERE direction = 'READ' AND size_bytes IS NOT NULL`).Scan(&reads))
	require.Zero(t, reads)

	asOf := func(at time.Time) map[int64]string {
		s, err := lineage.StoredBytesByJob(ctx, pool, at)
		require.NoError(t, err)
		out := map[int64]string{}
		for _, j := range s {
			out[j.JobID] = j.Bytes.String()
		}
		return out
	}
	require.Empty(t, asOf(t0))
	require.Equal(t, map[int64]string{a: "107"}, asOf(t0.Add(time.Hour)), "a wrote both")
	require.Equal(t, map[int64]string{a: "7", b: "300"}, asOf(t1.Add(2*time.Hour)), "b wrote t last")
	require.Equal(t, map[int64]string{a: "107"}, asOf(t1), "as of t1, b's write is not there yet")
}

// TestOutputStatisticsOverHTTP: the START event carries no statistics, the
// COMPLETE event does; a negative size is not a size.
func TestOutputStatisticsOverHTTP(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ev := func(typ, at, stats string) string {
		out := `{"namespace":"db","name":"sized"}`
		if stats != "" {
			out = `{"namespace":"db","name":"sized","outputFacets":{"outputStatistics":{"_producer":"p","_schemaURL":"s",` + stats + `}}}`
		}
		return `{"eventType":"` + typ + `","eventTime":"` + at + `","run":{"runId":"0d1b6a55-7b1e-4a52-9d38-7a8c2c1f3a10"},
		"job":{"namespace":"etl","name":"w"},"outputs":[` + out + `],"producer":"p","schemaURL":"s"}`
	}
	for _, body := range []string{ev("START", "2024-05-01T10:00:00Z", ""), ev("COMPLETE", "2024-05-01T11:00:00Z", `"size":5000000000000,"rowCount":12`)} {
		status, resp := e.post(t, "agent", "application/json", body)
		require.Equal(t, http.StatusCreated, status, "%+v", resp)
	}
	require.Equal(t, 1, e.count(t, `SELECT count(*) FROM dataset_size WHERE size_bytes = 5000000000000 AND row_count = 12`))
	status, resp := e.post(t, "agent", "application/json", ev("OTHER", "2024-05-01T12:00:00Z", `"size":-1`))
	require.Equal(t, http.StatusCreated, status, "%+v", resp)
	require.Equal(t, 1, e.count(t, `SELECT count(*) FROM dataset_size WHERE size_bytes = 5000000000000`), "a negative size is ignored")
}
