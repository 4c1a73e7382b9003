package app

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/fixture"
)

// TestGraphQLTransportRefusalsCarryCodes: requests /query will not run answer
// with a fitting status and extensions.code, never a bare message.
func TestGraphQLTransportRefusalsCarryCodes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.as(fixture.Viewer)
	cases := []struct {
		name, method, path, contentType, body string
		status                                int
		code, allow                           string
	}{
		{"text/plain POST", http.MethodPost, "/query", "text/plain", `{"query":"{ me { role } }"}`, 415, "UNSUPPORTED_MEDIA_TYPE", ""},
		{"form POST", http.MethodPost, "/query", "application/x-www-form-urlencoded", "query=%7B+me+%7B+role+%7D+%7D", 415, "UNSUPPORTED_MEDIA_TYPE", ""},
		{"no content type", http.MethodPost, "/query", "", `{"query":"{ me { role } }"}`, 415, "UNSUPPORTED_MEDIA_TYPE", ""},
		{"PUT", http.MethodPut, "/query", "application/json", `{"query":"{ me { role } }"}`, 405, "METHOD_NOT_ALLOWED", "GET, POST, OPTIONS"},
		{"DELETE", http.MethodDelete, "/query", "", "", 405, "METHOD_NOT_ALLOWED", "GET, POST, OPTIONS"},
		{"PATCH", http.MethodPatch, "/query", "application/json", `{}`, 405, "METHOD_NOT_ALLOWED", "GET, POST, OPTIONS"},
		{"GET mutation", http.MethodGet, "/query?query=" + url.QueryEscape(`mutation { createApiToken(input: {name: "x"}) { token } }`), "", "", 405, "METHOD_NOT_ALLOWED", "POST"},
		{"GET without query", http.MethodGet, "/query", "", "", 400, "BAD_REQUEST", ""},
		{"body not JSON", http.MethodPost, "/query", "application/json", `{"query":`, 400, "BAD_REQUEST", ""},
		{"body without query", http.MethodPost, "/query", "application/json", `{"qeury":"{ me { role } }"}`, 400, "BAD_REQUEST", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(c.method, e.srv.URL+c.path, strings.NewReader(c.body))
			if c.contentType != "" {
				req.Header.Set("Content-Type", c.contentType)
			}
			req.Header.Set("Authorization", "Bearer "+tok)
			r := e.do(t, req)
			require.Equal(t, c.status, r.Status, r.Raw)
			require.Equal(t, c.code, r.code(), r.Raw)
			require.NotEmpty(t, r.Errors[0].Message)
			requireNoSecrets(t, r.Raw)
		})
	}
	t.Run("methods are refused before authentication", func(t *testing.T) {
		for _, m := range []string{http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodHead, "MADEUP"} {
			req, _ := http.NewRequest(m, e.srv.URL+"/query", nil)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode, m)
			require.Equal(t, "GET, POST, OPTIONS", resp.Header.Get("Allow"), m)
		}
	})
	t.Run("allow headers", func(t *testing.T) {
		for _, c := range cases {
			if c.allow == "" {
				continue
			}
			req, _ := http.NewRequest(c.method, e.srv.URL+c.path, strings.NewReader(c.body))
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, c.allow, resp.Header.Get("Allow"), c.name)
		}
	})
	// No mutation ran through GET.
	r := e.gql(t, tok, `{ apiTokens { totalCount } }`, nil)
	require.Empty(t, r.Errors, r.Raw)
	before := dig(r.Data, "apiTokens", "totalCount")
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/query?query="+url.QueryEscape(`mutation { createApiToken(input: {name: "x"}) { token } }`), nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	e.do(t, req)
	require.Equal(t, before, dig(e.gql(t, tok, `{ apiTokens { totalCount } }`, nil).Data, "apiTokens", "totalCount"))
}

// TestGraphQLFailureStatusFollowsAcceptedMediaType: a document that fails to
// parse or validate, or variables that fail to coerce, answer 200 to an
// application/json client and 400 without a data entry to an
// application/graphql-response+json client.
func TestGraphQLFailureStatusFollowsAcceptedMediaType(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tok := e.as(fixture.Viewer)
	bodies := map[string]string{
		"parse":      `{"query":"{"}`,
		"validation": `{"query":"{ nope }"}`,
		"coercion":   `{"query":"query($id: ID!) { __typename }","variables":{"id":null}}`,
	}
	for name, body := range bodies {
		for _, accept := range []string{"application/json", "application/graphql-response+json"} {
			req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/query", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", accept)
			req.Header.Set("Authorization", "Bearer "+tok)
			r := e.do(t, req)
			require.NotEmpty(t, r.code(), r.Raw)
			if accept == "application/json" {
				require.Equal(t, http.StatusOK, r.Status, name+": "+r.Raw)
				continue
			}
			require.Equal(t, http.StatusBadRequest, r.Status, name+": "+r.Raw)
			require.NotContains(t, r.Raw, `"data"`, name)
		}
	}
}
