// Package agentapi is the server side of the host agent protocol (`tesla
// agent`): registration with an enrollment token, and heartbeats with the host
// credential registration hands out. The agent's samples go to the ingestion
// endpoint (internal/ingest), which checks the host credential's lines.
//
// # POST /api/v1/agents/register (enrollment token)
//
// The body is inventory.AgentFacts as JSON. The machine lands on the host with
// the same serial (when given), else the same hostname, in the token's cluster,
// or on a new host; it is never duplicated. The response carries the host, a new
// host credential (the host's previous one is revoked), the intervals and the
// components the host runs with how to check each (inventory.ComponentChecks).
// 401: a wrong, expired or revoked token. 403: a credential that is not an
// enrollment token, or a host of another cluster (named). 400: a bad field,
// named in "field".
//
// # POST /api/v1/agents/heartbeat (host credential)
//
// {"ts", "agent_version", "components": [{"service", "component", "state",
// "detail"}], "spool": {...}}: the host's last heartbeat moves to the server's
// clock (ts is the agent's, for the log; the server's own clock decides
// silence), an OFFLINE host comes back ONLINE, and the listed components take
// their reported actual state. The response repeats the intervals and the
// component list, so an agent follows inventory changes without registering
// again. 401: the credential is gone (host retired or registered again).
//
// # GET /api/v1/agents/tasks and POST /api/v1/agents/tasks/{id}/report (host credential)
//
// The agents' task queue (Tasks, table agent_task): an agent long-polls its
// host's queued tasks, which are claimed for it, and reports each task's
// steps and end. The operation engine calls Tasks.Dispatch and Tasks.Wait.
// docs/agent.md, "Tasks", has the protocol.
//
// Every error is {"error": "...", "field": "..."} with the field when one is at
// fault.
package agentapi

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/teslaops/tesla/internal/audit"
	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/inventory"
)

// Config are the intervals agents are told to keep.
type Config struct {
	// HeartbeatInterval is how often an agent beats (default 15s).
	HeartbeatInterval time.Duration
	// SampleInterval is the time step of an agent's samples (default 60s).
	SampleInterval time.Duration
	// Tasks tunes the task queue (leases, long polls).
	Tasks TasksConfig
}

func (c Config) withDefaults() Config {
	c.HeartbeatInterval = cmp.Or(c.HeartbeatInterval, 15*time.Second)
	c.SampleInterval = cmp.Or(c.SampleInterval, time.Minute)
	return c
}

// maxBody bounds a request body: facts and component lists are small.
const maxBody = 1 << 20

// Handler serves the agent endpoints.
type Handler struct {
	pool *pgxpool.Pool
	// tx begins the registrations' and heartbeats' transactions (asyncPool).
	tx     db.DBTX
	audit  *audit.Log
	logger *slog.Logger
	cfg    Config
	mux    *http.ServeMux
	// tasks is the task queue agents poll and report to.
	tasks *Tasks
}

// NewHandler returns the handler of POST /api/v1/agents/register, POST
// /api/v1/agents/heartbeat, GET /api/v1/agents/tasks and POST
// /api/v1/agents/tasks/{id}/report. It authenticates each request itself,
// through auth.Identify, from the Authorization header only: agents have no
// sessions. tasks is the replica's task queue (nil: one of its own, which
// polls the database instead of hearing notifications).
func NewHandler(pool *pgxpool.Pool, logger *slog.Logger, cfg Config, tasks *Tasks) *Handler {
	if tasks == nil {
		tasks = NewTasks(pool, nil, logger, cfg.Tasks)
	}
	h := &Handler{pool: pool, tx: asyncPool{pool}, audit: audit.New(asyncPool{pool}, logger), logger: logger, cfg: cfg.withDefaults(),
		mux: http.NewServeMux(), tasks: tasks}
	h.mux.HandleFunc("POST /api/v1/agents/register", h.register)
	h.mux.HandleFunc("POST /api/v1/agents/heartbeat", h.heartbeat)
	h.mux.HandleFunc("GET /api/v1/agents/tasks", h.pollTasks)
	h.mux.HandleFunc("POST /api/v1/agents/tasks/{id}/report", h.reportTask)
	h.mux.HandleFunc("/api/v1/agents/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/agents/register" || r.URL.Path == "/api/v1/agents/heartbeat" {
			w.Header().Set("Allow", http.MethodPost)
			writeError(w, http.StatusMethodNotAllowed, "use POST", "")
			return
		}
		if r.URL.Path == "/api/v1/agents/tasks" {
			w.Header().Set("Allow", http.MethodGet)
			writeError(w, http.StatusMethodNotAllowed, "use GET", "")
			return
		}
		writeError(w, http.StatusNotFound, "no such agent endpoint: "+r.Method+" "+r.URL.Path, "")
	})
	return h
}

// ServeHTTP routes a request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// ComponentSpec is a component the agent checks.
type ComponentSpec = inventory.ComponentCheck

// RegisterResponse is the 200 body of register.
type RegisterResponse struct {
	HostID                   int64           `json:"host_id"`
	Hostname                 string          `json:"hostname"`
	Cluster                  string          `json:"cluster"`
	Credential               string          `json:"credential"`
	SampleIntervalSeconds    int             `json:"sample_interval_seconds"`
	HeartbeatIntervalSeconds int             `json:"heartbeat_interval_seconds"`
	Components               []ComponentSpec `json:"components"`
}

// HeartbeatRequest is the body of heartbeat.
type HeartbeatRequest struct {
	TS           string                      `json:"ts"`
	AgentVersion string                      `json:"agent_version"`
	Components   []inventory.ComponentReport `json:"components"`
	Spool        *Spool                      `json:"spool"`
}

// Spool is the agent's report on its on-disk queue, logged when it drops.
type Spool struct {
	QueuedBytes    int64 `json:"queued_bytes"`
	QueuedBatches  int64 `json:"queued_batches"`
	DroppedBatches int64 `json:"dropped_batches"`
}

// HeartbeatResponse is the 200 body of heartbeat.
type HeartbeatResponse struct {
	HeartbeatIntervalSeconds int             `json:"heartbeat_interval_seconds"`
	SampleIntervalSeconds    int             `json:"sample_interval_seconds"`
	Components               []ComponentSpec `json:"components"`
}

// identify authenticates the request for surface, writing the refusal itself.
func (h *Handler) identify(w http.ResponseWriter, r *http.Request, surface auth.Surface) (*auth.Principal, bool) {
	id, err := auth.Identify(r.Context(), h.pool, surface, auth.Credentials{Authorization: r.Header.Get("Authorization")})
	if err != nil {
		h.fail(w, r, err)
		return nil, false
	}
	return id.Principal, true
}

func (h *Handler) register(w http.ResponseWriter, r *http.Request) {
	ctx := audit.WithRemoteAddr(r.Context(), r.RemoteAddr)
	p, ok := h.identify(w, r, auth.SurfaceEnroll)
	if !ok {
		return
	}
	if !p.HasScope(auth.ScopeEnroll) || p.EnrollClusterID == 0 {
		h.fail(w, r, fault.Forbiddenf("registering a host needs an enrollment token (tesla token create --scope enroll --cluster NAME)"))
		return
	}
	if !p.Is(auth.Operator) {
		// A token never acts above its person's role today: an enrollment
		// token whose owner is no longer an operator enrols nothing.
		h.fail(w, r, fault.Forbiddenf("this enrollment token's owner %s is no longer an operator or admin; create a new token", p.Login))
		return
	}
	ctx = auth.WithPrincipal(ctx, p)
	var f inventory.AgentFacts
	if err := decode(w, r, &f); err != nil {
		h.fail(w, r, err)
		return
	}
	if err := f.Validate(); err != nil {
		h.fail(w, r, err)
		return
	}
	var (
		host   inventory.AgentHost
		secret string
		comps  []ComponentSpec
	)
	input := struct {
		inventory.AgentFacts
		HostID  int64 `json:"host_id,omitempty"`
		Created bool  `json:"created"`
	}{AgentFacts: f}
	err := h.audit.Do(ctx, "agent.register", "host:"+f.Hostname, &input, func(tx pgx.Tx) error {
		var err error
		host, err = inventory.RegisterAgentHost(ctx, tx, p.EnrollClusterID, f, time.Now())
		if err != nil {
			return err
		}
		input.HostID, input.Created = host.ID, host.Created
		secret, err = auth.IssueHostCredential(ctx, tx, host.ID, p.TokenID)
		return err
	})
	switch {
	case err == nil && host.Created:
		comps = []ComponentSpec{} // a new host runs nothing yet
	case err == nil:
		// Read after the commit: the registration holds its cluster's host
		// counters (cluster_host_stats) locked until then, so the less it does
		// before, the more registrations a cluster takes at once.
		comps, err = inventory.ComponentChecks(ctx, h.pool, host.ID)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.logger.InfoContext(ctx, "agent registered", "host", host.Hostname, "host_id", host.ID, "cluster", host.ClusterName,
		"created", host.Created, "agent_version", f.AgentVersion, "token", p.TokenID)
	writeJSON(w, http.StatusOK, RegisterResponse{
		HostID: host.ID, Hostname: host.Hostname, Cluster: host.ClusterName, Credential: secret,
		SampleIntervalSeconds: int(h.cfg.SampleInterval / time.Second), HeartbeatIntervalSeconds: int(h.cfg.HeartbeatInterval / time.Second),
		Components: comps,
	})
}

func (h *Handler) heartbeat(w http.ResponseWriter, r *http.Request) {
	p, ok := h.identify(w, r, auth.SurfaceAgent)
	if !ok {
		return
	}
	if p.HostID == 0 {
		h.fail(w, r, fault.Forbiddenf("heartbeats need a host credential, which POST /api/v1/agents/register issues"))
		return
	}
	ctx := auth.WithPrincipal(r.Context(), p)
	var req HeartbeatRequest
	if err := decode(w, r, &req); err != nil {
		h.fail(w, r, err)
		return
	}
	if err := req.validate(); err != nil {
		h.fail(w, r, err)
		return
	}
	var comps []ComponentSpec
	err := db.InTx(ctx, h.tx, func(tx pgx.Tx) error {
		var err error
		comps, err = inventory.AgentBeat(ctx, tx, p.HostID, time.Now(), req.AgentVersion, req.Components)
		return err
	})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if req.Spool != nil && req.Spool.DroppedBatches > 0 {
		h.logger.WarnContext(ctx, "agent spool dropped batches", "host", p.Name, "dropped_batches", req.Spool.DroppedBatches,
			"queued_batches", req.Spool.QueuedBatches, "queued_bytes", req.Spool.QueuedBytes)
	}
	writeJSON(w, http.StatusOK, HeartbeatResponse{
		HeartbeatIntervalSeconds: int(h.cfg.HeartbeatInterval / time.Second),
		SampleIntervalSeconds:    int(h.cfg.SampleInterval / time.Second), Components: comps,
	})
}

// asyncPool is the pool whose transactions commit without waiting for their
// WAL flush (synchronous_commit off, set in the same round trip as BEGIN). A
// crash of the database may then lose the last fraction of a second of
// registrations and heartbeats, never corrupt anything: a lost heartbeat is
// replaced by the next one, and an agent whose credential was lost gets 401 and
// registers again. Waiting for the flush would cap registrations and heartbeats
// at what the disk syncs per second, with each registration holding its
// cluster's host counters locked through its flush.
type asyncPool struct{ *pgxpool.Pool }

// Begin starts an asynchronously committing transaction.
func (p asyncPool) Begin(ctx context.Context) (pgx.Tx, error) {
	return p.BeginTx(ctx, pgx.TxOptions{BeginQuery: "BEGIN; SET LOCAL synchronous_commit = off"})
}

// validate checks a heartbeat, naming the field at fault.
func (req *HeartbeatRequest) validate() error {
	if req.TS != "" {
		if _, err := time.Parse(time.RFC3339Nano, req.TS); err != nil {
			return fault.Field("ts", "ts %q is not an RFC 3339 time", req.TS)
		}
	}
	if len(req.AgentVersion) > 64 {
		return fault.Field("agent_version", "agent_version is limited to 64 characters")
	}
	if len(req.Components) > 1000 {
		return fault.Field("components", "at most 1000 components, got %d", len(req.Components))
	}
	for i, c := range req.Components {
		field := fmt.Sprintf("components[%d]", i)
		switch {
		case c.Service == "":
			return fault.Field(field+".service", "service is required")
		case c.Component == "":
			return fault.Field(field+".component", "component is required")
		case !slices.Contains(inventory.ReportedStates, c.State):
			return fault.Field(field+".state", "state %q: use %s", c.State, strings.Join(inventory.ReportedStates, ", "))
		}
	}
	return nil
}

// decode reads a JSON body into v, refusing unknown fields' absence of a body
// and trailing data; errors are Invalid with the field when it is known.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &te) && te.Field != "":
			return fault.Field(te.Field, "%s must be a JSON %s, not %s", te.Field, te.Type.Kind(), te.Value)
		case errors.As(err, &mbe):
			return fault.New(fault.Invalid, "the body is over %d bytes", maxBody)
		case errors.Is(err, io.EOF):
			return fault.New(fault.Invalid, "the body is empty: send a JSON object")
		default:
			return fault.New(fault.Invalid, "the body is not valid JSON: %v", err)
		}
	}
	if dec.More() {
		return fault.New(fault.Invalid, "the body holds more than one JSON value")
	}
	return nil
}

// fail writes err as the protocol's error body with its status.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	fe, ok := fault.As(err)
	if !ok {
		if msg, unavailable := db.Unavailable(err); unavailable {
			w.Header().Set("Retry-After", "30")
			writeError(w, http.StatusServiceUnavailable, msg+"; retry later", "")
			return
		}
		if errors.Is(err, context.Canceled) {
			return
		}
		h.logger.ErrorContext(r.Context(), "agent request failed", "path", r.URL.Path, "error", err)
		writeError(w, http.StatusInternalServerError, "internal server error", "")
		return
	}
	status := http.StatusBadRequest
	switch fe.Kind {
	case fault.Unauthenticated:
		status = http.StatusUnauthorized
		w.Header().Set("WWW-Authenticate", `Bearer realm="tesla"`)
	case fault.Forbidden:
		status = http.StatusForbidden
	case fault.NotFound:
		status = http.StatusNotFound
	case fault.Conflict:
		status = http.StatusConflict
	}
	writeError(w, status, fe.Message, fe.Field)
}

// ErrorBody is every error response of the agent endpoints.
type ErrorBody struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

func writeError(w http.ResponseWriter, status int, msg, field string) {
	writeJSON(w, status, ErrorBody{Error: msg, Field: field})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
