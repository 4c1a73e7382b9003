package audit_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/audit"
	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/fixture"
)

// Do records how each action ended, and ByID shows an entry to an admin or to
// the person who acted, nobody else.
func TestDoRecordsOutcomesAndByIDChecksAccess(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	f := fixture.New(t, pool)
	log := audit.New(pool, slog.New(slog.DiscardHandler))
	as := func(login string, role auth.Role) context.Context {
		ctx := audit.WithRemoteAddr(context.Background(), "192.0.2.1")
		return auth.WithPrincipal(ctx, &auth.Principal{PersonID: f.People[login], Login: login, Role: role})
	}
	viewer := as(fixture.Viewer, auth.Viewer)

	require.NoError(t, log.Do(viewer, "ok", "host:1", map[string]int{"n": 1}, func(pgx.Tx) error { return nil }))
	denied := fault.Forbiddenf("no")
	require.ErrorIs(t, log.Do(viewer, "denied", "", nil, func(pgx.Tx) error { return denied }), denied)
	internal := errors.New("SELECT secret FROM somewhere")
	require.ErrorIs(t, log.Do(viewer, "failed", "", nil, func(tx pgx.Tx) error {
		_, err := tx.Exec(context.Background(), `INSERT INTO stack (name) VALUES ('rolled back')`)
		require.NoError(t, err)
		return internal
	}), internal)

	rows, err := pool.Query(context.Background(), `SELECT id, action, outcome, error FROM audit_log ORDER BY id`)
	require.NoError(t, err)
	type row struct {
		ID                     int64
		Action, Outcome, Error string
	}
	got, err := pgx.CollectRows(rows, pgx.RowToStructByPos[row])
	require.NoError(t, err)
	require.Len(t, got, 3)
	require.Equal(t, []string{"OK", "DENIED", "FAILED"}, []string{got[0].Outcome, got[1].Outcome, got[2].Outcome})
	require.Equal(t, "internal error", got[2].Error, "SQL never reaches the log")
	var stacks int
	require.NoError(t, pool.QueryRow(context.Background(), `SELECT count(*) FROM stack WHERE name = 'rolled back'`).Scan(&stacks))
	require.Zero(t, stacks, "a failed action's changes roll back")

	e, err := log.ByID(viewer, got[0].ID)
	require.NoError(t, err)
	require.Equal(t, "ok", e.Action)
	require.Equal(t, "host:1", e.Target)
	require.Equal(t, fixture.Viewer, e.Actor)
	require.Equal(t, audit.OK, e.Outcome)
	require.Equal(t, "192.0.2.1", e.RemoteAddr)
	require.JSONEq(t, `{"n": 1}`, string(e.Input))

	_, err = log.ByID(as(fixture.Outsider, auth.Viewer), got[0].ID)
	require.True(t, fault.Is(err, fault.Forbidden), "%v", err)
	_, err = log.ByID(as(fixture.Admin, auth.Admin), got[0].ID)
	require.NoError(t, err)
	_, err = log.ByID(viewer, got[2].ID+1000)
	require.True(t, fault.Is(err, fault.NotFound), "%v", err)
}

// A Log on a transaction records inside it: its entries commit or roll back with
// the caller's work.
func TestLogOnATransactionRecordsInsideIt(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := context.Background()
	tx, err := pool.Begin(ctx)
	require.NoError(t, err)
	log := audit.New(tx, slog.New(slog.DiscardHandler))
	require.NoError(t, log.Do(ctx, "ok", "", nil, func(pgx.Tx) error { return nil }))
	require.Error(t, log.Do(ctx, "failed", "", nil, func(pgx.Tx) error { return errors.New("boom") }))
	var inTx int
	require.NoError(t, tx.QueryRow(ctx, `SELECT count(*) FROM audit_log`).Scan(&inTx))
	require.Equal(t, 2, inTx, "the failure is recorded in the still usable transaction")
	require.NoError(t, tx.Rollback(ctx))
	var after int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM audit_log`).Scan(&after))
	require.Zero(t, after)
}
