package aquila_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/internal/aquila"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/stack"
)

// BenchmarkPlanUpgrade20k plans a rolling upgrade (10% batches) of a
// 20,000-host cluster whose hosts each run 12 services, chained by
// dependencies, from stack version 1.0 to 2.0: the reads (hosts and their
// 240,000 components in one statement, the versions, the packages), the
// resolution and ordering, and the 20,000 tasks. It reports ms per plan and,
// separately (BenchmarkPlanUpgrade20k/submit), planning plus storing it.
func BenchmarkPlanUpgrade20k(b *testing.B) {
	const hosts, services = 20000, 12
	d := dbtest.NewDatabase(b, db.Options{})
	pool := d.Pool
	ctx := context.Background()
	var clusterID int64
	if err := pool.QueryRow(ctx, `INSERT INTO cluster (name, region, kind) VALUES ('bench', 'us-west', 'BATCH') RETURNING id`).
		Scan(&clusterID); err != nil {
		b.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO host (cluster_id, hostname, cpu_cores, memory_bytes, disk_bytes, nic_bps, state)
		SELECT $1, 'bench-' || lpad(h::text, 6, '0'), 64, 256::bigint << 30, 8e12, 25e9,
		       CASE WHEN h % 50 = 0 THEN 'MAINTENANCE' ELSE 'ONLINE' END FROM generate_series(1, $2) h`,
		clusterID, hosts); err != nil {
		b.Fatal(err)
	}
	var pkgs []stack.BulkPackage
	var v1, v2 []stack.PackageRef
	for i := range services {
		svc := fmt.Sprintf("SVC%02d", i)
		var deps []string
		if i > 0 {
			deps = []string{fmt.Sprintf("SVC%02d", i-1), ">=1"}
		}
		pkgs = append(pkgs, testPkg(svc, "1.0", i, deps...), testPkg(svc, "2.0", i, deps...))
		v1 = append(v1, stack.PackageRef{Service: svc, Version: "1.0"})
		v2 = append(v2, stack.PackageRef{Service: svc, Version: "2.0"})
	}
	versions := loadStack(b, pool, "BENCH", pkgs, map[string][]stack.PackageRef{"1.0": v1, "2.0": v2})
	if _, err := pool.Exec(ctx, `INSERT INTO host_component (host_id, service, component, version)
		SELECT h.id, 'SVC' || lpad(s::text, 2, '0'), 'SERVER', '1.0' FROM host h CROSS JOIN generate_series(0, $2 - 1) s
		WHERE h.cluster_id = $1`, clusterID, services); err != nil {
		b.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `UPDATE cluster SET stack_version_id = $2 WHERE id = $1; ANALYZE host; ANALYZE host_component`,
		clusterID, versions["1.0"]); err != nil {
		// Multiple statements need the simple protocol: run them apart.
		if _, err := pool.Exec(ctx, `UPDATE cluster SET stack_version_id = $2 WHERE id = $1`, clusterID, versions["1.0"]); err != nil {
			b.Fatal(err)
		}
		for _, s := range []string{`ANALYZE host`, `ANALYZE host_component`} {
			if _, err := pool.Exec(ctx, s); err != nil {
				b.Fatal(err)
			}
		}
	}
	req := upgradeReq(clusterID, versions["2.0"], aquila.UpgradeParams{BatchPercent: 10})
	octx := operatorCtx()

	b.Run("plan", func(b *testing.B) {
		for b.Loop() {
			plan, err := aquila.UpgradePlanner{}.Plan(octx, pool, req)
			if err != nil {
				b.Fatal(err)
			}
			if plan.TaskCount() != hosts || len(plan.Stages) != 10 {
				b.Fatalf("%d tasks in %d stages", plan.TaskCount(), len(plan.Stages))
			}
		}
	})
	b.Run("submit", func(b *testing.B) {
		e, err := aquila.NewEngine(pool, nil, quiet, aquila.EngineConfig{NoWork: true})
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			err := db.InTx(ctx, pool, func(tx pgx.Tx) error {
				plan, err := aquila.UpgradePlanner{}.Plan(octx, tx, req)
				if err != nil {
					return err
				}
				_, err = e.Submit(ctx, tx, *plan)
				if err != nil {
					return err
				}
				// Leave the cluster free for the next round.
				return errBenchRollback
			})
			if err != errBenchRollback {
				b.Fatal(err)
			}
		}
	})
}

var errBenchRollback = fmt.Errorf("rollback")
