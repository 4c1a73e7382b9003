package inventory

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/page"
)

// recorder is a pgx tracer that keeps every statement whole, with its arguments,
// so a test can run it again (under EXPLAIN, say).
type recorder struct {
	mu    sync.Mutex
	stmts []recorded
}

type recorded struct {
	SQL  string
	Args []any
}

func (r *recorder) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	r.mu.Lock()
	r.stmts = append(r.stmts, recorded{SQL: data.SQL, Args: data.Args})
	r.mu.Unlock()
	return ctx
}

func (r *recorder) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (r *recorder) reset() {
	r.mu.Lock()
	r.stmts = nil
	r.mu.Unlock()
}

// take returns the statements recorded since the last reset, and forgets them.
func (r *recorder) take() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.stmts
	r.stmts = nil
	return out
}

// statsRow is one (cluster, state) row of host counts and capacity.
type statsRow struct {
	Cluster                       int64
	State                         string
	Hosts, CPU, Memory, Disk, NIC int64
}

// storedStats is cluster_host_stats without its empty rows (a row stays, at zero,
// when its last host leaves), checking that empty rows hold no capacity.
func storedStats(t *testing.T, q querier) []statsRow {
	t.Helper()
	rows, err := q.Query(context.Background(), `SELECT cluster_id, state, hosts, cpu_cores, memory_bytes, disk_bytes, nic_bps
		FROM cluster_host_stats ORDER BY cluster_id, state`)
	require.NoError(t, err)
	all, err := pgx.CollectRows(rows, pgx.RowToStructByPos[statsRow])
	require.NoError(t, err)
	var out []statsRow
	for _, r := range all {
		if r.Hosts == 0 {
			require.Equal(t, statsRow{Cluster: r.Cluster, State: r.State}, r, "an empty row holds no capacity")
			continue
		}
		out = append(out, r)
	}
	return out
}

// freshStats aggregates host itself, as the readers did before cluster_host_stats.
func freshStats(t *testing.T, q querier) []statsRow {
	t.Helper()
	rows, err := q.Query(context.Background(), `SELECT cluster_id, state, count(*), sum(cpu_cores)::bigint,
		sum(memory_bytes)::bigint, sum(disk_bytes)::bigint, sum(nic_bps)::bigint
		FROM host GROUP BY cluster_id, state ORDER BY cluster_id, state`)
	require.NoError(t, err)
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[statsRow])
	require.NoError(t, err)
	return out
}

// Random state changes, inserts (by INSERT and by COPY), deletes, moves between
// clusters and hardware edits, some inside transactions that roll back, leave
// cluster_host_stats equal to a fresh aggregate over host; a heartbeat, or an
// UPDATE that sets the columns to what they were, does not touch it.
func TestClusterHostStatsFollowEveryChangeOfHost(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := dbtest.New(t)
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 0))

	_, err := pool.Exec(ctx, `INSERT INTO cluster (name, region, kind) SELECT 'c' || c, 'r', 'BATCH' FROM generate_series(1, 5) c`)
	require.NoError(t, err)
	var clusters []int64
	rows, err := pool.Query(ctx, `SELECT id FROM cluster ORDER BY id`)
	require.NoError(t, err)
	clusters, err = pgx.CollectRows(rows, pgx.RowTo[int64])
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `INSERT INTO host (cluster_id, hostname, cpu_cores, memory_bytes, disk_bytes, nic_bps, state)
		SELECT ($1::bigint[])[1 + g % 5], 'seed' || g, 8 * (1 + g % 4), (g % 7 + 1)::bigint << 30, g * 1000, 10e9,
			(ARRAY['ONLINE','DEGRADED','OFFLINE','MAINTENANCE','DECOMMISSIONED','REPAIRING'])[1 + g % 6]
		FROM generate_series(1, 300) g`, clusters)
	require.NoError(t, err)
	require.Equal(t, freshStats(t, pool), storedStats(t, pool), "after a multi-row INSERT")

	serial := 0
	pick := func(n int) string { return fmt.Sprintf("(SELECT id FROM host ORDER BY random() LIMIT %d)", n) }
	step := func(tx pgx.Tx) {
		switch rng.IntN(9) {
		case 0: // one host changes state
			_, err = tx.Exec(ctx, `UPDATE host SET state = $1 WHERE id IN `+pick(1), HostStates[rng.IntN(len(HostStates))])
		case 1: // many hosts change state in one statement
			_, err = tx.Exec(ctx, `UPDATE host SET state = $1 WHERE id IN `+pick(1+rng.IntN(40)), HostStates[rng.IntN(len(HostStates))])
		case 2: // hosts move to another cluster
			_, err = tx.Exec(ctx, `UPDATE host SET cluster_id = $1 WHERE id IN `+pick(1+rng.IntN(20)), clusters[rng.IntN(len(clusters))])
		case 3: // hardware edits, with and without a state change
			_, err = tx.Exec(ctx, `UPDATE host SET cpu_cores = cpu_cores + 2, memory_bytes = memory_bytes * 2, disk_bytes = disk_bytes + 7,
				nic_bps = nic_bps + 1, state = CASE WHEN random() < 0.5 THEN state ELSE 'MAINTENANCE' END WHERE id IN `+pick(1+rng.IntN(10)))
		case 4: // a batch of new hosts
			serial++
			_, err = tx.Exec(ctx, `INSERT INTO host (cluster_id, hostname, cpu_cores, memory_bytes, disk_bytes, nic_bps, state)
				SELECT $1, 'b' || $2::int || '-' || g, 4 + g, g::bigint << 20, 0, g, $3 FROM generate_series(1, $4::int) g`,
				clusters[rng.IntN(len(clusters))], serial, HostStates[rng.IntN(len(HostStates))], 1+rng.IntN(30))
		case 5: // new hosts by COPY, as the bulk loader and the simulator write them
			serial++
			var src [][]any
			for i := range 1 + rng.IntN(30) {
				src = append(src, []any{clusters[rng.IntN(len(clusters))], fmt.Sprintf("copy%d-%d", serial, i),
					int32(1 + rng.IntN(64)), int64(1+rng.IntN(512)) << 30, int64(rng.IntN(1 << 40)), int64(25e9), HostStates[rng.IntN(len(HostStates))]})
			}
			_, err = tx.CopyFrom(ctx, pgx.Identifier{"host"},
				[]string{"cluster_id", "hostname", "cpu_cores", "memory_bytes", "disk_bytes", "nic_bps", "state"}, pgx.CopyFromRows(src))
		case 6: // hosts leave
			_, err = tx.Exec(ctx, `DELETE FROM host WHERE id IN `+pick(1+rng.IntN(25)))
		case 7: // heartbeats, and an UPDATE of the counted columns that changes nothing
			_, err = tx.Exec(ctx, `UPDATE host SET last_heartbeat = now(), state = state, cpu_cores = cpu_cores WHERE id IN `+pick(50))
		case 8: // a host changes state and moves back in the same transaction
			_, err = tx.Exec(ctx, `WITH h AS `+pick(1)+` UPDATE host SET state = 'REPAIRING', cluster_id = $1 WHERE id IN (SELECT id FROM h)`,
				clusters[0])
		}
		require.NoError(t, err)
	}
	for round := range 60 {
		func() {
			tx, err := pool.Begin(ctx)
			require.NoError(t, err)
			// A failed check must not leave the transaction holding its connection.
			defer tx.Rollback(ctx) //nolint:errcheck
			for range 1 + rng.IntN(5) {
				step(tx)
			}
			// Inside the transaction, the table already agrees with what it sees.
			require.Equal(t, freshStats(t, tx), storedStats(t, tx), "round %d, inside the transaction", round)
			if rng.IntN(3) == 0 {
				require.NoError(t, tx.Rollback(ctx))
			} else {
				require.NoError(t, tx.Commit(ctx))
			}
		}()
		require.Equal(t, freshStats(t, pool), storedStats(t, pool), "round %d", round)
	}

	// A heartbeat does not even rewrite the rows: the trigger did not run.
	versions := func() string {
		var v string
		require.NoError(t, pool.QueryRow(ctx, `SELECT string_agg(xmin::text, ',' ORDER BY cluster_id, state) FROM cluster_host_stats`).Scan(&v))
		return v
	}
	before := versions()
	_, err = pool.Exec(ctx, `UPDATE host SET last_heartbeat = now()`)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `UPDATE host SET state = state, cluster_id = cluster_id, cpu_cores = cpu_cores, memory_bytes = memory_bytes,
		disk_bytes = disk_bytes, nic_bps = nic_bps`)
	require.NoError(t, err)
	require.Equal(t, before, versions(), "heartbeats and no-op updates leave cluster_host_stats alone")

	_, err = pool.Exec(ctx, `TRUNCATE host CASCADE`)
	require.NoError(t, err)
	require.Empty(t, storedStats(t, pool), "after TRUNCATE")
}

// The platform totals, the counts by kind and each cluster's stats read
// cluster_host_stats, never host, and agree with an aggregate over host.
func TestHostStatsReadersReadClusterHostStats(t *testing.T) {
	t.Parallel()
	ctx := auth.WithPrincipal(context.Background(), &auth.Principal{PersonID: 1, Login: "x", Role: auth.Viewer})
	rec := &recorder{}
	pool := dbtest.NewDatabase(t, db.Options{Tracer: rec}).Pool
	_, err := pool.Exec(ctx, `INSERT INTO cluster (name, region, kind) SELECT 'c' || c, 'r', (ARRAY['BATCH','ONLINE','STREAMING'])[1 + c % 3]
		FROM generate_series(1, 7) c`)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `INSERT INTO host (cluster_id, hostname, cpu_cores, memory_bytes, disk_bytes, nic_bps, state)
		SELECT c.id, 'h' || g, 8 * (1 + g % 4), (g % 7 + 1)::bigint << 30, g * 1000, 10e9,
			(ARRAY['ONLINE','DEGRADED','OFFLINE','MAINTENANCE','DECOMMISSIONED','REPAIRING'])[1 + g % 6]
		FROM generate_series(1, 500) g JOIN cluster c ON c.name = 'c' || (1 + g % 6)`) // c7 stays empty
	require.NoError(t, err)
	s := NewService(pool, nil)
	var ids []int64
	rows, err := pool.Query(ctx, `SELECT id FROM cluster ORDER BY id`)
	require.NoError(t, err)
	ids, err = pgx.CollectRows(rows, pgx.RowTo[int64])
	require.NoError(t, err)

	// What the readers must say, computed from host.
	wantPerCluster := map[int64]*ClusterStats{}
	for _, id := range ids {
		wantPerCluster[id] = &ClusterStats{}
	}
	var wantTotal ClusterStats
	for _, r := range freshStats(t, pool) {
		c := Capacity{CPUCores: r.CPU, MemoryBytes: r.Memory, DiskBytes: r.Disk, NICBps: r.NIC}
		wantPerCluster[r.Cluster].add(r.State, int(r.Hosts), c)
		wantTotal.add(r.State, int(r.Hosts), c)
	}
	rows, err = pool.Query(ctx, `SELECT c.kind, count(DISTINCT c.id)::int, count(h.id)::int FROM cluster c
		LEFT JOIN host h ON h.cluster_id = c.id GROUP BY c.kind ORDER BY c.kind`)
	require.NoError(t, err)
	wantKinds, err := pgx.CollectRows(rows, pgx.RowToStructByPos[KindCount])
	require.NoError(t, err)

	rec.reset()
	total, err := s.HostTotals(ctx)
	require.NoError(t, err)
	require.Equal(t, wantTotal, total)
	require.Equal(t, 500, total.Counts.Total)
	perCluster, err := s.StatsByCluster(ctx, ids)
	require.NoError(t, err)
	require.Equal(t, wantPerCluster, perCluster)
	kinds, err := s.ClustersByKind(ctx)
	require.NoError(t, err)
	require.Equal(t, wantKinds, kinds)
	stmts := rec.take()
	for _, st := range stmts {
		require.NotRegexp(t, `(?i)\bfrom host\b`, st.SQL)
		require.True(t, strings.Contains(st.SQL, "cluster_host_stats"), st.SQL)
	}
	require.Len(t, stmts, 3)

	// A listing filtered by state, or by cluster and state, counts its total from
	// cluster_host_stats too, and exactly.
	five := 5
	degraded := HostFilter{States: []string{"DEGRADED"}}
	pg, err := s.ListHosts(ctx, degraded, Order{}, page.Args{First: &five})
	require.NoError(t, err)
	require.Equal(t, wantTotal.Counts.Degraded, pg.Info.Total)
	require.False(t, pg.Info.Estimated)
	pages, err := s.HostPagesByCluster(ctx, ids, HostFilter{ClusterID: &ids[0], States: []string{"DEGRADED"}}, Order{}, page.Args{First: &five})
	require.NoError(t, err)
	require.Equal(t, wantPerCluster[ids[0]].Counts.Degraded, pages[ids[0]].Info.Total)
	require.Zero(t, pages[ids[1]].Info.Total, "another cluster than the filter's")
	for _, st := range rec.take() {
		require.NotRegexp(t, `(?i)count\(\*\) from host`, st.SQL)
	}
}
