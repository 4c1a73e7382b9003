package inventory

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/fixture"
	"github.com/teslaops/tesla/internal/page"
)

// hostOrderSQL is each ordering as a plain full SELECT orders it, written apart
// from hostKeys so the test checks the keyset against the meaning, including where
// never-seen hosts go: first when ascending by heartbeat, last when descending.
var hostOrderSQL = map[string]string{
	"HOSTNAME": "hostname %[1]s, id %[1]s", "STATE": "state %[1]s, id %[1]s", "RACK": "rack %[1]s, id %[1]s",
	"CPU_CORES": "cpu_cores %[1]s, id %[1]s", "MEMORY_BYTES": "memory_bytes %[1]s, id %[1]s",
	"LAST_HEARTBEAT": "last_heartbeat %[1]s NULLS %[2]s, id %[1]s",
}

// Paging forward and backward through every ordering, platform-wide and per
// cluster, with and without a filter, visits every host exactly once and in the
// order a full SELECT gives, although most hosts tie on their ordering key.
func TestHostKeysetPagingVisitsEveryHostOnceInEveryOrdering(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	fixture.New(t, pool)
	clusters := fixture.Bulk(t, pool, 3, 40)
	ctx := auth.WithPrincipal(context.Background(), &auth.Principal{PersonID: 1, Login: "x", Role: auth.Viewer})
	// Many ties: three CPU sizes, two memory sizes, five heartbeats and no
	// heartbeat at all for a quarter of the hosts.
	_, err := pool.Exec(ctx, `UPDATE host SET cpu_cores = 8 * (1 + id % 3), memory_bytes = (1 + id % 2) << 30,
		last_heartbeat = CASE WHEN id % 4 = 0 THEN NULL ELSE timestamptz '2026-01-01 00:00:00.123456Z' + (id % 5) * interval '1 min' END`)
	require.NoError(t, err)
	s := NewService(pool, nil)

	filters := map[string]HostFilter{"all": {}, "online or degraded": {States: []string{"ONLINE", "DEGRADED"}}}
	for field, orderSQL := range hostOrderSQL {
		for _, desc := range []bool{false, true} {
			for fname, f := range filters {
				o := Order{Field: field, Desc: desc}
				dir, nulls := "ASC", "FIRST"
				if desc {
					dir, nulls = "DESC", "LAST"
				}
				where := "true"
				if f.States != nil {
					where = "state = ANY(@states)"
				}
				expected := func(cluster *int64) []int64 {
					sql := `SELECT id FROM host WHERE ` + where
					if cluster != nil {
						sql += ` AND cluster_id = @cluster`
					}
					rows, err := pool.Query(ctx, sql+` ORDER BY `+fmt.Sprintf(orderSQL, dir, nulls),
						pgx.NamedArgs{"states": f.States, "cluster": cluster})
					require.NoError(t, err)
					ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
					require.NoError(t, err)
					return ids
				}
				name := fmt.Sprintf("%s %s %s", field, dir, fname)
				t.Run(name+" platform", func(t *testing.T) {
					checkPaging(t, expected(nil), func(a page.Args) page.Page[*Host] {
						pg, err := s.ListHosts(ctx, f, o, a)
						require.NoError(t, err)
						return pg
					})
				})
				t.Run(name+" per cluster", func(t *testing.T) {
					c := clusters[1]
					checkPaging(t, expected(&c), func(a page.Args) page.Page[*Host] {
						// The batch answers every cluster; this one's page must be right.
						pages, err := s.HostPagesByCluster(ctx, clusters, f, o, a)
						require.NoError(t, err)
						require.Len(t, pages, len(clusters))
						return *pages[c]
					})
				})
			}
		}
	}
}

// checkPaging pages through list forward with first/after and backward with
// last/before, 7 rows at a time, and compares both walks with want.
func checkPaging(t *testing.T, want []int64, list func(page.Args) page.Page[*Host]) {
	t.Helper()
	n := 7
	var got []int64
	var after *string
	for i := 0; ; i++ {
		require.Less(t, i, len(want)+2, "forward paging does not end")
		pg := list(page.Args{First: &n, After: after})
		require.Equal(t, len(want), pg.Info.Total)
		require.Equal(t, after != nil, pg.Info.HasPreviousPage)
		for _, h := range pg.Items {
			got = append(got, h.ID)
		}
		if !pg.Info.HasNextPage {
			break
		}
		require.Len(t, pg.Items, n)
		after = pg.Info.EndCursor()
	}
	require.Equal(t, want, got, "forward")

	var back []int64
	var before *string
	for i := 0; ; i++ {
		require.Less(t, i, len(want)+2, "backward paging does not end")
		pg := list(page.Args{Last: &n, Before: before})
		require.Equal(t, before != nil, pg.Info.HasNextPage)
		ids := make([]int64, len(pg.Items))
		for j, h := range pg.Items {
			ids[j] = h.ID
		}
		back = append(ids, back...)
		if !pg.Info.HasPreviousPage {
			break
		}
		before = pg.Info.StartCursor()
	}
	require.Equal(t, want, back, "backward")
}

func TestHostListingRefusesCursorOfAnotherOrdering(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	fixture.New(t, pool)
	ctx := auth.WithPrincipal(context.Background(), &auth.Principal{PersonID: 1, Login: "x", Role: auth.Viewer})
	s := NewService(pool, nil)
	n := 2
	pg, err := s.ListHosts(ctx, HostFilter{}, Order{Field: "STATE"}, page.Args{First: &n})
	require.NoError(t, err)
	_, err = s.ListHosts(ctx, HostFilter{}, Order{Field: "STATE", Desc: true}, page.Args{First: &n, After: pg.Info.EndCursor()})
	require.True(t, fault.Is(err, fault.Invalid), "want BAD_USER_INPUT, got %v", err)
	_, err = s.HostPagesByCluster(ctx, []int64{1}, HostFilter{}, Order{Field: "RACK"}, page.Args{First: &n, After: pg.Info.EndCursor()})
	require.True(t, fault.Is(err, fault.Invalid), "want BAD_USER_INPUT, got %v", err)
}

// An unfiltered listing of a large fleet reports the planner's estimate instead of
// counting; a filtered one, or a page that holds everything, stays exact.
func TestHostTotalIsEstimatedOnlyWhenUnfilteredAndLarge(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	fixture.New(t, pool)
	ctx := auth.WithPrincipal(context.Background(), &auth.Principal{PersonID: 1, Login: "x", Role: auth.Viewer})
	s := NewService(pool, nil)
	var hosts, online int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE state = 'ONLINE') FROM host`).Scan(&hosts, &online))
	n := 2

	pg, err := s.ListHosts(ctx, HostFilter{}, Order{}, page.Args{First: &n})
	require.NoError(t, err)
	require.Equal(t, page.Total{N: hosts}, page.Total{N: pg.Info.Total, Estimated: pg.Info.Estimated}, "small table: counted")

	// Pretend the planner believes the table is large (as ANALYZE would record).
	_, err = pool.Exec(ctx, `UPDATE pg_class SET reltuples = 123456 WHERE oid = 'host'::regclass`)
	require.NoError(t, err)
	pg, err = s.ListHosts(ctx, HostFilter{}, Order{}, page.Args{First: &n})
	require.NoError(t, err)
	require.Equal(t, page.Total{N: 123456, Estimated: true}, page.Total{N: pg.Info.Total, Estimated: pg.Info.Estimated})

	pg, err = s.ListHosts(ctx, HostFilter{States: []string{"ONLINE"}}, Order{}, page.Args{First: &n})
	require.NoError(t, err)
	require.Equal(t, page.Total{N: online}, page.Total{N: pg.Info.Total, Estimated: pg.Info.Estimated}, "filtered: exact")

	all := 100
	pg, err = s.ListHosts(ctx, HostFilter{}, Order{}, page.Args{First: &all})
	require.NoError(t, err)
	require.Equal(t, page.Total{N: hosts}, page.Total{N: pg.Info.Total, Estimated: pg.Info.Estimated}, "whole listing on one page: exact")

	pages, err := s.HostPagesByCluster(ctx, []int64{pg.Items[0].ClusterID}, HostFilter{}, Order{}, page.Args{First: &n})
	require.NoError(t, err)
	require.False(t, pages[pg.Items[0].ClusterID].Info.Estimated, "per cluster: exact")
}
