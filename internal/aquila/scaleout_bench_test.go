package aquila_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/teslaops/tesla/internal/aquila"
	"github.com/teslaops/tesla/internal/audit"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/inventory"
)

// BenchmarkScaleOutAndDecommissionAt20k measures SCALE_OUT and DECOMMISSION at
// fleet size: a cluster of 20,000 ONLINE hosts with two components each and a
// spare pool of 5,000 machines in its region.
//   - scale_out_1000: submit a scale-out of 1,000 pool hosts (pick, admit,
//     6,000 tasks) and run it to SUCCEEDED with the zero-duration executor, so
//     the figure is planning, the engine and the host steps' SQL (install
//     profile over the 20,000-host cluster, start, online);
//   - cluster_profile: the cluster's worker profile (inventory.ClusterProfile),
//     which the agent executor's INSTALL reads once per operation;
//   - decommission_plan_2000: plan and submit a decommission of 2,000 hosts
//     (capacity and quorum check, 10 rolling batches, 6,000 tasks), rolled back.
func BenchmarkScaleOutAndDecommissionAt20k(b *testing.B) {
	d := dbtest.NewDatabase(b, db.Options{})
	ctx := context.Background()
	var cl int64
	if err := d.Pool.QueryRow(ctx, `INSERT INTO cluster (name, region, kind, autoscale_max_hosts) VALUES ('bench', 'us-west', 'BATCH', 5000) RETURNING id`).
		Scan(&cl); err != nil {
		b.Fatal(err)
	}
	for _, s := range []string{
		`INSERT INTO host (cluster_id, hostname, cpu_cores, memory_bytes, disk_bytes, nic_bps)
		 SELECT $1, 'bench-' || lpad(h::text, 6, '0'), 64, 256::bigint << 30, 8e12, 25e9 FROM generate_series(1, 20000) h`,
		`INSERT INTO host_component (host_id, service, component, version)
		 SELECT h.id, s.svc, s.comp, '3.2.0' FROM host h,
		   (VALUES ('YARN', 'NODEMANAGER'), ('HDFS', 'DATANODE')) AS s(svc, comp) WHERE h.cluster_id = $1`,
		`INSERT INTO cluster_service_quorum (cluster_id, service, min_started) VALUES ($1, 'HDFS', 3)`,
		`INSERT INTO spare_host (hostname, region, cpu_cores, memory_bytes, disk_bytes, nic_bps)
		 SELECT 'spare-' || lpad(h::text, 6, '0'), 'us-west', (ARRAY[64, 32])[1 + h % 2], 256::bigint << 30, 8e12, 25e9
		 FROM generate_series(1, 5000) h`,
		`ANALYZE`,
	} {
		args := []any{cl}
		if !strings.Contains(s, "$1") {
			args = nil
		}
		if _, err := d.Pool.Exec(ctx, s, args...); err != nil {
			b.Fatal(err)
		}
	}
	rows, err := d.Pool.Query(ctx, `SELECT id FROM host WHERE cluster_id = $1 ORDER BY hostname LIMIT 2000`, cl)
	if err != nil {
		b.Fatal(err)
	}
	victims, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		b.Fatal(err)
	}
	e := benchEngine(b, d.Pool, aquila.EngineConfig{BatchSize: 500})
	svc := aquila.NewService(d.Pool, e, audit.New(d.Pool, quiet))

	b.Run("cluster_profile", func(b *testing.B) {
		for range b.N {
			p, err := inventory.ClusterProfile(ctx, d.Pool, cl, 0)
			if err != nil || len(p) != 2 {
				b.Fatal(p, err)
			}
		}
	})
	b.Run("scale_out_1000", func(b *testing.B) {
		var total time.Duration
		for range b.N {
			start := time.Now()
			op, err := svc.ScaleOutCluster(operatorCtx(), aquila.ScaleOutInput{ClusterID: cl, Count: 1000})
			if err != nil {
				b.Fatal(err)
			}
			benchWait(b, svc, op.ID)
			total += time.Since(start)
		}
		b.ReportMetric(float64(1000*b.N)/total.Seconds(), "hosts/s")
	})
	params, _ := json.Marshal(aquila.DecommissionParams{HostIDs: victims})
	b.Run("decommission_plan_2000", func(b *testing.B) {
		var total time.Duration
		for range b.N {
			start := time.Now()
			err := db.InTx(ctx, d.Pool, func(tx pgx.Tx) error {
				plan, err := aquila.DecommissionPlanner{}.Plan(ctx, tx, aquila.Request{Kind: aquila.KindDecommission, ClusterID: cl,
					Params: params, RequestedBy: "bench", MaxOutOfServicePct: 1})
				if err != nil {
					return err
				}
				if _, err := e.Submit(ctx, tx, *plan); err != nil {
					return err
				}
				return errRollback
			})
			if !errors.Is(err, errRollback) {
				b.Fatal(err)
			}
			total += time.Since(start)
		}
		b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/plan")
	})
}

var errRollback = errors.New("rollback")

// benchEngine starts an engine for a benchmark, stopped at its end.
func benchEngine(b *testing.B, pool *pgxpool.Pool, cfg aquila.EngineConfig) *aquila.Engine {
	e, err := aquila.NewEngine(pool, aquila.ZeroExecutor{}, quiet, cfg)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := e.Start(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		cancel()
		stopCtx, stop := context.WithTimeout(context.Background(), 10*time.Second)
		defer stop()
		_ = e.Stop(stopCtx)
	})
	return e
}

// benchWait polls until operation id succeeded.
func benchWait(b *testing.B, svc *aquila.Service, id int64) {
	deadline := time.Now().Add(10 * time.Minute)
	for time.Now().Before(deadline) {
		op, err := svc.Operation(operatorCtx(), id)
		if err != nil {
			b.Fatal(err)
		}
		switch op.State {
		case aquila.Succeeded:
			return
		case aquila.Failed, aquila.Paused, aquila.Aborted:
			b.Fatalf("operation %d ended %s: %s", id, op.State, op.Error)
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.Fatalf("operation %d did not finish", id)
}
