package app

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/graph"
	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/fixture"
	"github.com/teslaops/tesla/internal/inventory"
	"github.com/teslaops/tesla/internal/notify"
)

// countStatements counts the statements seen that contain each fragment.
func countStatements(stmts []string, fragments ...string) map[string]int {
	out := map[string]int{}
	for _, s := range stmts {
		for _, f := range fragments {
			if strings.Contains(s, f) {
				out[f]++
			}
		}
	}
	return out
}

const (
	sqlClusterCount = "SELECT count(*) FROM cluster"
	sqlHostTotals   = "name: HostTotals :many" // inventory.HostTotals, over cluster_host_stats
)

// TestPlatformFiguresAreComputedOnlyWhenAsked: `platform { clusterCount }` used to
// count and sum every host as well; now it costs one count of the clusters.
func TestPlatformFiguresAreComputedOnlyWhenAsked(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.counter.Reset()
	r := e.gql(t, e.as(fixture.Viewer), `{ platform { clusterCount } }`, nil)
	require.Empty(t, r.Errors, r.Raw)
	require.EqualValues(t, 3, dig(r.Data, "platform", "clusterCount"))
	stmts := e.counter.Statements()
	for _, s := range stmts {
		require.NotContains(t, s, " host", "the cluster count reads no hosts: %v", stmts)
	}
	require.Equal(t, map[string]int{sqlClusterCount: 1}, countStatements(stmts, sqlClusterCount, sqlHostTotals))

	// Host counts and capacity share one figure.
	e.counter.Reset()
	r = e.gql(t, e.as(fixture.Viewer), `{ platform { hostCounts { total } capacity { cpuCores } } }`, nil)
	require.Empty(t, r.Errors, r.Raw)
	require.Equal(t, map[string]int{sqlHostTotals: 1}, countStatements(e.counter.Statements(), sqlClusterCount, sqlHostTotals))
}

// TestOnePlatformPulsePerBeatForAllSubscribers: each platformPulse subscriber used
// to compute the platform itself on every beat; now a replica computes each
// figure once per beat, whatever the number of screens.
func TestOnePlatformPulsePerBeatForAllSubscribers(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const screens = 5
	const query = `subscription { platformPulse { at platform { clusterCount hostCounts { total } } } }`
	conns := make([]*websocket.Conn, screens)
	next := func(conn *websocket.Conn) map[string]any {
		t.Helper()
		for {
			var m map[string]any
			require.NoError(t, wsjson.Read(ctx, conn, &m))
			require.NotEqual(t, "error", m["type"], "%v", m)
			if m["type"] == "next" {
				require.Empty(t, dig(m, "payload", "errors"), "%v", m)
				return m
			}
		}
	}
	for i := range conns {
		conns[i] = e.wsAck(t, ctx, map[string]any{"authToken": e.as(fixture.Viewer)})
		defer conns[i].CloseNow()
		require.NoError(t, wsjson.Write(ctx, conns[i], subscribeMsg("pulse", query)))
		require.EqualValues(t, 3, dig(next(conns[i]), "payload", "data", "platformPulse", "platform", "clusterCount"))
	}

	// A host state change makes a beat (within the pulse's minimum gap).
	e.counter.Reset()
	_, err := e.db.Pool.Exec(ctx, `SELECT pg_notify($1, $2)`, inventory.HostStateChannel, "1")
	require.NoError(t, err)
	for _, conn := range conns {
		require.EqualValues(t, 18, dig(next(conn), "payload", "data", "platformPulse", "platform", "hostCounts", "total"))
	}
	require.Equal(t, map[string]int{sqlClusterCount: 1, sqlHostTotals: 1},
		countStatements(e.counter.Statements(), sqlClusterCount, sqlHostTotals), "one computation for %d screens", screens)
}

// TestAResyncRechecksOpenWebsocketCredentials: a credential change notified while
// the replica's LISTEN connection was down is lost; the resync that follows the
// reconnection makes every open websocket check its credential again.
func TestAResyncRechecksOpenWebsocketCredentials(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg, err := LoadConfig(func(string) string { return "" })
	require.NoError(t, err)
	svc := NewServices(e.db.Pool, logger, cfg)
	t.Cleanup(svc.Close)
	s := NewServer(cfg, e.db.Pool, logger, svc, prometheus.NewRegistry())

	tok, secret, err := auth.InsertToken(ctx, e.db.Pool, auth.TokenSpec{PersonID: e.fleet.People[fixture.Viewer], Role: auth.Viewer})
	require.NoError(t, err)
	creds := auth.Credentials{Token: secret}
	id, err := auth.Identify(ctx, e.db.Pool, auth.SurfaceGraphQL, creds)
	require.NoError(t, err)

	connCtx, end := context.WithCancelCause(ctx)
	defer end(nil)
	changes := make(chan notify.Event, 1)
	go s.watchCredential(connCtx, end, creds, id.Principal, changes)
	// Revoked without a word on the channel, as if the notification was lost.
	_, err = e.db.Pool.Exec(ctx, `UPDATE api_token SET revoked_at = now() WHERE id = $1`, tok.ID)
	require.NoError(t, err)
	changes <- notify.Event{Resync: true}
	<-connCtx.Done()
	var ce *graph.CloseError
	require.True(t, errors.As(context.Cause(connCtx), &ce), "%v", context.Cause(connCtx))
	require.Equal(t, graph.CloseForbidden, ce.Code)
}
