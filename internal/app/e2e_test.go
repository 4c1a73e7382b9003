package app

import (
	"context"
	"io"
	"io/fs"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/frontend"
	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/sim"
)

// requireTool skips (or, with TESLA_E2E=require as `make test` sets, fails) when
// a tool the browser tests need is missing.
func requireTool(t *testing.T, what string, ok bool) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv("TESLA_E2E") == "require" {
		t.Fatalf("%s is required for this test (TESLA_E2E=require)", what)
	}
	t.Skipf("%s is missing: skipping (make test installs it and requires it)", what)
}

// demoServer serves a small seeded demo fleet from a private database, and
// returns its URL, an admin token and the cluster names.
func demoServer(t *testing.T) (string, string, []string) {
	t.Helper()
	d := dbtest.NewDatabase(t, db.Options{})
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	_, err := sim.Seed(ctx, d.Pool, sim.Config{Clusters: 4, Hosts: 160, People: 12, Days: 1}, logger)
	require.NoError(t, err)
	secret, err := createTokenFor(cliContext(ctx), d.Pool, logger, sim.DemoAdminLogin, auth.Admin, "e2e", time.Hour)
	require.NoError(t, err)
	cfg, err := LoadConfig(func(string) string { return "" })
	require.NoError(t, err)
	cfg.CookieSecure = false
	svc := NewServices(d.Pool, logger, cfg)
	srv := httptest.NewServer(NewServer(cfg, d.Pool, logger, svc, prometheus.NewRegistry()))
	t.Cleanup(srv.Close)
	rows, err := d.Pool.Query(ctx, `SELECT name FROM cluster ORDER BY name`)
	require.NoError(t, err)
	var names []string
	for rows.Next() {
		var n string
		require.NoError(t, rows.Scan(&n))
		names = append(names, n)
	}
	return srv.URL, secret, names
}

func runNode(t *testing.T, script string, env ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", script)
	cmd.Dir = filepath.Join("..", "..", "frontend")
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	t.Logf("%s output:\n%s", script, out)
	require.NoError(t, err, "%s failed", script)
	require.Regexp(t, `(?m)^\d+ passed, 0 failed`, string(out))
}

func frontendReady(t *testing.T) {
	t.Helper()
	_, err := fs.Stat(frontend.Dist, "dist/index.html")
	requireTool(t, "the built web app (make frontend, then rebuild)", err == nil)
	_, err = exec.LookPath("node")
	requireTool(t, "node", err == nil)
	_, err = os.Stat(filepath.Join("..", "..", "frontend", "node_modules", "playwright-core"))
	requireTool(t, "frontend npm packages (npm ci in frontend/)", err == nil)
}

// TestBrowserSignInOverviewAndClusterPage drives the real web app in headless
// Chromium against a real server: sign in, see the demo clusters, open one,
// open GraphiQL. Screenshots land in frontend/e2e/artifacts.
func TestBrowserSignInOverviewAndClusterPage(t *testing.T) {
	t.Parallel()
	frontendReady(t)
	_, err := os.Stat("/usr/bin/chromium")
	requireTool(t, "/usr/bin/chromium (apt-get install chromium)", err == nil)
	url, token, clusters := demoServer(t)
	artifacts, _ := filepath.Abs(filepath.Join("..", "..", "frontend", "e2e", "artifacts"))
	runNode(t, "e2e/overview.e2e.mjs", "TESLA_URL="+url, "TESLA_TOKEN="+token,
		"TESLA_EXPECT_CLUSTERS="+strings.Join(clusters, ","), "E2E_ARTIFACTS="+artifacts)
	for _, shot := range []string{"overview.png", "cluster.png", "graphiql.png"} {
		st, err := os.Stat(filepath.Join(artifacts, shot))
		require.NoError(t, err)
		require.Greater(t, st.Size(), int64(10_000), "%s looks empty", shot)
	}
}

// TestGraphQLOverHTTPAudit runs graphql-http's server audits against /query; every
// MUST audit has to pass.
func TestGraphQLOverHTTPAudit(t *testing.T) {
	t.Parallel()
	frontendReady(t)
	url, token, _ := demoServer(t)
	runNode(t, "e2e/graphql-audit.mjs", "TESLA_URL="+url+"/query", "TESLA_TOKEN="+token)
}
