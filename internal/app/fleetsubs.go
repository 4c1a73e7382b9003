package app

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/coder/websocket/wsjson"
)

// subscriptionCounts are the subscription events one replica delivered to the
// bench's websocket client during the window.
type subscriptionCounts struct {
	pulses, hostStates atomic.Int64
	failure            atomic.Value // string: why the watch stopped early
}

// watchSubscriptions holds one graphql-transport-ws connection to a replica with
// two live subscriptions, platformPulse (the big screen's) and hostStateChanged
// (fed by NOTIFY from whichever replica changed a host), and counts their events
// until ctx ends — so the bench shows that every replica delivers them.
func watchSubscriptions(ctx context.Context, baseURL, token string, c *subscriptionCounts) {
	stop := func(why string) {
		if ctx.Err() == nil {
			c.failure.Store(why)
		}
	}
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(baseURL, "http")+"/query",
		&websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}})
	if err != nil {
		stop("dial: " + err.Error())
		return
	}
	defer conn.CloseNow()
	conn.SetReadLimit(8 << 20)
	send := func(m map[string]any) bool {
		if err := wsjson.Write(ctx, conn, m); err != nil {
			stop("write: " + err.Error())
			return false
		}
		return true
	}
	if !send(map[string]any{"type": "connection_init", "payload": map[string]any{"authToken": token}}) ||
		!send(map[string]any{"id": "pulse", "type": "subscribe", "payload": map[string]any{
			"query": `subscription { platformPulse { at platform { clusterCount hostCounts { total } } } }`}}) ||
		!send(map[string]any{"id": "hosts", "type": "subscribe", "payload": map[string]any{
			"query": `subscription { hostStateChanged { hostname state } }`}}) {
		return
	}
	for {
		var m struct {
			Type string `json:"type"`
			ID   string `json:"id"`
		}
		if err := wsjson.Read(ctx, conn, &m); err != nil {
			stop("read: " + err.Error())
			return
		}
		switch {
		case m.Type == "next" && m.ID == "pulse":
			c.pulses.Add(1)
		case m.Type == "next" && m.ID == "hosts":
			c.hostStates.Add(1)
		case m.Type == "error" || m.Type == "complete":
			stop("subscription " + m.ID + " ended: " + m.Type)
			return
		}
	}
}

// flipHostState puts one online host into maintenance through the first replica
// and back into service through the last, a few seconds apart, so that every
// replica's hostStateChanged subscription has two events to deliver whichever
// replica made the change. It reports how many of the two changes it made.
func flipHostState(ctx context.Context, client *http.Client, servers []*benchServer, token string) int {
	post := func(srv *benchServer, query string, vars map[string]any) (map[string]any, bool) {
		body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.url+"/query", bytes.NewReader(body))
		if err != nil {
			return nil, false
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			return nil, false
		}
		defer resp.Body.Close()
		var out struct {
			Data   map[string]any `json:"data"`
			Errors []any          `json:"errors"`
		}
		if json.NewDecoder(resp.Body).Decode(&out) != nil || len(out.Errors) > 0 {
			return nil, false
		}
		return out.Data, true
	}
	if sleepCtx(ctx, 10*time.Second) != nil {
		return 0
	}
	data, ok := post(servers[0], `{ hosts(first: 1, filter: {state: ONLINE}) { nodes { id } } }`, nil)
	if !ok {
		return 0
	}
	nodes, _ := data["hosts"].(map[string]any)["nodes"].([]any)
	if len(nodes) == 0 {
		return 0
	}
	id := nodes[0].(map[string]any)["id"]
	const set = `mutation($id: ID!, $s: HostState!) { setHostState(input: {hostId: $id, state: $s, reason: "fleet bench"}) { userErrors { message } } }`
	done := 0
	for i, state := range []string{"MAINTENANCE", "ONLINE"} {
		if i > 0 && sleepCtx(ctx, 5*time.Second) != nil {
			break
		}
		if _, ok := post(servers[i*(len(servers)-1)], set, map[string]any{"id": id, "s": state}); ok {
			done++
		}
	}
	return done
}
