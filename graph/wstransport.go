package graph

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/coder/websocket"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/teslaops/tesla/internal/fault"
)

// wsProtocol is the one websocket subprotocol served: graphql-transport-ws, as
// spoken by the graphql-ws client of the web app and GraphiQL.
const wsProtocol = "graphql-transport-ws"

// Close codes of the graphql-transport-ws protocol. Clients decide from them
// whether to retry (graphql-ws gives up on 4400, 4401, 4406, 4409 and 4429).
const (
	CloseBadRequest       = 4400 // a message that is not valid JSON or not a known client message
	CloseUnauthorized     = 4401 // subscribe before connection_ack
	CloseForbidden        = 4403 // credentials refused, revoked, expired or changed
	CloseSubprotocol      = 4406 // the client did not ask for graphql-transport-ws
	CloseInitTimeout      = 4408 // no connection_init in time
	CloseSubscriberExists = 4409 // subscribe with an id already in use
	CloseTooManyInits     = 4429 // a second connection_init
	CloseInternalError    = 4500 // the server failed (e.g. the database is down)
	closeGoingAway        = 1001 // the server is shutting down
)

const (
	defaultWSInitTimeout = 10 * time.Second
	defaultWSReadLimit   = 1 << 20
	wsWriteTimeout       = 10 * time.Second
	maxCloseReason       = 123 // RFC 6455 leaves 123 bytes for the reason
	maxOperationID       = 256
	defaultWSMaxOps      = 100
)

// CloseError closes a websocket connection with Code and Reason. An InitFunc
// returns one to refuse a connection with a code other than 4403, and a
// connection whose context is cancelled with one as its cause (see
// context.WithCancelCause) closes with it — which is how a revoked credential
// ends the websockets it opened.
type CloseError struct {
	Code   int
	Reason string
}

func (e *CloseError) Error() string {
	return fmt.Sprintf("websocket closed (%d): %s", e.Code, e.Reason)
}

// Websocket is a gqlgen transport for the graphql-transport-ws protocol
// (https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md). It replaces
// gqlgen's own websocket transport, which does not close with the protocol's
// codes (a second connection_init got 1002, an unknown message 1000, a duplicate
// operation id nothing), echoed the init payload in connection_ack, and offers no
// way to close a connection whose credential was revoked.
type Websocket struct {
	// InitFunc authenticates connection_init. The context it returns is the one the
	// connection's operations run in; when that context ends, the connection closes
	// (with the code of a *CloseError cause, else 1001). An error refuses the
	// connection: a *CloseError with its code, anything else with 4403 and the
	// error's text as reason. A non-nil payload is sent in connection_ack. Nil
	// accepts every connection.
	InitFunc transport.WebsocketInitFunc
	// InitTimeout is how long a connection may wait before connection_init arrives
	// (4408 after it); 0 means 10 s.
	InitTimeout time.Duration
	// KeepAlive is how often the server pings an acknowledged connection, so idle
	// proxies keep it and clients notice a dead server; 0 disables pings.
	KeepAlive time.Duration
	// OriginPatterns are extra host patterns allowed in the Origin header (see
	// websocket.AcceptOptions); same-origin and origin-less requests always pass.
	OriginPatterns []string
	// ReadLimit bounds one client message in bytes; 0 means 1 MiB.
	ReadLimit int64
	// MaxOperations bounds the operations one connection runs at once (live
	// subscriptions count until they complete); a subscribe beyond it is answered
	// with an error message coded RATE_LIMITED, and the connection stays open.
	// 0 means 100: a screen needs a handful, and each one costs the server work
	// on every event.
	MaxOperations int
	// Logger receives failures that no client should see; nil drops them.
	Logger *slog.Logger
}

var _ graphql.Transport = Websocket{}

// Supports reports whether r asks for a websocket.
func (Websocket) Supports(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

// Do accepts the websocket and serves it until either side closes it.
func (t Websocket) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{wsProtocol}, OriginPatterns: t.OriginPatterns})
	if err != nil {
		return // Accept has answered (403 for a foreign origin, 400 for a bad handshake)
	}
	ws.SetReadLimit(cmp.Or(t.ReadLimit, defaultWSReadLimit))
	c := &wsConn{t: t, ws: ws, exec: exec, headers: r.Header, ops: map[string]context.CancelFunc{}}
	c.serve(r.Context())
}

type wsConn struct {
	t       Websocket
	ws      *websocket.Conn
	exec    graphql.GraphExecutor
	headers http.Header

	mu     sync.Mutex
	ops    map[string]context.CancelFunc
	closed bool
}

// wsMessage is a graphql-transport-ws message. ID is a pointer so that an absent
// id can be told from an empty one.
type wsMessage struct {
	Type    string          `json:"type"`
	ID      *string         `json:"id,omitempty"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

type wsRead struct {
	data []byte
	at   time.Time
	err  error
}

// serve runs the connection: one goroutine reads, this one decides. Handling
// every message here, in order, is what makes connection_init finish (and
// connection_ack go out) before a following subscribe is looked at.
func (c *wsConn) serve(reqCtx context.Context) {
	connCtx, cancel := context.WithCancel(reqCtx)
	defer cancel()
	if c.ws.Subprotocol() != wsProtocol {
		c.close(CloseSubprotocol, "Subprotocol not acceptable")
		return
	}

	reads := make(chan wsRead)
	go func() {
		for {
			typ, data, err := c.ws.Read(context.Background())
			if err == nil && typ != websocket.MessageText {
				data, err = nil, errBinaryMessage
			}
			select {
			case reads <- wsRead{data: data, at: graphql.Now(), err: err}:
			case <-connCtx.Done():
				return
			}
			if err != nil {
				return
			}
		}
	}()

	initTimer := time.NewTimer(cmp.Or(c.t.InitTimeout, defaultWSInitTimeout))
	defer initTimer.Stop()
	var (
		acked     bool
		initDone  bool
		opCtx     = connCtx // replaced by InitFunc's context
		keepAlive <-chan time.Time
	)
	for {
		select {
		case <-initTimer.C:
			if !initDone {
				c.close(CloseInitTimeout, "Connection initialisation timeout")
				return
			}
		case <-keepAlive:
			c.send(connCtx, wsMessage{Type: "ping"})
		case <-opCtx.Done():
			code, reason := closeGoingAway, "server shutting down"
			var ce *CloseError
			if errors.As(context.Cause(opCtx), &ce) {
				code, reason = ce.Code, ce.Reason
			}
			c.close(code, reason)
			return
		case rd := <-reads:
			if rd.err != nil {
				if errors.Is(rd.err, errBinaryMessage) {
					c.close(CloseBadRequest, "Invalid message received")
				} else {
					// The peer closed (the library has answered its close frame), went
					// away, or sent too much (the library closed with 1009).
					c.close(0, "")
				}
				return
			}
			m, ok := parseWSMessage(rd.data)
			if !ok {
				c.close(CloseBadRequest, "Invalid message received")
				return
			}
			switch m.Type {
			case "connection_init":
				if initDone {
					c.close(CloseTooManyInits, "Too many initialisation requests")
					return
				}
				initDone = true
				ctx, ack, err := c.init(connCtx, m.Payload)
				if err != nil {
					code, reason := CloseForbidden, err.Error()
					var ce *CloseError
					if errors.As(err, &ce) {
						code, reason = ce.Code, ce.Reason
					}
					c.close(code, reason)
					return
				}
				opCtx, acked = ctx, true
				c.send(connCtx, wsMessage{Type: "connection_ack", Payload: ack})
				if c.t.KeepAlive > 0 {
					ticker := time.NewTicker(c.t.KeepAlive)
					defer ticker.Stop()
					keepAlive = ticker.C
				}
			case "ping":
				c.send(connCtx, wsMessage{Type: "pong", Payload: m.Payload})
			case "pong":
				// An answer to our keep-alive ping; arriving at all is its purpose.
			case "subscribe":
				if !acked {
					c.close(CloseUnauthorized, "Unauthorized")
					return
				}
				if !c.subscribe(opCtx, *m.ID, m.Payload, rd.at) {
					c.close(CloseSubscriberExists, truncate("Subscriber for "+*m.ID+" already exists", maxCloseReason))
					return
				}
			case "complete":
				c.mu.Lock()
				stop := c.ops[*m.ID]
				delete(c.ops, *m.ID)
				c.mu.Unlock()
				if stop != nil {
					stop()
				}
			}
		}
	}
}

var errBinaryMessage = errors.New("binary message")

// parseWSMessage decodes and validates a client message the way graphql-ws does:
// a known client type, an id where one is needed, and a payload of the right
// shape. Anything else is a bad request.
func parseWSMessage(data []byte) (wsMessage, bool) {
	var m wsMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return m, false
	}
	payloadIsObjectOrNull := func() bool {
		p := bytes.TrimSpace(m.Payload)
		return len(p) == 0 || bytes.Equal(p, []byte("null")) || p[0] == '{'
	}
	validID := m.ID != nil && *m.ID != "" && len(*m.ID) <= maxOperationID
	switch m.Type {
	case "connection_init", "ping", "pong":
		return m, payloadIsObjectOrNull()
	case "complete":
		return m, validID
	case "subscribe":
		if !validID {
			return m, false
		}
		var p struct {
			Query         *string         `json:"query"`
			OperationName json.RawMessage `json:"operationName"`
			Variables     json.RawMessage `json:"variables"`
			Extensions    json.RawMessage `json:"extensions"`
		}
		if len(m.Payload) == 0 || m.Payload[0] != '{' || json.Unmarshal(m.Payload, &p) != nil || p.Query == nil {
			return m, false
		}
		for _, raw := range []json.RawMessage{p.Variables, p.Extensions} {
			if len(raw) > 0 && raw[0] != '{' && !bytes.Equal(raw, []byte("null")) {
				return m, false
			}
		}
		if len(p.OperationName) > 0 && p.OperationName[0] != '"' && !bytes.Equal(p.OperationName, []byte("null")) {
			return m, false
		}
		return m, true
	}
	return m, false
}

// init runs the InitFunc on the connection_init payload.
func (c *wsConn) init(ctx context.Context, raw json.RawMessage) (context.Context, json.RawMessage, error) {
	payload := transport.InitPayload{}
	if len(raw) > 0 && !bytes.Equal(raw, []byte("null")) {
		if err := json.Unmarshal(raw, &payload); err != nil {
			return nil, nil, &CloseError{Code: CloseBadRequest, Reason: "Invalid message received"}
		}
	}
	if c.t.InitFunc == nil {
		return ctx, nil, nil
	}
	next, ack, err := c.t.InitFunc(ctx, payload)
	if err != nil {
		return nil, nil, err
	}
	if next == nil {
		next = ctx
	}
	if ack == nil {
		return next, nil, nil
	}
	b, err := json.Marshal(*ack)
	if err != nil {
		return nil, nil, &CloseError{Code: CloseInternalError, Reason: "Internal server error"}
	}
	return next, b, nil
}

// subscribe starts operation id; it returns false if id is already running.
func (c *wsConn) subscribe(connCtx context.Context, id string, payload json.RawMessage, readAt time.Time) bool {
	c.mu.Lock()
	if _, dup := c.ops[id]; dup {
		c.mu.Unlock()
		return false
	}
	if limit := cmp.Or(c.t.MaxOperations, defaultWSMaxOps); len(c.ops) >= limit {
		c.mu.Unlock()
		c.sendErrors(connCtx, id, gqlerror.List{{
			Message:    fmt.Sprintf("this connection already runs %d operations, the most allowed at once: complete some first", limit),
			Extensions: map[string]any{"code": string(fault.RateLimited)},
		}})
		return true
	}
	ctx, cancel := context.WithCancel(connCtx)
	c.ops[id] = cancel
	c.mu.Unlock()

	go func() {
		defer cancel()
		finished := c.run(ctx, id, payload, readAt)
		c.mu.Lock()
		// Still ours (not completed by the client, the id not reused since)?
		current := c.ops[id] != nil && ctx.Err() == nil
		if current {
			delete(c.ops, id)
		}
		c.mu.Unlock()
		if current && finished {
			c.send(connCtx, wsMessage{Type: "complete", ID: &id})
		}
	}()
	return true
}

// run executes one operation, sending next messages (or one error message); it
// reports whether the operation ended normally and needs a complete message.
func (c *wsConn) run(ctx context.Context, id string, payload json.RawMessage, readAt time.Time) (finished bool) {
	ctx = graphql.StartOperationTrace(ctx)
	params := &graphql.RawParams{}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber() // as gqlgen's own transports: large Int variables stay exact
	if err := dec.Decode(params); err != nil {
		c.sendErrors(ctx, id, gqlerror.List{{Message: "invalid subscribe payload"}})
		return false
	}
	params.ReadTime = graphql.TraceTiming{Start: readAt, End: graphql.Now()}
	params.Headers = c.headers

	rc, errs := c.exec.CreateOperationContext(ctx, params)
	if errs != nil {
		// Parse, validation, complexity and depth failures: one error message, which
		// ends the operation. DispatchError runs the error presenter.
		resp := c.exec.DispatchError(graphql.WithOperationContext(ctx, rc), errs)
		c.sendErrors(ctx, id, resp.Errors)
		return false
	}
	ctx = graphql.WithOperationContext(ctx, rc)
	defer func() {
		if v := recover(); v != nil {
			err := rc.Recover(ctx, v)
			var gqlErr *gqlerror.Error
			if !errors.As(err, &gqlErr) {
				gqlErr = &gqlerror.Error{Message: "internal server error", Extensions: map[string]any{"code": "INTERNAL"}}
			}
			c.sendErrors(ctx, id, gqlerror.List{gqlErr})
			finished = false
		}
	}()
	// The context DispatchOperation returns is the one its interceptors made (the
	// guard's deadline, which ends with the operation's first response); whether the
	// client completed the operation is a question for ctx, the operation's own.
	responses, execCtx := c.exec.DispatchOperation(ctx, rc)
	for {
		resp := responses(execCtx)
		if resp == nil {
			return true
		}
		b, err := json.Marshal(resp)
		if err != nil {
			if c.t.Logger != nil {
				c.t.Logger.ErrorContext(ctx, "error encoding websocket response", "error", err)
			}
			c.sendErrors(ctx, id, gqlerror.List{{Message: "internal server error", Extensions: map[string]any{"code": "INTERNAL"}}})
			return false
		}
		if ctx.Err() != nil {
			return false // completed by the client or the connection is closing
		}
		c.send(ctx, wsMessage{Type: "next", ID: &id, Payload: b})
	}
}

func (c *wsConn) sendErrors(ctx context.Context, id string, errs gqlerror.List) {
	if len(errs) == 0 {
		errs = gqlerror.List{{Message: "internal server error", Extensions: map[string]any{"code": "INTERNAL"}}}
	}
	b, err := json.Marshal(errs)
	if err != nil {
		return
	}
	c.send(ctx, wsMessage{Type: "error", ID: &id, Payload: b})
}

// send writes one message; a failed write means the connection is going away,
// which the read loop notices.
func (c *wsConn) send(ctx context.Context, m wsMessage) {
	b, err := json.Marshal(m)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), wsWriteTimeout)
	defer cancel()
	_ = c.ws.Write(ctx, websocket.MessageText, b)
}

// close ends every operation and closes the connection with code and reason.
func (c *wsConn) close(code int, reason string) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	for id, stop := range c.ops {
		stop()
		delete(c.ops, id)
	}
	c.mu.Unlock()
	if code <= 0 {
		// The peer went away without a close frame: nothing to answer.
		_ = c.ws.CloseNow()
		return
	}
	_ = c.ws.Close(websocket.StatusCode(code), truncate(reason, maxCloseReason))
}

// truncate cuts s to at most n bytes without splitting a character.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}
