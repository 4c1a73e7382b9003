package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/teslaops/tesla/frontend"
	"github.com/teslaops/tesla/graph"
	"github.com/teslaops/tesla/internal/account"
	"github.com/teslaops/tesla/internal/agentapi"
	"github.com/teslaops/tesla/internal/anomaly"
	"github.com/teslaops/tesla/internal/aquila"
	"github.com/teslaops/tesla/internal/audit"
	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/budget"
	"github.com/teslaops/tesla/internal/clustering"
	"github.com/teslaops/tesla/internal/configuration"
	"github.com/teslaops/tesla/internal/cost"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/hardware"
	"github.com/teslaops/tesla/internal/healing"
	"github.com/teslaops/tesla/internal/health"
	"github.com/teslaops/tesla/internal/ingest"
	"github.com/teslaops/tesla/internal/ingest/yarn"
	"github.com/teslaops/tesla/internal/inventory"
	"github.com/teslaops/tesla/internal/inventory/invfile"
	"github.com/teslaops/tesla/internal/keepalive"
	"github.com/teslaops/tesla/internal/leaderboard"
	"github.com/teslaops/tesla/internal/lineage"
	"github.com/teslaops/tesla/internal/machine"
	"github.com/teslaops/tesla/internal/notify"
	"github.com/teslaops/tesla/internal/platform"
	"github.com/teslaops/tesla/internal/stack"
	"github.com/teslaops/tesla/internal/telemetry"
	"github.com/teslaops/tesla/internal/watermark"
	"github.com/teslaops/tesla/internal/workload"
	"github.com/teslaops/tesla/jobs"
)

// Cookie and header names of the web session.
const (
	SessionCookie = "tesla_session"
	CSRFCookie    = "tesla_csrf"
	CSRFHeader    = "X-CSRF-Token"
)

// Server is the HTTP side of Tesla.
type Server struct {
	cfg      Config
	pool     *pgxpool.Pool
	logger   *slog.Logger
	accounts *account.Service
	metrics  *metrics
	handler  http.Handler
	// signIns throttles POST /api/v1/session per client address; audit records
	// the throttling.
	signIns *signInLimiter
	audit   *audit.Log
	// events tells open websockets that credentials changed.
	events *notify.Listener
}

// Services are the domain services the server exposes.
type Services struct {
	Inventory *inventory.Service
	Accounts  *account.Service
	Audit     *audit.Log
	Machine   *machine.Service
	Watermark *watermark.Service
	// Jobs are the scheduled jobs; the scheduler runs them and the API reports them.
	Jobs    []jobs.Job
	Catalog *jobs.Catalog
	// Events is the replica's LISTEN connection; Run it for subscriptions to hear
	// anything.
	Events   *notify.Listener
	Platform *platform.Service
	// Workload and Lineage serve jobs, runs, datasets and lineage walks.
	Workload *workload.Service
	Lineage  *lineage.Service
	// Clustering serves the machine clustering and runs it for operators.
	Clustering *clustering.Service
	// Anomalies serves anomaly episodes.
	Anomalies *anomaly.Episodes
	// Yarn sets and lists the ResourceManagers polled.
	Yarn *yarn.Service
	// InventoryImport applies inventory files (importInventory).
	InventoryImport *invfile.Importer
	// Hardware serves faults, repair tickets, lifecycles and failure rates.
	Hardware *hardware.Service
	// Cost serves rate cards, bills and their CSV export.
	Cost *cost.Service
	// Leaderboards serves the red and black lists and standings.
	Leaderboards *leaderboard.Service
	// Operations serves Aquila operations: submit, follow, pause, resume,
	// abort, retry, roll back. It submits through an insert-only engine; the
	// replica runs tasks only when serve starts a working engine
	// (TESLA_OPERATIONS).
	Operations *aquila.Service
	// Budgets serves budgets, their forecasts and alerts.
	Budgets *budget.Service
	// Health serves the stored health scores and rankings.
	Health *health.Service
	// Stacks registers service packages and stack versions.
	Stacks *stack.Service
	// AgentTasks is the agents' task queue: the operation engine dispatches
	// and waits on it; Run it beside Events.
	AgentTasks *agentapi.Tasks
	// Config keeps clusters' configuration as code; a new version's rollout
	// is a CONFIG_APPLY submitted through Operations.
	Config *configuration.Service
	// Healing reads self-healing's attempts and sets clusters' policies;
	// KeepAlive reads keep-alive's restarts and alerts.
	Healing   *healing.Service
	KeepAlive *keepalive.Service
	// api is the GraphQL API's own pool (see GraphQLLimits); Close closes it.
	api *pgxpool.Pool
}

// NewServices builds the domain services: those the GraphQL API serves on a
// pool of its own beside pool, the rest (jobs, sign-in, events) on pool. Close
// the result when done.
func NewServices(pool *pgxpool.Pool, logger *slog.Logger, cfg Config) Services {
	api := newAPIPool(pool, cfg)
	log := audit.New(pool, logger)
	apiLog := audit.New(api, logger)
	js := jobs.Default(pool, cfg.Jobs)
	events := notify.NewListener(pool, logger, inventory.HostStateChannel, watermark.ChannelWatermark, watermark.ChannelPulse,
		auth.CredentialsChannel, anomaly.ChannelAnomaly, budget.ChannelBudgetAlert, agentapi.TaskChannel, agentapi.TaskQueuedChannel,
		aquila.ChannelOperation, keepalive.ChannelAlert)
	inv := inventory.NewService(api, apiLog)
	wm := watermark.NewService(api, events, logger)
	clus := clustering.NewService(api, apiLog, cfg.Jobs.Clustering)
	if job, err := jobs.Find(js, jobs.NameMachineClustering); err == nil {
		// An operator's run is the scheduled job's, run now: locked against the
		// scheduler's and recorded with it. It finishes even if the caller
		// leaves, as a scheduled run would.
		clus.SetRunner(func(ctx context.Context) error {
			_, err := jobs.Run(context.WithoutCancel(ctx), pool, logger, cfg.Replica, job)
			return err
		})
	}
	ops := aquila.NewService(api, submitEngine(api, logger), apiLog)
	// An operator's rollback of a SELF_HEAL gets the planner's answer (it is
	// not rolled back; the healing job returns hosts itself).
	ops.RegisterPlanner(aquila.SelfHealPlanner{})
	// A retried SELF_HEAL is a new healing attempt of each host it runs
	// again, recorded by healing in the retry's transaction.
	ops.OnRetry(aquila.KindSelfHeal, healing.RecordRetry)
	// setHostState(DECOMMISSIONED) drains, stops and retires the host through
	// a DECOMMISSION operation (docs/aquila.md, "Decommission").
	inv.SetDecommissioner(ops)
	return Services{
		Inventory:  inv,
		Accounts:   account.NewService(pool, log, cfg.SessionTTL),
		Audit:      apiLog,
		Machine:    machine.NewService(api),
		Watermark:  wm,
		Jobs:       js,
		Catalog:    jobs.NewCatalog(api, js),
		Events:     events,
		Platform:   platform.NewService(inv, wm, events, logger),
		Workload:   workload.NewService(api, apiLog, workload.Config{}).WithAnalysis(cfg.Jobs.JobAnalysis),
		Lineage:    lineage.NewService(api),
		Clustering: clus,
		Anomalies:  anomaly.NewEpisodes(api, apiLog, anomaly.EpisodeConfig{}),
		Yarn:       yarn.NewService(api),
		Hardware:   hardware.NewService(api, apiLog, logger),
		Cost:       cost.NewService(api, apiLog, cfg.Jobs.Cost),
		Budgets: budget.NewService(api, apiLog, cfg.Jobs.Cost.WithDefaults().Currency).
			WithWebhookTargets(cfg.Jobs.BudgetWebhooks.AllowPrivate, nil),
		Health:       health.NewService(api),
		Stacks:       stack.NewService(api, apiLog),
		AgentTasks:   agentapi.NewTasks(pool, events, logger, cfg.Agent.Tasks),
		Leaderboards: leaderboard.NewService(api, cfg.Jobs.LeaderboardConfig()),
		Operations:   ops,
		Config:       configuration.NewService(api, apiLog, nil).WithRollouter(aquila.ConfigRollouter{Service: ops}),
		Healing:      healing.NewService(api, apiLog, cfg.Jobs.Healing),
		KeepAlive:    keepalive.NewService(api),
		api:          api,

		InventoryImport: invfile.NewImporter(api, apiLog),
	}
}

// submitEngine is the operation engine the API submits through: it inserts
// River jobs and works none. Its configuration is static, so NewEngine cannot
// refuse it; a panic would mean a programming error.
func submitEngine(pool *pgxpool.Pool, logger *slog.Logger) *aquila.Engine {
	e, err := aquila.NewEngine(pool, nil, logger, aquila.EngineConfig{NoWork: true})
	if err != nil {
		panic(fmt.Sprintf("app: the insert-only operation engine: %v", err))
	}
	return e
}

// NewServer builds the HTTP handler. reg receives the server's metrics.
func NewServer(cfg Config, pool *pgxpool.Pool, logger *slog.Logger, svc Services, reg *prometheus.Registry) *Server {
	s := &Server{cfg: cfg, pool: pool, logger: logger, accounts: svc.Accounts, metrics: newMetrics(reg, map[string]*pgxpool.Pool{"main": pool, "api": svc.api}),
		signIns: newSignInLimiter(cfg.SignInRate, time.Now), audit: svc.Audit, events: svc.Events}
	resolver := &graph.Resolver{Inventory: svc.Inventory, Accounts: svc.Accounts, Audit: svc.Audit, Machine: svc.Machine,
		Watermark: svc.Watermark, Scheduler: svc.Catalog, PlatformService: svc.Platform, Events: svc.Events, Logger: logger,
		Workload: svc.Workload, LineageService: svc.Lineage, Clustering: svc.Clustering,
		AnomalyEpisodes: svc.Anomalies, Yarn: svc.Yarn, InventoryImport: svc.InventoryImport, Hardware: svc.Hardware, Cost: svc.Cost,
		Budgets: svc.Budgets, Health: svc.Health, Stacks: svc.Stacks,
		Operations: svc.Operations, Leaderboards: svc.Leaderboards, Config: svc.Config, Healing: svc.Healing, KeepAlive: svc.KeepAlive}
	gql := graph.NewHandler(resolver, graph.Limits{
		Complexity:           cfg.ComplexityLimit,
		Run:                  cfg.GraphQL.run(),
		Depth:                cfg.DepthLimit,
		Introspection:        cfg.Introspection,
		WebsocketOrigins:     cfg.WebsocketOrigins,
		WebsocketInit:        s.websocketInit,
		WebsocketInitTimeout: cfg.WebsocketInitTimeout,
		Observe:              s.metrics.observeOperation,
	})

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.Handle("/query", graph.RefuseOtherMethods(s.authenticate(limitBody(gql, cfg.MaxBodyBytes), auth.SurfaceGraphQL)))
	mux.Handle("POST /api/v1/metrics/hosts", s.authenticate(
		ingest.NewHTTPHandler(pool, telemetry.NewWriter(pool), logger, ingest.Config{}), auth.SurfaceIngest))
	// OpenLineage events, at the path Marquez serves; the same credentials as
	// telemetry ingestion (lineage.Authorize).
	mux.Handle("POST /api/v1/lineage", s.authenticate(
		lineage.NewHTTPHandler(lineage.NewStore(pool), logger), auth.SurfaceIngest))
	// Hardware faults from hosts' agents (their own host only), ingest tokens
	// and operators (docs/agent.md); hardware.NewHTTPHandler checks the caller.
	mux.Handle("POST /api/v1/hardware/faults", s.authenticate(hardware.NewHTTPHandler(svc.Hardware, logger), auth.SurfaceIngest))
	// Bill views as CSV, with the access rules of the bills query.
	mux.Handle("GET /api/v1/bills.csv", s.authenticate(svc.Cost.CSVHandler(logger), auth.SurfaceGraphQL))
	// The host agent protocol: registration (enrollment tokens) and heartbeats
	// (host credentials); the handler authenticates through auth.Identify itself.
	mux.Handle("/api/v1/agents/", agentapi.NewHandler(pool, logger, cfg.Agent, svc.AgentTasks))
	mux.HandleFunc("POST /api/v1/session", s.signIn)
	mux.HandleFunc("GET /api/v1/session", s.sessionInfo)
	mux.HandleFunc("DELETE /api/v1/session", s.signOut)
	mux.Handle("/api/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such API endpoint: " + r.Method + " " + r.URL.Path})
	}))
	mux.Handle("/", s.static())
	s.handler = securityHeaders(s.metrics.instrument(mux))
	return s
}

// ServeHTTP serves a request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	st, err := db.Status(ctx, s.pool)
	switch {
	case err != nil:
		s.logger.WarnContext(ctx, "readiness check failed", "error", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"ready": false, "reason": "database unreachable"})
	case st.Behind():
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"ready": false, "reason": "schema behind", "schema": st.Current, "latest": st.Latest})
	default:
		writeJSON(w, http.StatusOK, map[string]any{"ready": true, "schema": st.Current})
	}
}

// authenticate resolves the caller of a request to surface through auth.Identify,
// the one authentication every transport shares: a bearer token, else the session
// cookie (with the session's CSRF token echoed in a header on requests that can
// change anything). Refusals are 401 UNAUTHENTICATED or 403 FORBIDDEN (a token
// whose scopes do not open surface, a missing CSRF token).
//
// Websocket upgrades pass through unauthenticated, carrying their credentials:
// they authenticate at connection_init (websocketInit), with these credentials or
// those of the init payload, where the protocol answers with its close codes.
func (s *Server) authenticate(next http.Handler, surface auth.Surface) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := audit.WithRemoteAddr(r.Context(), clientAddr(r, s.cfg.TrustedProxies))
		creds := requestCredentials(r)
		if surface == auth.SurfaceGraphQL && isWebsocketUpgrade(r) {
			next.ServeHTTP(w, r.WithContext(context.WithValue(ctx, upgradeCredentialsKey{}, creds)))
			return
		}
		id, err := auth.Identify(ctx, s.pool, surface, creds)
		if err != nil {
			s.authFailed(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(auth.WithPrincipal(ctx, id.Principal)))
	})
}

// requestCredentials gathers the credentials of an HTTP request. Only requests
// that can change anything need the CSRF token: a cross-site page can make a
// browser send the cookie, but not the header.
func requestCredentials(r *http.Request) auth.Credentials {
	c := auth.Credentials{
		Authorization: r.Header.Get("Authorization"),
		CSRF:          r.Header.Get(CSRFHeader),
		CheckCSRF:     r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodOptions,
	}
	if ck, err := r.Cookie(SessionCookie); err == nil {
		c.Session = ck.Value
	}
	return c
}

// upgradeCredentialsKey carries a websocket upgrade's credentials to websocketInit.
type upgradeCredentialsKey struct{}

func (s *Server) authFailed(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case fault.Is(err, fault.Unauthenticated):
		unauthenticated(w, err.Error())
	case fault.Is(err, fault.Forbidden):
		writeGraphQLError(w, http.StatusForbidden, string(fault.Forbidden), err.Error())
	default:
		if msg, ok := db.Unavailable(err); ok {
			// Credentials cannot be checked while the database is away: a client
			// should retry, not conclude the server is broken.
			s.logger.WarnContext(r.Context(), "authentication unavailable", "error", err)
			w.Header().Set("Retry-After", "5")
			writeGraphQLError(w, http.StatusServiceUnavailable, "UNAVAILABLE", msg+"; retry shortly")
			return
		}
		s.logger.ErrorContext(r.Context(), "authentication error", "error", err)
		writeGraphQLError(w, http.StatusInternalServerError, "INTERNAL", "internal server error")
	}
}

// websocketInit authenticates a websocket at connection_init through
// auth.Identify, like any request: the upgrade's Authorization header, else the
// payload's {"Authorization": "Bearer …"} or {"authToken": "…"}, else the session
// cookie. The upgrade needs no CSRF token: the transport's origin check already
// refuses cross-site pages. Refused credentials close the connection with 4403.
//
// The connection then lives as long as its credential: it closes with 4403 when
// the credential expires, and when a change to its person's credentials (a token
// revoked, a sign-out, a deactivation or a role change, announced on
// auth.CredentialsChannel, and every credentialRecheck in any case) leaves it
// refused or with another role. The connection_ack carries no payload, so no
// secret is echoed back.
func (s *Server) websocketInit(ctx context.Context, payload transport.InitPayload) (context.Context, *transport.InitPayload, error) {
	creds, _ := ctx.Value(upgradeCredentialsKey{}).(auth.Credentials)
	creds.CheckCSRF = false
	if creds.Authorization == "" {
		creds.Authorization = payload.Authorization()
	}
	creds.Token = payload.GetString("authToken")

	ctx, cancel := context.WithCancelCause(ctx)
	// Listen before authenticating, so a revocation cannot slip in between.
	changes := s.events.Subscribe(ctx, auth.CredentialsChannel)
	id, err := auth.Identify(ctx, s.pool, auth.SurfaceGraphQL, creds)
	if err != nil {
		cancel(nil)
		if fault.Is(err, fault.Unauthenticated) || fault.Is(err, fault.Forbidden) {
			return ctx, nil, &graph.CloseError{Code: graph.CloseForbidden, Reason: err.Error()}
		}
		s.logger.ErrorContext(ctx, "websocket authentication error", "error", err)
		return ctx, nil, &graph.CloseError{Code: graph.CloseInternalError, Reason: "Internal server error"}
	}
	go s.watchCredential(ctx, cancel, creds, id.Principal, changes)
	return auth.WithPrincipal(ctx, id.Principal), nil, nil
}

// credentialRecheck bounds how long a websocket outlives a credential change that
// was never announced: one made by hand in SQL. (One notified while this replica's
// LISTEN connection was down is caught by the resync that follows the
// reconnection.)
const credentialRecheck = 5 * time.Minute

// watchCredential ends a websocket's context (and so the connection) when its
// credential expires or stops being what it was.
func (s *Server) watchCredential(ctx context.Context, cancel context.CancelCauseFunc, creds auth.Credentials, p *auth.Principal, changes <-chan notify.Event) {
	var expired <-chan time.Time
	if p.ExpiresAt != nil {
		t := time.NewTimer(time.Until(*p.ExpiresAt))
		defer t.Stop()
		expired = t.C
	}
	recheck := time.NewTicker(credentialRecheck)
	defer recheck.Stop()
	person := strconv.FormatInt(p.PersonID, 10)
	// holds re-authenticates; false means the connection has been ended.
	holds := func() bool {
		now, err := auth.Identify(ctx, s.pool, auth.SurfaceGraphQL, creds)
		switch {
		case err == nil && now.Principal.Role == p.Role && now.Principal.BUID == p.BUID &&
			slices.Equal(now.Principal.BUSubtree, p.BUSubtree):
			// Same role and the same BU subtree: what the connection may read is unchanged.
			return true
		case err == nil || fault.Is(err, fault.Unauthenticated) || fault.Is(err, fault.Forbidden):
			cancel(&graph.CloseError{Code: graph.CloseForbidden, Reason: "credential revoked or changed"})
		case ctx.Err() == nil:
			// Unsure whether the credential still holds: close, and let the client
			// reconnect and authenticate afresh.
			s.logger.ErrorContext(ctx, "websocket credential re-check failed", "error", err)
			cancel(&graph.CloseError{Code: graph.CloseInternalError, Reason: "Internal server error"})
		}
		return false
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-expired:
			cancel(&graph.CloseError{Code: graph.CloseForbidden, Reason: "credential expired"})
			return
		case <-recheck.C:
			if !holds() {
				return
			}
		case ev, ok := <-changes:
			if !ok {
				return
			}
			// A resync may hide a change to anyone's credentials, this person's too.
			if (ev.Resync || ev.Payload == person) && !holds() {
				return
			}
		}
	}
}

func isWebsocketUpgrade(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

type sessionBody struct {
	Person struct {
		Login string `json:"login"`
		Name  string `json:"name"`
		Role  string `json:"role"`
	} `json:"person"`
	CSRFToken string `json:"csrfToken"`
}

func newSessionBody(p *auth.Principal, csrf string) sessionBody {
	var b sessionBody
	b.Person.Login, b.Person.Name, b.Person.Role = p.Login, p.Name, string(p.Role)
	b.CSRFToken = csrf
	return b
}

// signIn exchanges an API token for a session cookie. Attempts are throttled per
// client address, so tokens cannot be guessed at speed; the throttling is audited
// once per window, so a flood does not become a flood of audit rows.
func (s *Server) signIn(w http.ResponseWriter, r *http.Request) {
	client := clientAddr(r, s.cfg.TrustedProxies)
	ctx := audit.WithRemoteAddr(r.Context(), client)
	if ok, wait, report := s.signIns.allow(client); !ok {
		secs := retryAfterSeconds(wait)
		if report {
			input := map[string]any{"method": "token", "limitPerMinute": s.cfg.SignInRate}
			_ = s.audit.Do(ctx, "signIn.throttled", "", input, func(pgx.Tx) error {
				return fault.Forbiddenf("too many sign-in attempts from %s: further attempts are refused for a while", client)
			})
		}
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		writeJSON(w, http.StatusTooManyRequests, map[string]string{
			"error": "too many sign-in attempts; retry in " + strconv.Itoa(secs) + "s"})
		return
	}
	var body struct {
		Token string `json:"token"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
	if err := dec.Decode(&body); err != nil || body.Token == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": `send JSON {"token": "tsl_…"}`})
		return
	}
	p, sess, err := s.accounts.SignIn(ctx, strings.TrimSpace(body.Token))
	if err != nil {
		switch {
		case fault.Is(err, fault.Unauthenticated):
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": err.Error()})
			return
		case fault.Is(err, fault.Forbidden):
			// A genuine token limited to another surface (ingestion).
			writeJSON(w, http.StatusForbidden, map[string]string{"error": err.Error()})
			return
		}
		s.logger.ErrorContext(ctx, "sign-in failed", "error", err)
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "internal server error"})
		return
	}
	// The session cookie is HttpOnly (scripts cannot read it) and SameSite=Lax (other
	// sites cannot send it with a POST); the CSRF cookie is readable so the app can
	// echo it in a header, which a cross-site form cannot do.
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: sess.ID, Path: "/", Expires: sess.ExpiresAt,
		HttpOnly: true, Secure: s.cfg.CookieSecure, SameSite: http.SameSiteLaxMode})
	http.SetCookie(w, &http.Cookie{Name: CSRFCookie, Value: sess.CSRF, Path: "/", Expires: sess.ExpiresAt,
		Secure: s.cfg.CookieSecure, SameSite: http.SameSiteStrictMode})
	writeJSON(w, http.StatusOK, newSessionBody(p, sess.CSRF))
}

// sessionInfo reports the signed-in person of the session cookie (only the
// cookie: this is the web app asking whether its session still holds).
func (s *Server) sessionInfo(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "not signed in"})
		return
	}
	id, err := auth.Identify(r.Context(), s.pool, auth.SurfaceGraphQL, auth.Credentials{Session: c.Value})
	if err != nil {
		if !fault.Is(err, fault.Unauthenticated) {
			s.logger.ErrorContext(r.Context(), "session check failed", "error", err)
		}
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "not signed in"})
		return
	}
	writeJSON(w, http.StatusOK, newSessionBody(id.Principal, id.CSRF))
}

// signOut ends the session of the cookie (which must come with its CSRF token)
// and clears the cookies; the session's open websockets close.
func (s *Server) signOut(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	ctx := audit.WithRemoteAddr(r.Context(), clientAddr(r, s.cfg.TrustedProxies))
	id, err := auth.Identify(ctx, s.pool, auth.SurfaceGraphQL,
		auth.Credentials{Session: c.Value, CSRF: r.Header.Get(CSRFHeader), CheckCSRF: true})
	switch {
	case fault.Is(err, fault.Forbidden):
		writeJSON(w, http.StatusForbidden, map[string]string{"error": "missing or wrong " + CSRFHeader + " header"})
		return
	case err == nil:
		if err := s.accounts.SignOut(auth.WithPrincipal(ctx, id.Principal), c.Value); err != nil {
			s.logger.ErrorContext(ctx, "sign-out failed", "error", err)
		}
	case !fault.Is(err, fault.Unauthenticated):
		s.logger.ErrorContext(ctx, "sign-out failed", "error", err)
	}
	for _, name := range []string{SessionCookie, CSRFCookie} {
		http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1})
	}
	w.WriteHeader(http.StatusNoContent)
}

// static serves the embedded web app: real files as they are, /graphiql as
// graphiql.html, and index.html for every other path so client-side routes survive
// a reload.
func (s *Server) static() http.Handler {
	dist, err := fs.Sub(frontend.Dist, "dist")
	if err != nil {
		panic(err) // the embed directive guarantees the directory
	}
	files := http.FileServerFS(dist)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		name := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
		if name == "graphiql" {
			name = "graphiql.html"
		}
		if name != "" && name != "index.html" {
			if st, err := fs.Stat(dist, name); err == nil && !st.IsDir() {
				if strings.HasPrefix(name, "assets/") {
					// Vite fingerprints asset names, so they never change.
					w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
				}
				if strings.HasSuffix(name, ".html") {
					w.Header().Set("Content-Security-Policy", pageCSP)
				}
				r2 := r.Clone(r.Context())
				r2.URL.Path = "/" + name
				files.ServeHTTP(w, r2)
				return
			}
			if path.Ext(name) != "" && !strings.HasSuffix(name, ".html") {
				http.NotFound(w, r)
				return
			}
		}
		index, err := fs.ReadFile(dist, "index.html")
		if err != nil {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(notBuiltPage))
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("Content-Security-Policy", pageCSP)
		_, _ = w.Write(index)
	})
}

const notBuiltPage = `<!doctype html><title>Tesla</title><body>
<h1>Tesla</h1><p>The web app has not been built into this binary. Run <code>make run</code>
(or <code>make frontend</code> then rebuild). The GraphQL API is at <code>/query</code>.</p>`

// limitBody answers 413 at once for a declared body over max, and caps bodies of
// unknown length so a client cannot stream an unbounded request.
func limitBody(next http.Handler, max int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > max {
			writeGraphQLError(w, http.StatusRequestEntityTooLarge, string(fault.Invalid),
				"request body too large: the limit is "+strconv.FormatInt(max, 10)+" bytes")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, max)
		next.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeGraphQLError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, map[string]any{"errors": []map[string]any{{"message": msg, "extensions": map[string]string{"code": code}}}})
}

func unauthenticated(w http.ResponseWriter, msg string) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="tesla"`)
	writeGraphQLError(w, http.StatusUnauthorized, "UNAUTHENTICATED", msg)
}
