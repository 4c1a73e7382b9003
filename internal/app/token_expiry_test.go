package app

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/fixture"
)

// TestCreateAPITokenRefusesNonPositiveLifetime: a zero or negative expiresIn is
// a user error on the field, never a token that does not expire.
func TestCreateAPITokenRefusesNonPositiveLifetime(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const create = `mutation($in: CreateApiTokenInput!) { createApiToken(input: $in) { token apiToken { expiresAt } userErrors { field code message } } }`
	count := func() int {
		var n int
		require.NoError(t, e.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM api_token`).Scan(&n))
		return n
	}
	before := count()
	for _, lifetime := range []string{"0s", "-1h", "-1ns"} {
		r := e.gql(t, e.as(fixture.Viewer), create, map[string]any{"in": map[string]any{"name": "x", "expiresIn": lifetime}})
		require.Nil(t, dig(r.Data, "createApiToken", "token"), lifetime+": "+r.Raw)
		require.Equal(t, "BAD_USER_INPUT", dig(r.Data, "createApiToken", "userErrors", 0, "code"), r.Raw)
		require.Equal(t, []any{"input", "expiresIn"}, dig(r.Data, "createApiToken", "userErrors", 0, "field"), r.Raw)
	}
	require.Equal(t, before, count(), "no token was created")

	r := e.gql(t, e.as(fixture.Viewer), create, map[string]any{"in": map[string]any{"name": "x", "expiresIn": "1h"}})
	require.NotNil(t, dig(r.Data, "createApiToken", "apiToken", "expiresAt"), r.Raw)
	r = e.gql(t, e.as(fixture.Viewer), create, map[string]any{"in": map[string]any{"name": "x"}})
	require.Nil(t, dig(r.Data, "createApiToken", "apiToken", "expiresAt"), "no lifetime asked for: no expiry: "+r.Raw)
}

// TestTokenCreateCommandRefusesNonPositiveExpiry: `token create --expires -1h`
// used to make a token that never expires.
func TestTokenCreateCommandRefusesNonPositiveExpiry(t *testing.T) {
	d := dbtest.NewDatabase(t, db.Options{})
	fixture.New(t, d.Pool)
	t.Setenv("DATABASE_URL", d.URL)
	t.Setenv("TESLA_LOG_LEVEL", "error")
	count := func() int {
		var n int
		require.NoError(t, d.Pool.QueryRow(context.Background(), `SELECT count(*) FROM api_token`).Scan(&n))
		return n
	}
	before := count()
	for _, exp := range []string{"-1h", "0", "0s"} {
		_, err := run(t, "token", "create", "--login", fixture.Viewer, "--role", "VIEWER", "--expires", exp)
		require.ErrorContains(t, err, "--expires: a token's lifetime must be positive", exp)
	}
	require.Equal(t, before, count(), "no token was created")

	_, err := run(t, "token", "create", "--login", fixture.Viewer, "--role", "VIEWER", "--expires", "1h")
	require.NoError(t, err)
	var expiring int
	require.NoError(t, d.Pool.QueryRow(context.Background(),
		`SELECT count(*) FROM api_token WHERE expires_at > now() + interval '59 minutes' AND expires_at <= now() + interval '1 hour'`).Scan(&expiring))
	require.Equal(t, 1, expiring)
}
