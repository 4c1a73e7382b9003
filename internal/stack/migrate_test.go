package stack_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/db/dbtest"
)

// Migration 0026 turns existing rows' JSON into the typed columns. The test
// database is already migrated, so the test rebuilds the stack tables as 0001
// made them in a schema of their own, fills them as the old seed did and runs
// 0026 there.
func TestMigration0026MovesJSONIntoTypedColumns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.New(t)
	migs, err := db.Migrations()
	require.NoError(t, err)
	var foundation, m26 string
	for _, m := range migs {
		switch m.Version {
		case 1:
			foundation = m.SQL
		case 26:
			m26 = m.SQL
		}
	}
	from, to := strings.Index(foundation, "CREATE TABLE stack ("), strings.Index(foundation, "CREATE TABLE cluster (")
	require.True(t, from > 0 && to > from)

	conn, err := pool.Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	for _, sql := range []string{`CREATE SCHEMA legacy`, `SET search_path = legacy`, foundation[from:to], `
		INSERT INTO service_package (service, version, source_kind, source_uri, checksum, depends_on, operations) VALUES
		('ZOOKEEPER', '3.8.3', 'RPM', 'https://repo/zk.rpm', 'sha256:00', '[]',
		 '{"start": "systemctl start zk", "check": "zkOk", "restart_policy": "always"}'),
		('YARN', '3.3.6', 'RPM', 'https://repo/yarn.rpm', '', '[{"service": "HDFS", "version": "=3.3.6"}, {"service": "zookeeper"}]', '{}'),
		('PRESTO', '0.286', 'GIT', 'git+https://git/presto.git#release-0.286', '', '{}', '[]')`,
		m26,
	} {
		_, err := conn.Exec(ctx, sql)
		require.NoError(t, err, sql)
	}
	rows, err := conn.Query(ctx, `SELECT sp.service || ' ' || coalesce(sp.health_kind, '-') || ' ' || coalesce(sp.health_target, '-') || ' ' ||
		sp.restart_policy || ' ' || sp.source_uri || ' ' || sp.source_ref || ' [' ||
		coalesce((SELECT string_agg(d.service || d.version_constraint, ',' ORDER BY d.position)
		          FROM service_package_dependency d WHERE d.package_id = sp.id), '') || ']'
		FROM service_package sp ORDER BY sp.id`)
	require.NoError(t, err)
	var got []string
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		got = append(got, s)
	}
	require.NoError(t, rows.Err())
	require.Equal(t, []string{
		"ZOOKEEPER COMMAND zkOk ALWAYS https://repo/zk.rpm  []",
		"YARN - - ON_FAILURE https://repo/yarn.rpm  [HDFS=3.3.6,ZOOKEEPER*]",
		"PRESTO - - ON_FAILURE git+https://git/presto.git release-0.286 []",
	}, got)
	var hasDependsOn bool
	require.NoError(t, conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM information_schema.columns
		WHERE table_schema = 'legacy' AND table_name = 'service_package' AND column_name = 'depends_on')`).Scan(&hasDependsOn))
	require.False(t, hasDependsOn)
	_, err = conn.Exec(ctx, `RESET search_path`)
	require.NoError(t, err)
}
