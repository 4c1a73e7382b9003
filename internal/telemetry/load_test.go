package telemetry_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/telemetry"
)

func TestLoadStoresAndMarksInTheCallersTransaction(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.New(t)
	t0 := time.Date(2025, 5, 1, 10, 0, 0, 0, time.UTC)
	_, err := telemetry.EnsurePartitions(ctx, pool, t0, t0)
	require.NoError(t, err)

	var n int64
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		n, err = telemetry.Load(ctx, tx, &telemetry.SliceSource{Samples: samples(t0, 4, 40)})
		return err
	})
	require.NoError(t, err)
	require.EqualValues(t, 40, n)
	require.EqualValues(t, 40, count(t, pool, `SELECT count(*) FROM host_metric`))
	require.EqualValues(t, 10, count(t, pool, `SELECT count(*) FROM rollup_dirty`), "one mark per minute")

	// A sample already stored fails the load, and the transaction with it.
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		_, err := telemetry.Load(ctx, tx, &telemetry.SliceSource{Samples: samples(t0.Add(9*time.Minute), 4, 8)})
		return err
	})
	require.ErrorContains(t, err, "duplicate key")
	require.EqualValues(t, 40, count(t, pool, `SELECT count(*) FROM host_metric`))
	require.EqualValues(t, 10, count(t, pool, `SELECT count(*) FROM rollup_dirty`))
}

func TestUpsertReplacesValuesAndCreatesAMissingPartition(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.New(t)
	t0 := time.Date(2025, 5, 1, 10, 0, 0, 0, time.UTC)
	first := samples(t0, 3, 3)
	second := samples(t0, 3, 3)
	for i := range second {
		second[i].CPUPct = ptr(float32(99))
	}

	for _, batch := range [][]telemetry.Sample{first, second} {
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			n, err := telemetry.Upsert(ctx, tx, batch)
			if err != nil {
				return err
			}
			require.EqualValues(t, 3, n)
			// The transaction is still usable after the partition was created.
			_, err = tx.Exec(ctx, `SELECT 1`)
			return err
		})
		require.NoError(t, err)
	}
	require.EqualValues(t, 3, count(t, pool, `SELECT count(*) FROM host_metric_20250501`))
	require.EqualValues(t, 3, count(t, pool, `SELECT count(*) FROM host_metric WHERE cpu_pct = 99`), "the later values win")
	require.EqualValues(t, 1, count(t, pool, `SELECT count(*) FROM rollup_dirty WHERE minute = $1`, t0))
}
