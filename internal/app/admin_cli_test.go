package app

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/db/dbtest"
)

// From an empty database: `admin create` makes the first ADMIN and a root BU
// and prints a working token, refuses a second ADMIN without --force, and every
// attempt is audited as the cli.
func TestAdminCreateBootstrapsAnEmptyPlatform(t *testing.T) {
	d := dbtest.NewDatabase(t, db.Options{})
	t.Setenv("DATABASE_URL", d.URL)
	t.Setenv("TESLA_LOG_LEVEL", "error")
	ctx := context.Background()

	out, err := run(t, "admin", "create", "--login", "root", "--name", "Rosa Root", "--email", "root@example.com", "--bu-name", "Acme")
	require.NoError(t, err)
	require.Contains(t, out, "created root BU ROOT")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	p, err := auth.Authenticate(ctx, d.Pool, lines[len(lines)-1])
	require.NoError(t, err, "the printed token works")
	require.Equal(t, auth.Admin, p.Role)
	require.Equal(t, "root", p.Login)
	var buName string
	require.NoError(t, d.Pool.QueryRow(ctx, `SELECT name FROM bu WHERE code = 'ROOT' AND parent_id IS NULL`).Scan(&buName))
	require.Equal(t, "Acme", buName)

	_, err = run(t, "admin", "create", "--login", "second", "--name", "Sam Second")
	require.ErrorContains(t, err, "an active ADMIN exists already (root)")
	_, err = run(t, "admin", "create", "--login", "root", "--name", "Rosa Root", "--force")
	require.NoError(t, err, "--force makes an existing login an active ADMIN again")
	out, err = run(t, "admin", "create", "--login", "second", "--name", "Sam Second", "--force")
	require.NoError(t, err)
	require.NotContains(t, out, "created root BU", "the BU exists now")
	_, err = run(t, "admin", "create", "--login", "Bad Login", "--name", "X", "--force")
	require.ErrorContains(t, err, "a login is 1 to 64")
	_, err = run(t, "admin", "create", "--name", "X")
	require.ErrorContains(t, err, "--login and --name are required")

	var admins int
	require.NoError(t, d.Pool.QueryRow(ctx, `SELECT count(*) FROM person WHERE role = 'ADMIN' AND active`).Scan(&admins))
	require.Equal(t, 2, admins)
	rows, err := d.Pool.Query(ctx, `SELECT actor || ':' || outcome FROM audit_log WHERE action = 'cli.createAdmin' ORDER BY id`)
	require.NoError(t, err)
	var got []string
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		got = append(got, s)
	}
	require.NoError(t, rows.Err())
	require.Equal(t, []string{"cli:OK", "cli:FAILED", "cli:OK", "cli:OK", "cli:FAILED"}, got)
}

// `import inventory` on the example files: a dry run writes nothing, the apply
// writes everything at once, a second apply (and the CSV twin) changes nothing,
// a bad file changes nothing and names its lines, and --prune retires what the
// file no longer lists.
func TestImportInventoryCommand(t *testing.T) {
	d := dbtest.NewDatabase(t, db.Options{})
	t.Setenv("DATABASE_URL", d.URL)
	t.Setenv("TESLA_LOG_LEVEL", "error")
	ctx := context.Background()
	count := func(sql string) int {
		var n int
		require.NoError(t, d.Pool.QueryRow(ctx, sql).Scan(&n))
		return n
	}
	yaml, csv := "../../docs/examples/inventory.yaml", "../../docs/examples/inventory.csv"

	out, err := run(t, "import", "inventory", yaml, "--dry-run")
	require.NoError(t, err)
	require.Contains(t, out, "dry run: 14 changes would be made, 0 entries unchanged")
	require.Contains(t, out, `CREATE     BU      ADS-RT: name="Ads Real-time", parent="ADS"`)
	require.Zero(t, count(`SELECT count(*) FROM bu`), "a dry run writes nothing")

	out, err = run(t, "import", "inventory", "--dry-run=false", yaml)
	require.NoError(t, err)
	require.Contains(t, out, "applied 14 changes, 0 entries unchanged")
	require.Equal(t, 4, count(`SELECT count(*) FROM host`))
	require.Equal(t, 1, count(`SELECT count(*) FROM bu b JOIN bu p ON p.id = b.parent_id WHERE b.code = 'ADS-RT' AND p.code = 'ADS'`))
	require.Equal(t, 1, count(`SELECT count(*) FROM host WHERE hostname = 'flink-01.acme.example' AND memory_bytes = 256 * 1024^3 AND cpu_cores = 32`))

	out, err = run(t, "import", "inventory", yaml)
	require.NoError(t, err)
	require.Contains(t, out, "applied 0 changes, 14 entries unchanged", "a second apply changes nothing")
	out, err = run(t, "import", "inventory", csv)
	require.NoError(t, err)
	require.Contains(t, out, "applied 0 changes, 14 entries unchanged", "the CSV twin states the same inventory")

	bad := filepath.Join(t.TempDir(), "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("bus:\n  - {code: NEW, name: New, parent: ACME}\n  - {code: ACME, name: Acme, parent: ADS}\n"+
		"people:\n  - {login: eve, name: Eve, bu: NOPE}\n"), 0o600))
	out, err = run(t, "import", "inventory", bad)
	require.ErrorContains(t, err, "nothing was changed")
	require.Contains(t, out, "line 3: BU cycle: ACME → ADS → ACME")
	require.Contains(t, out, "line 5: person eve: bu: unknown BU NOPE")
	require.Zero(t, count(`SELECT count(*) FROM bu WHERE code = 'NEW'`), "nothing half-applied")

	// Pruning: a file without rita and dw-02 deactivates one, decommissions the other.
	content, err := os.ReadFile(yaml)
	require.NoError(t, err)
	var kept []string
	for _, l := range strings.Split(string(content), "\n") {
		if !strings.Contains(l, "rita") && !strings.Contains(l, "dw-02") {
			kept = append(kept, l)
		}
	}
	smaller := filepath.Join(t.TempDir(), "smaller.yml")
	require.NoError(t, os.WriteFile(smaller, []byte(strings.Join(kept, "\n")), 0o600))
	out, err = run(t, "import", "inventory", smaller)
	require.NoError(t, err)
	require.Contains(t, out, "applied 0 changes, 12 entries unchanged", "without --prune nothing is removed")
	out, err = run(t, "import", "inventory", smaller, "--prune")
	require.NoError(t, err)
	require.Contains(t, out, "DEACTIVATE HOST    dw-02.acme.example")
	require.Contains(t, out, "DEACTIVATE PERSON  rita")
	require.Contains(t, out, "applied 2 changes")
	require.Equal(t, 1, count(`SELECT count(*) FROM host WHERE hostname = 'dw-02.acme.example' AND state = 'DECOMMISSIONED'`))
	require.Equal(t, 1, count(`SELECT count(*) FROM person WHERE login = 'rita' AND NOT active`))
	require.Equal(t, 7, count(`SELECT count(*) FROM audit_log WHERE action = 'cli.importInventory' AND actor = 'cli'`))
	require.Equal(t, 1, count(`SELECT count(*) FROM audit_log WHERE action = 'cli.importInventory' AND outcome = 'FAILED' AND error LIKE '%BU cycle%'`))
}
