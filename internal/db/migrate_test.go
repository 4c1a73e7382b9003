package db_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/db/dbtest"
)

func TestMigrationsAreNumberedAndCommented(t *testing.T) {
	ms, err := db.Migrations()
	require.NoError(t, err)
	require.NotEmpty(t, ms)
	for i, m := range ms {
		require.Equal(t, i+1, m.Version, "migrations must be numbered without gaps")
		require.Regexp(t, `^-- `, m.SQL, "migration %s must start with a comment saying why", m.Name)
	}
}

func TestTemplateIsFullyMigratedAndMigrateIsIdempotent(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := context.Background()
	st, err := db.Status(ctx, pool)
	require.NoError(t, err)
	require.False(t, st.Behind())
	require.Equal(t, st.Latest, st.Current)

	var riverVersions int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM river_migration`).Scan(&riverVersions))
	require.NotZero(t, riverVersions, "the template must hold River's schema")

	applied, err := db.Migrate(ctx, pool)
	require.NoError(t, err)
	require.Empty(t, applied, "a migrated database must not be migrated again")
	var again int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM river_migration`).Scan(&again))
	require.Equal(t, riverVersions, again, "River's migrations must not run twice")
}

func TestMigrateFromEmptyDatabase(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := context.Background()
	// Empty the cloned database to prove Migrate builds the schema from nothing.
	_, err := pool.Exec(ctx, `DROP SCHEMA public CASCADE; CREATE SCHEMA public`)
	require.NoError(t, err)
	st, err := db.Status(ctx, pool)
	require.NoError(t, err)
	require.True(t, st.Behind())
	require.Equal(t, 0, st.Current)

	applied, err := db.Migrate(ctx, pool)
	require.NoError(t, err)
	require.Len(t, applied, st.Latest)
	st, err = db.Status(ctx, pool)
	require.NoError(t, err)
	require.False(t, st.Behind())
	var riverJob bool
	require.NoError(t, pool.QueryRow(ctx, `SELECT to_regclass('river_job') IS NOT NULL`).Scan(&riverJob))
	require.True(t, riverJob, "migrate up must apply River's schema")
}

func TestHostMetricPartitionsAreDailyAndIdempotent(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := context.Background()
	var created int
	require.NoError(t, pool.QueryRow(ctx, `SELECT ensure_host_metric_partitions('2026-01-01', '2026-01-04')`).Scan(&created))
	require.Equal(t, 3, created)
	require.NoError(t, pool.QueryRow(ctx, `SELECT ensure_host_metric_partitions('2026-01-01', '2026-01-05')`).Scan(&created))
	require.Equal(t, 1, created)

	// A sample just before midnight UTC lands in that day's partition.
	_, err := pool.Exec(ctx, `INSERT INTO bu (name, code) VALUES ('x', 'x')`)
	require.NoError(t, err)
	ts := time.Date(2026, 1, 2, 23, 59, 59, 0, time.UTC)
	_, err = pool.Exec(ctx, `INSERT INTO host_metric (host_id, ts, cpu_pct) VALUES (1, $1, 50)`, ts)
	require.NoError(t, err)
	var part string
	require.NoError(t, pool.QueryRow(ctx, `SELECT tableoid::regclass::text FROM host_metric`).Scan(&part))
	require.Equal(t, "host_metric_20260102", part)

	// Re-sending the same sample violates the primary key: ingestion relies on it.
	_, err = pool.Exec(ctx, `INSERT INTO host_metric (host_id, ts, cpu_pct) VALUES (1, $1, 60)`, ts)
	require.Error(t, err)
}
