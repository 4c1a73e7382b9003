package app

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/graph/model"
	"github.com/teslaops/tesla/internal/account"
	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/fixture"
	"github.com/teslaops/tesla/internal/inventory"
)

// ingestToken creates a token limited to the ingest scope for an operator, whose
// role alone would allow everything an operator may do.
func ingestToken(t *testing.T, e *testEnv) string {
	t.Helper()
	_, secret, err := auth.InsertToken(context.Background(), e.db.Pool, auth.TokenSpec{
		PersonID: e.fleet.People[fixture.Operator], Role: auth.Operator, Scopes: []string{auth.ScopeIngest}})
	require.NoError(t, err)
	return secret
}

// TestScopedTokenGetsNoAPIOnAnyTransport is the attack of the security issue: an
// ingest-only token in a websocket's connection_init ran createApiToken and got
// an unrestricted OPERATOR token back. Every transport refuses it now, and so does
// the domain layer if such a principal ever reached it.
func TestScopedTokenGetsNoAPIOnAnyTransport(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	scoped := ingestToken(t, e)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()

	r := e.gql(t, scoped, `mutation { createApiToken(input: {name: "escalate"}) { token } }`, nil)
	require.Equal(t, http.StatusForbidden, r.Status, r.Raw)
	require.Equal(t, "FORBIDDEN", r.code())

	for name, payload := range map[string]map[string]any{
		"Authorization": {"Authorization": "Bearer " + scoped},
		"authorization": {"authorization": "bearer " + scoped},
		"authToken":     {"authToken": scoped},
	} {
		conn := e.wsDial(t, ctx, nil)
		require.NoError(t, wsjson.Write(ctx, conn, map[string]any{"type": "connection_init", "payload": payload}))
		// Whatever the server does, a mutation sent now must not run.
		_ = wsjson.Write(ctx, conn, subscribeMsg("1", `mutation { createApiToken(input: {name: "escalate"}) { token } }`))
		for {
			var m map[string]any
			err := wsjson.Read(ctx, conn, &m)
			if err != nil {
				require.Equal(t, websocket.StatusCode(4403), websocket.CloseStatus(err), "%s: %v", name, err)
				break
			}
			require.NotEqual(t, "connection_ack", m["type"], "%s: a scoped token was acknowledged", name)
			require.NotEqual(t, "next", m["type"], "%s: %v", name, m)
		}
	}
	// In the upgrade request's header, too.
	conn := e.wsDial(t, ctx, http.Header{"Authorization": {"Bearer " + scoped}})
	require.NoError(t, wsjson.Write(ctx, conn, map[string]any{"type": "connection_init"}))
	code, _ := wsClosed(t, ctx, conn)
	require.Equal(t, websocket.StatusCode(4403), code)

	var n int
	require.NoError(t, e.db.Pool.QueryRow(ctx, `SELECT count(*) FROM api_token WHERE name = 'escalate'`).Scan(&n))
	require.Zero(t, n)

	// Defense in depth: the domain layer refuses a scoped principal by itself.
	p, err := auth.Authenticate(ctx, e.db.Pool, scoped)
	require.NoError(t, err)
	svc := NewServices(e.db.Pool, slog.New(slog.NewTextHandler(io.Discard, nil)), Config{SessionTTL: time.Hour})
	_, _, err = svc.Accounts.CreateToken(auth.WithPrincipal(ctx, p), account.CreateTokenInput{Name: "escalate"})
	require.True(t, fault.Is(err, fault.Forbidden), "%v", err)
	_, err = svc.Inventory.SetHostState(auth.WithPrincipal(ctx, p),
		inventory.SetHostStateInput{HostID: e.fleet.Hosts["online-1-n02"], State: "MAINTENANCE"})
	require.True(t, fault.Is(err, fault.Forbidden), "%v", err)
}

// TestConnectionAckEchoesNoSecret: the ack used to carry the init payload back,
// bearer token included.
func TestConnectionAckEchoesNoSecret(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn := e.wsDial(t, ctx, nil)
	tok := e.as(fixture.Viewer)
	msg := wsInit(t, ctx, conn, map[string]any{"Authorization": "Bearer " + tok})
	require.Equal(t, "connection_ack", msg["type"])
	raw, _ := json.Marshal(msg)
	require.NotContains(t, string(raw), tok)
	require.NotContains(t, string(raw), "Authorization")
}

// TestBearerSchemeIsCaseInsensitive on every transport (RFC 9110 section 11.1).
func TestBearerSchemeIsCaseInsensitive(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.as(fixture.Viewer)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, scheme := range []string{"bearer", "BEARER", "BeArEr"} {
		body := strings.NewReader(`{"query":"{ me { role } }"}`)
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/query", body)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", scheme+" "+tok)
		r := e.do(t, req)
		require.Equal(t, http.StatusOK, r.Status, "%s: %s", scheme, r.Raw)
		require.Equal(t, "VIEWER", dig(r.Data, "me", "role"))

		e.wsAck(t, ctx, map[string]any{"Authorization": scheme + " " + tok})
		conn := e.wsDial(t, ctx, http.Header{"Authorization": {scheme + " " + tok}})
		require.Equal(t, "connection_ack", wsInit(t, ctx, conn, nil)["type"], scheme)
	}
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/query", strings.NewReader(`{"query":"{ me { role } }"}`))
	req.Header.Set("Authorization", "Token "+tok)
	require.Equal(t, http.StatusUnauthorized, e.do(t, req).Status, "another scheme is still refused")
}

// TestScopedTokenCannotSignIn: sign-in goes through the same authentication as
// every transport, so an ingest-only token gets no session (and no cookie), and
// the refusal is audited against the token's person.
func TestScopedTokenCannotSignIn(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	scoped := ingestToken(t, e)
	resp, err := http.Post(e.srv.URL+"/api/v1/session", "application/json", strings.NewReader(`{"token":"`+scoped+`"}`))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	require.Empty(t, resp.Cookies())
	ctx := context.Background()
	var sessions int
	require.NoError(t, e.db.Pool.QueryRow(ctx, `SELECT count(*) FROM web_session`).Scan(&sessions))
	require.Zero(t, sessions)
	var target, outcome string
	require.NoError(t, e.db.Pool.QueryRow(ctx, `SELECT target, outcome FROM audit_log WHERE action = 'signIn' ORDER BY id DESC LIMIT 1`).Scan(&target, &outcome))
	require.Equal(t, "person:"+fixture.Operator, target)
	require.Equal(t, "DENIED", outcome)
}

// signIn exchanges a token for a session and returns the session cookie and the
// CSRF token.
func signIn(t *testing.T, e *testEnv, token string) (*http.Cookie, string) {
	t.Helper()
	resp, err := http.Post(e.srv.URL+"/api/v1/session", "application/json", strings.NewReader(`{"token":"`+token+`"}`))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var body sessionBody
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	for _, c := range resp.Cookies() {
		if c.Name == SessionCookie {
			return c, body.CSRFToken
		}
	}
	t.Fatal("no session cookie")
	return nil, ""
}

// sessionRole asks /query, with the session cookie, for the session's role; ""
// when the session is refused.
func sessionRole(t *testing.T, e *testEnv, session *http.Cookie, csrf string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/query", strings.NewReader(`{"query":"{ me { role } }"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(CSRFHeader, csrf)
	req.AddCookie(session)
	r := e.do(t, req)
	if r.Status == http.StatusUnauthorized {
		return ""
	}
	require.Equal(t, http.StatusOK, r.Status, r.Raw)
	return dig(r.Data, "me", "role").(string)
}

// TestSessionNeverOutlivesItsToken: a session opened with a short-lived token
// used to act for the full session TTL (12 h).
func TestSessionNeverOutlivesItsToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	expires := time.Now().Add(4 * time.Second)
	tok, secret, err := auth.InsertToken(ctx, e.db.Pool, auth.TokenSpec{PersonID: e.fleet.People[fixture.Operator], Role: auth.Operator, ExpiresAt: &expires})
	require.NoError(t, err)
	session, csrf := signIn(t, e, secret)
	require.False(t, session.Expires.After(expires), "cookie expires %v, after the token (%v)", session.Expires, expires)
	var sessionEnd time.Time
	require.NoError(t, e.db.Pool.QueryRow(ctx, `SELECT expires_at FROM web_session WHERE token_id = $1`, tok.ID).Scan(&sessionEnd))
	require.False(t, sessionEnd.After(expires))
	require.Equal(t, "OPERATOR", sessionRole(t, e, session, csrf))

	// Time passes: the token expires, and the session with it (whatever the
	// session row says).
	_, err = e.db.Pool.Exec(ctx, `UPDATE api_token SET expires_at = now() - interval '1 second' WHERE id = $1`, tok.ID)
	require.NoError(t, err)
	_, err = e.db.Pool.Exec(ctx, `UPDATE web_session SET expires_at = now() + interval '12 hours' WHERE token_id = $1`, tok.ID)
	require.NoError(t, err)
	require.Empty(t, sessionRole(t, e, session, csrf), "the session outlived its token")
}

// TestCredentialChangesEndSessionsAndCapTokens: revoking a token, deactivating a
// person or lowering their role ends their sessions, and a token never acts above
// its person's current role.
func TestCredentialChangesEndSessionsAndCapTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	op := e.as(fixture.Operator)

	// Revocation.
	_, secret, err := auth.InsertToken(ctx, e.db.Pool, auth.TokenSpec{PersonID: e.fleet.People[fixture.Operator], Role: auth.Operator})
	require.NoError(t, err)
	session, csrf := signIn(t, e, secret)
	require.Equal(t, "OPERATOR", sessionRole(t, e, session, csrf))
	var id int64
	require.NoError(t, e.db.Pool.QueryRow(ctx, `SELECT id FROM api_token WHERE token_hash = $1`, auth.HashSecret(secret)).Scan(&id))
	_, err = auth.RevokeToken(ctx, e.db.Pool, id)
	require.NoError(t, err)
	require.Empty(t, sessionRole(t, e, session, csrf))

	// A lower role: the token acts with the person's new role, the session ends.
	session, csrf = signIn(t, e, op)
	_, err = e.db.Pool.Exec(ctx, `UPDATE person SET role = 'VIEWER' WHERE login = $1`, fixture.Operator)
	require.NoError(t, err)
	require.Equal(t, "VIEWER", dig(e.gql(t, op, `{ me { role } }`, nil).Data, "me", "role"))
	require.Empty(t, sessionRole(t, e, session, csrf), "the session kept the role its person lost")
	_, err = e.db.Pool.Exec(ctx, `UPDATE person SET role = 'OPERATOR' WHERE login = $1`, fixture.Operator)
	require.NoError(t, err)
	require.Empty(t, sessionRole(t, e, session, csrf), "a session ended by a lower role stays ended")
	require.Equal(t, "OPERATOR", dig(e.gql(t, op, `{ me { role } }`, nil).Data, "me", "role"))

	// Deactivation.
	session, csrf = signIn(t, e, op)
	_, err = e.db.Pool.Exec(ctx, `UPDATE person SET active = false WHERE login = $1`, fixture.Operator)
	require.NoError(t, err)
	require.Empty(t, sessionRole(t, e, session, csrf))
	require.Equal(t, http.StatusUnauthorized, e.gql(t, op, `{ me { role } }`, nil).Status)
}

// TestOpenWebsocketsCloseWhenTheirCredentialChanges: a platformPulse subscription
// kept receiving after revokeApiToken. Revocation, a lower role, sign-out and
// expiry now close the connection with 4403, and other people's connections stay.
func TestOpenWebsocketsCloseWhenTheirCredentialChanges(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	pool := e.db.Pool
	newToken := func(login string, role auth.Role, expires *time.Time) (int64, string) {
		tok, secret, err := auth.InsertToken(ctx, pool, auth.TokenSpec{PersonID: e.fleet.People[login], Role: role, ExpiresAt: expires})
		require.NoError(t, err)
		return tok.ID, secret
	}
	// live opens a connection with a running platformPulse subscription.
	live := func(conn *websocket.Conn) *websocket.Conn {
		require.NoError(t, wsjson.Write(ctx, conn, subscribeMsg("pulse", pulseSubscription)))
		var m map[string]any
		require.NoError(t, wsjson.Read(ctx, conn, &m))
		require.Equal(t, "next", m["type"], "%v", m)
		return conn
	}
	requireAlive := func(conn *websocket.Conn) {
		t.Helper()
		require.NoError(t, wsjson.Write(ctx, conn, map[string]any{"type": "ping"}))
		for {
			var m map[string]any
			require.NoError(t, wsjson.Read(ctx, conn, &m))
			if m["type"] == "pong" {
				return
			}
		}
	}

	// Revocation through the API.
	id, secret := newToken(fixture.Viewer, auth.Viewer, nil)
	revoked := live(e.wsAck(t, ctx, map[string]any{"authToken": secret}))
	bystander := live(e.wsAck(t, ctx, map[string]any{"authToken": e.as(fixture.Outsider)}))
	r := e.gql(t, e.as(fixture.Admin), `mutation($id: ID!) { revokeApiToken(input: {id: $id}) { userErrors { message } } }`,
		map[string]any{"id": model.GlobalID(model.KindAPIToken, id)})
	require.Empty(t, r.Errors, r.Raw)
	code, reason := wsClosed(t, ctx, revoked)
	require.Equal(t, websocket.StatusCode(4403), code, reason)
	requireAlive(bystander)

	// Another token of the same person is re-checked and stays.
	sibling := live(e.wsAck(t, ctx, map[string]any{"authToken": e.as(fixture.Viewer)}))
	_, secret = newToken(fixture.Viewer, auth.Viewer, nil)
	doomed := live(e.wsAck(t, ctx, map[string]any{"authToken": secret}))
	_, err := pool.Exec(ctx, `UPDATE api_token SET revoked_at = now() WHERE token_hash = $1`, auth.HashSecret(secret))
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `SELECT pg_notify($1, $2::bigint::text)`, auth.CredentialsChannel, e.fleet.People[fixture.Viewer])
	require.NoError(t, err)
	code, _ = wsClosed(t, ctx, doomed)
	require.Equal(t, websocket.StatusCode(4403), code)
	requireAlive(sibling)

	// A lower role (changed by SQL, announced by the trigger).
	lowered := live(e.wsAck(t, ctx, map[string]any{"authToken": e.as(fixture.Operator)}))
	_, err = pool.Exec(ctx, `UPDATE person SET role = 'VIEWER' WHERE login = $1`, fixture.Operator)
	require.NoError(t, err)
	code, _ = wsClosed(t, ctx, lowered)
	require.Equal(t, websocket.StatusCode(4403), code)

	// A BU admin moved to another BU reads another subtree: their socket closes.
	moved := live(e.wsAck(t, ctx, map[string]any{"authToken": e.as(fixture.BULead)}))
	_, err = pool.Exec(ctx, `UPDATE person SET bu_id = (SELECT id FROM bu WHERE code = 'PLATFORM') WHERE login = $1`, fixture.BULead)
	require.NoError(t, err)
	code, _ = wsClosed(t, ctx, moved)
	require.Equal(t, websocket.StatusCode(4403), code)

	// Sign-out ends the websockets of the session's cookie.
	session, csrf := signIn(t, e, e.as(fixture.Admin))
	cookieConn := live(e.wsDialCookie(t, ctx, session))
	req, _ := http.NewRequest(http.MethodDelete, e.srv.URL+"/api/v1/session", nil)
	req.AddCookie(session)
	req.Header.Set(CSRFHeader, csrf)
	require.Equal(t, http.StatusNoContent, e.do(t, req).Status)
	code, _ = wsClosed(t, ctx, cookieConn)
	require.Equal(t, websocket.StatusCode(4403), code)

	// Expiry, without any notification.
	soon := time.Now().Add(1500 * time.Millisecond)
	_, secret = newToken(fixture.BULead, auth.BUAdmin, &soon)
	expiring := live(e.wsAck(t, ctx, map[string]any{"authToken": secret}))
	code, reason = wsClosed(t, ctx, expiring)
	require.Equal(t, websocket.StatusCode(4403), code)
	require.Equal(t, "credential expired", reason)
	requireAlive(bystander)
}

// wsDialCookie opens a connection that authenticates with a session cookie.
func (e *testEnv) wsDialCookie(t *testing.T, ctx context.Context, session *http.Cookie) *websocket.Conn {
	t.Helper()
	conn := e.wsDial(t, ctx, http.Header{"Cookie": {session.String()}})
	require.Equal(t, "connection_ack", wsInit(t, ctx, conn, nil)["type"])
	return conn
}
