package watermark

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/audit"
	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/fixture"
)

func TestSetThresholdIsForAdminsAndAudited(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	f := fixture.New(t, pool)
	svc := NewService(pool, nil, nil)
	log := audit.New(pool, slog.New(slog.NewTextHandler(io.Discard, nil)))
	as := func(login string, role auth.Role) context.Context {
		return auth.WithPrincipal(context.Background(), &auth.Principal{PersonID: f.People[login], Login: login, Role: role})
	}

	_, err := svc.SetThreshold(as(fixture.Operator, auth.Operator), log, ThresholdInput{Kind: "BATCH", Threshold: 0.9})
	require.True(t, fault.Is(err, fault.Forbidden), "%v", err)
	for _, in := range []ThresholdInput{{Kind: "GPU", Threshold: 0.5}, {Kind: "BATCH", Threshold: 0}, {Kind: "BATCH", Threshold: 1.2}} {
		_, err := svc.SetThreshold(as(fixture.Admin, auth.Admin), log, in)
		fe, ok := fault.As(err)
		require.True(t, ok, "%+v: %v", in, err)
		require.Equal(t, fault.Invalid, fe.Kind)
	}
	after, err := svc.SetThreshold(as(fixture.Admin, auth.Admin), log, ThresholdInput{Kind: PlatformKind, Threshold: 0.75})
	require.NoError(t, err)
	require.Equal(t, 0.75, after[PlatformKind], "the change answers with the thresholds as they now stand")
	th, err := svc.Thresholds(viewer())
	require.NoError(t, err)
	require.Equal(t, after, th)
	require.Equal(t, 0.85, th["BATCH"], "refused changes changed nothing")

	var ok, denied int64
	require.NoError(t, pool.QueryRow(context.Background(), `SELECT count(*) FILTER (WHERE outcome = 'OK'),
		count(*) FILTER (WHERE outcome = 'DENIED') FROM audit_log WHERE action = 'setWatermarkThreshold'`).Scan(&ok, &denied))
	require.EqualValues(t, 1, ok)
	require.EqualValues(t, 1, denied)
}
