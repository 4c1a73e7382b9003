package app

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/fixture"
)

// wsURL is the websocket address of the env's /query.
func (e *testEnv) wsURL() string { return "ws" + strings.TrimPrefix(e.srv.URL, "http") + "/query" }

// wsDial opens a graphql-transport-ws connection; header (may be nil) goes with
// the upgrade request.
func (e *testEnv) wsDial(t *testing.T, ctx context.Context, header http.Header) *websocket.Conn {
	t.Helper()
	conn, _, err := websocket.Dial(ctx, e.wsURL(), &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}, HTTPHeader: header})
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.CloseNow() })
	return conn
}

// wsInit sends connection_init with payload and returns the server's answer.
func wsInit(t *testing.T, ctx context.Context, conn *websocket.Conn, payload map[string]any) map[string]any {
	t.Helper()
	require.NoError(t, wsjson.Write(ctx, conn, map[string]any{"type": "connection_init", "payload": payload}))
	var msg map[string]any
	require.NoError(t, wsjson.Read(ctx, conn, &msg))
	return msg
}

// wsAck opens a connection authenticated by payload and requires connection_ack.
func (e *testEnv) wsAck(t *testing.T, ctx context.Context, payload map[string]any) *websocket.Conn {
	t.Helper()
	conn := e.wsDial(t, ctx, nil)
	msg := wsInit(t, ctx, conn, payload)
	require.Equal(t, "connection_ack", msg["type"], "%v", msg)
	return conn
}

// wsClosed reads (discarding messages) until the server closes the connection and
// returns the close code and reason; -1 if it ended without a close frame.
func wsClosed(t *testing.T, ctx context.Context, conn *websocket.Conn) (websocket.StatusCode, string) {
	t.Helper()
	for {
		_, _, err := conn.Read(ctx)
		if err == nil {
			continue
		}
		require.NoError(t, ctx.Err(), "the connection was not closed before the deadline")
		var ce websocket.CloseError
		if errors.As(err, &ce) {
			return ce.Code, ce.Reason
		}
		return -1, err.Error()
	}
}

const pulseSubscription = `subscription { platformPulse { at platform { hostCounts { total } } } }`

func subscribeMsg(id, query string) map[string]any {
	return map[string]any{"id": id, "type": "subscribe", "payload": map[string]any{"query": query}}
}

// TestWebsocketCloseCodesFollowTheProtocol checks each close code that
// graphql-transport-ws makes a MUST (clients decide from them whether to retry).
func TestWebsocketCloseCodesFollowTheProtocol(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.WebsocketInitTimeout = 300 * time.Millisecond })
	auth := map[string]any{"Authorization": "Bearer " + e.as(fixture.Viewer)}
	cases := []struct {
		name string
		code websocket.StatusCode
		run  func(ctx context.Context, conn *websocket.Conn)
	}{
		{"subscribe before connection_ack", 4401, func(ctx context.Context, conn *websocket.Conn) {
			require.NoError(t, wsjson.Write(ctx, conn, subscribeMsg("1", pulseSubscription)))
		}},
		{"a second connection_init", 4429, func(ctx context.Context, conn *websocket.Conn) {
			require.Equal(t, "connection_ack", wsInit(t, ctx, conn, auth)["type"])
			require.NoError(t, wsjson.Write(ctx, conn, map[string]any{"type": "connection_init", "payload": auth}))
		}},
		{"an unknown message type", 4400, func(ctx context.Context, conn *websocket.Conn) {
			require.Equal(t, "connection_ack", wsInit(t, ctx, conn, auth)["type"])
			require.NoError(t, wsjson.Write(ctx, conn, map[string]any{"type": "start", "id": "1", "payload": map[string]any{"query": "{ me { role } }"}}))
		}},
		{"a message that is not JSON", 4400, func(ctx context.Context, conn *websocket.Conn) {
			require.NoError(t, conn.Write(ctx, websocket.MessageText, []byte("{nope")))
		}},
		{"a subscribe without an id", 4400, func(ctx context.Context, conn *websocket.Conn) {
			require.Equal(t, "connection_ack", wsInit(t, ctx, conn, auth)["type"])
			require.NoError(t, wsjson.Write(ctx, conn, map[string]any{"type": "subscribe", "payload": map[string]any{"query": pulseSubscription}}))
		}},
		{"a duplicate operation id", 4409, func(ctx context.Context, conn *websocket.Conn) {
			require.Equal(t, "connection_ack", wsInit(t, ctx, conn, auth)["type"])
			require.NoError(t, wsjson.Write(ctx, conn, subscribeMsg("dup", pulseSubscription)))
			require.NoError(t, wsjson.Write(ctx, conn, subscribeMsg("dup", pulseSubscription)))
		}},
		{"no connection_init in time", 4408, func(context.Context, *websocket.Conn) {}},
		{"no credentials", 4403, func(ctx context.Context, conn *websocket.Conn) {
			require.NoError(t, wsjson.Write(ctx, conn, map[string]any{"type": "connection_init"}))
		}},
		{"a bad token", 4403, func(ctx context.Context, conn *websocket.Conn) {
			require.NoError(t, wsjson.Write(ctx, conn, map[string]any{"type": "connection_init", "payload": map[string]any{"authToken": "tsl_nonsense"}}))
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			conn := e.wsDial(t, ctx, nil)
			tc.run(ctx, conn)
			code, reason := wsClosed(t, ctx, conn)
			require.Equal(t, tc.code, code, "reason %q", reason)
		})
	}

	t.Run("a client without the subprotocol", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, _, err := websocket.Dial(ctx, e.wsURL(), nil)
		require.NoError(t, err)
		defer conn.CloseNow()
		code, _ := wsClosed(t, ctx, conn)
		require.Equal(t, websocket.StatusCode(4406), code)
	})
}

// TestWebsocketServesOperationsAfterAck runs a query, a failing query and a ping
// over one connection: the happy path of the transport, with errors shaped by the
// error presenter and a completed id free for reuse.
func TestWebsocketServesOperationsAfterAck(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn := e.wsAck(t, ctx, map[string]any{"authToken": e.as(fixture.Viewer)})
	read := func() map[string]any {
		var m map[string]any
		require.NoError(t, wsjson.Read(ctx, conn, &m))
		return m
	}
	require.NoError(t, wsjson.Write(ctx, conn, map[string]any{"type": "ping", "payload": map[string]any{"n": 1}}))
	m := read()
	require.Equal(t, "pong", m["type"])
	require.EqualValues(t, 1, dig(m, "payload", "n"))

	for range 2 { // the same id again once the first run completed
		require.NoError(t, wsjson.Write(ctx, conn, subscribeMsg("q", `{ me { role person { login } } }`)))
		m = read()
		require.Equal(t, "next", m["type"], "%v", m)
		require.Equal(t, "VIEWER", dig(m, "payload", "data", "me", "role"))
		require.Equal(t, map[string]any{"type": "complete", "id": "q"}, read())
	}

	require.NoError(t, wsjson.Write(ctx, conn, subscribeMsg("bad", `{ nosuchfield }`)))
	m = read()
	require.Equal(t, "error", m["type"], "%v", m)
	require.Equal(t, "bad", m["id"])
	require.NotEmpty(t, dig(m, "payload", 0, "message"))

	require.NoError(t, wsjson.Write(ctx, conn, map[string]any{"id": "x", "type": "subscribe", "payload": map[string]any{
		"query": `query($id: ID!) { node(id: $id) { id } }`, "variables": map[string]any{"id": "garbage"}}}))
	m = read()
	require.Equal(t, "next", m["type"], "%v", m)
	require.Equal(t, "BAD_USER_INPUT", dig(m, "payload", "errors", 0, "extensions", "code"), "%v", m)
	require.Equal(t, "complete", read()["type"])
}

// TestWebsocketProtocolWithTheGraphQLWSClient drives the server with the real
// graphql-ws client of the web app (frontend/e2e/ws-protocol.mjs): the close codes
// it observes for refused credentials, an init timeout, a duplicate id and the
// raw protocol violations, and a live subscription that a token revocation ends.
func TestWebsocketProtocolWithTheGraphQLWSClient(t *testing.T) {
	t.Parallel()
	_, err := exec.LookPath("node")
	requireTool(t, "node", err == nil)
	_, err = os.Stat(filepath.Join("..", "..", "frontend", "node_modules", "graphql-ws"))
	requireTool(t, "frontend npm packages (npm ci in frontend/)", err == nil)
	e := newEnv(t, func(c *Config) { c.WebsocketInitTimeout = time.Second })
	runNode(t, "e2e/ws-protocol.mjs", "TESLA_URL="+e.srv.URL, "TESLA_TOKEN="+e.as(fixture.Admin),
		"TESLA_INGEST_TOKEN="+ingestToken(t, e), "TESLA_WS_INIT_TIMEOUT_MS=1000")
}

func TestWebsocketInitTimeoutIsConfigured(t *testing.T) {
	env := func(v string) func(string) string {
		return func(name string) string {
			if name == "TESLA_WS_INIT_TIMEOUT" {
				return v
			}
			return ""
		}
	}
	cfg, err := LoadConfig(env(""))
	require.NoError(t, err)
	require.Equal(t, 10*time.Second, cfg.WebsocketInitTimeout)
	cfg, err = LoadConfig(env("3s"))
	require.NoError(t, err)
	require.Equal(t, 3*time.Second, cfg.WebsocketInitTimeout)
	_, err = LoadConfig(env("soon"))
	require.ErrorContains(t, err, "TESLA_WS_INIT_TIMEOUT")
}

// TestWebsocketBoundsOperationsPerConnection: one socket cannot pile up live
// subscriptions without end; past the cap a subscribe gets an error message
// (RATE_LIMITED) and the connection, with its running operations, stays.
func TestWebsocketBoundsOperationsPerConnection(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn := e.wsAck(t, ctx, map[string]any{"authToken": e.as(fixture.Viewer)})
	const live = `subscription { hostStateChanged { hostname state } }`
	for i := range 100 {
		require.NoError(t, wsjson.Write(ctx, conn, subscribeMsg(fmt.Sprintf("s%d", i), live)))
	}
	require.NoError(t, wsjson.Write(ctx, conn, subscribeMsg("one-too-many", live)))
	var m map[string]any
	require.NoError(t, wsjson.Read(ctx, conn, &m))
	require.Equal(t, "error", m["type"], "%v", m)
	require.Equal(t, "one-too-many", m["id"])
	require.Equal(t, "RATE_LIMITED", dig(m, "payload", 0, "extensions", "code"), "%v", m)

	// Completing one frees its place; the connection still serves.
	require.NoError(t, wsjson.Write(ctx, conn, map[string]any{"id": "s0", "type": "complete"}))
	require.NoError(t, wsjson.Write(ctx, conn, subscribeMsg("q", `{ me { role } }`)))
	for {
		require.NoError(t, wsjson.Read(ctx, conn, &m))
		if m["id"] == "q" {
			break
		}
	}
	require.Equal(t, "next", m["type"], "%v", m)
	require.Equal(t, "VIEWER", dig(m, "payload", "data", "me", "role"))
}

// TestExpensiveSubscriptionsAreRefused: a subscription runs its selection on
// every event, outside the slots that bound expensive queries, so one priced
// at the expensive threshold or more is refused at subscribe.
func TestExpensiveSubscriptionsAreRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn := e.wsAck(t, ctx, map[string]any{"authToken": e.as(fixture.Viewer)})
	require.NoError(t, wsjson.Write(ctx, conn, subscribeMsg("heavy",
		`subscription { platformPulse { platform { recentSickHosts(first: 2) { analysis(window: "744h") { window } } } } }`)))
	var m map[string]any
	require.NoError(t, wsjson.Read(ctx, conn, &m))
	require.Equal(t, "heavy", m["id"], "%v", m)
	require.Nil(t, dig(m, "payload", "data"), "%v", m)
	require.Equal(t, "COMPLEXITY_LIMIT_EXCEEDED", dig(m, "payload", "errors", 0, "extensions", "code"), "%v", m)

	// A screen's subscription is cheap and runs.
	require.NoError(t, wsjson.Write(ctx, conn, subscribeMsg("screen", `subscription { platformPulse { at platform { clusterCount } } }`)))
	for m["id"] != "screen" {
		require.NoError(t, wsjson.Read(ctx, conn, &m))
	}
	require.Equal(t, "next", m["type"], "%v", m)
	require.NotNil(t, dig(m, "payload", "data", "platformPulse"), "%v", m)
}
