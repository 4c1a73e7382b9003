package app

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/graph/model"
	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/fixture"
)

// payload runs a mutation as login and returns its payload (the one field of
// data), failing on GraphQL errors other than want (a code, e.g. FORBIDDEN).
func (e *testEnv) mutate(t *testing.T, token, field, m string, in map[string]any) (map[string]any, string) {
	t.Helper()
	r := e.gql(t, token, m, map[string]any{"in": in})
	requireNoSecrets(t, r.Raw)
	if len(r.Errors) > 0 {
		return nil, r.code()
	}
	p, _ := dig(r.Data, field).(map[string]any)
	return p, ""
}

// userError returns the code and field path of a payload's first userError.
func userError(p map[string]any) (string, []any) {
	code, _ := dig(p, "userErrors", 0, "code").(string)
	field, _ := dig(p, "userErrors", 0, "field").([]any)
	return code, field
}

// auditOutcomes counts the audit entries of action by "actor:outcome".
func (e *testEnv) auditOutcomes(t *testing.T, action string) map[string]int {
	t.Helper()
	rows, err := e.db.Pool.Query(context.Background(), `SELECT actor || ':' || outcome, count(*) FROM audit_log WHERE action = $1 GROUP BY 1`, action)
	require.NoError(t, err)
	out := map[string]int{}
	for rows.Next() {
		var k string
		var n int
		require.NoError(t, rows.Scan(&k, &n))
		out[k] = n
	}
	require.NoError(t, rows.Err())
	return out
}

const (
	mCreateBU     = `mutation($in: CreateBUInput!) { createBU(input: $in) { bu { id code name active parent { code } } userErrors { field message code } } }`
	mUpdateBU     = `mutation($in: UpdateBUInput!) { updateBU(input: $in) { bu { code name parent { code } } userErrors { field message code } } }`
	mDeactivateBU = `mutation($in: DeactivateBUInput!) { deactivateBU(input: $in) { bu { code active } userErrors { field message code } } }`
)

func TestBUsAreCreatedMovedAndDeactivatedByAdmins(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bu := func(code string) string { return model.GlobalID(model.KindBU, e.fleet.BUs[code]) }
	admin := e.as(fixture.Admin)

	p, _ := e.mutate(t, admin, "createBU", mCreateBU, map[string]any{"name": "Ads Video", "code": "ADS-VIDEO", "parentId": bu("ADS")})
	require.Empty(t, dig(p, "userErrors"))
	require.Equal(t, true, dig(p, "bu", "active"))
	require.Equal(t, "ADS", dig(p, "bu", "parent", "code"))
	video := dig(p, "bu", "id").(string)

	for _, who := range []string{fixture.Operator, fixture.BULead, fixture.Viewer} {
		_, code := e.mutate(t, e.as(who), "createBU", mCreateBU, map[string]any{"name": "X", "code": "X"})
		require.Equal(t, "FORBIDDEN", code, who)
	}
	p, _ = e.mutate(t, admin, "createBU", mCreateBU, map[string]any{"name": "Again", "code": "ADS-VIDEO"})
	code, field := userError(p)
	require.Equal(t, "CONFLICT", code)
	require.Equal(t, []any{"input", "code"}, field)
	p, _ = e.mutate(t, admin, "createBU", mCreateBU, map[string]any{"name": "Bad", "code": "no spaces"})
	code, field = userError(p)
	require.Equal(t, "BAD_USER_INPUT", code)
	require.Equal(t, []any{"input", "code"}, field)
	p, _ = e.mutate(t, admin, "createBU", mCreateBU, map[string]any{"name": "Orphan", "code": "ORPHAN", "parentId": model.GlobalID(model.KindBU, 999999)})
	code, field = userError(p)
	require.Equal(t, "NOT_FOUND", code)
	require.Equal(t, []any{"input", "parentId"}, field)

	// Moves: never under itself or its own subtree; the error names the cycle.
	p, _ = e.mutate(t, admin, "updateBU", mUpdateBU, map[string]any{"id": bu("COMPANY"), "parentId": bu("ADS-SEARCH")})
	require.Equal(t, "moving BU COMPANY under ADS-SEARCH would make a cycle: COMPANY → ADS → ADS-SEARCH → COMPANY", dig(p, "userErrors", 0, "message"))
	p, _ = e.mutate(t, admin, "updateBU", mUpdateBU, map[string]any{"id": video, "parentId": bu("PLATFORM"), "name": "Video"})
	require.Empty(t, dig(p, "userErrors"))
	require.Equal(t, "PLATFORM", dig(p, "bu", "parent", "code"))
	require.Equal(t, "Video", dig(p, "bu", "name"))
	p, _ = e.mutate(t, admin, "updateBU", mUpdateBU, map[string]any{"id": video, "makeRoot": true})
	require.Nil(t, dig(p, "bu", "parent"))

	// Deactivation: refused while the BU holds anything.
	p, _ = e.mutate(t, admin, "deactivateBU", mDeactivateBU, map[string]any{"id": bu("ADS")})
	require.Equal(t, "BU ADS still has 1 active sub-BUs, 1 active people and 1 clusters that are not retired; move or deactivate them first",
		dig(p, "userErrors", 0, "message"))
	p, _ = e.mutate(t, admin, "deactivateBU", mDeactivateBU, map[string]any{"id": video})
	require.Equal(t, false, dig(p, "bu", "active"))
	r := e.gql(t, admin, `query($id: ID!) { node(id: $id) { ... on BU { active } } }`, map[string]any{"id": video})
	require.Equal(t, false, dig(r.Data, "node", "active"), r.Raw)
	p, _ = e.mutate(t, admin, "createBU", mCreateBU, map[string]any{"name": "Under", "code": "UNDER", "parentId": video})
	code, _ = userError(p)
	require.Equal(t, "BAD_USER_INPUT", code, "no new BU under a deactivated one")
	p, _ = e.mutate(t, admin, "updateBU", mUpdateBU, map[string]any{"id": bu("ADS-SEARCH"), "parentId": video})
	require.Equal(t, "BU ADS-VIDEO is deactivated", dig(p, "userErrors", 0, "message"), "nor moved under one")

	require.Equal(t, map[string]int{"admin:OK": 1, "admin:FAILED": 4, "ops:DENIED": 1, "lead:DENIED": 1, "alice:DENIED": 1}, e.auditOutcomes(t, "createBU"))
	require.Equal(t, map[string]int{"admin:OK": 2, "admin:FAILED": 2}, e.auditOutcomes(t, "updateBU"))
}

const (
	mCreatePerson     = `mutation($in: CreatePersonInput!) { createPerson(input: $in) { person { id login role active bu { code } } userErrors { field message code } } }`
	mUpdatePerson     = `mutation($in: UpdatePersonInput!) { updatePerson(input: $in) { person { login role bu { code } } userErrors { field message code } } }`
	mDeactivatePerson = `mutation($in: DeactivatePersonInput!) { deactivatePerson(input: $in) { person { login active } userErrors { field message code } } }`
)

// A BU admin manages the people of their own subtree up to their own role;
// operators and viewers manage nobody; admins manage everyone.
func TestPeopleAreManagedWithinRoleAndSubtree(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	bu := func(code string) string { return model.GlobalID(model.KindBU, e.fleet.BUs[code]) }
	person := func(login string) string { return model.GlobalID(model.KindPerson, e.fleet.People[login]) }
	lead := e.as(fixture.BULead)

	p, _ := e.mutate(t, lead, "createPerson", mCreatePerson, map[string]any{"login": "sam", "name": "Sam Search", "buId": bu("ADS-SEARCH")})
	require.Empty(t, dig(p, "userErrors"))
	require.Equal(t, "VIEWER", dig(p, "person", "role"))
	sam := dig(p, "person", "id").(string)
	p, _ = e.mutate(t, lead, "createPerson", mCreatePerson, map[string]any{"login": "deputy", "name": "Deputy", "buId": bu("ADS"), "role": "BU_ADMIN"})
	require.Empty(t, dig(p, "userErrors"), "up to their own role")

	refused := []struct {
		who string
		in  map[string]any
	}{
		{fixture.BULead, map[string]any{"login": "x1", "name": "X", "buId": bu("PLATFORM")}},
		{fixture.BULead, map[string]any{"login": "x2", "name": "X", "buId": bu("ADS"), "role": "ADMIN"}},
		{fixture.BULead, map[string]any{"login": "x3", "name": "X", "buId": bu("ADS"), "role": "OPERATOR"}},
		{fixture.Operator, map[string]any{"login": "x4", "name": "X", "buId": bu("PLATFORM")}},
		{fixture.Viewer, map[string]any{"login": "x5", "name": "X", "buId": bu("ADS-SEARCH")}},
	}
	for _, tc := range refused {
		_, code := e.mutate(t, e.as(tc.who), "createPerson", mCreatePerson, tc.in)
		require.Equal(t, "FORBIDDEN", code, "%s %v", tc.who, tc.in)
	}
	p, _ = e.mutate(t, lead, "createPerson", mCreatePerson, map[string]any{"login": "sam", "name": "Sam Again", "buId": bu("ADS")})
	code, field := userError(p)
	require.Equal(t, "CONFLICT", code)
	require.Equal(t, []any{"input", "login"}, field)
	p, _ = e.mutate(t, lead, "createPerson", mCreatePerson, map[string]any{"login": "eve", "name": "Eve", "buId": bu("ADS"), "email": "not-an-address"})
	_, field = userError(p)
	require.Equal(t, []any{"input", "email"}, field)

	// Moves need rights on both BUs.
	_, code = e.mutate(t, lead, "updatePerson", mUpdatePerson, map[string]any{"id": sam, "buId": bu("PLATFORM")})
	require.Equal(t, "FORBIDDEN", code, "the new BU is outside the lead's subtree")
	_, code = e.mutate(t, lead, "updatePerson", mUpdatePerson, map[string]any{"id": person(fixture.Outsider), "buId": bu("ADS")})
	require.Equal(t, "FORBIDDEN", code, "the old BU is outside the lead's subtree")
	_, code = e.mutate(t, lead, "updatePerson", mUpdatePerson, map[string]any{"id": sam, "role": "OPERATOR"})
	require.Equal(t, "FORBIDDEN", code)
	p, _ = e.mutate(t, lead, "updatePerson", mUpdatePerson, map[string]any{"id": sam, "buId": bu("ADS"), "name": "Sam Ads"})
	require.Equal(t, "ADS", dig(p, "person", "bu", "code"))
	p, _ = e.mutate(t, e.as(fixture.Admin), "updatePerson", mUpdatePerson, map[string]any{"id": sam, "buId": bu("PLATFORM"), "role": "OPERATOR"})
	require.Equal(t, "OPERATOR", dig(p, "person", "role"))
	_, code = e.mutate(t, lead, "deactivatePerson", mDeactivatePerson, map[string]any{"id": sam})
	require.Equal(t, "FORBIDDEN", code, "sam is out of the lead's reach now")

	// Nobody deactivates themselves; the last active ADMIN stays.
	p, _ = e.mutate(t, e.as(fixture.Admin), "deactivatePerson", mDeactivatePerson, map[string]any{"id": person(fixture.Admin)})
	require.Equal(t, "you cannot deactivate yourself", dig(p, "userErrors", 0, "message"))
	p, _ = e.mutate(t, e.as(fixture.Admin), "updatePerson", mUpdatePerson, map[string]any{"id": person(fixture.Admin), "role": "OPERATOR"})
	require.Equal(t, "admin is the last active ADMIN; make someone else ADMIN first", dig(p, "userErrors", 0, "message"))
	p, _ = e.mutate(t, e.as(fixture.Admin), "createPerson", mCreatePerson, map[string]any{"login": "ada2", "name": "Ada Two", "buId": bu("PLATFORM"), "role": "ADMIN"})
	require.Empty(t, dig(p, "userErrors"))
	_, secret, err := auth.InsertToken(context.Background(), e.db.Pool, auth.TokenSpec{PersonID: mustID(t, dig(p, "person", "id")), Role: auth.Admin})
	require.NoError(t, err)
	ada2 := dig(p, "person", "id")
	p, _ = e.mutate(t, secret, "deactivatePerson", mDeactivatePerson, map[string]any{"id": person(fixture.Admin), "reason": "left"})
	require.Equal(t, false, dig(p, "person", "active"))
	p, _ = e.mutate(t, secret, "updatePerson", mUpdatePerson, map[string]any{"id": ada2, "role": "VIEWER"})
	require.Equal(t, "ada2 is the last active ADMIN; make someone else ADMIN first", dig(p, "userErrors", 0, "message"))
	require.Equal(t, "CONFLICT", dig(p, "userErrors", 0, "code"))

	require.Equal(t, map[string]int{"lead:OK": 2, "lead:DENIED": 3, "lead:FAILED": 2, "ops:DENIED": 1, "alice:DENIED": 1, "admin:OK": 1},
		e.auditOutcomes(t, "createPerson"))
	require.Equal(t, map[string]int{"admin:FAILED": 1, "lead:DENIED": 1, "ada2:OK": 1}, e.auditOutcomes(t, "deactivatePerson"))
}

func mustID(t *testing.T, gid any) int64 {
	t.Helper()
	id, err := model.ParseID("id", gid.(string), model.KindPerson)
	require.NoError(t, err)
	return id
}

// Deactivating a person ends their web sessions and revokes their tokens at
// once: a session opened before stops working on the very next request.
func TestDeactivationEndsSessionsAndTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	viewer := e.as(fixture.Viewer)
	session, csrf := signIn(t, e, viewer)
	require.Equal(t, "VIEWER", sessionRole(t, e, session, csrf))

	p, _ := e.mutate(t, e.as(fixture.BULead), "deactivatePerson", mDeactivatePerson,
		map[string]any{"id": model.GlobalID(model.KindPerson, e.fleet.People[fixture.Viewer]), "reason": "left the company"})
	require.Empty(t, dig(p, "userErrors"))
	require.Equal(t, false, dig(p, "person", "active"))

	require.Empty(t, sessionRole(t, e, session, csrf), "the session ended with the deactivation")
	require.Equal(t, http.StatusUnauthorized, e.gql(t, viewer, `{ me { login } }`, nil).Status)
	var live, sessions int
	require.NoError(t, e.db.Pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE revoked_at IS NULL) FROM api_token WHERE person_id = $1`,
		e.fleet.People[fixture.Viewer]).Scan(&live))
	require.Zero(t, live, "every token is revoked, not only refused while the person is inactive")
	require.NoError(t, e.db.Pool.QueryRow(ctx, `SELECT count(*) FROM web_session WHERE person_id = $1`, e.fleet.People[fixture.Viewer]).Scan(&sessions))
	require.Zero(t, sessions)
	var input string
	require.NoError(t, e.db.Pool.QueryRow(ctx, `SELECT input::text FROM audit_log WHERE action = 'deactivatePerson' AND outcome = 'OK'`).Scan(&input))
	// The session went with the deactivation itself (migration 0004's trigger);
	// the audit entry counts the tokens revoked.
	require.Contains(t, input, `"tokensRevoked": 1`)
}

const (
	mCreateCluster = `mutation($in: CreateClusterInput!) { createCluster(input: $in) { cluster { id name kind status region ownerBu { code } stackVersion { version } } userErrors { field message code } } }`
	mUpdateCluster = `mutation($in: UpdateClusterInput!) { updateCluster(input: $in) { cluster { name region description } userErrors { field message code } } }`
	mRetireCluster = `mutation($in: RetireClusterInput!) { retireCluster(input: $in) { cluster { status } userErrors { field message code } } }`
	mRegister      = `mutation($in: RegisterHostsInput!) { registerHosts(input: $in) { hosts { id hostname cpuCores memoryBytes rack } created updated userErrors { field message code } } }`
	mMove          = `mutation($in: MoveHostsInput!) { moveHosts(input: $in) { hosts { hostname cluster { name } } userErrors { field message code } } }`
	mRetireHosts   = `mutation($in: RetireHostsInput!) { retireHosts(input: $in) { hosts { hostname state stateReason } userErrors { field message code } } }`
)

// Clusters are created, changed and retired by admins; hosts registered by
// admins (a hostname is enough), moved and retired by operators.
func TestClustersAndHostsLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin, ops := e.as(fixture.Admin), e.as(fixture.Operator)
	ctx := context.Background()

	p, _ := e.mutate(t, admin, "createCluster", mCreateCluster, map[string]any{"name": "edge-1", "region": "eu-west", "kind": "ONLINE",
		"ownerBuId": model.GlobalID(model.KindBU, e.fleet.BUs["ADS"]), "stackVersionId": model.GlobalID(model.KindStackVersion, e.fleet.Versions["TDP 3.2.0"])})
	require.Empty(t, dig(p, "userErrors"))
	require.Equal(t, "ACTIVE", dig(p, "cluster", "status"))
	require.Equal(t, "ADS", dig(p, "cluster", "ownerBu", "code"))
	require.Equal(t, "3.2.0", dig(p, "cluster", "stackVersion", "version"))
	edge := dig(p, "cluster", "id").(string)
	_, code := e.mutate(t, ops, "createCluster", mCreateCluster, map[string]any{"name": "x", "region": "r", "kind": "BATCH"})
	require.Equal(t, "FORBIDDEN", code)
	p, _ = e.mutate(t, admin, "createCluster", mCreateCluster, map[string]any{"name": "edge-1", "region": "r", "kind": "BATCH"})
	c, field := userError(p)
	require.Equal(t, "CONFLICT", c)
	require.Equal(t, []any{"input", "name"}, field)
	p, _ = e.mutate(t, admin, "updateCluster", mUpdateCluster, map[string]any{"id": edge, "region": "eu-north", "description": "edge caches"})
	require.Equal(t, "eu-north", dig(p, "cluster", "region"))
	require.Equal(t, "edge-1", dig(p, "cluster", "name"), "absent fields stay")

	// Registering: valid entries register, each refused entry is named by index.
	hosts := []map[string]any{
		{"hostname": "edge-1-a"},
		{"hostname": "edge-1-b", "cpuCores": 16, "memoryBytes": 68719476736, "rack": "r9"},
		{"hostname": "rt-ads-1-n01"},
		{"hostname": "edge-1-a"},
		{"hostname": "bad host"},
		{"hostname": "edge-1-c", "cpuCores": -2},
	}
	p, _ = e.mutate(t, admin, "registerHosts", mRegister, map[string]any{"clusterId": edge, "hosts": hosts})
	require.EqualValues(t, 2, dig(p, "created"))
	require.Len(t, dig(p, "hosts"), 2)
	require.EqualValues(t, 0, dig(p, "hosts", 0, "cpuCores"), "facts left out are unknown (0)")
	require.EqualValues(t, 16, dig(p, "hosts", 1, "cpuCores"))
	errs := dig(p, "userErrors").([]any)
	require.Len(t, errs, 4)
	require.Equal(t, []any{"input", "hosts", "2", "hostname"}, dig(errs[0], "field"))
	require.Equal(t, "rt-ads-1-n01 is registered in cluster rt-ads-1; move it with moveHosts", dig(errs[0], "message"))
	require.Equal(t, []any{"input", "hosts", "3", "hostname"}, dig(errs[1], "field"))
	require.Equal(t, []any{"input", "hosts", "4", "hostname"}, dig(errs[2], "field"))
	require.Equal(t, []any{"input", "hosts", "5", "cpuCores"}, dig(errs[3], "field"))
	p, _ = e.mutate(t, admin, "registerHosts", mRegister, map[string]any{"clusterId": edge, "hosts": []map[string]any{
		{"hostname": "edge-1-a", "cpuCores": 8}, {"hostname": "edge-1-b", "cpuCores": 16}}})
	require.EqualValues(t, 0, dig(p, "created"))
	require.EqualValues(t, 1, dig(p, "updated"), "an unchanged host is not rewritten")
	_, code = e.mutate(t, ops, "registerHosts", mRegister, map[string]any{"clusterId": edge, "hosts": []map[string]any{{"hostname": "z"}}})
	require.Equal(t, "FORBIDDEN", code)

	// The fleet's statistics take unknown (0) hardware in their stride.
	r := e.gql(t, admin, `query($id: ID!) { node(id: $id) { ... on Cluster { hostCounts { total } capacity { cpuCores } } } }`, map[string]any{"id": edge})
	require.Empty(t, r.Errors, r.Raw)
	require.EqualValues(t, 2, dig(r.Data, "node", "hostCounts", "total"))
	require.EqualValues(t, 24, dig(r.Data, "node", "capacity", "cpuCores"))

	// Retiring the cluster waits for its hosts.
	p, _ = e.mutate(t, admin, "retireCluster", mRetireCluster, map[string]any{"id": edge})
	require.Equal(t, "cluster edge-1 still has 2 hosts that are not DECOMMISSIONED; retire or move them first", dig(p, "userErrors", 0, "message"))

	a := model.GlobalID(model.KindHost, hostID(t, e, "edge-1-a"))
	b := model.GlobalID(model.KindHost, hostID(t, e, "edge-1-b"))
	online := model.GlobalID(model.KindCluster, clusterID(t, e, "online-1"))
	_, code = e.mutate(t, e.as(fixture.Viewer), "moveHosts", mMove, map[string]any{"hostIds": []string{a}, "clusterId": online})
	require.Equal(t, "FORBIDDEN", code)
	p, _ = e.mutate(t, ops, "moveHosts", mMove, map[string]any{"hostIds": []string{a}, "clusterId": online})
	require.Equal(t, "online-1", dig(p, "hosts", 0, "cluster", "name"))
	p, _ = e.mutate(t, ops, "moveHosts", mMove, map[string]any{"hostIds": []string{a, model.GlobalID(model.KindHost, 999999)}, "clusterId": online})
	c, field = userError(p)
	require.Equal(t, "NOT_FOUND", c)
	require.Equal(t, []any{"input", "hostIds", "1"}, field)

	p, _ = e.mutate(t, ops, "retireHosts", mRetireHosts, map[string]any{"hostIds": []string{b}, "reason": ""})
	_, field = userError(p)
	require.Equal(t, []any{"input", "reason"}, field)
	var channel string
	conn, err := e.db.Pool.Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	_, err = conn.Exec(ctx, `LISTEN tesla_host_state`)
	require.NoError(t, err)
	p, _ = e.mutate(t, ops, "retireHosts", mRetireHosts, map[string]any{"hostIds": []string{b}, "reason": "end of lease"})
	require.Equal(t, "DECOMMISSIONED", dig(p, "hosts", 0, "state"))
	require.Equal(t, "end of lease", dig(p, "hosts", 0, "stateReason"))
	n, err := conn.Conn().WaitForNotification(ctx)
	require.NoError(t, err, "retiring announces the state change, as setHostState does")
	channel = n.Channel
	require.Equal(t, "tesla_host_state", channel)

	p, _ = e.mutate(t, admin, "retireCluster", mRetireCluster, map[string]any{"id": edge, "reason": "merged into online-1"})
	require.Equal(t, "RETIRED", dig(p, "cluster", "status"))
	p, _ = e.mutate(t, admin, "registerHosts", mRegister, map[string]any{"clusterId": edge, "hosts": []map[string]any{{"hostname": "late"}}})
	_, field = userError(p)
	require.Equal(t, []any{"input", "clusterId"}, field, "a retired cluster takes no hosts")

	require.Equal(t, map[string]int{"ops:OK": 1, "ops:FAILED": 1, "alice:DENIED": 1}, e.auditOutcomes(t, "moveHosts"))
	require.Equal(t, map[string]int{"ops:OK": 1, "ops:FAILED": 1}, e.auditOutcomes(t, "retireHosts"))
	require.Equal(t, map[string]int{"admin:OK": 2, "admin:FAILED": 1, "ops:DENIED": 1}, e.auditOutcomes(t, "registerHosts"))
}

func hostID(t *testing.T, e *testEnv, hostname string) int64 {
	t.Helper()
	var id int64
	require.NoError(t, e.db.Pool.QueryRow(context.Background(), `SELECT id FROM host WHERE hostname = $1`, hostname).Scan(&id))
	return id
}

func clusterID(t *testing.T, e *testEnv, name string) int64 {
	t.Helper()
	var id int64
	require.NoError(t, e.db.Pool.QueryRow(context.Background(), `SELECT id FROM cluster WHERE name = $1`, name).Scan(&id))
	return id
}

const mImport = `mutation($in: ImportInventoryInput!) { importInventory(input: $in) {
	applied unchanged changes { entity key action changes { field from to } } userErrors { field message code } } }`

// importInventory: ADMIN only; dry run, apply, idempotent second apply; any
// bad entry refuses the whole file naming its line.
func TestImportInventoryThroughGraphQL(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	admin := e.as(fixture.Admin)
	file := `bus:
  - {code: ADS, name: Advertising, parent: COMPANY}
  - {code: ADS-VIDEO, name: Ads Video, parent: ADS}
people:
  - {login: vic, name: Vic Video, bu: ADS-VIDEO, role: BU_ADMIN}
clusters:
  - {name: video-1, region: eu-west, kind: STREAMING, owner_bu: ADS-VIDEO, stack: TDP 3.1.0}
hosts:
  - {hostname: video-1-a, cluster: video-1, cpu_cores: 8}
  - {hostname: rt-ads-1-n01, cluster: rt-ads-1, rack: r42}
`
	in := map[string]any{"format": "YAML", "content": file, "dryRun": true}
	for _, who := range []string{fixture.Operator, fixture.BULead} {
		_, code := e.mutate(t, e.as(who), "importInventory", mImport, in)
		require.Equal(t, "FORBIDDEN", code, who)
	}
	p, _ := e.mutate(t, admin, "importInventory", mImport, in)
	require.Equal(t, false, dig(p, "applied"))
	require.Len(t, dig(p, "changes"), 6)
	require.Equal(t, map[string]any{"entity": "BU", "key": "ADS", "action": "UPDATE",
		"changes": []any{map[string]any{"field": "name", "from": "Ads", "to": "Advertising"}}}, dig(p, "changes", 0))
	require.Equal(t, map[string]any{"field": "rack", "from": "r01", "to": "r42"}, dig(p, "changes", 5, "changes", 0))
	var n int
	require.NoError(t, e.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM bu WHERE code = 'ADS-VIDEO'`).Scan(&n))
	require.Zero(t, n, "a dry run writes nothing")

	in["dryRun"] = false
	p, _ = e.mutate(t, admin, "importInventory", mImport, in)
	require.Equal(t, true, dig(p, "applied"), p)
	require.Len(t, dig(p, "changes"), 6)
	p, _ = e.mutate(t, admin, "importInventory", mImport, in)
	require.Equal(t, false, dig(p, "applied"))
	require.Empty(t, dig(p, "changes"))
	require.EqualValues(t, 6, dig(p, "unchanged"))

	bad := map[string]string{
		"people:\n  - {login: vic, name: Vic, bu: ADS, role: EMPEROR}\n":                         "line 2: unknown role",
		"hosts:\n  - {hostname: h1, cluster: nowhere}\n":                                         "line 2: host h1: cluster: unknown cluster nowhere",
		"hosts:\n  - {hostname: h1, cluster: online-1}\n  - {hostname: h1, cluster: online-1}\n": "line 3: duplicate hostname h1",
		"bus:\n  - {code: COMPANY, name: Company, parent: ADS-SEARCH}\n":                         "line 2: BU cycle: COMPANY → ADS-SEARCH → ADS → COMPANY",
		"bus:\n  - {code: X, name: X}\npeople: 12\n":                                             "line 3: section people must be a list",
	}
	for content, want := range bad {
		p, _ = e.mutate(t, admin, "importInventory", mImport, map[string]any{"format": "YAML", "content": content})
		require.Equal(t, false, dig(p, "applied"))
		require.Contains(t, dig(p, "userErrors", 0, "message"), want, content)
		require.Equal(t, "content", dig(p, "userErrors", 0, "field", 0))
	}
	// Pruning would deactivate the importer, who is not in the file.
	p, _ = e.mutate(t, admin, "importInventory", mImport, map[string]any{"format": "YAML", "content": file, "prune": true, "dryRun": true})
	var msgs []string
	for _, ue := range dig(p, "userErrors").([]any) {
		msgs = append(msgs, dig(ue, "message").(string))
	}
	require.Contains(t, msgs, "the file does not list you (admin): pruning would deactivate you")
	require.Contains(t, msgs, "line 2: BU ADS: parent: BU COMPANY is not in the file, so --prune would retire it; list it in the file")
	// CSV, and the audit trail.
	p, _ = e.mutate(t, admin, "importInventory", mImport, map[string]any{"format": "CSV", "content": "kind,hostname,cluster,cpu_cores\nhost,video-1-a,video-1,12\n"})
	require.Equal(t, true, dig(p, "applied"))
	require.Equal(t, map[string]any{"field": "cpuCores", "from": "8", "to": "12"}, dig(p, "changes", 0, "changes", 0))
	require.Equal(t, map[string]int{"ops:DENIED": 1, "lead:DENIED": 1, "admin:OK": 4, "admin:FAILED": 6}, e.auditOutcomes(t, "importInventory"))
}
