package app

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/graph/model"
	"github.com/teslaops/tesla/internal/fixture"
)

func TestUnauthenticatedRequestsAreRefusedExceptPublicPaths(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.gql(t, "", `{ me { role } }`, nil)
	require.Equal(t, http.StatusUnauthorized, r.Status)
	require.Equal(t, "UNAUTHENTICATED", r.code())

	for _, bad := range []string{"tsl_nonsense", "garbage", strings.Repeat("x", 5000)} {
		r = e.gql(t, bad, `{ me { role } }`, nil)
		require.Equal(t, http.StatusUnauthorized, r.Status)
		require.Equal(t, "UNAUTHENTICATED", r.code())
	}
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/query", strings.NewReader(`{"query":"{ me { role } }"}`))
	req.Header.Set("Authorization", "Basic abc")
	require.Equal(t, http.StatusUnauthorized, e.do(t, req).Status)

	for _, p := range []string{"/healthz", "/metrics", "/", "/clusters/anything"} {
		resp, err := http.Get(e.srv.URL + p)
		require.NoError(t, err)
		resp.Body.Close()
		require.Contains(t, []int{200, 503}, resp.StatusCode, p) // 503: app not built into this test binary
	}
}

func TestMeReportsPersonAndRoleOfEachCredential(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for login, role := range map[string]string{fixture.Admin: "ADMIN", fixture.Operator: "OPERATOR", fixture.BULead: "BU_ADMIN", fixture.Viewer: "VIEWER"} {
		r := e.gql(t, e.as(login), `{ me { role authMethod person { login bu { code } } } }`, nil)
		require.Empty(t, r.Errors, r.Raw)
		require.Equal(t, role, dig(r.Data, "me", "role"))
		require.Equal(t, "TOKEN", dig(r.Data, "me", "authMethod"))
		require.Equal(t, login, dig(r.Data, "me", "person", "login"))
	}
}

func TestClustersConnectionPagesFiltersAndOrders(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.as(fixture.Viewer)
	const q = `query($first: Int, $after: String, $last: Int, $before: String, $filter: ClusterFilter, $orderBy: ClusterOrder) {
		clusters(first: $first, after: $after, last: $last, before: $before, filter: $filter, orderBy: $orderBy) {
			totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
			edges { cursor node { name kind ownerBu { code } stackVersion { version stack { name } }
				hostCounts { total online degraded offline maintenance decommissioned repairing } capacity { cpuCores } } } } }`
	names := func(r gqlResponse) []string {
		var out []string
		for _, e := range dig(r.Data, "clusters", "edges").([]any) {
			out = append(out, dig(e, "node", "name").(string))
		}
		return out
	}
	r := e.gql(t, tok, q, map[string]any{"first": 2})
	require.Empty(t, r.Errors, r.Raw)
	require.Equal(t, []string{"batch-wh-1", "online-1"}, names(r))
	require.EqualValues(t, 3, dig(r.Data, "clusters", "totalCount"))
	require.Equal(t, true, dig(r.Data, "clusters", "pageInfo", "hasNextPage"))
	require.Equal(t, false, dig(r.Data, "clusters", "pageInfo", "hasPreviousPage"))

	end := dig(r.Data, "clusters", "pageInfo", "endCursor").(string)
	r = e.gql(t, tok, q, map[string]any{"first": 2, "after": end})
	require.Equal(t, []string{"rt-ads-1"}, names(r))
	require.Equal(t, false, dig(r.Data, "clusters", "pageInfo", "hasNextPage"))
	require.Equal(t, true, dig(r.Data, "clusters", "pageInfo", "hasPreviousPage"))

	r = e.gql(t, tok, q, map[string]any{"last": 2})
	require.Equal(t, []string{"online-1", "rt-ads-1"}, names(r))
	start := dig(r.Data, "clusters", "pageInfo", "startCursor").(string)
	r = e.gql(t, tok, q, map[string]any{"last": 2, "before": start})
	require.Equal(t, []string{"batch-wh-1"}, names(r))

	r = e.gql(t, tok, q, map[string]any{"filter": map[string]any{"kind": "STREAMING"}})
	require.Equal(t, []string{"rt-ads-1"}, names(r))
	node := dig(r.Data, "clusters", "edges", 0, "node")
	require.Equal(t, "ADS", dig(node, "ownerBu", "code"))
	require.Equal(t, "3.1.0", dig(node, "stackVersion", "version"))
	require.Equal(t, "TDP", dig(node, "stackVersion", "stack", "name"))
	require.EqualValues(t, map[string]any{"total": 6.0, "online": 3.0, "degraded": 1.0, "offline": 1.0, "maintenance": 1.0, "decommissioned": 0.0, "repairing": 0.0},
		dig(node, "hostCounts"))

	r = e.gql(t, tok, q, map[string]any{"filter": map[string]any{"search": "WH"}, "orderBy": map[string]any{"field": "NAME"}})
	require.Equal(t, []string{"batch-wh-1"}, names(r))
	r = e.gql(t, tok, q, map[string]any{"orderBy": map[string]any{"field": "NAME", "direction": "DESC"}})
	require.Equal(t, []string{"rt-ads-1", "online-1", "batch-wh-1"}, names(r))

	// Decommissioned hosts count but add no capacity: batch-wh-1 has 7 live hosts.
	r = e.gql(t, tok, `{ cluster(name: "batch-wh-1") { capacity { cpuCores } hostCounts { total decommissioned } } }`, nil)
	require.EqualValues(t, 8, dig(r.Data, "cluster", "hostCounts", "total"))
	var cores int
	require.NoError(t, e.db.Pool.QueryRow(context.Background(),
		`SELECT sum(cpu_cores) FROM host WHERE cluster_id = $1 AND state <> 'DECOMMISSIONED'`, e.fleet.Clusters["batch-wh-1"]).Scan(&cores))
	require.EqualValues(t, cores, dig(r.Data, "cluster", "capacity", "cpuCores"))
}

func TestHostsFilterAndNestedHostsPerCluster(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.as(fixture.Viewer)
	r := e.gql(t, tok, `{ hosts(first: 100, filter: {states: [DEGRADED, OFFLINE]}) { totalCount nodes { hostname state cluster { name } } } }`, nil)
	require.Empty(t, r.Errors, r.Raw)
	require.EqualValues(t, 3, dig(r.Data, "hosts", "totalCount"))

	r = e.gql(t, tok, `{ hosts(filter: {clusterName: "rt-ads-1", rack: "r01", search: "N0"}) { totalCount nodes { hostname rack } } }`, nil)
	require.EqualValues(t, 3, dig(r.Data, "hosts", "totalCount"), r.Raw)

	r = e.gql(t, tok, `query($bu: ID) { hosts(filter: {buId: $bu}) { totalCount } }`, map[string]any{"bu": model.GlobalID(model.KindBU, e.fleet.BUs["COMPANY"])})
	require.EqualValues(t, 14, dig(r.Data, "hosts", "totalCount"), "hosts of clusters owned anywhere in the subtree")

	r = e.gql(t, tok, `{ hosts(first: 3, orderBy: {field: CPU_CORES, direction: DESC}) { nodes { cpuCores } } }`, nil)
	require.EqualValues(t, 64, dig(r.Data, "hosts", "nodes", 0, "cpuCores"))

	r = e.gql(t, tok, `{ clusters { nodes { name hosts(first: 2, filter: {state: ONLINE}) { totalCount pageInfo { hasNextPage } nodes { hostname components { service version } latestMetrics { cpuPercent containers } } } } } }`, nil)
	require.Empty(t, r.Errors, r.Raw)
	byName := map[string]any{}
	for _, c := range dig(r.Data, "clusters", "nodes").([]any) {
		byName[dig(c, "name").(string)] = dig(c, "hosts")
	}
	require.EqualValues(t, 6, dig(byName["batch-wh-1"], "totalCount"))
	require.EqualValues(t, 3, dig(byName["rt-ads-1"], "totalCount"))
	require.EqualValues(t, 3, dig(byName["online-1"], "totalCount"))
	require.Len(t, dig(byName["batch-wh-1"], "nodes"), 2)
	require.Equal(t, true, dig(byName["batch-wh-1"], "pageInfo", "hasNextPage"))
	require.Len(t, dig(byName["rt-ads-1"], "nodes", 0, "components"), 2)
	require.NotNil(t, dig(byName["rt-ads-1"], "nodes", 0, "latestMetrics", "cpuPercent"))

	// A page past the end still knows the total: after the platform's last host,
	// every cluster's page is empty.
	r = e.gql(t, tok, `{ hosts(last: 1) { pageInfo { endCursor } } }`, nil)
	require.Empty(t, r.Errors, r.Raw)
	r = e.gql(t, tok, `query($after: String) { clusters { nodes { hosts(after: $after) { totalCount nodes { hostname } } } } }`,
		map[string]any{"after": dig(r.Data, "hosts", "pageInfo", "endCursor")})
	require.Empty(t, r.Errors, r.Raw)
	for _, c := range dig(r.Data, "clusters", "nodes").([]any) {
		require.Empty(t, dig(c, "hosts", "nodes"))
		require.NotZero(t, dig(c, "hosts", "totalCount"))
	}
}

func cursorAt(pos int) string {
	return strings.TrimRight(b64(fmt.Sprintf("pos:%d", pos)), "=")
}

func TestNodeFetchesEveryKindByGlobalID(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.as(fixture.Admin)
	ids := map[string]string{
		"BU":           model.GlobalID(model.KindBU, e.fleet.BUs["ADS"]),
		"Person":       model.GlobalID(model.KindPerson, e.fleet.People[fixture.Viewer]),
		"Cluster":      model.GlobalID(model.KindCluster, e.fleet.Clusters["online-1"]),
		"Host":         model.GlobalID(model.KindHost, e.fleet.Hosts["online-1-n01"]),
		"Stack":        model.GlobalID(model.KindStack, e.fleet.Stacks["TDP"]),
		"StackVersion": model.GlobalID(model.KindStackVersion, e.fleet.Versions["TDP 3.1.0"]),
	}
	for typ, id := range ids {
		r := e.gql(t, tok, `query($id: ID!) { node(id: $id) { __typename id } }`, map[string]any{"id": id})
		require.Empty(t, r.Errors, r.Raw)
		require.Equal(t, typ, dig(r.Data, "node", "__typename"))
		require.Equal(t, id, dig(r.Data, "node", "id"))
	}
	missing := model.GlobalID(model.KindHost, 999999)
	r := e.gql(t, tok, `query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Host { hostname } } }`,
		map[string]any{"ids": []string{ids["Host"], missing, ids["Cluster"]}})
	require.Empty(t, r.Errors, r.Raw)
	require.Equal(t, "online-1-n01", dig(r.Data, "nodes", 0, "hostname"))
	require.Nil(t, dig(r.Data, "nodes", 1))
	require.Equal(t, ids["Cluster"], dig(r.Data, "nodes", 2, "id"))

	r = e.gql(t, tok, `{ stacks { nodes { name versions { version packages { id service sourceKind dependsOn } clusters { name } } } } }`, nil)
	require.Empty(t, r.Errors, r.Raw)
	pkg := dig(r.Data, "stacks", "nodes", 0, "versions", 0, "packages", 0)
	r2 := e.gql(t, tok, `query($id: ID!) { node(id: $id) { ... on ServicePackage { service } } }`, map[string]any{"id": dig(pkg, "id")})
	require.Equal(t, dig(pkg, "service"), dig(r2.Data, "node", "service"))
	require.Equal(t, []any{map[string]any{"service": "ZOOKEEPER", "version": "*"}}, dig(pkg, "dependsOn"))
	require.Equal(t, []any{map[string]any{"name": "rt-ads-1"}}, dig(r.Data, "stacks", "nodes", 0, "versions", 0, "clusters"))

	r = e.gql(t, tok, `{ bus { totalCount nodes { code depth parent { code } children { code } } } bu(code: "ADS") { clusters { name } } }`, nil)
	require.Empty(t, r.Errors, r.Raw)
	require.EqualValues(t, 4, dig(r.Data, "bus", "totalCount"))
	require.Equal(t, "COMPANY", dig(r.Data, "bus", "nodes", 0, "code"))
	require.Equal(t, []any{map[string]any{"name": "rt-ads-1"}}, dig(r.Data, "bu", "clusters"))

	r = e.gql(t, tok, `{ platform { clusterCount buCount personCount hostCounts { total } clustersByKind { kind clusters hosts } } }`, nil)
	require.EqualValues(t, 3, dig(r.Data, "platform", "clusterCount"))
	require.EqualValues(t, 18, dig(r.Data, "platform", "hostCounts", "total"))
	require.EqualValues(t, 5, dig(r.Data, "platform", "personCount"))
}

func TestPeopleAccessRulesForEachRole(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const list = `query($bu: ID) { people(filter: {buId: $bu}) { totalCount nodes { login } } }`
	logins := func(r gqlResponse) []string {
		var out []string
		for _, n := range dig(r.Data, "people", "nodes").([]any) {
			out = append(out, dig(n, "login").(string))
		}
		return out
	}
	// Admins and operators read everyone.
	for _, who := range []string{fixture.Admin, fixture.Operator} {
		r := e.gql(t, e.as(who), list, nil)
		require.Empty(t, r.Errors, r.Raw)
		require.EqualValues(t, 5, dig(r.Data, "people", "totalCount"))
	}
	// A BU admin reads their subtree, and is refused another BU.
	r := e.gql(t, e.as(fixture.BULead), list, nil)
	require.Empty(t, r.Errors, r.Raw)
	require.ElementsMatch(t, []string{fixture.Viewer, fixture.BULead}, logins(r))
	r = e.gql(t, e.as(fixture.BULead), list, map[string]any{"bu": model.GlobalID(model.KindBU, e.fleet.BUs["PLATFORM"])})
	require.Equal(t, "FORBIDDEN", r.code(), r.Raw)
	r = e.gql(t, e.as(fixture.BULead), `query($l: String) { person(login: $l) { name } }`, map[string]any{"l": fixture.Outsider})
	require.Equal(t, "FORBIDDEN", r.code(), r.Raw)
	r = e.gql(t, e.as(fixture.BULead), `query($l: String) { person(login: $l) { name } }`, map[string]any{"l": fixture.Viewer})
	require.Empty(t, r.Errors, r.Raw)

	// A viewer reads only themselves: listing or reading another is FORBIDDEN.
	r = e.gql(t, e.as(fixture.Viewer), list, nil)
	require.Equal(t, "FORBIDDEN", r.code(), r.Raw)
	r = e.gql(t, e.as(fixture.Viewer), `query($id: ID!) { node(id: $id) { ... on Person { login } } }`,
		map[string]any{"id": model.GlobalID(model.KindPerson, e.fleet.People[fixture.Outsider])})
	require.Equal(t, "FORBIDDEN", r.code(), r.Raw)
	r = e.gql(t, e.as(fixture.Viewer), `query($l: String) { person(login: $l) { login } }`, map[string]any{"l": fixture.Viewer})
	require.Empty(t, r.Errors, r.Raw)
	r = e.gql(t, e.as(fixture.Viewer), `{ bu(code: "ADS-SEARCH") { people { nodes { login } } } }`, nil)
	require.Equal(t, "FORBIDDEN", r.code(), r.Raw)
	// A missing person is null, not an error, for those who may look.
	r = e.gql(t, e.as(fixture.Admin), `{ person(login: "nobody") { login } }`, nil)
	require.Empty(t, r.Errors, r.Raw)
	require.Nil(t, dig(r.Data, "person"))
}

func TestSetHostStateIsCheckedValidatedAndAudited(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	host := model.GlobalID(model.KindHost, e.fleet.Hosts["online-1-n01"])
	const m = `mutation($in: SetHostStateInput!) { setHostState(input: $in) { host { state stateReason } userErrors { field message code } } }`
	in := map[string]any{"hostId": host, "state": "MAINTENANCE", "reason": "disk swap"}

	for _, who := range []string{fixture.Viewer, fixture.BULead} {
		r := e.gql(t, e.as(who), m, map[string]any{"in": in})
		require.Equal(t, "FORBIDDEN", r.code(), r.Raw)
	}
	r := e.gql(t, e.as(fixture.Operator), m, map[string]any{"in": in})
	require.Empty(t, r.Errors, r.Raw)
	require.Equal(t, "MAINTENANCE", dig(r.Data, "setHostState", "host", "state"))
	require.Equal(t, "disk swap", dig(r.Data, "setHostState", "host", "stateReason"))

	r = e.gql(t, e.as(fixture.Operator), m, map[string]any{"in": map[string]any{"hostId": host, "state": "DEGRADED"}})
	require.Empty(t, r.Errors, r.Raw)
	require.Equal(t, []any{"input", "state"}, dig(r.Data, "setHostState", "userErrors", 0, "field"))
	require.Equal(t, "BAD_USER_INPUT", dig(r.Data, "setHostState", "userErrors", 0, "code"))

	r = e.gql(t, e.as(fixture.Operator), m, map[string]any{"in": map[string]any{"hostId": model.GlobalID(model.KindCluster, 1), "state": "ONLINE"}})
	require.Equal(t, "BAD_USER_INPUT", dig(r.Data, "setHostState", "userErrors", 0, "code"), r.Raw)

	decom := model.GlobalID(model.KindHost, e.fleet.Hosts["batch-wh-1-n07"])
	r = e.gql(t, e.as(fixture.Admin), m, map[string]any{"in": map[string]any{"hostId": decom, "state": "ONLINE"}})
	require.Equal(t, "CONFLICT", dig(r.Data, "setHostState", "userErrors", 0, "code"), r.Raw)

	// Every attempt is in the audit log with its outcome; the admin sees them all.
	r = e.gql(t, e.as(fixture.Admin), `{ auditLog(first: 20, filter: {action: "setHostState"}) { totalCount nodes { actor outcome person { login } input } } }`, nil)
	require.Empty(t, r.Errors, r.Raw)
	outcomes := map[string]int{}
	for _, n := range dig(r.Data, "auditLog", "nodes").([]any) {
		outcomes[dig(n, "actor").(string)+":"+dig(n, "outcome").(string)]++
	}
	require.Equal(t, map[string]int{"alice:DENIED": 1, "lead:DENIED": 1, "ops:OK": 1, "ops:FAILED": 2, "admin:FAILED": 1}, outcomes)
	// A viewer sees only their own entries.
	r = e.gql(t, e.as(fixture.Viewer), `{ auditLog { totalCount nodes { actor } } }`, nil)
	require.EqualValues(t, 1, dig(r.Data, "auditLog", "totalCount"), r.Raw)
}

func TestBadInputGetsClearCodedErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.ComplexityLimit = 5000; c.DepthLimit = 6 })
	tok := e.as(fixture.Viewer)
	cases := []struct {
		name, query string
		vars        map[string]any
		code        string
	}{
		{"malformed", `{ clusters { nodes { name }`, nil, "GRAPHQL_PARSE_FAILED"},
		{"unknown field", `{ clusters { nodes { nope } } }`, nil, "GRAPHQL_VALIDATION_FAILED"},
		{"first too large", `{ clusters(first: 10000) { totalCount } }`, nil, "BAD_USER_INPUT"},
		{"first zero", `{ hosts(first: 0) { totalCount } }`, nil, "BAD_USER_INPUT"},
		{"first and last", `{ hosts(first: 1, last: 1) { totalCount } }`, nil, "BAD_USER_INPUT"},
		{"bad cursor", `{ hosts(after: "xyz") { totalCount } }`, nil, "BAD_USER_INPUT"},
		{"bad id", `{ node(id: "not-an-id") { id } }`, nil, "BAD_USER_INPUT"},
		{"wrong kind of id", `query($id: ID) { cluster(id: $id) { name } }`, map[string]any{"id": model.GlobalID(model.KindHost, 1)}, "BAD_USER_INPUT"},
		{"bad enum variable", `query($k: ClusterKind) { clusters(filter: {kind: $k}) { totalCount } }`, map[string]any{"k": "NOPE"}, "GRAPHQL_VALIDATION_FAILED"},
		{"too complex", `{ clusters(first: 100) { nodes { hosts(first: 100) { nodes { hostname } } } } }`, nil, "COMPLEXITY_LIMIT_EXCEEDED"},
		{"too deep", `{ hosts { nodes { cluster { ownerBu { parent { parent { parent { name } } } } } } } }`, nil, "DEPTH_LIMIT_EXCEEDED"},
		{"bad duration", `mutation { createApiToken(input: {expiresIn: "forever"}) { token } }`, nil, "BAD_USER_INPUT"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := e.gql(t, tok, c.query, c.vars)
			require.NotEmpty(t, r.Errors, r.Raw)
			require.Equal(t, c.code, r.code(), r.Raw)
			require.NotEmpty(t, r.Errors[0].Message)
			requireNoSecrets(t, r.Raw)
		})
	}

	// An oversized body is refused without reaching the executor.
	big := `{"query":"{ me { role } }","variables":{"x":"` + strings.Repeat("a", 2<<20) + `"}}`
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/query", strings.NewReader(big))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok)
	r := e.do(t, req)
	require.GreaterOrEqual(t, r.Status, 400, r.Raw)
	requireNoSecrets(t, r.Raw)

	// Not JSON at all.
	req, _ = http.NewRequest(http.MethodPost, e.srv.URL+"/query", strings.NewReader(`{{{`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok)
	r = e.do(t, req)
	require.GreaterOrEqual(t, r.Status, 400)

	// The server is still healthy afterwards.
	require.Empty(t, e.gql(t, tok, `{ me { role } }`, nil).Errors)
}

func TestNestedQueryCostsConstantSQLStatements(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	fixture.Bulk(t, e.db.Pool, 30, 40)
	const q = `query($n: Int) { clusters(first: $n) { totalCount nodes { name ownerBu { name } stackVersion { version stack { name } }
		hostCounts { total online } capacity { cpuCores }
		hosts(first: 20) { totalCount nodes { hostname state cluster { name } components { service } latestMetrics { cpuPercent } } } } } }`
	counts := map[int]int64{}
	stmts := map[int][]string{}
	for _, n := range []int{2, 10, 33} {
		// Authentication runs its own statements; count only the operation.
		r := e.gql(t, e.as(fixture.Viewer), `{ me { role } }`, nil)
		require.Empty(t, r.Errors)
		e.counter.Reset()
		r = e.gql(t, e.as(fixture.Viewer), q, map[string]any{"n": n})
		counts[n] = e.counter.Count()
		stmts[n] = e.counter.Statements()
		require.Empty(t, r.Errors, r.Raw)
		require.Len(t, dig(r.Data, "clusters", "nodes"), n)
	}
	require.Equal(t, counts[2], counts[10], "statements must not grow with clusters: %v\n%s\n---\n%s", counts, strings.Join(stmts[2], "\n"), strings.Join(stmts[10], "\n"))
	require.Equal(t, counts[2], counts[33], "statements must not grow with clusters: %v\n%s\n---\n%s", counts, strings.Join(stmts[2], "\n"), strings.Join(stmts[33], "\n"))
	require.LessOrEqual(t, counts[33], int64(14), "statements: %v", counts)
}

func TestSessionSignInCSRFAndSignOut(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	resp, err := http.Post(e.srv.URL+"/api/v1/session", "application/json", strings.NewReader(`{"token":"tsl_wrong"}`))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	denied := e.gql(t, e.as(fixture.Admin), `{ auditLog(filter: {action: "signIn", outcome: DENIED}) { totalCount nodes { actor } } }`, nil)
	require.EqualValues(t, 1, dig(denied.Data, "auditLog", "totalCount"), "a refused sign-in is audited: %s", denied.Raw)

	resp, err = http.Post(e.srv.URL+"/api/v1/session", "application/json", strings.NewReader(`{"token":"`+e.as(fixture.Operator)+`"}`))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var body sessionBody
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	require.Equal(t, "ops", body.Person.Login)
	require.NotEmpty(t, body.CSRFToken)
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == SessionCookie {
			session = c
			require.True(t, c.HttpOnly)
			require.Equal(t, http.SameSiteLaxMode, c.SameSite)
		}
	}
	require.NotNil(t, session)

	post := func(query, csrf string) gqlResponse {
		b, _ := json.Marshal(map[string]any{"query": query})
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/query", bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		req.AddCookie(session)
		if csrf != "" {
			req.Header.Set(CSRFHeader, csrf)
		}
		return e.do(t, req)
	}
	r := post(`{ me { authMethod role } }`, "")
	require.Equal(t, http.StatusForbidden, r.Status, "a cookie-authenticated POST without the CSRF header is refused")
	r = post(`{ me { authMethod role } }`, "wrong")
	require.Equal(t, http.StatusForbidden, r.Status)
	r = post(`{ me { authMethod role } }`, body.CSRFToken)
	require.Empty(t, r.Errors, r.Raw)
	require.Equal(t, "SESSION", dig(r.Data, "me", "authMethod"))

	// GET with the cookie may read (GET never runs mutations).
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/query?query="+url.QueryEscape(`{ me { role } }`), nil)
	req.AddCookie(session)
	require.Equal(t, "OPERATOR", dig(e.do(t, req).Data, "me", "role"))
	req, _ = http.NewRequest(http.MethodGet, e.srv.URL+"/query?query="+url.QueryEscape(`mutation { revokeApiToken(input: {id: "x"}) { userErrors { message } } }`), nil)
	req.AddCookie(session)
	require.GreaterOrEqual(t, e.do(t, req).Status, 400, "GET must not run mutations")

	req, _ = http.NewRequest(http.MethodGet, e.srv.URL+"/api/v1/session", nil)
	req.AddCookie(session)
	resp2, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp2.Body.Close()
	require.Equal(t, http.StatusOK, resp2.StatusCode)

	req, _ = http.NewRequest(http.MethodDelete, e.srv.URL+"/api/v1/session", nil)
	req.AddCookie(session)
	resp2, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp2.Body.Close()
	require.Equal(t, http.StatusForbidden, resp2.StatusCode, "sign-out needs the CSRF header too")
	req.Header.Set(CSRFHeader, body.CSRFToken)
	resp2, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp2.Body.Close()
	require.Equal(t, http.StatusNoContent, resp2.StatusCode)
	r = post(`{ me { role } }`, body.CSRFToken)
	require.Equal(t, http.StatusUnauthorized, r.Status, "the session is gone after sign-out")
}

func TestTokenLifecycleThroughGraphQL(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const create = `mutation($in: CreateApiTokenInput!) { createApiToken(input: $in) { token apiToken { id role prefix person { login } } userErrors { field code message } } }`
	r := e.gql(t, e.as(fixture.Viewer), create, map[string]any{"in": map[string]any{"name": "laptop"}})
	require.Empty(t, r.Errors, r.Raw)
	secret := dig(r.Data, "createApiToken", "token").(string)
	require.True(t, strings.HasPrefix(secret, "tsl_"))
	require.Equal(t, "VIEWER", dig(r.Data, "createApiToken", "apiToken", "role"))
	require.True(t, strings.HasPrefix(secret, dig(r.Data, "createApiToken", "apiToken", "prefix").(string)))
	tokenID := dig(r.Data, "createApiToken", "apiToken", "id").(string)
	require.Equal(t, "alice", dig(e.gql(t, secret, `{ me { person { login } } }`, nil).Data, "me", "person", "login"))

	// Only the hash is stored.
	var stored int
	require.NoError(t, e.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM api_token WHERE token_hash = $1`, sha(secret)).Scan(&stored))
	require.Equal(t, 1, stored)

	r = e.gql(t, e.as(fixture.Viewer), create, map[string]any{"in": map[string]any{"login": fixture.Outsider}})
	require.Equal(t, "FORBIDDEN", r.code(), r.Raw)
	r = e.gql(t, e.as(fixture.Viewer), create, map[string]any{"in": map[string]any{"role": "ADMIN"}})
	require.Equal(t, "BAD_USER_INPUT", dig(r.Data, "createApiToken", "userErrors", 0, "code"), r.Raw)
	r = e.gql(t, e.as(fixture.Admin), create, map[string]any{"in": map[string]any{"login": fixture.Outsider, "role": "VIEWER", "expiresIn": "1h"}})
	require.Empty(t, r.Errors, r.Raw)
	require.Equal(t, "bob", dig(r.Data, "createApiToken", "apiToken", "person", "login"))

	// Someone else cannot revoke alice's token; alice can, and then it stops working.
	const revoke = `mutation($id: ID!) { revokeApiToken(input: {id: $id}) { apiToken { revokedAt } userErrors { code } } }`
	r = e.gql(t, e.as(fixture.Outsider), revoke, map[string]any{"id": tokenID})
	require.Equal(t, "FORBIDDEN", r.code(), r.Raw)
	r = e.gql(t, e.as(fixture.Viewer), revoke, map[string]any{"id": tokenID})
	require.Empty(t, r.Errors, r.Raw)
	require.NotNil(t, dig(r.Data, "revokeApiToken", "apiToken", "revokedAt"))
	require.Equal(t, http.StatusUnauthorized, e.gql(t, secret, `{ me { role } }`, nil).Status)

	r = e.gql(t, e.as(fixture.Viewer), `{ apiTokens { totalCount nodes { name person { login } } } }`, nil)
	require.EqualValues(t, 2, dig(r.Data, "apiTokens", "totalCount"), "alice sees her fixture token and her revoked one: %s", r.Raw)
	r = e.gql(t, e.as(fixture.Admin), `{ apiTokens { totalCount } }`, nil)
	require.EqualValues(t, 7, dig(r.Data, "apiTokens", "totalCount"))
	requireNoSecrets(t, strings.ReplaceAll(r.Raw, "tsl_", ""))
}

func sha(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func TestAutomaticPersistedQueries(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	query := `{ platform { clusterCount } }`
	h := sha256.Sum256([]byte(query))
	ext := map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hex.EncodeToString(h[:])}}
	send := func(withQuery bool) gqlResponse {
		body := map[string]any{"extensions": ext}
		if withQuery {
			body["query"] = query
		}
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/query", bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+e.as(fixture.Viewer))
		return e.do(t, req)
	}
	require.Equal(t, "PERSISTED_QUERY_NOT_FOUND", send(false).code())
	require.EqualValues(t, 3, dig(send(true).Data, "platform", "clusterCount"))
	require.EqualValues(t, 3, dig(send(false).Data, "platform", "clusterCount"))
}

func TestIntrospectionCanBeSwitchedOff(t *testing.T) {
	t.Parallel()
	on := newEnv(t)
	r := on.gql(t, on.as(fixture.Viewer), `{ __schema { queryType { name } } }`, nil)
	require.Equal(t, "Query", dig(r.Data, "__schema", "queryType", "name"))
	off := newEnv(t, func(c *Config) { c.Introspection = false })
	r = off.gql(t, off.as(fixture.Viewer), `{ __schema { queryType { name } } }`, nil)
	require.NotEmpty(t, r.Errors)
}

func TestHostStateSubscriptionOverWebsocket(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	wsURL := "ws" + strings.TrimPrefix(e.srv.URL, "http") + "/query"
	conn, _, err := websocket.Dial(ctx, wsURL, &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	require.NoError(t, err)
	defer conn.CloseNow()

	require.NoError(t, wsjson.Write(ctx, conn, map[string]any{"type": "connection_init", "payload": map[string]any{"Authorization": "Bearer " + e.as(fixture.Viewer)}}))
	var msg map[string]any
	require.NoError(t, wsjson.Read(ctx, conn, &msg))
	require.Equal(t, "connection_ack", msg["type"])
	cluster := model.GlobalID(model.KindCluster, e.fleet.Clusters["online-1"])
	require.NoError(t, wsjson.Write(ctx, conn, map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{
		"query": `subscription($c: ID) { hostStateChanged(clusterId: $c) { hostname state cluster { name } } }`, "variables": map[string]any{"c": cluster}}}))

	// The subscription must be registered before the change; retry the change until
	// an event arrives (bounded), instead of sleeping.
	host := model.GlobalID(model.KindHost, e.fleet.Hosts["online-1-n02"])
	other := model.GlobalID(model.KindHost, e.fleet.Hosts["rt-ads-1-n01"])
	got := make(chan map[string]any, 1)
	go func() {
		for {
			var m map[string]any
			if err := wsjson.Read(ctx, conn, &m); err != nil {
				return
			}
			if m["type"] == "next" {
				got <- m
				return
			}
		}
	}()
	states := []string{"MAINTENANCE", "ONLINE"}
	for i := 0; ; i++ {
		// A change in another cluster must be filtered out.
		e.gql(t, e.as(fixture.Operator), `mutation($h: ID!) { setHostState(input: {hostId: $h, state: MAINTENANCE}) { userErrors { message } } }`, map[string]any{"h": other})
		r := e.gql(t, e.as(fixture.Operator), `mutation($h: ID!, $s: HostState!) { setHostState(input: {hostId: $h, state: $s}) { userErrors { message } } }`,
			map[string]any{"h": host, "s": states[i%2]})
		require.Empty(t, r.Errors, r.Raw)
		select {
		case m := <-got:
			require.Equal(t, "online-1-n02", dig(m, "payload", "data", "hostStateChanged", "hostname"))
			require.Equal(t, "online-1", dig(m, "payload", "data", "hostStateChanged", "cluster", "name"))
			return
		case <-time.After(200 * time.Millisecond):
		case <-ctx.Done():
			t.Fatal("no subscription event before the deadline")
		}
	}
}

func TestWebsocketWithoutCredentialsIsRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.srv.URL, "http")+"/query", &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	require.NoError(t, err)
	defer conn.CloseNow()
	require.NoError(t, wsjson.Write(ctx, conn, map[string]any{"type": "connection_init", "payload": map[string]any{}}))
	var msg map[string]any
	err = wsjson.Read(ctx, conn, &msg)
	require.Error(t, err, "an unauthenticated connection must be closed, got %v", msg)

	// A cross-site page cannot ride a session cookie over a websocket.
	_, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.srv.URL, "http")+"/query", &websocket.DialOptions{
		Subprotocols: []string{"graphql-transport-ws"}, HTTPHeader: http.Header{"Origin": {"https://evil.example"}, "Authorization": {"Bearer " + e.as(fixture.Viewer)}}})
	require.Error(t, err)
	if resp != nil {
		require.Equal(t, http.StatusForbidden, resp.StatusCode)
	}
}

func TestReadyzAndMetrics(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	resp, err := http.Get(e.srv.URL + "/readyz")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	e.gql(t, e.as(fixture.Viewer), `{ me { role } }`, nil)
	resp, err = http.Get(e.srv.URL + "/metrics")
	require.NoError(t, err)
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	resp.Body.Close()
	for _, m := range []string{`tesla_http_requests_total{code="200",method="POST",route="/query"}`, `tesla_graphql_operations_total{outcome="ok",type="query"}`,
		`tesla_db_pool_max_connections{pool="main"}`, `tesla_db_pool_max_connections{pool="api"}`} {
		require.Contains(t, buf.String(), m)
	}

	_, err = e.db.Pool.Exec(context.Background(), `DELETE FROM schema_migration WHERE version = (SELECT max(version) FROM schema_migration)`)
	require.NoError(t, err)
	resp, err = http.Get(e.srv.URL + "/readyz")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "a schema behind the binary is not ready")
}

func TestLookupsByIDAndNameAndEveryNodeKind(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.as(fixture.Admin)
	hostID := model.GlobalID(model.KindHost, e.fleet.Hosts["rt-ads-1-n04"])
	clusterID := model.GlobalID(model.KindCluster, e.fleet.Clusters["rt-ads-1"])
	buID := model.GlobalID(model.KindBU, e.fleet.BUs["ADS"])
	personID := model.GlobalID(model.KindPerson, e.fleet.People[fixture.Viewer])
	r := e.gql(t, tok, `query($h: ID, $c: ID, $b: ID, $p: ID) {
		byID: host(id: $h) { hostname state cluster { name } }
		byName: host(hostname: "rt-ads-1-n04") { id }
		missingHost: host(hostname: "nope") { id }
		cluster(id: $c) { name }
		missingCluster: cluster(name: "nope") { id }
		bu(id: $b) { code }
		missingBU: bu(code: "NOPE") { id }
		person(id: $p) { login bu { code } }
	}`, map[string]any{"h": hostID, "c": clusterID, "b": buID, "p": personID})
	require.Empty(t, r.Errors, r.Raw)
	require.Equal(t, "rt-ads-1-n04", dig(r.Data, "byID", "hostname"))
	require.Equal(t, "DEGRADED", dig(r.Data, "byID", "state"))
	require.Equal(t, "rt-ads-1", dig(r.Data, "byID", "cluster", "name"))
	require.Equal(t, hostID, dig(r.Data, "byName", "id"))
	require.Nil(t, dig(r.Data, "missingHost"))
	require.Equal(t, "rt-ads-1", dig(r.Data, "cluster", "name"))
	require.Nil(t, dig(r.Data, "missingCluster"))
	require.Equal(t, "ADS", dig(r.Data, "bu", "code"))
	require.Nil(t, dig(r.Data, "missingBU"))
	require.Equal(t, "ADS-SEARCH", dig(r.Data, "person", "bu", "code"))

	for _, q := range []string{`{ host { id } }`, `{ cluster { id } }`, `{ bu { id } }`, `{ person { id } }`} {
		require.Equal(t, "BAD_USER_INPUT", e.gql(t, tok, q, nil).code(), q)
	}

	// Audit entries and tokens are nodes too, under their own access rules.
	e.gql(t, e.as(fixture.Viewer), `mutation { createApiToken(input: {name: "x"}) { token } }`, nil)
	r = e.gql(t, tok, `{ auditLog(first: 1) { nodes { id action } } apiTokens(first: 1) { nodes { id person { login } } } }`, nil)
	require.Empty(t, r.Errors, r.Raw)
	auditID := dig(r.Data, "auditLog", "nodes", 0, "id").(string)
	tokenID := dig(r.Data, "apiTokens", "nodes", 0, "id").(string)
	require.Equal(t, "alice", dig(r.Data, "apiTokens", "nodes", 0, "person", "login"))
	r = e.gql(t, tok, `query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }`, map[string]any{"ids": []string{auditID, tokenID}})
	require.Empty(t, r.Errors, r.Raw)
	require.Equal(t, "AuditEntry", dig(r.Data, "nodes", 0, "__typename"))
	require.Equal(t, "ApiToken", dig(r.Data, "nodes", 1, "__typename"))
	// Alice's token is hers to see, not Bob's.
	r = e.gql(t, e.as(fixture.Outsider), `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": tokenID})
	require.Equal(t, "FORBIDDEN", r.code(), r.Raw)
	r = e.gql(t, e.as(fixture.Outsider), `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": auditID})
	require.Equal(t, "FORBIDDEN", r.code(), r.Raw)
	r = e.gql(t, tok, `query($ids: [ID!]!) { nodes(ids: $ids) { id } }`, map[string]any{"ids": make([]string, 101)})
	require.Equal(t, "BAD_USER_INPUT", r.code(), r.Raw)
}
