package invfile

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/fixture"
)

func apply(t *testing.T, pool *pgxpool.Pool, content string, opt Options) (*Result, error) {
	t.Helper()
	f, err := Parse(YAML, []byte(content))
	if err != nil {
		return nil, err
	}
	if opt.Role == "" {
		opt.Role = auth.Admin
	}
	var res *Result
	err = db.InTx(context.Background(), pool, func(tx pgx.Tx) error {
		var err error
		res, err = Apply(context.Background(), tx, f, opt)
		return err
	})
	return res, err
}

// The file against a real fleet: references, roles, moves, reactivation, and
// the rules that span the whole file.
func TestApplyAgainstAFleet(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	fixture.New(t, pool)
	ctx := context.Background()
	_, err := pool.Exec(ctx, `UPDATE person SET active = false WHERE login = $1`, fixture.Outsider)
	require.NoError(t, err)

	// A BU admin's import may grant no role above BU_ADMIN.
	_, err = apply(t, pool, "people:\n  - {login: boss, name: Boss, bu: ADS, role: OPERATOR}\n", Options{Role: auth.BUAdmin})
	require.ErrorContains(t, err, "line 2: person boss: role OPERATOR is above your own (BU_ADMIN)")

	// Listing a deactivated person reactivates them; a host listed in another
	// cluster moves; a decommissioned host stays decommissioned.
	res, err := apply(t, pool, `people:
  - {login: bob, name: Bob Outsider, email: bob@example.com, bu: PLATFORM}
hosts:
  - {hostname: rt-ads-1-n01, cluster: online-1}
  - {hostname: batch-wh-1-n07, cluster: batch-wh-1, model: R740}
clusters:
  - {name: online-1, region: cn-north, kind: ONLINE, stack: TDP 9.9}
`, Options{})
	require.ErrorContains(t, err, `cluster online-1: unknown stack version "TDP 9.9"`)
	require.Nil(t, res)
	res, err = apply(t, pool, `people:
  - {login: bob, name: Bob Outsider, email: bob@example.com, bu: PLATFORM}
hosts:
  - {hostname: rt-ads-1-n01, cluster: online-1}
  - {hostname: batch-wh-1-n07, cluster: batch-wh-1, model: R740}
`, Options{})
	require.NoError(t, err)
	require.True(t, res.Applied)
	var lines []string
	for _, c := range res.Changes {
		lines = append(lines, c.String())
	}
	require.Equal(t, []string{
		`UPDATE     PERSON  bob: active "false" → "true"`,
		`UPDATE     HOST    rt-ads-1-n01: cluster "rt-ads-1" → "online-1"`,
		`UPDATE     HOST    batch-wh-1-n07: model "" → "R740"`,
	}, lines)
	var state, cluster string
	require.NoError(t, pool.QueryRow(ctx, `SELECT h.state, c.name FROM host h JOIN cluster c ON c.id = h.cluster_id WHERE hostname = 'batch-wh-1-n07'`).Scan(&state, &cluster))
	require.Equal(t, "DECOMMISSIONED", state)
	require.NoError(t, pool.QueryRow(ctx, `SELECT c.name FROM host h JOIN cluster c ON c.id = h.cluster_id WHERE hostname = 'rt-ads-1-n01'`).Scan(&cluster))
	require.Equal(t, "online-1", cluster)

	// No file leaves the platform without an active ADMIN.
	_, err = apply(t, pool, "people:\n  - {login: admin, name: Ada Admin, bu: PLATFORM, role: OPERATOR}\n", Options{})
	require.ErrorContains(t, err, "no active ADMIN would be left")

	// Pruning: everything not listed goes, in an order the rules allow (hosts
	// before their clusters); with --prune every reference must be in the file.
	_, err = apply(t, pool, "bus:\n  - {code: X, name: X, parent: COMPANY}\n", Options{Prune: true})
	require.ErrorContains(t, err, "line 2: BU X: parent: BU COMPANY is not in the file, so --prune would retire it")
	res, err = apply(t, pool, `bus:
  - {code: COMPANY, name: Company}
  - {code: PLATFORM, name: Platform, parent: COMPANY}
people:
  - {login: admin, name: Ada Admin, bu: PLATFORM, role: ADMIN}
clusters:
  - {name: online-1, region: cn-north, kind: ONLINE}
hosts:
  - {hostname: online-1-n01, cluster: online-1}
`, Options{Prune: true, DryRun: true})
	require.NoError(t, err)
	require.False(t, res.Applied)
	counts := map[string]int{}
	for _, c := range res.Changes {
		counts[string(c.Action)+" "+string(c.Entity)]++
	}
	// 18 hosts of the fixture, less one listed and one decommissioned already;
	// rt-ads-1-n01 sits in online-1 now.
	require.Equal(t, map[string]int{"DEACTIVATE HOST": 16, "DEACTIVATE CLUSTER": 2, "DEACTIVATE PERSON": 4, "DEACTIVATE BU": 2}, counts)
	var live int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM host WHERE state <> 'DECOMMISSIONED'`).Scan(&live))
	require.Equal(t, 17, live, "a dry run writes nothing")
	res, err = apply(t, pool, `bus:
  - {code: COMPANY, name: Company}
  - {code: PLATFORM, name: Platform, parent: COMPANY}
people:
  - {login: admin, name: Ada Admin, bu: PLATFORM, role: ADMIN}
clusters:
  - {name: online-1, region: cn-north, kind: ONLINE}
hosts:
  - {hostname: online-1-n01, cluster: online-1}
`, Options{Prune: true})
	require.NoError(t, err)
	require.True(t, res.Applied)
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM host WHERE state <> 'DECOMMISSIONED'`).Scan(&live))
	require.Equal(t, 1, live)
	var tokens int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM api_token t JOIN person p ON p.id = t.person_id WHERE NOT p.active AND t.revoked_at IS NULL`).Scan(&tokens))
	require.Zero(t, tokens, "pruned people lose their tokens")
}
