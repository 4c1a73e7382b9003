package healing_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/audit"
	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/healing"
)

func ptr[T any](v T) *T { return &v }

func adminCtx() context.Context {
	return auth.WithPrincipal(context.Background(), &auth.Principal{Login: "admin", Role: auth.Admin, Method: auth.MethodToken})
}

// A cluster's own healing policy overrides its kind's budget and can turn
// healing off; setting it needs ADMIN, is audited, and bad values are refused
// naming the field.
func TestClusterPolicyOverridesTheKindsBudget(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := context.Background()
	clusters, hosts := fleet(t, pool, 4)
	wide, off := clusters[0], clusters[3] // both BATCH
	for _, c := range []int64{wide, off} {
		for _, i := range []int{0, 1, 2} {
			giveUp(t, pool, hosts[c][i])
		}
	}
	svc := healing.NewService(pool, audit.New(pool, quiet), healing.Config{})
	p, err := svc.ClusterPolicy(viewerCtx(), wide)
	require.NoError(t, err)
	require.Equal(t, healing.DefaultPolicies["BATCH"], p.Policy)
	require.True(t, p.Enabled)

	_, err = svc.SetClusterPolicy(viewerCtx(), healing.ClusterPolicyInput{ClusterID: wide, MaxAtOnce: ptr[int32](1)})
	require.True(t, fault.Is(err, fault.Forbidden), "%v", err)
	_, err = svc.SetClusterPolicy(adminCtx(), healing.ClusterPolicyInput{ClusterID: wide, MaxAtOncePct: ptr[int32](0)})
	fe, ok := fault.As(err)
	require.True(t, ok, "%v", err)
	require.Equal(t, "input.maxAtOncePercent", fe.Field)

	p, err = svc.SetClusterPolicy(adminCtx(), healing.ClusterPolicyInput{ClusterID: wide, MaxAtOnce: ptr[int32](2), MaxAtOncePct: ptr[int32](50)})
	require.NoError(t, err)
	require.Equal(t, 2, p.MaxAtOnce)
	require.Equal(t, 50, p.MaxAtOncePct)
	require.Equal(t, healing.DefaultPolicies["BATCH"].MaxPerDay, p.MaxPerDay, "not set: the kind's default")
	require.Equal(t, "admin", p.UpdatedBy)
	_, err = svc.SetClusterPolicy(adminCtx(), healing.ClusterPolicyInput{ClusterID: off, Enabled: ptr(false)})
	require.NoError(t, err)
	require.Equal(t, 2, count(t, pool, `SELECT count(*) FROM audit_log WHERE action = 'setHealingPolicy' AND outcome = 'OK'`))

	h := healing.NewHealer(pool, insertOnly(t, pool), healing.Config{}, quiet)
	res, err := h.RunOnce(ctx)
	require.NoError(t, err)
	// The kind's default would heal one host of ten at once (10%); the
	// cluster's own policy lets two.
	require.Equal(t, 2, res.Started, "%+v", res)
	require.Equal(t, 2, count(t, pool, `SELECT count(*) FROM healing_attempt WHERE cluster_id = $1`, wide))
	waiting, err := svc.Waiting(viewerCtx(), off, 10)
	require.NoError(t, err)
	require.Len(t, waiting, 3)
	require.Contains(t, waiting[0].Reason, "healing is turned off for this cluster (by admin)")
}
