package invfile

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/db/dbtest"
)

// BenchmarkImportInventory10kHosts applies a 10,000-host inventory (10
// clusters) to an empty database, then again (no changes): what registering a
// real fleet from a file costs. Numbers in docs/benchmarks.md.
func BenchmarkImportInventory10kHosts(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("bus:\n  - {code: ROOT, name: Root}\npeople:\n  - {login: root, name: Root, bu: ROOT, role: ADMIN}\nclusters:\n")
	for c := range 10 {
		fmt.Fprintf(&sb, "  - {name: c%02d, region: r1, kind: BATCH, owner_bu: ROOT}\n", c)
	}
	sb.WriteString("hosts:\n")
	for i := range 10000 {
		fmt.Fprintf(&sb, "  - {hostname: h%05d.example, cluster: c%02d, rack: r%03d, cpu_cores: 32, memory: 256GiB}\n", i, i%10, i/40)
	}
	content := []byte(sb.String())
	ctx := context.Background()
	var phases [2]time.Duration
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		pool := dbtest.New(b)
		b.StartTimer()
		for i, want := range []int{10012, 0} {
			start := time.Now()
			f, err := Parse(YAML, content)
			require.NoError(b, err)
			err = db.InTx(ctx, pool, func(tx pgx.Tx) error {
				res, err := Apply(ctx, tx, f, Options{Role: auth.Admin})
				if err == nil && len(res.Changes) != want {
					err = fmt.Errorf("%d changes, want %d", len(res.Changes), want)
				}
				return err
			})
			require.NoError(b, err)
			phases[i] += time.Since(start)
		}
	}
	b.ReportMetric(phases[0].Seconds()/float64(b.N), "s-apply/op")
	b.ReportMetric(phases[1].Seconds()/float64(b.N), "s-reapply/op")
}
