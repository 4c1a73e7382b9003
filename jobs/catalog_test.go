package jobs

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/fault"
)

func TestCatalogNeedsSignInAndValidates(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := context.Background()
	j := job("j", func(context.Context) (Result, error) { return Result{Rows: 1}, nil })
	_, err := Run(ctx, pool, quietLogger(), "r", j)
	require.NoError(t, err)
	c := NewCatalog(pool, []Job{j})

	_, err = c.Status(ctx)
	require.True(t, fault.Is(err, fault.Unauthenticated))
	_, err = c.Runs(ctx, "j", 10)
	require.True(t, fault.Is(err, fault.Unauthenticated))

	viewer := auth.WithPrincipal(ctx, &auth.Principal{PersonID: 1, Login: "v", Role: auth.Viewer})
	st, err := c.Status(viewer)
	require.NoError(t, err)
	require.Len(t, st, 1)
	require.NotNil(t, st[0].LastSuccess)
	runs, err := c.Runs(viewer, "j", 10)
	require.NoError(t, err)
	require.Len(t, runs, 1)
	_, err = c.Runs(viewer, "nope", 10)
	require.True(t, fault.Is(err, fault.NotFound))
	_, err = c.Runs(viewer, "j", 0)
	require.True(t, fault.Is(err, fault.Invalid))
}
