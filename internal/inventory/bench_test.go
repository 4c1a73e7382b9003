package inventory

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/page"
)

// benchHosts and benchClusters size the fleet of BenchmarkHostPages: 200,000
// hosts in 40 clusters of 5,000, the scale the design targets.
const (
	benchHosts    = 200_000
	benchClusters = 40
	benchDeep     = 150_000
)

// BenchmarkHostPages lists pages of 50 hosts on a 200,000-host fleet: the first
// page and a deep one (after 150,000 rows), with keyset cursors (what the API
// does) next to the position cursors the API used before (a row_number() window
// over the filtered set, as queryPages still does for small lists), a plain
// OFFSET, and a raw indexed SELECT … LIMIT 50 as the floor. The nested variants
// page every cluster at once, as Cluster.hosts does for clusters { hosts }.
func BenchmarkHostPages(b *testing.B) {
	ctx := auth.WithPrincipal(context.Background(), &auth.Principal{PersonID: 1, Login: "bench", Role: auth.Viewer})
	pool := dbtest.New(b)
	for _, sql := range []string{
		`INSERT INTO cluster (name, region, kind) SELECT 'c' || lpad(c::text, 3, '0'), 'us-west', 'BATCH'
		 FROM generate_series(1, 40) c`,
		// Hostnames are not in id order, and most keys tie: 6 states, 3 CPU sizes.
		`INSERT INTO host (cluster_id, hostname, rack, cpu_cores, memory_bytes, disk_bytes, nic_bps, state, last_heartbeat)
		 SELECT c.id, 'h' || lpad(((g * 7919) % 200000)::text, 6, '0'), 'r' || (g % 400), 16 * (1 + g % 3), (64 + g % 4 * 64)::bigint << 30,
		        8e12, 25e9, (ARRAY['ONLINE','ONLINE','ONLINE','ONLINE','DEGRADED','MAINTENANCE','OFFLINE','REPAIRING'])[1 + g % 8], now()
		 FROM generate_series(0, 199999) g JOIN cluster c ON c.name = 'c' || lpad((1 + g % 40)::text, 3, '0')`,
		`VACUUM ANALYZE host`,
	} {
		_, err := pool.Exec(ctx, sql)
		require.NoError(b, err)
	}
	s := NewService(pool, nil)
	n := 50
	var clusters []int64
	rows, err := pool.Query(ctx, `SELECT id FROM cluster ORDER BY name`)
	require.NoError(b, err)
	clusters, err = pgx.CollectRows(rows, pgx.RowTo[int64])
	require.NoError(b, err)

	// cursorAt is the keyset cursor of row pos (1-based) of an ordering.
	cursorAt := func(o Order, orderBy string, pos int) *string {
		ks, err := hostKeyset(o)
		require.NoError(b, err)
		key := make([]string, 2)
		require.NoError(b, pool.QueryRow(ctx, `SELECT `+ks.Cols[0].Expr+`::text, h.id::text FROM host h ORDER BY `+orderBy+
			` OFFSET $1 LIMIT 1`, pos-1).Scan(&key[0], &key[1]))
		c := ks.Cursor(key)
		return &c
	}
	byName := Order{}
	byState := Order{Field: "STATE", Desc: true}
	deepName := cursorAt(byName, "h.hostname, h.id", benchDeep)
	deepState := cursorAt(byState, "h.state DESC, h.id DESC", benchDeep)

	keyset := func(o Order, after *string) func(b *testing.B) {
		return func(b *testing.B) {
			for b.Loop() {
				pg, err := s.ListHosts(ctx, HostFilter{}, o, page.Args{First: &n, After: after})
				if err != nil || len(pg.Items) != n {
					b.Fatalf("keyset page: %d rows, %v", len(pg.Items), err)
				}
			}
		}
	}
	// position is the listing as it was before keyset cursors.
	position := func(order string, from int, parents []int64) func(b *testing.B) {
		return func(b *testing.B) {
			spec := pagedSpec{Columns: hostColumns, From: `host h`, Where: "true", Partition: "0", Order: order}
			keys := []int64{0}
			if parents != nil {
				spec.Where, spec.Partition, spec.Args, keys = `h.cluster_id = ANY(@parents)`, "h.cluster_id", pgx.NamedArgs{"parents": parents}, parents
			}
			for b.Loop() {
				pages, err := queryPages[Host](ctx, pool, spec, page.Window{From: from, To: from + n, Size: n}, keys)
				if err != nil || len(pages[keys[0]].Items) != n {
					b.Fatalf("position page: %v", err)
				}
			}
		}
	}
	raw := func(sql string) func(b *testing.B) {
		return func(b *testing.B) {
			for b.Loop() {
				rows, err := pool.Query(ctx, `SELECT `+hostColumns+` FROM host h `+sql)
				if err != nil {
					b.Fatal(err)
				}
				got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*Host, error) {
					h := new(Host)
					return h, r.Scan(h.dests()...)
				})
				if err != nil || len(got) != n {
					b.Fatalf("raw page: %d rows, %v", len(got), err)
				}
			}
		}
	}

	b.Run("hostname/first/keyset", keyset(byName, nil))
	b.Run("hostname/first/position", position("h.hostname ASC, h.id ASC", 0, nil))
	b.Run("hostname/first/raw_limit", raw(`ORDER BY h.hostname, h.id LIMIT 50`))
	b.Run("hostname/deep/keyset", keyset(byName, deepName))
	b.Run("hostname/deep/position", position("h.hostname ASC, h.id ASC", benchDeep, nil))
	b.Run("hostname/deep/raw_offset", raw(`ORDER BY h.hostname, h.id OFFSET 150000 LIMIT 50`))
	b.Run("state_desc/first/keyset", keyset(byState, nil))
	b.Run("state_desc/deep/keyset", keyset(byState, deepState))
	b.Run("state_desc/deep/position", position("h.state DESC, h.id DESC", benchDeep, nil))
	b.Run("state_filtered/deep/keyset", func(b *testing.B) {
		// A filter makes the total exact: the count reads (state, id) only.
		f := HostFilter{States: []string{"ONLINE"}}
		first, err := s.ListHosts(ctx, f, byName, page.Args{First: &n})
		require.NoError(b, err)
		after := first.Info.EndCursor()
		for b.Loop() {
			pg, err := s.ListHosts(ctx, f, byName, page.Args{First: &n, After: after})
			if err != nil || len(pg.Items) != n || pg.Info.Total != benchHosts/2 {
				b.Fatalf("filtered page: %d rows of %d, %v", len(pg.Items), pg.Info.Total, err)
			}
		}
	})
	b.Run("nested_40_clusters/first/keyset", func(b *testing.B) {
		for b.Loop() {
			pages, err := s.HostPagesByCluster(ctx, clusters, HostFilter{}, byName, page.Args{First: &n})
			if err != nil || len(pages) != benchClusters || len(pages[clusters[0]].Items) != n {
				b.Fatalf("nested pages: %v", err)
			}
		}
	})
	b.Run("nested_40_clusters/first/keyset_no_total", func(b *testing.B) {
		// What clusters { hosts { nodes } } costs without totalCount: no count.
		for b.Loop() {
			pages, err := s.HostPagesByCluster(ctx, clusters, HostFilter{}, byName, page.Args{First: &n, NoTotal: true})
			if err != nil || len(pages) != benchClusters || len(pages[clusters[0]].Items) != n {
				b.Fatalf("nested pages: %v", err)
			}
		}
	})
	b.Run("nested_40_clusters/first/position", position("h.hostname ASC, h.id ASC", 0, clusters))
}
