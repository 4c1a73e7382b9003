package app

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/fixture"
)

// createApiToken without a login creates a token for the caller; the audit entry
// must name that person, not an empty "person:".
func TestCreateAPITokenAuditNamesTheCallerWhenLoginIsLeftOut(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const create = `mutation($in: CreateApiTokenInput!) { createApiToken(input: $in) { token userErrors { code } } }`
	r := e.gql(t, e.as(fixture.Viewer), create, map[string]any{"in": map[string]any{"name": "laptop"}})
	require.Empty(t, r.Errors, r.Raw)
	r = e.gql(t, e.as(fixture.Admin), create, map[string]any{"in": map[string]any{"login": fixture.Outsider, "role": "VIEWER"}})
	require.Empty(t, r.Errors, r.Raw)
	// A refused attempt is audited with its real target too.
	r = e.gql(t, e.as(fixture.Viewer), create, map[string]any{"in": map[string]any{"role": "ADMIN"}})
	require.Equal(t, "BAD_USER_INPUT", dig(r.Data, "createApiToken", "userErrors", 0, "code"), r.Raw)

	r = e.gql(t, e.as(fixture.Admin), `{ auditLog(filter: {action: "createApiToken"}) { nodes { actor target outcome } } }`, nil)
	require.Empty(t, r.Errors, r.Raw)
	var got []string
	for _, n := range dig(r.Data, "auditLog", "nodes").([]any) {
		got = append(got, dig(n, "actor").(string)+" → "+dig(n, "target").(string)+" "+dig(n, "outcome").(string))
	}
	require.ElementsMatch(t, []string{
		"alice → person:alice OK",
		"admin → person:bob OK",
		"alice → person:alice FAILED",
	}, got)
}
