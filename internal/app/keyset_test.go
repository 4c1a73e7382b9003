package app

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/fixture"
	"github.com/teslaops/tesla/internal/page"
)

// walk pages a connection at path through the handler, forward with first/after
// or backward with last/before, and returns the values of field in listing order.
func (e *testEnv) walk(t *testing.T, token, query string, vars map[string]any, backward bool, field string, path ...any) []any {
	t.Helper()
	var out []any
	for i := 0; i < 1000; i++ {
		r := e.gql(t, token, query, vars)
		require.Empty(t, r.Errors, r.Raw)
		conn := dig(r.Data, path...)
		var vals []any
		for _, n := range dig(conn, "nodes").([]any) {
			vals = append(vals, dig(n, field))
		}
		if backward {
			out = append(vals, out...)
			if dig(conn, "pageInfo", "hasPreviousPage") != true {
				return out
			}
			vars["before"] = dig(conn, "pageInfo", "startCursor")
		} else {
			out = append(out, vals...)
			if dig(conn, "pageInfo", "hasNextPage") != true {
				return out
			}
			vars["after"] = dig(conn, "pageInfo", "endCursor")
		}
	}
	t.Fatal("paging does not end")
	return nil
}

// Query.hosts pages with keyset cursors through the real handler: forward and
// backward give the full ordered listing (most hosts tie on state), and a cursor
// from another ordering, a position cursor or a tampered one is BAD_USER_INPUT.
func TestHostsKeysetPagingThroughGraphQL(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	fixture.Bulk(t, e.db.Pool, 2, 30)
	tok := e.as(fixture.Viewer)

	rows, err := e.db.Pool.Query(t.Context(), `SELECT hostname FROM host ORDER BY state DESC, id DESC`)
	require.NoError(t, err)
	var want []any
	for rows.Next() {
		var h string
		require.NoError(t, rows.Scan(&h))
		want = append(want, h)
	}
	require.NoError(t, rows.Err())

	const q = `query($first: Int, $after: String, $last: Int, $before: String) {
		hosts(first: $first, after: $after, last: $last, before: $before, orderBy: {field: STATE, direction: DESC}) {
			totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } nodes { hostname } } }`
	require.Equal(t, want, e.walk(t, tok, q, map[string]any{"first": 9}, false, "hostname", "hosts"))
	require.Equal(t, want, e.walk(t, tok, q, map[string]any{"last": 9}, true, "hostname", "hosts"))

	r := e.gql(t, tok, q, map[string]any{"first": 5})
	require.Empty(t, r.Errors, r.Raw)
	require.EqualValues(t, len(want), dig(r.Data, "hosts", "totalCount"))
	cursor := dig(r.Data, "hosts", "pageInfo", "endCursor").(string)

	for name, c := range map[string]struct {
		query string
		after string
	}{
		"cursor of another direction": {`query($after: String) { hosts(after: $after, orderBy: {field: STATE, direction: ASC}) { totalCount } }`, cursor},
		"cursor of another field":     {`query($after: String) { hosts(after: $after, orderBy: {field: RACK, direction: DESC}) { totalCount } }`, cursor},
		"cursor of the default":       {`query($after: String) { hosts(after: $after) { totalCount } }`, cursor},
		"nested, another ordering":    {`query($after: String) { clusters { nodes { hosts(after: $after) { totalCount } } } }`, cursor},
		"position cursor":             {`query($after: String) { hosts(after: $after) { totalCount } }`, cursorAt(10)},
		"tampered cursor":             {`query($after: String) { hosts(after: $after) { totalCount } }`, cursor[:len(cursor)-3] + "AAA"},
		"forged ordering": {`query($after: String) { hosts(after: $after) { totalCount } }`,
			b64(`{"v":1,"o":"hosts/HOSTNAME/ASC","k":["x"]}`)},
		"audit log cursor": {`query($after: String) { hosts(after: $after) { totalCount } }`,
			page.Keyset{Tag: "audit/ID/DESC"}.Cursor([]string{"5"})},
	} {
		t.Run(name, func(t *testing.T) {
			r := e.gql(t, tok, c.query, map[string]any{"after": c.after})
			require.NotEmpty(t, r.Errors, r.Raw)
			require.Equal(t, "BAD_USER_INPUT", r.code(), r.Raw)
			require.Equal(t, "after", r.Errors[0].Extensions["field"], r.Raw)
		})
	}
}

// Cluster.hosts pages each cluster with the shared cursor arguments, and the SQL
// statement count stays constant however many clusters and whatever the ordering
// or cursor.
func TestNestedHostsKeysetPagesCostConstantStatements(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	fixture.Bulk(t, e.db.Pool, 30, 40)
	tok := e.as(fixture.Viewer)
	// A cursor in the middle of the STATE ordering: each cluster's page starts after it.
	r := e.gql(t, tok, `{ hosts(first: 1, orderBy: {field: STATE}, filter: {state: MAINTENANCE}) { pageInfo { endCursor } } }`, nil)
	require.Empty(t, r.Errors, r.Raw)
	cursor := dig(r.Data, "hosts", "pageInfo", "endCursor")
	const q = `query($n: Int, $after: String) { clusters(first: $n) { nodes { name
		hosts(first: 5, after: $after, orderBy: {field: STATE}) { totalCount pageInfo { hasNextPage hasPreviousPage }
			nodes { hostname state components { service } } } } } }`
	counts := map[int]int64{}
	stmts := map[int][]string{}
	for _, n := range []int{2, 10, 33} {
		require.Empty(t, e.gql(t, tok, `{ me { role } }`, nil).Errors)
		e.counter.Reset()
		r := e.gql(t, tok, q, map[string]any{"n": n, "after": cursor})
		counts[n], stmts[n] = e.counter.Count(), e.counter.Statements()
		require.Empty(t, r.Errors, r.Raw)
		nodes := dig(r.Data, "clusters", "nodes").([]any)
		require.Len(t, nodes, n)
		for _, c := range nodes {
			hosts := dig(c, "hosts")
			require.Equal(t, true, dig(hosts, "pageInfo", "hasPreviousPage"))
			for _, h := range dig(hosts, "nodes").([]any) {
				require.Contains(t, []string{"MAINTENANCE", "OFFLINE", "ONLINE", "REPAIRING"}, dig(h, "state"), "only hosts after the cursor")
			}
		}
	}
	t.Logf("statements: %v\n%s", counts, strings.Join(stmts[33], "\n"))
	require.Equal(t, counts[2], counts[10], "statements must not grow with clusters:\n%s", strings.Join(stmts[10], "\n"))
	require.Equal(t, counts[2], counts[33], "statements must not grow with clusters:\n%s", strings.Join(stmts[33], "\n"))
	require.LessOrEqual(t, counts[33], int64(6), "statements:\n%s", strings.Join(stmts[33], "\n"))

	// Without totalCount, nothing is counted, nested or top-level.
	for _, q := range []string{
		`query($after: String) { clusters { nodes { hosts(first: 5, after: $after, orderBy: {field: STATE}) { nodes { hostname } } } } }`,
		`query($after: String) { hosts(first: 5, after: $after, orderBy: {field: STATE}) { pageInfo { hasNextPage } nodes { hostname } } }`,
	} {
		require.Empty(t, e.gql(t, tok, `{ me { role } }`, nil).Errors)
		e.counter.Reset()
		r := e.gql(t, tok, q, map[string]any{"after": cursor})
		require.Empty(t, r.Errors, r.Raw)
		for _, st := range e.counter.Statements() {
			require.NotContains(t, st, "count(*)", "no count without totalCount")
		}
	}
}

// The audit log pages newest first with keyset cursors, both ways; a viewer pages
// through their own entries only.
func TestAuditLogKeysetPaging(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	_, err := e.db.Pool.Exec(t.Context(), `INSERT INTO audit_log (person_id, actor, action, target, outcome)
		SELECT CASE WHEN g % 3 = 0 THEN $1::bigint ELSE $2::bigint END, 'x', 'act' || (g % 4), 'target:' || g, 'OK'
		FROM generate_series(1, 40) g`, e.fleet.People[fixture.Viewer], e.fleet.People[fixture.Admin])
	require.NoError(t, err)
	ids := func(where string, args ...any) []any {
		rows, err := e.db.Pool.Query(t.Context(), `SELECT target FROM audit_log WHERE `+where+` ORDER BY id DESC`, args...)
		require.NoError(t, err)
		var out []any
		for rows.Next() {
			var s string
			require.NoError(t, rows.Scan(&s))
			out = append(out, s)
		}
		return out
	}
	const q = `query($first: Int, $after: String, $last: Int, $before: String, $action: String) {
		auditLog(first: $first, after: $after, last: $last, before: $before, filter: {action: $action}) {
			totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } nodes { target } } }`
	all := ids(`true`)
	require.Len(t, all, 40)
	admin := e.as(fixture.Admin)
	require.Equal(t, all, e.walk(t, admin, q, map[string]any{"first": 7}, false, "target", "auditLog"))
	require.Equal(t, all, e.walk(t, admin, q, map[string]any{"last": 7}, true, "target", "auditLog"))
	act1 := ids(`action = 'act1'`)
	require.Equal(t, act1, e.walk(t, admin, q, map[string]any{"first": 3, "action": "act1"}, false, "target", "auditLog"))

	viewer := e.as(fixture.Viewer)
	own := ids(`person_id = $1`, e.fleet.People[fixture.Viewer])
	require.Equal(t, own, e.walk(t, viewer, q, map[string]any{"first": 4}, false, "target", "auditLog"))
	r := e.gql(t, viewer, q, map[string]any{"first": 4})
	require.EqualValues(t, len(own), dig(r.Data, "auditLog", "totalCount"), r.Raw)

	r = e.gql(t, admin, q, map[string]any{"first": 4, "after": cursorAt(4)})
	require.Equal(t, "BAD_USER_INPUT", r.code(), r.Raw)
}
