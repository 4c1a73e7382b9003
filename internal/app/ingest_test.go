package app

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/fixture"
)

// TestIngestEndpointThroughTheServer pushes samples to /api/v1/metrics/hosts the
// way an agent would: with an ingest-scoped token, which the GraphQL API refuses.
func TestIngestEndpointThroughTheServer(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	_, scoped, err := auth.InsertToken(ctx, e.db.Pool, auth.TokenSpec{PersonID: e.fleet.People[fixture.Outsider], Role: auth.Viewer, Scopes: []string{auth.ScopeIngest}})
	require.NoError(t, err)
	// A minute ahead (within the allowed clock skew), so it is the newest sample.
	ts := time.Now().UTC().Add(time.Minute).Truncate(time.Second).Format(time.RFC3339)
	body := `{"host":"online-1-n01","ts":"` + ts + `","cpu":42.5,"mem":61,"containers":3}
{"host":"no-such-host","ts":"` + ts + `","cpu":1}
{"host":"online-1-n02","ts":"` + ts + `","cpu":101}
`
	post := func(token string) (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/api/v1/metrics/hosts", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-ndjson")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	status, _ := post("")
	require.Equal(t, http.StatusUnauthorized, status)
	status, _ = post(e.as(fixture.Viewer))
	require.Equal(t, http.StatusForbidden, status, "a plain viewer may not ingest")

	status, out := post(scoped)
	require.Equal(t, http.StatusOK, status, out)
	require.EqualValues(t, 1, out["accepted"])
	require.EqualValues(t, 2, out["rejected"])
	require.Len(t, out["errors"], 2)
	status, out = post(e.as(fixture.Operator))
	require.Equal(t, http.StatusOK, status)
	require.EqualValues(t, 1, out["duplicates"], "re-sending is a no-op")

	// The scoped token cannot read the API.
	r := e.gql(t, scoped, `{ me { role } }`, nil)
	require.Equal(t, http.StatusForbidden, r.Status)
	// The sample is visible as the host's latest metrics.
	r = e.gql(t, e.as(fixture.Viewer), `{ host(hostname: "online-1-n01") { latestMetrics { cpuPercent containers } } }`, nil)
	require.Equal(t, 42.5, dig(r.Data, "host", "latestMetrics", "cpuPercent"), r.Raw)
}
