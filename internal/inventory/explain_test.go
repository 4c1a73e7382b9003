package inventory

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/page"
	"github.com/teslaops/tesla/internal/watermark"
)

// explainHosts and explainClusters size the fleet of the EXPLAIN test: large
// enough (with ANALYZE run) that the planner reads host sequentially wherever no
// index serves a query, small enough to seed in a few seconds.
const (
	explainHosts    = 60_000
	explainClusters = 60
)

// planNode is a node of EXPLAIN (FORMAT JSON)'s plan tree.
type planNode struct {
	NodeType  string     `json:"Node Type"`
	Relation  string     `json:"Relation Name"`
	IndexName string     `json:"Index Name"`
	Plans     []planNode `json:"Plans"`
}

// walk calls f on n and every node under it, with the path of node types from
// the top.
func (n planNode) walk(path []string, f func(n planNode, path []string)) {
	path = append(path, n.NodeType)
	f(n, path)
	for _, c := range n.Plans {
		c.walk(path, f)
	}
}

func (n planNode) String() string {
	var b strings.Builder
	n.walk(nil, func(n planNode, path []string) {
		fmt.Fprintf(&b, "%s%s", strings.Repeat("  ", len(path)-1), n.NodeType)
		if n.Relation != "" {
			fmt.Fprintf(&b, " on %s", n.Relation)
		}
		if n.IndexName != "" {
			fmt.Fprintf(&b, " using %s", n.IndexName)
		}
		b.WriteString("\n")
	})
	return b.String()
}

// explain returns the plan PostgreSQL chooses for a recorded statement, with the
// statement's own arguments.
func explain(t *testing.T, pool *pgxpool.Pool, st recorded) planNode {
	t.Helper()
	var out []struct{ Plan planNode }
	var raw []byte
	require.NoError(t, pool.QueryRow(context.Background(), `EXPLAIN (FORMAT JSON) `+st.SQL, st.Args...).Scan(&raw), st.SQL)
	require.NoError(t, json.Unmarshal(raw, &out))
	require.Len(t, out, 1)
	return out[0].Plan
}

// bigTable says whether a relation is one of those that grow with the fleet: host,
// and host_metric with its partitions.
func bigTable(rel string) bool {
	return rel == "host" || strings.HasPrefix(rel, "host_metric")
}

// seqScans returns the sequential scans of host or host_metric in a plan that the
// rule below does not allow.
//
// The rule: no listing reads host or host_metric sequentially, with one exception.
// LAST_HEARTBEAT has no index (heartbeats rewrite it every minute, and an index on
// it would make each heartbeat a non-HOT update of every index on host), so a
// listing ordered by it reads the hosts its filter selects and keeps the first page
// with a bounded top-N sort. Where the filter selects hosts through an index (a
// cluster, a rack, a BU's clusters, a rare state, a name search) that set is
// small; where it selects most of the fleet (no filter, or ONLINE), the only way is
// to read host whole, and the test allows that scan only under a Limit over a
// Sort, the bounded top-N. docs/scaling.md says what it costs.
func seqScans(plan planNode, lastHeartbeat, unselective bool) (bad []string, allowed int) {
	plan.walk(nil, func(n planNode, path []string) {
		if n.NodeType != "Seq Scan" || !bigTable(n.Relation) {
			return
		}
		if lastHeartbeat && unselective && n.Relation == "host" && topN(path) {
			allowed++
			return
		}
		bad = append(bad, n.Relation)
	})
	return bad, allowed
}

// topN says whether a path from the top passes through a Limit then a Sort (an
// incremental sort, or a gather merge between, would still be bounded).
func topN(path []string) bool {
	limit := false
	for _, p := range path {
		switch p {
		case "Limit":
			limit = true
		case "Sort", "Incremental Sort":
			if limit {
				return true
			}
		}
	}
	return false
}

// Every host listing the API and the UI offer — each filter alone and some
// together, with each ordering both ways, platform-wide and per cluster (the
// LATERAL form), first page, a page after a cursor and one before it, with its
// count and the latest metrics of its hosts — and the sick-host list, and the
// current water levels of one cluster and of every cluster, are planned without a
// sequential scan of host or host_metric (but see seqScans for LAST_HEARTBEAT).
// The SQL is what the real code runs: a tracer records it, and the test EXPLAINs
// each statement again with its own arguments.
func TestHostListingsUseIndexes(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	pool := dbtest.NewDatabase(t, db.Options{Tracer: rec}).Pool
	ctx := auth.WithPrincipal(context.Background(), &auth.Principal{PersonID: 1, Login: "x", Role: auth.Viewer})
	for _, sql := range []string{
		`INSERT INTO bu (name, code) SELECT 'bu' || b, 'BU' || b FROM generate_series(1, 10) b`,
		`INSERT INTO cluster (name, region, kind, owner_bu_id)
		 SELECT 'c' || lpad(c::text, 3, '0'), 'r', (ARRAY['BATCH','ONLINE','STREAMING'])[1 + c % 3], (SELECT min(id) FROM bu) + c % 10
		 FROM generate_series(1, ` + fmt.Sprint(explainClusters) + `) c`,
		// Most hosts ONLINE, as in a real fleet; 40 hosts a rack; hostnames out of id
		// order; a tenth never heard from.
		`INSERT INTO host (cluster_id, hostname, rack, cpu_cores, memory_bytes, disk_bytes, nic_bps, state, last_heartbeat)
		 SELECT c.id, 'node-' || lpad(((g * 7919) % ` + fmt.Sprint(explainHosts) + `)::text, 6, '0') || '.dc1', 'rack' || (g / 40),
		        16 * (1 + g % 3), (64 + g % 4 * 64)::bigint << 30, 8e12, 25e9,
		        CASE WHEN g % 20 = 0 THEN 'DEGRADED' WHEN g % 50 = 1 THEN 'OFFLINE' WHEN g % 97 = 2 THEN 'MAINTENANCE' ELSE 'ONLINE' END,
		        CASE WHEN g % 10 = 0 THEN NULL ELSE now() - (g % 60) * interval '1 s' END
		 FROM generate_series(0, ` + fmt.Sprint(explainHosts-1) + `) g
		 JOIN cluster c ON c.name = 'c' || lpad((1 + g % ` + fmt.Sprint(explainClusters) + `)::text, 3, '0')`,
		`UPDATE host SET state = 'OFFLINE' WHERE id % 997 = 0`,
		`SELECT ensure_host_metric_partitions(current_date - 1, current_date + 2)`,
		// Three samples a host over the last half hour.
		`INSERT INTO host_metric (host_id, ts, cpu_pct, mem_pct) SELECT h.id, now() - s * interval '10 min', 50, 50
		 FROM host h, generate_series(0, 2) s`,
		`INSERT INTO watermark_latest (cluster_id, dimension, ts, used, capacity, hosts)
		 SELECT c.id, d, date_trunc('minute', now()), 50, 100, 1000 FROM cluster c,
		        unnest(ARRAY['CPU','MEMORY','DISK_IO','NET_IN','NET_OUT','CONTAINERS','QUEUE_SLOTS']) d`,
		`VACUUM ANALYZE`,
	} {
		_, err := pool.Exec(ctx, sql)
		require.NoError(t, err, sql)
	}
	s := NewService(pool, nil)
	var clusters []int64
	rows, err := pool.Query(ctx, `SELECT id FROM cluster ORDER BY name`)
	require.NoError(t, err)
	clusters, err = pgx.CollectRows(rows, pgx.RowTo[int64])
	require.NoError(t, err)
	var bu int64
	require.NoError(t, pool.QueryRow(ctx, `SELECT min(id) FROM bu`).Scan(&bu))
	one, rack := clusters[7], "rack42"

	// The filters of the HostFilter input, each alone, then some together. Each says
	// whether it selects most of the fleet.
	type filter struct {
		f           HostFilter
		unselective bool
	}
	filters := map[string]filter{
		"none":               {HostFilter{}, true},
		"cluster":            {HostFilter{ClusterID: &one}, false},
		"cluster name":       {HostFilter{ClusterName: "c010"}, false},
		"state DEGRADED":     {HostFilter{States: []string{"DEGRADED"}}, false},
		"states sick":        {HostFilter{States: []string{"DEGRADED", "OFFLINE", "REPAIRING"}}, false},
		"state ONLINE":       {HostFilter{States: []string{"ONLINE"}}, true},
		"rack":               {HostFilter{Rack: rack}, false},
		"bu":                 {HostFilter{BUID: &bu}, false},
		"search":             {HostFilter{Search: "e-0123"}, false},
		"cluster+state":      {HostFilter{ClusterID: &one, States: []string{"DEGRADED"}}, false},
		"state+search":       {HostFilter{States: []string{"ONLINE"}, Search: "e-012"}, false},
		"bu+state+rack":      {HostFilter{BUID: &bu, States: []string{"ONLINE"}, Rack: rack}, false},
		"cluster+search":     {HostFilter{ClusterID: &one, Search: "de-00"}, false},
		"cluster name+state": {HostFilter{ClusterName: "c010", States: []string{"OFFLINE", "DEGRADED"}}, false},
	}
	n := 50
	checked, topNScans := 0, 0
	check := func(name string, lastHeartbeat, unselective bool) {
		t.Helper()
		for _, st := range rec.take() {
			// The test's own EXPLAINs go through the same pool.
			if !strings.Contains(st.SQL, "host") || strings.HasPrefix(st.SQL, "EXPLAIN") {
				continue
			}
			plan := explain(t, pool, st)
			checked++
			bad, allowed := seqScans(plan, lastHeartbeat, unselective)
			topNScans += allowed
			if len(bad) > 0 {
				t.Errorf("%s: sequential scan of %v in\n%s\nplan:\n%s", name, bad, st.SQL, plan)
			}
		}
	}
	// latest loads the latest metrics of a page's hosts, as Host.latestMetrics does.
	latest := func(hosts []*Host) {
		ids := make([]int64, len(hosts))
		for i, h := range hosts {
			ids[i] = h.ID
		}
		_, err := s.LatestMetricsByHost(ctx, ids)
		require.NoError(t, err)
	}
	for fname, f := range filters {
		for field := range hostKeys {
			for _, desc := range []bool{false, true} {
				o := Order{Field: field, Desc: desc}
				name := fmt.Sprintf("%s by %s desc=%v", fname, field, desc)
				lh := field == "LAST_HEARTBEAT"

				rec.reset()
				first, err := s.ListHosts(ctx, f.f, o, page.Args{First: &n})
				require.NoError(t, err, name)
				latest(first.Items)
				check(name+" platform first page", lh, f.unselective)
				if after := first.Info.EndCursor(); after != nil && first.Info.HasNextPage {
					next, err := s.ListHosts(ctx, f.f, o, page.Args{First: &n, After: after})
					require.NoError(t, err, name)
					check(name+" platform after a cursor", lh, f.unselective)
					_, err = s.ListHosts(ctx, f.f, o, page.Args{Last: &n, Before: next.Info.StartCursor()})
					require.NoError(t, err, name)
					check(name+" platform before a cursor", lh, f.unselective)
				}

				// Per cluster: every cluster's page in one LATERAL statement. A cluster is
				// an index-driven set, whatever the filter.
				pages, err := s.HostPagesByCluster(ctx, clusters, f.f, o, page.Args{First: &n})
				require.NoError(t, err, name)
				check(name+" per cluster first page", lh, false)
				if pg := pages[one]; pg != nil && pg.Info.HasNextPage {
					_, err := s.HostPagesByCluster(ctx, clusters, f.f, o, page.Args{First: &n, After: pg.Info.EndCursor()})
					require.NoError(t, err, name)
					check(name+" per cluster after a cursor", lh, false)
				}
			}
		}
	}

	rec.reset()
	_, err = s.RecentSickHosts(ctx, 20)
	require.NoError(t, err)
	check("recent sick hosts", false, false)

	// The current water levels read watermark_latest by its key; never the raw
	// samples, the minute rollups or host.
	wm := watermark.NewService(pool, nil, nil)
	for name, ids := range map[string][]int64{"cluster watermarkNow": {one}, "platform watermarks": clusters} {
		rec.reset()
		_, err := wm.Platform(ctx, ids, nil)
		require.NoError(t, err)
		stmts := rec.take()
		require.NotEmpty(t, stmts)
		for _, st := range stmts {
			plan := explain(t, pool, st)
			checked++
			plan.walk(nil, func(n planNode, _ []string) {
				if n.Relation == "host" || strings.HasPrefix(n.Relation, "host_metric") || strings.HasPrefix(n.Relation, "watermark_1") {
					t.Errorf("%s reads %s:\n%s", name, n.Relation, plan)
				}
				// Every cluster's levels are the whole table, which may well be read
				// whole; one cluster's are a few rows under its key.
				if name == "cluster watermarkNow" && n.Relation == "watermark_latest" && n.NodeType == "Seq Scan" {
					t.Errorf("%s reads watermark_latest without its key:\n%s", name, plan)
				}
			})
		}
	}
	t.Logf("%d statements explained; %d sequential scans of host under a top-N sort allowed (LAST_HEARTBEAT, unselective filter)", checked, topNScans)
}
