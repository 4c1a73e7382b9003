package account_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/account"
	"github.com/teslaops/tesla/internal/audit"
	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/fixture"
)

// The command line creates tokens through the same checks as the API: only the
// caller's own role no longer limits the token.
func TestOperatorTokensGetTheAPIsChecks(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	fixture.New(t, pool)
	ctx := audit.WithRemoteAddr(context.Background(), "cli")
	svc := account.NewService(pool, audit.New(pool, slog.New(slog.DiscardHandler)), time.Hour)
	_, err := pool.Exec(ctx, `UPDATE person SET active = false WHERE login = $1`, fixture.Outsider)
	require.NoError(t, err)

	negative := -time.Hour
	for _, tc := range []struct {
		name string
		in   account.CreateTokenInput
		kind fault.Kind
		msg  string
	}{
		{"no login", account.CreateTokenInput{Role: auth.Viewer}, fault.Invalid, "login is required"},
		{"long name", account.CreateTokenInput{Login: fixture.Viewer, Role: auth.Viewer, Name: strings.Repeat("x", 101)}, fault.Invalid, "100 characters"},
		{"dead on arrival", account.CreateTokenInput{Login: fixture.Viewer, Role: auth.Viewer, ExpiresIn: &negative}, fault.Invalid, "must be positive"},
		{"unknown scope", account.CreateTokenInput{Login: fixture.Viewer, Role: auth.Viewer, Scopes: []string{"root"}}, fault.Invalid, `unknown scope "root"`},
		{"unknown role", account.CreateTokenInput{Login: fixture.Viewer, Role: "KING"}, fault.Invalid, "unknown role"},
		{"above the person", account.CreateTokenInput{Login: fixture.Viewer, Role: auth.Admin}, fault.Invalid, "cannot carry more"},
		{"nobody", account.CreateTokenInput{Login: "nobody", Role: auth.Viewer}, fault.NotFound, `no active person with login "nobody"`},
		{"deactivated", account.CreateTokenInput{Login: fixture.Outsider, Role: auth.Viewer}, fault.NotFound, "no active person"},
	} {
		_, _, err := svc.CreateTokenAsOperator(ctx, tc.in)
		require.True(t, fault.Is(err, tc.kind), "%s: %v", tc.name, err)
		require.ErrorContains(t, err, tc.msg, tc.name)
	}

	day := 24 * time.Hour
	tok, secret, err := svc.CreateTokenAsOperator(ctx, account.CreateTokenInput{
		Login: fixture.Operator, Role: auth.Operator, Name: "collector", ExpiresIn: &day, Scopes: []string{auth.ScopeIngest}})
	require.NoError(t, err)
	require.Equal(t, []string{auth.ScopeIngest}, tok.Scopes)
	require.NotNil(t, tok.ExpiresAt)
	require.WithinDuration(t, time.Now().Add(day), *tok.ExpiresAt, time.Minute)
	p, err := auth.Authenticate(ctx, pool, secret)
	require.NoError(t, err)
	require.Equal(t, fixture.Operator, p.Login)
	require.False(t, p.Allows(auth.SurfaceGraphQL), "the scope holds")

	// Left out, the role is the person's own.
	tok, _, err = svc.CreateTokenAsOperator(ctx, account.CreateTokenInput{Login: fixture.BULead})
	require.NoError(t, err)
	require.Equal(t, auth.BUAdmin, tok.Role)

	var ok, failed int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE outcome = 'OK'), count(*) FILTER (WHERE outcome = 'FAILED')
		FROM audit_log WHERE action = 'cli.createToken' AND remote_addr = 'cli'`).Scan(&ok, &failed))
	require.Equal(t, 2, ok)
	require.Equal(t, 8, failed, "refusals are audited too")
}

// Services built on a transaction do their work inside it: a token and its audit
// entry exist for the transaction and vanish with its rollback.
func TestServicesComposeInOneTransaction(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	f := fixture.New(t, pool)
	ctx := context.Background()
	admin, err := auth.Authenticate(ctx, pool, f.Tokens[fixture.Admin])
	require.NoError(t, err)
	ctx = auth.WithPrincipal(ctx, admin)

	tx, err := pool.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(ctx) }()
	svc := account.NewService(tx, audit.New(tx, slog.New(slog.DiscardHandler)), time.Hour)
	tok, _, err := svc.CreateToken(ctx, account.CreateTokenInput{Login: fixture.Viewer, Name: "in a transaction"})
	require.NoError(t, err)
	require.Equal(t, auth.Viewer, tok.Role, "an admin's token for a viewer carries the viewer's role")
	got, err := svc.TokensByIDs(ctx, []int64{tok.ID})
	require.NoError(t, err)
	require.Contains(t, got, tok.ID)

	var inTx, outside int
	require.NoError(t, tx.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action = 'createApiToken' AND target = $1`, "person:"+fixture.Viewer).Scan(&inTx))
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action = 'createApiToken'`).Scan(&outside))
	require.Equal(t, 1, inTx)
	require.Zero(t, outside, "nothing is committed before the transaction is")

	require.NoError(t, tx.Rollback(ctx))
	var tokens int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM api_token WHERE id = $1`, tok.ID).Scan(&tokens))
	require.Zero(t, tokens)
}
