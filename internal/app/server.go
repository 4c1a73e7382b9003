package app

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/teslaops/tesla/frontend"
	"github.com/teslaops/tesla/graph"
	"github.com/teslaops/tesla/internal/account"
	"github.com/teslaops/tesla/internal/audit"
	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/ingest"
	"github.com/teslaops/tesla/internal/inventory"
	"github.com/teslaops/tesla/internal/machine"
	"github.com/teslaops/tesla/internal/telemetry"
	"github.com/teslaops/tesla/internal/watermark"
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
	Events  *graph.Events
}

// NewServices builds the domain services on pool.
func NewServices(pool *pgxpool.Pool, logger *slog.Logger, cfg Config) Services {
	log := audit.New(pool, logger)
	js := jobs.Default(pool, cfg.Jobs)
	return Services{
		Inventory: inventory.NewService(pool, log),
		Accounts:  account.NewService(pool, log, cfg.SessionTTL),
		Audit:     log,
		Machine:   machine.NewService(pool),
		Watermark: watermark.NewService(pool),
		Jobs:      js,
		Catalog:   jobs.NewCatalog(pool, js),
		Events:    graph.NewEvents(pool, logger, inventory.HostStateChannel, watermark.ChannelWatermark, watermark.ChannelPulse),
	}
}

// NewServer builds the HTTP handler. reg receives the server's metrics.
func NewServer(cfg Config, pool *pgxpool.Pool, logger *slog.Logger, svc Services, reg *prometheus.Registry) *Server {
	s := &Server{cfg: cfg, pool: pool, logger: logger, accounts: svc.Accounts, metrics: newMetrics(reg, pool)}
	resolver := &graph.Resolver{Inventory: svc.Inventory, Accounts: svc.Accounts, Audit: svc.Audit, Machine: svc.Machine,
		Watermark: svc.Watermark, Scheduler: svc.Catalog, Events: svc.Events, Logger: logger}
	gql := graph.NewHandler(resolver, graph.Limits{
		Complexity:       cfg.ComplexityLimit,
		Depth:            cfg.DepthLimit,
		Introspection:    cfg.Introspection,
		WebsocketOrigins: cfg.WebsocketOrigins,
		WebsocketInit:    s.websocketInit,
		Observe:          s.metrics.observeOperation,
	})

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	mux.Handle("/query", s.authenticate(limitBody(gql, cfg.MaxBodyBytes), false))
	mux.Handle("POST /api/v1/metrics/hosts", s.authenticate(
		ingest.NewHTTPHandler(pool, telemetry.NewWriter(pool), logger, ingest.Config{}), true))
	mux.HandleFunc("POST /api/v1/session", s.signIn)
	mux.HandleFunc("GET /api/v1/session", s.sessionInfo)
	mux.HandleFunc("DELETE /api/v1/session", s.signOut)
	mux.Handle("/api/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such API endpoint: " + r.Method + " " + r.URL.Path})
	}))
	mux.Handle("/", s.static())
	s.handler = s.metrics.instrument(mux)
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

// authenticate resolves the caller from a bearer token or a session cookie.
// Without credentials the answer is 401, except for websocket upgrades, which may
// authenticate in their connection_init payload instead. A cookie-authenticated
// request that can change anything must carry the session's CSRF token in a
// header. allowScoped admits tokens limited to scopes (e.g. ingest-only tokens on
// the ingestion endpoint); the GraphQL API refuses them.
func (s *Server) authenticate(next http.Handler, allowScoped bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := audit.WithRemoteAddr(r.Context(), r.RemoteAddr)
		if h := r.Header.Get("Authorization"); h != "" {
			secret, ok := strings.CutPrefix(h, "Bearer ")
			if !ok {
				unauthenticated(w, "the Authorization header must be 'Bearer <token>'")
				return
			}
			p, err := auth.Authenticate(ctx, s.pool, strings.TrimSpace(secret))
			if err != nil {
				s.authFailed(w, r, err)
				return
			}
			if p.Restricted() && !allowScoped {
				writeGraphQLError(w, http.StatusForbidden, "FORBIDDEN", "this token is limited to "+strings.Join(p.Scopes, ", ")+" and cannot use the GraphQL API")
				return
			}
			next.ServeHTTP(w, r.WithContext(auth.WithPrincipal(ctx, p)))
			return
		}
		if c, err := r.Cookie(SessionCookie); err == nil {
			p, csrf, err := auth.AuthenticateSession(ctx, s.pool, c.Value)
			if err != nil {
				s.authFailed(w, r, err)
				return
			}
			if r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodOptions &&
				r.Header.Get(CSRFHeader) != csrf {
				writeGraphQLError(w, http.StatusForbidden, "FORBIDDEN", "missing or wrong "+CSRFHeader+" header: cookie-authenticated requests must echo the session's CSRF token")
				return
			}
			next.ServeHTTP(w, r.WithContext(auth.WithPrincipal(ctx, p)))
			return
		}
		if isWebsocketUpgrade(r) {
			next.ServeHTTP(w, r.WithContext(ctx))
			return
		}
		unauthenticated(w, "authentication required: send 'Authorization: Bearer <token>' or sign in")
	})
}

func (s *Server) authFailed(w http.ResponseWriter, r *http.Request, err error) {
	if fault.Is(err, fault.Unauthenticated) {
		unauthenticated(w, err.Error())
		return
	}
	s.logger.ErrorContext(r.Context(), "authentication error", "error", err)
	writeGraphQLError(w, http.StatusInternalServerError, "INTERNAL", "internal server error")
}

// websocketInit accepts a connection authenticated by its HTTP request (cookie or
// header) or by a token in the connection_init payload
// ({"Authorization": "Bearer …"} or {"authToken": "…"}).
func (s *Server) websocketInit(ctx context.Context, payload transport.InitPayload) (context.Context, *transport.InitPayload, error) {
	if _, ok := auth.FromContext(ctx); ok {
		return ctx, &payload, nil
	}
	secret, _ := strings.CutPrefix(payload.Authorization(), "Bearer ")
	if secret == "" {
		secret = payload.GetString("authToken")
	}
	if secret == "" {
		return ctx, nil, errors.New("authentication required: pass a token in the connection_init payload")
	}
	p, err := auth.Authenticate(ctx, s.pool, secret)
	if err != nil {
		return ctx, nil, errors.New("invalid, expired or revoked credential")
	}
	return auth.WithPrincipal(ctx, p), &payload, nil
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

// signIn exchanges an API token for a session cookie.
func (s *Server) signIn(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Token string `json:"token"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
	if err := dec.Decode(&body); err != nil || body.Token == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": `send JSON {"token": "tsl_…"}`})
		return
	}
	ctx := audit.WithRemoteAddr(r.Context(), r.RemoteAddr)
	p, sess, err := s.accounts.SignIn(ctx, strings.TrimSpace(body.Token))
	if err != nil {
		if fault.Is(err, fault.Unauthenticated) {
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": err.Error()})
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

func (s *Server) sessionInfo(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "not signed in"})
		return
	}
	p, csrf, err := auth.AuthenticateSession(r.Context(), s.pool, c.Value)
	if err != nil {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "not signed in"})
		return
	}
	writeJSON(w, http.StatusOK, newSessionBody(p, csrf))
}

func (s *Server) signOut(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	ctx := audit.WithRemoteAddr(r.Context(), r.RemoteAddr)
	p, csrf, err := auth.AuthenticateSession(ctx, s.pool, c.Value)
	if err == nil {
		if r.Header.Get(CSRFHeader) != csrf {
			writeJSON(w, http.StatusForbidden, map[string]string{"error": "missing or wrong " + CSRFHeader + " header"})
			return
		}
		if err := s.accounts.SignOut(auth.WithPrincipal(ctx, p), c.Value); err != nil {
			s.logger.ErrorContext(ctx, "sign-out failed", "error", err)
		}
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
		_, _ = w.Write(index)
	})
}

const notBuiltPage = `<!doctype html><title>Tesla</title><body style="font-family:sans-serif">
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
