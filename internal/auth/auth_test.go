package auth_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/fixture"
)

func TestRoleOrderAndParsing(t *testing.T) {
	require.True(t, auth.Admin.AtLeast(auth.Operator))
	require.True(t, auth.Operator.AtLeast(auth.BUAdmin))
	require.True(t, auth.BUAdmin.AtLeast(auth.Viewer))
	require.False(t, auth.Viewer.AtLeast(auth.BUAdmin))
	require.False(t, auth.Role("KING").AtLeast(auth.Viewer))
	require.Equal(t, auth.Viewer, auth.Lower(auth.Admin, auth.Viewer))
	_, err := auth.ParseRole("role", "root")
	require.True(t, fault.Is(err, fault.Invalid))
	r, err := auth.ParseRole("role", "OPERATOR")
	require.NoError(t, err)
	require.Equal(t, auth.Operator, r)
}

func TestSecretsAreRandomPrefixedAndHashed(t *testing.T) {
	a, b := auth.NewSecret(), auth.NewSecret()
	require.NotEqual(t, a, b)
	require.True(t, strings.HasPrefix(a, auth.TokenPrefix))
	require.Len(t, auth.HashSecret(a), 32)
	require.NotEqual(t, auth.HashSecret(a), auth.HashSecret(b))
}

func TestAuthenticateRefusesExpiredRevokedAndInactive(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	f := fixture.New(t, pool)
	ctx := context.Background()

	p, err := auth.Authenticate(ctx, pool, f.Tokens[fixture.BULead])
	require.NoError(t, err)
	require.Equal(t, auth.BUAdmin, p.Role)
	require.ElementsMatch(t, []int64{f.BUs["ADS"], f.BUs["ADS-SEARCH"]}, p.BUSubtree, "a BU admin carries their subtree")

	past := time.Now().Add(-time.Minute)
	tok, secret, err := auth.InsertToken(ctx, pool, auth.TokenSpec{PersonID: f.People[fixture.Viewer], Role: auth.Viewer, ExpiresAt: &past})
	require.NoError(t, err)
	_, err = auth.Authenticate(ctx, pool, secret)
	require.True(t, fault.Is(err, fault.Unauthenticated), "expired token %d", tok.ID)

	tok, secret, err = auth.InsertToken(ctx, pool, auth.TokenSpec{PersonID: f.People[fixture.Viewer], Role: auth.Viewer})
	require.NoError(t, err)
	_, err = auth.Authenticate(ctx, pool, secret)
	require.NoError(t, err)
	_, err = auth.RevokeToken(ctx, pool, tok.ID)
	require.NoError(t, err)
	_, err = auth.Authenticate(ctx, pool, secret)
	require.True(t, fault.Is(err, fault.Unauthenticated))

	_, err = pool.Exec(ctx, `UPDATE person SET active = false WHERE login = $1`, fixture.Outsider)
	require.NoError(t, err)
	_, err = auth.Authenticate(ctx, pool, f.Tokens[fixture.Outsider])
	require.True(t, fault.Is(err, fault.Unauthenticated), "a deactivated person's tokens stop working")

	for _, junk := range []string{"", "tsl_", "abc", strings.Repeat("tsl_", 100)} {
		_, err = auth.Authenticate(ctx, pool, junk)
		require.True(t, fault.Is(err, fault.Unauthenticated))
	}
}

func TestLastUsedIsRecordedAtMostOncePerMinute(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	f := fixture.New(t, pool)
	ctx := context.Background()
	var first, second *time.Time
	_, err := auth.Authenticate(ctx, pool, f.Tokens[fixture.Viewer])
	require.NoError(t, err)
	require.NoError(t, pool.QueryRow(ctx, `SELECT last_used_at FROM api_token WHERE person_id = $1`, f.People[fixture.Viewer]).Scan(&first))
	require.NotNil(t, first)
	_, err = auth.Authenticate(ctx, pool, f.Tokens[fixture.Viewer])
	require.NoError(t, err)
	require.NoError(t, pool.QueryRow(ctx, `SELECT last_used_at FROM api_token WHERE person_id = $1`, f.People[fixture.Viewer]).Scan(&second))
	require.Equal(t, *first, *second)
}

func TestSessionsExpireAndCarryTheTokenRole(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	f := fixture.New(t, pool)
	ctx := context.Background()
	// An admin signing in with a viewer-scoped token gets a viewer session.
	_, secret, err := auth.InsertToken(ctx, pool, auth.TokenSpec{PersonID: f.People[fixture.Admin], Role: auth.Viewer})
	require.NoError(t, err)
	p, err := auth.Authenticate(ctx, pool, secret)
	require.NoError(t, err)
	s, err := auth.CreateSession(ctx, pool, p, time.Hour)
	require.NoError(t, err)
	sp, csrf, err := auth.AuthenticateSession(ctx, pool, s.ID)
	require.NoError(t, err)
	require.Equal(t, auth.Viewer, sp.Role)
	require.Equal(t, s.CSRF, csrf)
	require.Equal(t, auth.MethodSession, sp.Method)

	short, err := auth.CreateSession(ctx, pool, p, time.Millisecond)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `UPDATE web_session SET expires_at = now() - interval '1 second' WHERE id_hash = $1`, auth.HashSecret(short.ID))
	require.NoError(t, err)
	_, _, err = auth.AuthenticateSession(ctx, pool, short.ID)
	require.True(t, fault.Is(err, fault.Unauthenticated))

	require.NoError(t, auth.DeleteSession(ctx, pool, s.ID))
	_, _, err = auth.AuthenticateSession(ctx, pool, s.ID)
	require.True(t, fault.Is(err, fault.Unauthenticated))
}

func TestParseBearerIgnoresSchemeCase(t *testing.T) {
	for in, want := range map[string]string{
		"Bearer tsl_a": "tsl_a", "bearer tsl_a": "tsl_a", "BEARER  tsl_a ": "tsl_a", " bEaReR tsl_a": "tsl_a",
		"Basic tsl_a": "", "Bearer": "", "Bearer ": "", "Bearertsl_a": "", "": "",
	} {
		got, ok := auth.ParseBearer(in)
		require.Equal(t, want, got, "%q", in)
		require.Equal(t, want != "", ok, "%q", in)
	}
}

// TestIdentifyAppliesOneRuleSetToEveryCredential: which credential wins, what a
// scope opens, and when the CSRF token is needed.
func TestIdentifyAppliesOneRuleSetToEveryCredential(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	f := fixture.New(t, pool)
	ctx := context.Background()
	_, scoped, err := auth.InsertToken(ctx, pool, auth.TokenSpec{PersonID: f.People[fixture.Operator], Role: auth.Operator, Scopes: []string{auth.ScopeIngest}})
	require.NoError(t, err)
	p, err := auth.Authenticate(ctx, pool, f.Tokens[fixture.Admin])
	require.NoError(t, err)
	sess, err := auth.CreateSession(ctx, pool, p, time.Hour)
	require.NoError(t, err)

	_, err = auth.Identify(ctx, pool, auth.SurfaceGraphQL, auth.Credentials{})
	require.ErrorIs(t, err, auth.ErrNoCredentials)
	for _, c := range []auth.Credentials{{Authorization: "Bearer " + scoped}, {Token: scoped}} {
		_, err = auth.Identify(ctx, pool, auth.SurfaceGraphQL, c)
		require.True(t, fault.Is(err, fault.Forbidden), "%v", err)
		id, err := auth.Identify(ctx, pool, auth.SurfaceIngest, c)
		require.NoError(t, err)
		require.Equal(t, fixture.Operator, id.Principal.Login)
	}
	// The explicit credential wins over the cookie, and a bad one does not fall back.
	id, err := auth.Identify(ctx, pool, auth.SurfaceGraphQL, auth.Credentials{Authorization: "bearer " + f.Tokens[fixture.Viewer], Session: sess.ID})
	require.NoError(t, err)
	require.Equal(t, fixture.Viewer, id.Principal.Login)
	_, err = auth.Identify(ctx, pool, auth.SurfaceGraphQL, auth.Credentials{Authorization: "Bearer tsl_nonsense", Session: sess.ID})
	require.True(t, fault.Is(err, fault.Unauthenticated))
	_, err = auth.Identify(ctx, pool, auth.SurfaceGraphQL, auth.Credentials{Authorization: "Basic x", Session: sess.ID})
	require.True(t, fault.Is(err, fault.Unauthenticated))

	id, err = auth.Identify(ctx, pool, auth.SurfaceGraphQL, auth.Credentials{Session: sess.ID})
	require.NoError(t, err)
	require.Equal(t, sess.CSRF, id.CSRF)
	_, err = auth.Identify(ctx, pool, auth.SurfaceGraphQL, auth.Credentials{Session: sess.ID, CheckCSRF: true, CSRF: "wrong"})
	require.True(t, fault.Is(err, fault.Forbidden))
	_, err = auth.Identify(ctx, pool, auth.SurfaceGraphQL, auth.Credentials{Session: sess.ID, CheckCSRF: true, CSRF: sess.CSRF})
	require.NoError(t, err)
}

// TestRequireRefusesScopedPrincipalsOutsideTheirSurface is the domain layer's own
// guard, behind the transports'.
func TestRequireRefusesScopedPrincipalsOutsideTheirSurface(t *testing.T) {
	scoped := auth.WithPrincipal(context.Background(), &auth.Principal{Login: "agent", Role: auth.Admin, Scopes: []string{auth.ScopeIngest}})
	_, err := auth.Require(scoped)
	require.True(t, fault.Is(err, fault.Forbidden), "%v", err)
	_, err = auth.RequireRole(scoped, auth.Viewer, "reading")
	require.True(t, fault.Is(err, fault.Forbidden), "%v", err)
	_, err = auth.RequireFor(scoped, auth.SurfaceIngest)
	require.NoError(t, err)
	full := auth.WithPrincipal(context.Background(), &auth.Principal{Login: "ops", Role: auth.Operator})
	_, err = auth.Require(full)
	require.NoError(t, err)
	_, err = auth.RequireFor(full, auth.SurfaceIngest)
	require.NoError(t, err)
}
