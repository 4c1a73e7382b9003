package aquila_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/internal/aquila"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/fixture"
)

// BenchmarkStagesOf50Operations measures what an operations list selecting
// `stages` costs: 50 operations of 5 stages each, 20,000 tasks in all (80 a
// stage, in every state), read one operation at a time as the resolver did
// (per_operation: Service.Progress, the operation, its stages counted and its
// events) and for all 50 at once (batched: Service.StagesByOperations, what
// the request's loader calls).
func BenchmarkStagesOf50Operations(b *testing.B) {
	const ops, stages, perStage = 50, 5, 80
	d := dbtest.NewDatabase(b, db.Options{})
	ctx := context.Background()
	cl := fixture.Bulk(b, d.Pool, 1, perStage)[0]
	rows, err := d.Pool.Query(ctx, `WITH o AS (
		INSERT INTO operation (kind, cluster_id, state, requested_by, current_stage)
		SELECT 'RESTART', $1, 'SUCCEEDED', 'bench', $2 FROM generate_series(1, $3) RETURNING id)
		SELECT id FROM o ORDER BY id`, cl, stages, ops)
	if err != nil {
		b.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		b.Fatal(err)
	}
	if _, err := d.Pool.Exec(ctx, `INSERT INTO operation_stage (operation_id, position, name, state)
		SELECT o, p, 'batch ' || p, 'SUCCEEDED' FROM unnest($1::bigint[]) o, generate_series(1, $2) p`, ids, stages); err != nil {
		b.Fatal(err)
	}
	if _, err := d.Pool.Exec(ctx, `INSERT INTO operation_task (operation_id, stage_id, host_id, action, state)
		SELECT s.operation_id, s.id, h.id, 'RESTART',
			(ARRAY['SUCCEEDED','SUCCEEDED','SUCCEEDED','FAILED','SKIPPED','PENDING','RUNNING','ABORTED'])[1 + (h.id % 8)::int]
		FROM operation_stage s CROSS JOIN host h WHERE h.cluster_id = $1`, cl); err != nil {
		b.Fatal(err)
	}
	if _, err := d.Pool.Exec(ctx, `ANALYZE operation, operation_stage, operation_task`); err != nil {
		b.Fatal(err)
	}
	svc := aquila.NewService(d.Pool, nil, nil)
	c := operatorCtx()

	b.Run("per_operation", func(b *testing.B) {
		for b.Loop() {
			for _, id := range ids {
				pr, err := svc.Progress(c, id)
				if err != nil || len(pr.Stages) != stages {
					b.Fatalf("progress of %d: %v", id, err)
				}
			}
		}
	})

	b.Run("batched", func(b *testing.B) {
		for b.Loop() {
			m, err := svc.StagesByOperations(c, ids)
			if err != nil || len(m) != ops {
				b.Fatalf("stages: %v (%d operations)", err, len(m))
			}
			for _, id := range ids {
				n := 0
				for _, st := range m[id] {
					for _, k := range st.Tasks {
						n += k
					}
				}
				if len(m[id]) != stages || n != stages*perStage {
					b.Fatalf("operation %d: %d stages, %d tasks", id, len(m[id]), n)
				}
			}
		}
	})
}
