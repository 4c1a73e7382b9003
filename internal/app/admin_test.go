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

	require.Equal(t, map[string]int{"admin:OK": 1, "admin:FAILED": 4, "ops:DENIED": 1, "lead:DENIED": 1, "alice:DENIED": 1}, e.auditOutcomes(t, "createBU"))
	require.Equal(t, map[string]int{"admin:OK": 2, "admin:FAILED": 1}, e.auditOutcomes(t, "updateBU"))
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
	p, _ = e.mutate(t, secret, "deactivatePerson", mDeactivatePerson, map[string]any{"id": person(fixture.Admin), "reason": "left"})
	require.Equal(t, false, dig(p, "person", "active"))
	p, _ = e.mutate(t, secret, "updatePerson", mUpdatePerson, map[string]any{"id": dig(p, "person", "login"), "role": "VIEWER"})
	require.NotEmpty(t, dig(p, "userErrors"))

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
