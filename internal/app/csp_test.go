package app

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestBrowserPagesHonourContentSecurityPolicy loads /, a cluster page, /screen and
// /graphiql in Chromium under the server's real headers and requires zero CSP
// violations, and proves the policy blocks an injected inline script.
func TestBrowserPagesHonourContentSecurityPolicy(t *testing.T) {
	t.Parallel()
	frontendReady(t)
	requireChromium(t)
	url, token, _ := demoServer(t)
	runNode(t, "e2e/csp.e2e.mjs", "TESLA_URL="+url, "TESLA_TOKEN="+token, "E2E_ARTIFACTS="+artifactsDir())
	requireScreenshots(t, "csp-screen.png", "csp-graphiql.png")
}

// TestSecurityHeadersOnEveryResponse: pages carry the page policy, everything
// else a policy that allows nothing; all are nosniff and refuse framing.
func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, p := range []string{"/", "/graphiql", "/screen", "/clusters/x", "/healthz", "/metrics", "/query", "/api/v1/session", "/api/nope", "/favicon.svg"} {
		resp, err := http.Get(e.srv.URL + p)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"), p)
		require.Equal(t, "same-origin", resp.Header.Get("Referrer-Policy"), p)
		require.Equal(t, "DENY", resp.Header.Get("X-Frame-Options"), p)
		csp := resp.Header.Get("Content-Security-Policy")
		require.Contains(t, csp, "frame-ancestors 'none'", p)
		require.NotContains(t, csp, "unsafe-eval", p)
		require.NotContains(t, csp, "script-src 'self' 'unsafe-inline'", p)
	}
}
