package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/fixture"
)

// testEnv is a real Tesla HTTP server on a private database with the standard
// fixture fleet.
type testEnv struct {
	srv     *httptest.Server
	db      *dbtest.Database
	fleet   *fixture.Fleet
	counter *db.QueryCounter
	events  context.CancelFunc
}

func newEnv(t *testing.T, tweak ...func(*Config)) *testEnv {
	t.Helper()
	counter := &db.QueryCounter{}
	d := dbtest.NewDatabase(t, db.Options{Tracer: counter})
	cfg, err := LoadConfig(func(string) string { return "" })
	require.NoError(t, err)
	cfg.CookieSecure = false
	for _, f := range tweak {
		f(&cfg)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := NewServices(d.Pool, logger, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	go svc.Events.Run(ctx)
	srv := httptest.NewServer(NewServer(cfg, d.Pool, logger, svc, prometheus.NewRegistry()))
	t.Cleanup(func() { srv.Close(); cancel(); svc.Close() })
	return &testEnv{srv: srv, db: d, fleet: fixture.New(t, d.Pool), counter: counter, events: cancel}
}

type gqlError struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

type gqlResponse struct {
	Status     int
	Data       map[string]any `json:"data"`
	Errors     []gqlError     `json:"errors"`
	Extensions map[string]any `json:"extensions"`
	Raw        string
}

func (r gqlResponse) code() string {
	if len(r.Errors) == 0 {
		return ""
	}
	c, _ := r.Errors[0].Extensions["code"].(string)
	return c
}

// gql posts a query with a bearer token (empty: none).
func (e *testEnv) gql(t *testing.T, token, query string, vars map[string]any) gqlResponse {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/query", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return e.do(t, req)
}

func (e *testEnv) do(t *testing.T, req *http.Request) gqlResponse {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := gqlResponse{Status: resp.StatusCode, Raw: string(raw)}
	if strings.Contains(resp.Header.Get("Content-Type"), "json") {
		require.NoError(t, json.Unmarshal(raw, &out), "body: %s", raw)
	}
	return out
}

// as returns the token of a fixture login.
func (e *testEnv) as(login string) string { return e.fleet.Tokens[login] }

// dig walks a decoded JSON value by keys and indexes.
func dig(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			l, _ := v.([]any)
			if k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

// requireNoSecrets fails if a response leaks SQL or Go internals.
func requireNoSecrets(t *testing.T, raw string) {
	t.Helper()
	for _, s := range []string{"SELECT", "pgx", "goroutine", "panic", ".go:", "SQLSTATE", "tsl_"} {
		require.NotContains(t, raw, s)
	}
}
