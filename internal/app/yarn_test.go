package app

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/fixture"
)

// TestSetYarnTargetThroughGraphQLAndCLI: operators and admins set a cluster's
// ResourceManager; others are refused; bad input comes back as user errors;
// every attempt is audited.
func TestSetYarnTargetThroughGraphQLAndCLI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const set = `mutation($in: SetYarnTargetInput!) { setYarnTarget(input: $in) {
		target { cluster { name } url status failures lastError } userErrors { field message code } } }`
	in := func(cluster, url string) map[string]any {
		return map[string]any{"in": map[string]any{"cluster": cluster, "url": url}}
	}

	r := e.gql(t, e.as(fixture.Viewer), set, in("batch-wh-1", "http://rm:8088"))
	require.Equal(t, "FORBIDDEN", r.code(), r.Raw)
	r = e.gql(t, e.as(fixture.Operator), set, in("batch-wh-1", "http://rm:8088/"))
	require.Empty(t, r.Errors, r.Raw)
	require.Equal(t, map[string]any{"cluster": map[string]any{"name": "batch-wh-1"}, "url": "http://rm:8088",
		"status": "PENDING", "failures": float64(0), "lastError": ""}, dig(r.Data, "setYarnTarget", "target"))
	r = e.gql(t, e.as(fixture.Admin), set, in("batch-wh-1", "ftp://rm"))
	require.Empty(t, r.Errors, r.Raw)
	ues := dig(r.Data, "setYarnTarget", "userErrors").([]any)
	require.Len(t, ues, 1)
	require.Equal(t, []any{"input", "url"}, ues[0].(map[string]any)["field"])

	r = e.gql(t, e.as(fixture.Operator), `{ yarnTargets { cluster { name } url } }`, nil)
	require.Empty(t, r.Errors, r.Raw)
	require.Len(t, dig(r.Data, "yarnTargets").([]any), 1)
	require.Equal(t, "FORBIDDEN", e.gql(t, e.as(fixture.BULead), `{ yarnTargets { url } }`, nil).code())

	var out bytes.Buffer
	cfg, err := LoadConfig(func(k string) string {
		if k == "DATABASE_URL" {
			return e.db.URL
		}
		return ""
	})
	require.NoError(t, err)
	require.NoError(t, cmdYarn(context.Background(), cfg, []string{"add", "--cluster", "rt-ads-1", "--url", "https://rm2:8090"}, &out))
	require.Contains(t, out.String(), "cluster rt-ads-1: ResourceManager https://rm2:8090 (PENDING)")
	out.Reset()
	require.NoError(t, cmdYarn(context.Background(), cfg, []string{"list"}, &out))
	require.Contains(t, out.String(), "rt-ads-1")
	require.Contains(t, out.String(), "batch-wh-1")
	require.ErrorContains(t, cmdYarn(context.Background(), cfg, []string{"add", "--cluster", "rt-ads-1"}, &out), "--url is required")

	var ok, denied, failed int
	require.NoError(t, e.db.Pool.QueryRow(context.Background(), `SELECT
		count(*) FILTER (WHERE outcome = 'OK'), count(*) FILTER (WHERE outcome = 'DENIED'), count(*) FILTER (WHERE outcome = 'FAILED')
		FROM audit_log WHERE action IN ('setYarnTarget', 'cli.setYarnTarget')`).Scan(&ok, &denied, &failed))
	require.Equal(t, []int{2, 1, 1}, []int{ok, denied, failed})
}
