package cost_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/cost"
	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/lineage"
	"github.com/teslaops/tesla/internal/workload"
)

// TestRateCardStoragePrice: storageTbDay is validated naming the field
// (negative, more than 6 decimals), is 0 on a new card without it, is kept
// when a replaced card leaves it out, and its changes are audited.
func TestRateCardStoragePrice(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := context.Background()
	admin := adminCtx(t, pool)
	svc := cost.NewService(pool, auditLog(pool), cost.Config{})
	batch, online := "BATCH", "ONLINE"
	day := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for _, bad := range []string{"-0.5", "0.0000001"} {
		_, err := svc.UpsertRateCard(admin, cost.RateCardInput{ClusterKind: &batch, ValidFrom: day,
			StorageTBDay: ptr(decimal.RequireFromString(bad))})
		fe, ok := fault.As(err)
		require.True(t, ok && fe.Kind == fault.Invalid && fe.Field == "input.storageTbDay", "%s: %v", bad, err)
	}
	plain, err := svc.UpsertRateCard(admin, cost.RateCardInput{ClusterKind: &online, ValidFrom: day, CoreHour: decimal.RequireFromString("0.08")})
	require.NoError(t, err)
	require.True(t, plain.StorageTBDay.IsZero())

	c, err := svc.UpsertRateCard(admin, cost.RateCardInput{ClusterKind: &batch, ValidFrom: day, CoreHour: decimal.RequireFromString("0.04"),
		StorageTBDay: ptr(decimal.RequireFromString("0.9"))})
	require.NoError(t, err)
	require.Equal(t, "0.9", c.StorageTBDay.String())
	kept, err := svc.UpsertRateCard(admin, cost.RateCardInput{ID: c.ID, ClusterKind: &batch, ValidFrom: day, CoreHour: decimal.RequireFromString("0.05")})
	require.NoError(t, err)
	require.Equal(t, "0.9", kept.StorageTBDay.String(), "left out: kept")
	changed, err := svc.UpsertRateCard(admin, cost.RateCardInput{ID: c.ID, ClusterKind: &batch, ValidFrom: day, CoreHour: decimal.RequireFromString("0.05"),
		StorageTBDay: ptr(decimal.RequireFromString("1.1"))})
	require.NoError(t, err)
	require.Equal(t, "1.1", changed.StorageTBDay.String())
	var n int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action = 'upsertRateCard' AND outcome = 'OK'
		AND input->'before'->>'storageTbDay' = '0.9' AND input->'after'->>'storageTbDay' = '1.1'`).Scan(&n))
	require.Equal(t, 1, n)
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action = 'upsertRateCard' AND outcome <> 'OK'
		AND input->'input'->>'storageTbDay' = '-0.5'`).Scan(&n))
	require.Equal(t, 1, n, "the refusal is audited with its input")
}

// TestStorageBilledToLastWriter: a dataset's TB-days are charged each day to
// the job that wrote it last by the end of the day, at its cluster's storage
// price, to its owner's BU; a cluster that did not run is priced for its
// storage alone; storage takes no idle share; a writer without a cluster is
// counted, not priced; re-billing replaces the days.
func TestStorageBilledToLastWriter(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := context.Background()
	day1 := time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)
	q := func(sql string, args ...any) int64 {
		var id int64
		require.NoError(t, pool.QueryRow(ctx, sql, args...).Scan(&id))
		return id
	}
	buX := q(`INSERT INTO bu (name, code) VALUES ('X', 'X') RETURNING id`)
	buY := q(`INSERT INTO bu (name, code) VALUES ('Y', 'Y') RETURNING id`)
	alice := q(`INSERT INTO person (login, name, bu_id) VALUES ('alice', 'Alice', $1) RETURNING id`, buX)
	bob := q(`INSERT INTO person (login, name, bu_id) VALUES ('bob', 'Bob', $1) RETURNING id`, buY)
	compute := q(`INSERT INTO cluster (name, region, kind, owner_bu_id) VALUES ('compute', 'r', 'BATCH', $1) RETURNING id`, buX)
	store := q(`INSERT INTO cluster (name, region, kind, owner_bu_id) VALUES ('store', 'r', 'ONLINE', $1) RETURNING id`, buY)
	jobA := q(`INSERT INTO job (namespace, name, owner_id, cluster_id) VALUES ('n', 'a', $1, $2) RETURNING id`, alice, compute)
	jobB := q(`INSERT INTO job (namespace, name, owner_id, cluster_id) VALUES ('n', 'b', $1, $2) RETURNING id`, bob, store)
	jobC := q(`INSERT INTO job (namespace, name, owner_id) VALUES ('n', 'c', $1) RETURNING id`, bob) // no cluster
	// A uses one of the compute cluster's two cores for an hour on day 1.
	_, err := pool.Exec(ctx, `INSERT INTO job_usage_1h (job_id, hour, requested_core_seconds, used_core_seconds) VALUES ($1, $2, 3600, 0)`, jobA, day1.Add(time.Hour))
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `INSERT INTO watermark_1h (cluster_id, ts, used, capacity, utilization, peak, hosts, minutes, dimension)
		VALUES ($1, $2, 0, 2, 0, 0, 1, 60, 'CPU')`, compute, day1.Add(time.Hour))
	require.NoError(t, err)

	// A writes t (2 TB) on day 1 at 10:00; B rewrites it (3 TB) on day 2 at
	// 12:00; C writes u (5 TB) on day 1.
	at := []time.Time{day1.Add(10 * time.Hour), day1.Add(36 * time.Hour), day1.Add(11 * time.Hour)}
	jobs := []int64{jobA, jobB, jobC}
	var runs []workload.RunRecord
	for i := range jobs {
		runs = append(runs, workload.RunRecord{JobID: jobs[i], RunUUID: pgtype.UUID{Bytes: [16]byte{byte(i + 1)}, Valid: true},
			State: "COMPLETED", StateAt: at[i], QueuedAt: at[i], StartedAt: at[i]})
	}
	ids, err := workload.LoadRuns(ctx, pool, runs)
	require.NoError(t, err)
	sizes := []int64{2_000_000_000_000, 3_000_000_000_000, 5_000_000_000_000}
	names := []string{"t", "t", "u"}
	var ios []lineage.RunIO
	for i := range jobs {
		ios = append(ios, lineage.RunIO{JobID: jobs[i], RunID: ids[i], At: at[i],
			Outputs: []lineage.DatasetRef{{Namespace: "hdfs", Name: names[i], SizeBytes: ptr(sizes[i])}}})
	}
	require.NoError(t, lineage.LoadRunIO(ctx, pool, ios))

	svc := cost.NewService(pool, auditLog(pool), cost.Config{})
	for kind, storage := range map[string]string{"BATCH": "1.5", "ONLINE": "0.333333"} {
		_, err := svc.UpsertRateCard(adminCtx(t, pool), cost.RateCardInput{ClusterKind: &kind, ValidFrom: day1,
			CoreHour: decimal.RequireFromString("0.04"), StorageTBDay: ptr(decimal.RequireFromString(storage))})
		require.NoError(t, err)
	}
	b := cost.NewBiller(pool, cost.Config{}, cost.BillingConfig{}, slog.New(slog.DiscardHandler))
	end := day1.AddDate(0, 0, 3)
	res, err := b.Bill(ctx, day1, end, end)
	require.NoError(t, err)
	require.Equal(t, int64(3), res.Unplaced, "u, each day")

	type storageLine struct {
		day                         string
		cluster, job, person, bu    int64
		quantity, unitPrice, amount string
	}
	rows, err := pool.Query(ctx, `SELECT day::text, cluster_id, job_id, person_id, bu_id, quantity::text, unit_price::text, amount::text
		FROM bill_line WHERE resource = 'STORAGE' ORDER BY day, job_id`)
	require.NoError(t, err)
	var got []storageLine
	for rows.Next() {
		var l storageLine
		require.NoError(t, rows.Scan(&l.day, &l.cluster, &l.job, &l.person, &l.bu, &l.quantity, &l.unitPrice, &l.amount))
		got = append(got, l)
	}
	require.NoError(t, rows.Err())
	require.Equal(t, []storageLine{
		{"2026-11-03", compute, jobA, alice, buX, "2.000000000000", "1.500000", "3.00"},
		{"2026-11-04", store, jobB, bob, buY, "3.000000000000", "0.333333", "1.00"},
		{"2026-11-05", store, jobB, bob, buY, "3.000000000000", "0.333333", "1.00"},
	}, got)

	// Storage bears no idle: A's idle share is the unused core-hour alone.
	var idle, total, storageAmount, tb decimal.Decimal
	require.NoError(t, pool.QueryRow(ctx, `SELECT amount FROM bill_line WHERE resource = 'IDLE' AND job_id = $1`, jobA).Scan(&idle))
	require.Equal(t, "0.04", idle.StringFixed(2))
	require.NoError(t, pool.QueryRow(ctx, `SELECT total, storage_amount, stored_tb_days FROM cost_cluster_day WHERE cluster_id = $1 AND day = $2`,
		compute, day1).Scan(&total, &storageAmount, &tb))
	require.Equal(t, "3.08", total.StringFixed(2), "2 core-hours at 0.04 and 2 TB-days at 1.5")
	require.Equal(t, "3.00", storageAmount.StringFixed(2))
	require.Equal(t, "2", tb.String())
	// The store cluster never ran: its days cost its storage, 0.999999 -> 1.00.
	require.NoError(t, pool.QueryRow(ctx, `SELECT total FROM cost_cluster_day WHERE cluster_id = $1 AND day = $2`, store, day1.AddDate(0, 0, 1)).Scan(&total))
	require.Equal(t, "1.00", total.StringFixed(2))
	var n int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM cost_cluster_day WHERE cluster_id = $1`, store).Scan(&n))
	require.Equal(t, 2, n, "no storage of its own on day 1: nothing to price")

	// Storage shows in the bills by resource, with its unit.
	v, err := svc.Bills(adminCtx(t, pool), cost.BillQuery{GroupBy: cost.ByResource, Period: cost.Period{From: day1, To: end}})
	require.NoError(t, err)
	var found bool
	for _, g := range v.Groups {
		if g.Resource == cost.Storage {
			found = true
			require.Equal(t, "5.00", g.Amount.StringFixed(2))
			require.Equal(t, cost.UnitTBDay, g.Items[0].Unit)
			require.Equal(t, "8", g.Items[0].Quantity.String())
		}
	}
	require.True(t, found, "a STORAGE group")
	var lines decimal.Decimal
	require.NoError(t, pool.QueryRow(ctx, `SELECT sum(amount) FROM bill_line`).Scan(&lines))
	require.True(t, lines.Equal(res.Total) && v.Total.Equal(lines), "lines %s, billed %s, view %s", lines, res.Total, v.Total)

	// Re-billing replaces: B's later price applies, lines once.
	_, err = pool.Exec(ctx, `UPDATE rate_card SET storage_tb_day = 2 WHERE cluster_kind = 'ONLINE'`)
	require.NoError(t, err)
	_, err = b.Bill(ctx, day1, end, end)
	require.NoError(t, err)
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM bill_line WHERE resource = 'STORAGE' AND amount = 6`).Scan(&n))
	require.Equal(t, 2, n)
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM bill_line WHERE resource = 'STORAGE'`).Scan(&n))
	require.Equal(t, 3, n)
}
