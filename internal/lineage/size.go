package lineage

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/teslaops/tesla/internal/db"
)

// JobStorage is what one job's writes leave stored at a time: the datasets
// whose latest sized write (OpenLineage outputStatistics.size) before then
// was the job's, and the sum of those sizes.
type JobStorage struct {
	JobID    int64
	Datasets int64
	Bytes    decimal.Decimal
}

// storedBytesSQL is the size of each sized dataset as of $1, by the job that
// wrote it last: a dataset whose current size (dataset_size) was written
// before $1 counts as it is; the others (written again since) take their
// latest sized write before $1 from run_io, one run_io_size_idx seek each.
// Datasets first sized at or after $1 count nothing.
const storedBytesSQL = `
WITH asof AS (
    SELECT s.job_id, s.size_bytes FROM dataset_size s WHERE s.at < $1
    UNION ALL
    SELECT w.job_id, w.size_bytes
    FROM dataset_size s
    CROSS JOIN LATERAL (
        SELECT r.job_id, r.size_bytes FROM run_io r
        WHERE r.dataset_id = s.dataset_id AND r.direction = 'WRITE' AND r.size_bytes IS NOT NULL AND r.at < $1
        ORDER BY r.at DESC, r.run_id DESC
        LIMIT 1) w
    WHERE s.at >= $1
)
SELECT job_id, count(*), sum(size_bytes)::numeric FROM asof GROUP BY job_id ORDER BY job_id`

// StoredBytesByJob returns, per job, the datasets it wrote last (with a
// size) before until and their total size in bytes, in job order: what
// billing prices as storage. One statement; q may be a transaction.
func StoredBytesByJob(ctx context.Context, q db.DBTX, until time.Time) ([]JobStorage, error) {
	rows, err := q.Query(ctx, storedBytesSQL, until)
	if err != nil {
		return nil, fmt.Errorf("error loading dataset sizes: %w", err)
	}
	var out []JobStorage
	var s JobStorage
	if _, err := pgx.ForEachRow(rows, []any{&s.JobID, &s.Datasets, &s.Bytes}, func() error {
		out = append(out, s)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("error loading dataset sizes: %w", err)
	}
	return out, nil
}

// DatasetSize is a dataset's current size: what its latest sized write
// reported, and the job and run that wrote it.
type DatasetSize struct {
	DatasetID, JobID, RunID int64
	SizeBytes               int64
	RowCount                *int64
	At                      time.Time
}

// CurrentSizes returns the current size of the given datasets (those never
// written with a size are left out), in dataset order.
func CurrentSizes(ctx context.Context, q db.DBTX, datasetIDs []int64) ([]DatasetSize, error) {
	rows, err := q.Query(ctx, `SELECT dataset_id, job_id, run_id, size_bytes, row_count, at FROM dataset_size
		WHERE dataset_id = ANY($1) ORDER BY dataset_id`, datasetIDs)
	if err != nil {
		return nil, fmt.Errorf("error loading dataset sizes: %w", err)
	}
	var out []DatasetSize
	var d DatasetSize
	if _, err := pgx.ForEachRow(rows, []any{&d.DatasetID, &d.JobID, &d.RunID, &d.SizeBytes, &d.RowCount, &d.At}, func() error {
		out = append(out, d)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("error loading dataset sizes: %w", err)
	}
	return out, nil
}
