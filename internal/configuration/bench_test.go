package configuration_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/configuration"
	"github.com/teslaops/tesla/internal/db/dbtest"
)

// benchCluster stores a 20,000-host cluster (40 racks, 7 models, HDFS and
// YARN on every host) with 50 config groups of every rule kind (racks,
// models, machine groups of a clustering run, host lists of ~200 hosts) and
// two versions of 40 default files plus 3 files per group; version 2
// changes one group's file.
func benchCluster(b *testing.B) (*pgxpool.Pool, int64) {
	ctx := context.Background()
	pool := dbtest.New(b)
	var cluster int64
	require.NoError(b, pool.QueryRow(ctx, `INSERT INTO cluster (name, region, kind) VALUES ('bench-20k', 'us-west', 'BATCH') RETURNING id`).Scan(&cluster))
	stmts := []string{
		`INSERT INTO host (cluster_id, hostname, rack, model, cpu_cores, memory_bytes, disk_bytes, nic_bps, state)
			SELECT $1, 'bench-n' || lpad(h::text, 5, '0'), 'r' || lpad((h % 40)::text, 2, '0'), 'm' || (h % 7), 64, 256::bigint << 30, 8e12, 25e9,
				(ARRAY['ONLINE','ONLINE','ONLINE','DEGRADED','MAINTENANCE'])[1 + h % 5]
			FROM generate_series(1, 20000) h`,
		`INSERT INTO host_component (host_id, service, component, version)
			SELECT id, s, c, '3.2.0' FROM host, unnest(ARRAY['HDFS','YARN'], ARRAY['DATANODE','NODEMANAGER']) AS u(s, c) WHERE cluster_id = $1`,
		// Every component runs version 1.
		`UPDATE host_component SET config_version = 1 WHERE host_id IN (SELECT id FROM host WHERE cluster_id = $1)`,
		`INSERT INTO clustering_run (window_from, window_to, features, k, quality, silhouettes, hosts, outliers, explained, iterations, seed, duration_ms, groups)
			SELECT now() - interval '1 day', now(), '{cpu}', 5, 0.5, '{}', 20000, 0, '{1,0}', 10, 1, 100, '[]' WHERE $1::bigint > 0`,
		`INSERT INTO clustering_assignment (run_id, host_id, label, x, y, distance, outlier, rank)
			SELECT (SELECT max(id) FROM clustering_run), id, id % 5, 0, 0, 0, false, id FROM host WHERE cluster_id = $1`,
		`INSERT INTO config_group (cluster_id, name, position, rule_kind, rule_values)
			SELECT $1, 'g' || g, g + 1, (ARRAY['RACK','MODEL','MACHINE_GROUP','LIST'])[1 + g % 4],
				CASE g % 4 WHEN 0 THEN ARRAY['r' || lpad((g % 40)::text, 2, '0'), 'r' || lpad(((g + 1) % 40)::text, 2, '0')]
					WHEN 1 THEN ARRAY['m' || (g % 7)] WHEN 2 THEN ARRAY[(g % 5)::text] ELSE '{}' END
			FROM generate_series(0, 49) g`,
		`INSERT INTO config_group_host (group_id, host_id)
			SELECT g.id, h.id FROM config_group g JOIN host h ON h.cluster_id = g.cluster_id AND h.id % 97 = g.position % 97
			WHERE g.cluster_id = $1 AND g.rule_kind = 'LIST'`,
		`INSERT INTO config_version (cluster_id, version, author, message) VALUES ($1, 1, 'bench', 'one'), ($1, 2, 'bench', 'two')`,
	}
	for _, s := range stmts {
		_, err := pool.Exec(ctx, s, cluster)
		require.NoError(b, err, s)
	}
	// Files: 40 default files, 3 per group; version 2 changes group g1's.
	var scopes []int64
	var services, paths, contents []string
	add := func(scope int64, svc, p, c string) {
		scopes, services, paths, contents = append(scopes, scope), append(services, svc), append(paths, p), append(contents, c)
	}
	for s := range 4 {
		for f := range 10 {
			add(0, []string{"HDFS", "YARN", "HIVE", "SPARK"}[s], fmt.Sprintf("f%d.xml", f), fmt.Sprint("default ", s, f))
		}
	}
	rows, err := pool.Query(ctx, `SELECT id, position FROM config_group WHERE cluster_id = $1`, cluster)
	require.NoError(b, err)
	for rows.Next() {
		var id int64
		var pos int
		require.NoError(b, rows.Scan(&id, &pos))
		for f := range 3 {
			add(id, []string{"HDFS", "YARN", "HIVE"}[f], fmt.Sprintf("f%d.xml", pos%10), fmt.Sprint("group ", pos, f))
		}
	}
	require.NoError(b, rows.Err())
	for v := 1; v <= 2; v++ {
		hashes := make([][]byte, len(contents))
		cs := append([]string(nil), contents...)
		for i := range cs {
			if v == 2 && cs[i] == "group 2 0" {
				cs[i] = "group 2 0 changed"
			}
			h := sha256.Sum256([]byte(cs[i]))
			hashes[i] = h[:]
		}
		_, err := pool.Exec(ctx, `INSERT INTO config_blob (sha256, content) SELECT * FROM unnest($1::bytea[], $2::text[]) ON CONFLICT DO NOTHING`, hashes, cs)
		require.NoError(b, err)
		_, err = pool.Exec(ctx, `INSERT INTO config_file (cluster_id, version, scope, service, path, sha256)
			SELECT $1, $2, * FROM unnest($3::bigint[], $4::text[], $5::text[], $6::bytea[])`, cluster, v, scopes, services, paths, hashes)
		require.NoError(b, err)
	}
	_, err = pool.Exec(ctx, `ANALYZE`)
	require.NoError(b, err)
	return pool, cluster
}

// The effective configuration of every host of a 20,000-host cluster with
// 50 groups, loaded from PostgreSQL (3 queries) and computed.
func BenchmarkEffectiveConfig20kHosts50GroupsFromDB(b *testing.B) {
	pool, cluster := benchCluster(b)
	ctx := context.Background()
	b.ResetTimer()
	var e *configuration.Effective
	for b.Loop() {
		var err error
		e, err = configuration.EffectiveConfig(ctx, pool, cluster, 2)
		require.NoError(b, err)
	}
	require.Len(b, e.HostProfile, 20000)
	b.ReportMetric(float64(len(e.Profiles)), "profiles")
}

// Planning the rollout of version 2 over version 1 on the same cluster:
// both versions' effective configurations, every component compared, the
// unchanged ones stamped (rolled back after each run).
func BenchmarkPlanRollout20kHosts(b *testing.B) {
	pool, cluster := benchCluster(b)
	ctx := context.Background()
	b.ResetTimer()
	var r *configuration.Rollout
	for b.Loop() {
		tx, err := pool.Begin(ctx)
		require.NoError(b, err)
		r, err = configuration.PlanRollout(ctx, tx, cluster, 1, 2)
		require.NoError(b, err)
		require.NoError(b, tx.Rollback(ctx))
	}
	b.ReportMetric(float64(len(r.Targets)), "targets")
	b.ReportMetric(float64(r.Current), "stamped")
}

// One host's effective files with contents, as a WRITE_CONFIG executor
// reads them once per task: it must not cost a whole cluster's computation.
func BenchmarkHostFilesIn20kHostCluster(b *testing.B) {
	pool, cluster := benchCluster(b)
	ctx := context.Background()
	var host int64
	require.NoError(b, pool.QueryRow(ctx, `SELECT id FROM host WHERE cluster_id = $1 ORDER BY id OFFSET 12345 LIMIT 1`, cluster).Scan(&host))
	b.ResetTimer()
	var fs []configuration.HostFile
	for b.Loop() {
		var err error
		fs, err = configuration.HostFiles(ctx, pool, host, "", 2)
		require.NoError(b, err)
	}
	b.ReportMetric(float64(len(fs)), "files")
}
