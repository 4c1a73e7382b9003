package cost_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/audit"
	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/cost"
	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/lineage"
	"github.com/teslaops/tesla/internal/workload"
)

// randomFleet is a generated fleet: BUs, people, clusters with hourly
// capacity (sometimes missing, sometimes below what jobs asked), jobs with
// hourly usage, and rate cards; it also keeps what it wrote so the test can
// compute the clusters' total cost on its own.
type randomFleet struct {
	bus      []int64
	people   []int64
	clusters []rfCluster
	jobs     []rfJob
	// usage[job][hour] = (core-seconds, byte-seconds) charged: max(req, used).
	usage map[int64]map[time.Time][2]int64
	// capacity[cluster][hour] = (cores, bytes) from watermark_1h.
	capacity map[int64]map[time.Time][2]int64
	cards    map[string]card // by kind, and "c<id>" for cluster cards
	// writes are the sized dataset writes (lineage outputStatistics).
	writes []rfWrite
}

type rfWrite struct {
	dataset string
	job     int64
	at      time.Time
	size    int64
}

type rfCluster struct {
	id    int64
	kind  string
	owner *int64
	// hostCores and hostBytes is the inventory capacity (non-decommissioned).
	hostCores, hostBytes int64
}

type rfJob struct {
	id, cluster int64
	owner, bu   *int64
}

type card struct{ core, mem, overhead, storage decimal.Decimal }

var kinds = []string{"STREAMING", "BATCH", "ONLINE"}

// newRandomFleet writes a fleet drawn from seed, with usage over the days
// [start, start+days).
func newRandomFleet(t *testing.T, pool *pgxpool.Pool, seed uint64, start time.Time, days int) *randomFleet {
	t.Helper()
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(seed, seed*7+1))
	f := &randomFleet{usage: map[int64]map[time.Time][2]int64{}, capacity: map[int64]map[time.Time][2]int64{}, cards: map[string]card{}}
	q := func(sql string, args ...any) int64 {
		t.Helper()
		var id int64
		require.NoError(t, pool.QueryRow(ctx, sql, args...).Scan(&id))
		return id
	}
	for i := range 2 + rng.IntN(5) {
		var parent *int64
		if i > 0 {
			parent = &f.bus[rng.IntN(len(f.bus))]
		}
		f.bus = append(f.bus, q(`INSERT INTO bu (parent_id, name, code) VALUES ($1, $2, $2) RETURNING id`, parent, fmt.Sprintf("BU%d-%d", seed, i)))
	}
	for i := range 2 + rng.IntN(6) {
		f.people = append(f.people, q(`INSERT INTO person (login, name, bu_id) VALUES ($1, $1, $2) RETURNING id`,
			fmt.Sprintf("p%d-%d", seed, i), f.bus[rng.IntN(len(f.bus))]))
	}
	for i := range 1 + rng.IntN(5) {
		c := rfCluster{kind: kinds[rng.IntN(3)]}
		if rng.IntN(4) > 0 {
			c.owner = &f.bus[rng.IntN(len(f.bus))]
		}
		c.id = q(`INSERT INTO cluster (name, region, kind, owner_bu_id) VALUES ($1, 'r', $2, $3) RETURNING id`,
			fmt.Sprintf("c%d-%d", seed, i), c.kind, c.owner)
		for h := range 1 + rng.IntN(4) {
			cores, gib := int64(8+8*rng.IntN(8)), int64(32+32*rng.IntN(8))
			state := []string{"ONLINE", "ONLINE", "DEGRADED", "DECOMMISSIONED"}[rng.IntN(4)]
			q(`INSERT INTO host (cluster_id, hostname, cpu_cores, memory_bytes, disk_bytes, nic_bps, state)
				VALUES ($1, $2, $3, $4, 0, 0, $5) RETURNING id`, c.id, fmt.Sprintf("h%d-%d-%d", seed, i, h), cores, gib<<30, state)
			if state != "DECOMMISSIONED" {
				c.hostCores, c.hostBytes = c.hostCores+cores, c.hostBytes+gib<<30
			}
		}
		f.clusters = append(f.clusters, c)
	}
	for i := range 3 + rng.IntN(25) {
		j := rfJob{cluster: f.clusters[rng.IntN(len(f.clusters))].id}
		if rng.IntN(5) > 0 {
			j.owner = &f.people[rng.IntN(len(f.people))]
		}
		if rng.IntN(3) == 0 {
			j.bu = &f.bus[rng.IntN(len(f.bus))]
		}
		j.id = q(`INSERT INTO job (namespace, name, owner_id, bu_id, cluster_id) VALUES ('ns', $1, $2, $3, $4) RETURNING id`,
			fmt.Sprintf("j%d-%d", seed, i), j.owner, j.bu, j.cluster)
		f.jobs = append(f.jobs, j)
		f.usage[j.id] = map[time.Time][2]int64{}
	}
	for h := start; h.Before(start.AddDate(0, 0, days)); h = h.Add(time.Hour) {
		for _, c := range f.clusters {
			if rng.IntN(6) == 0 {
				continue // no level this hour: hosts silent, or the cluster off
			}
			cores, bytes := c.hostCores+int64(rng.IntN(8)), c.hostBytes+int64(rng.IntN(4))<<30
			_, err := pool.Exec(ctx, `INSERT INTO watermark_1h (cluster_id, ts, used, capacity, utilization, peak, hosts, minutes, dimension)
				VALUES ($1, $2, 0, $3, 0, 0, 3, 60, 'CPU'), ($1, $2, 0, $4, 0, 0, 3, 60, 'MEMORY')`, c.id, h, cores, bytes)
			require.NoError(t, err)
			if f.capacity[c.id] == nil {
				f.capacity[c.id] = map[time.Time][2]int64{}
			}
			f.capacity[c.id][h] = [2]int64{cores, bytes}
		}
		for _, j := range f.jobs {
			if rng.IntN(3) > 0 {
				continue
			}
			// Integral seconds keep float8 -> numeric exact, so this test's
			// own arithmetic needs no rounding of its inputs.
			rc, uc := int64(rng.IntN(40*3600)), int64(rng.IntN(40*3600))
			rm, um := int64(rng.IntN(64))<<30*int64(rng.IntN(3600)), int64(rng.IntN(64))<<30*int64(rng.IntN(3600))
			_, err := pool.Exec(ctx, `INSERT INTO job_usage_1h (job_id, hour, runs, requested_core_seconds, used_core_seconds,
				requested_memory_byte_seconds, used_memory_byte_seconds) VALUES ($1, $2, 1, $3, $4, $5, $6)`, j.id, h, rc, uc, rm, um)
			require.NoError(t, err)
			f.usage[j.id][h] = [2]int64{max(rc, uc), max(rm, um)}
		}
	}
	f.writeDatasets(t, pool, rng, start, days)
	price := func(maxCents int) decimal.Decimal { return decimal.New(int64(rng.IntN(maxCents*10000)), -6) }
	storagePrice := func() decimal.Decimal {
		if rng.IntN(4) == 0 {
			return decimal.Zero // a card that does not price storage
		}
		return price(300)
	}
	admin := adminCtx(t, pool)
	svc := cost.NewService(pool, auditLog(pool), cost.Config{})
	for _, k := range kinds {
		if rng.IntN(5) == 0 {
			continue // an unpriced kind
		}
		c := card{core: price(10), mem: price(2), overhead: decimal.New(int64(rng.IntN(100000)), -2), storage: storagePrice()}
		f.cards[k] = c
		kind := k
		_, err := svc.UpsertRateCard(admin, cost.RateCardInput{ClusterKind: &kind, ValidFrom: start.AddDate(0, -1, 0),
			CoreHour: c.core, MemoryGBHour: c.mem, OverheadPerMonth: &c.overhead, StorageTBDay: &c.storage})
		require.NoError(t, err)
	}
	cl := f.clusters[rng.IntN(len(f.clusters))]
	c := card{core: price(20), mem: price(3), overhead: decimal.New(int64(rng.IntN(5000000)), -2), storage: storagePrice()}
	f.cards[fmt.Sprintf("c%d", cl.id)] = c
	_, err := svc.UpsertRateCard(admin, cost.RateCardInput{ClusterID: &cl.id, ValidFrom: start, ValidTo: ptr(start.AddDate(0, 2, 0)),
		CoreHour: c.core, MemoryGBHour: c.mem, OverheadPerMonth: &c.overhead, StorageTBDay: &c.storage})
	require.NoError(t, err)
	return f
}

func ptr[T any](v T) *T { return &v }

// writeDatasets adds storage to the fleet: a cluster that never runs with a
// job that only writes, a job without a cluster that writes (not priced),
// and sized writes of a few datasets by random jobs at random times from a
// day before start to the end (a dataset rewritten by another job changes
// hands), stored through lineage as a source's runs.
func (f *randomFleet) writeDatasets(t *testing.T, pool *pgxpool.Pool, rng *rand.Rand, start time.Time, days int) {
	t.Helper()
	ctx := context.Background()
	seed := rng.Uint64()
	c := rfCluster{kind: kinds[rng.IntN(3)], owner: &f.bus[0]}
	require.NoError(t, pool.QueryRow(ctx, `INSERT INTO cluster (name, region, kind, owner_bu_id) VALUES ($1, 'r', $2, $3) RETURNING id`,
		fmt.Sprintf("store-%d", seed), c.kind, c.owner).Scan(&c.id))
	f.clusters = append(f.clusters, c)
	writers := append([]rfJob{}, f.jobs...)
	for i, cl := range []*int64{&c.id, nil} {
		j := rfJob{owner: &f.people[rng.IntN(len(f.people))]}
		if cl != nil {
			j.cluster = *cl
		}
		require.NoError(t, pool.QueryRow(ctx, `INSERT INTO job (namespace, name, owner_id, cluster_id) VALUES ('ns', $1, $2, $3) RETURNING id`,
			fmt.Sprintf("w%d-%d", seed, i), j.owner, cl).Scan(&j.id))
		if cl != nil {
			f.jobs = append(f.jobs, j)
			f.usage[j.id] = map[time.Time][2]int64{}
		}
		writers = append(writers, j)
	}
	var runs []workload.RunRecord
	for i := range 4 + rng.IntN(12) {
		j := writers[rng.IntN(len(writers))]
		at := start.Add(-24 * time.Hour).Add(time.Duration(rng.Int64N(int64(days+1) * int64(24*time.Hour))))
		w := rfWrite{dataset: fmt.Sprintf("d%d", rng.IntN(6)), job: j.id, at: at,
			size: rng.Int64N(50)*100_000_000_000 + rng.Int64N(1_000_000_000)}
		if i < 2 {
			// The two writers above write a dataset of their own before
			// start: storage on a cluster that never runs, and storage
			// without a cluster.
			w.job, w.dataset, w.at = writers[len(writers)-2+i].id, fmt.Sprintf("own%d", i), start.Add(-time.Duration(1+rng.IntN(20))*time.Hour)
			w.size += 1_000_000_000_000
			at = w.at
		}
		f.writes = append(f.writes, w)
		runs = append(runs, workload.RunRecord{JobID: w.job, RunUUID: pgtype.UUID{Bytes: uuid(seed, i), Valid: true},
			State: "COMPLETED", StateAt: at, QueuedAt: at, StartedAt: at})
	}
	ids, err := workload.LoadRuns(ctx, pool, runs)
	require.NoError(t, err)
	ios := make([]lineage.RunIO, len(ids))
	for i, w := range f.writes {
		ios[i] = lineage.RunIO{JobID: w.job, RunID: ids[i], At: w.at,
			Outputs: []lineage.DatasetRef{{Namespace: "hdfs", Name: w.dataset, SizeBytes: ptr(w.size)}}}
	}
	require.NoError(t, lineage.RecordRunIO(ctx, pool, ios))
}

func uuid(seed uint64, i int) [16]byte {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], seed)
	binary.BigEndian.PutUint64(b[8:], uint64(i))
	return b
}

// storedBytes is what the jobs of cluster c stored as of end: the sizes of
// the datasets whose latest write before end was theirs.
func (f *randomFleet) storedBytes(c int64, end time.Time) int64 {
	latest := map[string]rfWrite{}
	for _, w := range f.writes {
		if w.at.Before(end) && (latest[w.dataset].at.IsZero() || !w.at.Before(latest[w.dataset].at)) {
			latest[w.dataset] = w
		}
	}
	var sum int64
	for _, w := range latest {
		for _, j := range f.jobs {
			if j.id == w.job && j.cluster == c {
				sum += w.size
			}
		}
	}
	return sum
}

// expectedTotal computes a cluster's total cost of a day from what the fleet
// wrote, by the formula of docs/cost.md: per hour the cluster ran,
// max(capacity, charged) core-hours and GB-hours at the card's prices,
// rounded to the cent over the day, plus the day's overhead (on days it ran),
// plus the TB-days its jobs' datasets held at the end of the day at the
// card's storage price, rounded to the cent.
func (f *randomFleet) expectedTotal(c rfCluster, day time.Time) (decimal.Decimal, bool) {
	cd, ok := f.cards[fmt.Sprintf("c%d", c.id)]
	if !ok {
		if cd, ok = f.cards[c.kind]; !ok {
			return decimal.Zero, false
		}
	}
	q9 := func(n int64, div int64) decimal.Decimal {
		return decimal.NewFromInt(n).DivRound(decimal.NewFromInt(div), 9)
	}
	core, mem := decimal.Zero, decimal.Zero
	ran := false
	for h := day; h.Before(day.Add(24 * time.Hour)); h = h.Add(time.Hour) {
		chCore, chMem, used := decimal.Zero, decimal.Zero, false
		for _, j := range f.jobs {
			if u, ok := f.usage[j.id][h]; ok && j.cluster == c.id {
				chCore, chMem, used = chCore.Add(q9(u[0], 3600)), chMem.Add(q9(u[1], 3600<<30)), true
			}
		}
		capa, measured := f.capacity[c.id][h]
		if !measured && !used {
			continue
		}
		ran = true
		if !measured {
			capa = [2]int64{c.hostCores, c.hostBytes}
		}
		core = core.Add(decimal.Max(decimal.NewFromInt(capa[0]), chCore))
		mem = mem.Add(decimal.Max(q9(capa[1], 1<<30), chMem))
	}
	storage := decimal.NewFromInt(f.storedBytes(c.id, day.Add(24*time.Hour))).Shift(-12).Mul(cd.storage).Round(2)
	if !ran {
		return storage, storage.IsPositive()
	}
	n := int64(time.Date(day.Year(), day.Month()+1, 0, 0, 0, 0, 0, time.UTC).Day())
	i := int64(day.Day())
	od := cd.overhead.Mul(decimal.NewFromInt(i)).Div(decimal.NewFromInt(n)).Round(2).
		Sub(cd.overhead.Mul(decimal.NewFromInt(i - 1)).Div(decimal.NewFromInt(n)).Round(2))
	return core.Mul(cd.core).Add(mem.Mul(cd.mem)).Round(2).Add(od).Add(storage), true
}

func TestBillLinesAddUpToClusterTotalsOnRandomFleets(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 10, 30, 0, 0, 0, 0, time.UTC) // spans a month end
	const days = 3
	for seed := uint64(1); seed <= 6; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			t.Parallel()
			pool := dbtest.New(t)
			ctx := context.Background()
			f := newRandomFleet(t, pool, seed, start, days)
			rule := cost.Proportional
			if seed%2 == 0 {
				rule = cost.Even
			}
			b := cost.NewBiller(pool, cost.Config{OverheadRule: rule}, cost.BillingConfig{}, slog.New(slog.DiscardHandler))
			end := start.AddDate(0, 0, days)
			res, err := b.Bill(ctx, start, end, end)
			require.NoError(t, err)

			want := decimal.Zero
			for _, c := range f.clusters {
				for d := start; d.Before(end); d = d.AddDate(0, 0, 1) {
					exp, ok := f.expectedTotal(c, d)
					var got decimal.Decimal
					err := pool.QueryRow(ctx, `SELECT coalesce(sum(amount), 0) FROM bill_line WHERE cluster_id = $1 AND day = $2`, c.id, d).Scan(&got)
					require.NoError(t, err)
					if !ok {
						require.True(t, got.IsZero(), "cluster %d day %s is not priced but has lines of %s", c.id, d, got)
						continue
					}
					require.True(t, exp.Equal(got), "cluster %d day %s: lines add up to %s, the cluster cost %s", c.id, d.Format(time.DateOnly), got, exp)
					want = want.Add(exp)
				}
			}
			require.True(t, want.Equal(res.Total), "billed total %s, clusters' total %s", res.Total, want)
			require.Positive(t, res.Unplaced, "the writer without a cluster is counted, not priced")
			var storageLines int
			require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM bill_line WHERE resource = 'STORAGE'`).Scan(&storageLines))
			t.Logf("%d lines, %d of them STORAGE", res.Lines, storageLines)
			assertBillConsistent(t, pool, f)

			// Re-running the period replaces it: the same lines, once.
			var before, after string
			snapshot := `SELECT md5(string_agg(concat_ws(',', day, cluster_id, resource, job_id, person_id, bu_id, quantity, amount), ';'
				ORDER BY day, cluster_id, resource, job_id, bu_id)) FROM bill_line`
			require.NoError(t, pool.QueryRow(ctx, snapshot).Scan(&before))
			_, err = b.Bill(ctx, start, end, end)
			require.NoError(t, err)
			require.NoError(t, pool.QueryRow(ctx, snapshot).Scan(&after))
			require.Equal(t, before, after)
		})
	}
}

// assertBillConsistent checks what must hold whatever the fleet: every job
// charged once per day and resource at quantity x price rounded; idle never
// negative; the daily sums equal their lines; cluster totals equal their
// lines.
func assertBillConsistent(t *testing.T, pool *pgxpool.Pool, f *randomFleet) {
	t.Helper()
	ctx := context.Background()
	var n int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM bill_line
		WHERE resource IN ('CPU', 'MEMORY', 'STORAGE') AND amount <> round(quantity * unit_price, 2)`).Scan(&n))
	require.Zero(t, n, "usage lines whose amount is not quantity x price")
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM (SELECT day, job_id, resource FROM bill_line
		WHERE job_id IS NOT NULL GROUP BY 1, 2, 3 HAVING count(*) > 1) d`).Scan(&n))
	require.Zero(t, n, "a job charged twice for a resource on a day")
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM bill_line l JOIN job j ON j.id = l.job_id WHERE l.cluster_id <> j.cluster_id`).Scan(&n))
	require.Zero(t, n, "a job charged on a cluster it does not run on")
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM bill_line WHERE resource = 'IDLE' AND amount < 0`).Scan(&n))
	require.Zero(t, n, "negative idle")
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM cost_cluster_day c
		WHERE total <> (SELECT sum(amount) FROM bill_line l WHERE l.day = c.day AND l.cluster_id = c.cluster_id)
		   OR total <> usage_amount + storage_amount + idle_amount + overhead_amount + rounding_amount
		   OR storage_amount <> (SELECT coalesce(sum(amount), 0) FROM bill_line l WHERE l.day = c.day AND l.cluster_id = c.cluster_id AND l.resource = 'STORAGE')`).Scan(&n))
	require.Zero(t, n, "cluster totals that differ from their lines")
	for _, table := range []string{"bill_bu_day", "bill_cluster_day"} {
		var a, b decimal.Decimal
		require.NoError(t, pool.QueryRow(ctx, `SELECT (SELECT coalesce(sum(amount), 0) FROM `+table+`), (SELECT coalesce(sum(amount), 0) FROM bill_line)`).Scan(&a, &b))
		require.True(t, a.Equal(b), "%s sums to %s, the lines to %s", table, a, b)
	}
	var a, b decimal.Decimal
	require.NoError(t, pool.QueryRow(ctx, `SELECT (SELECT coalesce(sum(amount), 0) FROM bill_person_day),
		(SELECT coalesce(sum(amount), 0) FROM bill_line WHERE person_id IS NOT NULL)`).Scan(&a, &b))
	require.True(t, a.Equal(b), "bill_person_day sums to %s, the lines with a person to %s", a, b)
	// Rounding lines stay small: at most a cent per line of the cluster-day.
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM bill_line r WHERE resource = 'ROUNDING'
		AND abs(amount) > 0.01 * (SELECT count(*) FROM bill_line l WHERE l.day = r.day AND l.cluster_id = r.cluster_id)`).Scan(&n))
	if n > 0 {
		rows, _ := pool.Query(ctx, `SELECT r.day, r.cluster_id, r.amount, c.total, c.usage_amount, c.idle_amount, c.overhead_amount, c.capacity_amount,
			(SELECT count(*) FROM bill_line l WHERE l.day = r.day AND l.cluster_id = r.cluster_id)
			FROM bill_line r JOIN cost_cluster_day c USING (day, cluster_id) WHERE resource = 'ROUNDING'`)
		for rows.Next() {
			v, _ := rows.Values()
			t.Log(v...)
		}
	}
	require.Zero(t, n, "a rounding line larger than the rounding of its lines")
}

func TestJobMovedMidMonthIsChargedToEachBUForItsDays(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := context.Background()
	start := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	f := newRandomFleet(t, pool, 42, start, 4)
	// Price every kind so every job is billed.
	svc := cost.NewService(pool, auditLog(pool), cost.Config{})
	for _, k := range kinds {
		if _, ok := f.cards[k]; !ok {
			kind := k
			_, err := svc.UpsertRateCard(adminCtx(t, pool), cost.RateCardInput{ClusterKind: &kind, ValidFrom: start, CoreHour: decimal.RequireFromString("0.04"), MemoryGBHour: decimal.RequireFromString("0.005")})
			require.NoError(t, err)
		}
	}
	var job int64
	require.NoError(t, pool.QueryRow(ctx, `SELECT job_id FROM job_usage_1h WHERE hour < $1 GROUP BY job_id
		HAVING count(DISTINCT date_trunc('day', hour)) = 2 ORDER BY job_id LIMIT 1`, start.AddDate(0, 0, 2)).Scan(&job))
	b := cost.NewBiller(pool, cost.Config{}, cost.BillingConfig{}, slog.New(slog.DiscardHandler))
	mid := start.AddDate(0, 0, 2)
	oldBU, newBU := f.bus[0], f.bus[len(f.bus)-1]
	_, err := pool.Exec(ctx, `UPDATE job SET bu_id = $1 WHERE id = $2`, oldBU, job)
	require.NoError(t, err)
	_, err = b.Bill(ctx, start, mid, mid)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `UPDATE job SET bu_id = $1 WHERE id = $2`, newBU, job)
	require.NoError(t, err)
	end := start.AddDate(0, 0, 4)
	// Re-billing the whole period keeps each day's owner.
	_, err = b.Bill(ctx, start, end, end)
	require.NoError(t, err)

	rows, err := pool.Query(ctx, `SELECT DISTINCT day, bu_id FROM bill_line WHERE job_id = $1 ORDER BY day`, job)
	require.NoError(t, err)
	defer rows.Close()
	seen := 0
	for rows.Next() {
		var day time.Time
		var bu int64
		require.NoError(t, rows.Scan(&day, &bu))
		if day.Before(mid) {
			require.Equal(t, oldBU, bu, "day %s", day)
		} else {
			require.Equal(t, newBU, bu, "day %s", day)
		}
		seen++
	}
	require.NoError(t, rows.Err())
	require.GreaterOrEqual(t, seen, 2)

	// The BU view of the month shows both BUs' parts, and they add up.
	v, err := svc.Bills(adminCtx(t, pool), cost.BillQuery{GroupBy: cost.ByBU, Period: cost.Period{Unit: cost.Month, Start: start}})
	require.NoError(t, err)
	var lines decimal.Decimal
	require.NoError(t, pool.QueryRow(ctx, `SELECT sum(amount) FROM bill_line`).Scan(&lines))
	require.True(t, v.Total.Equal(lines), "BU view total %s, lines %s", v.Total, lines)
}

func TestRoundingLineTakesTheLeftover(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	ctx := context.Background()
	day := time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)
	var bu, c int64
	require.NoError(t, pool.QueryRow(ctx, `INSERT INTO bu (name, code) VALUES ('B', 'B') RETURNING id`).Scan(&bu))
	require.NoError(t, pool.QueryRow(ctx, `INSERT INTO cluster (name, region, kind, owner_bu_id) VALUES ('c', 'r', 'BATCH', $1) RETURNING id`, bu).Scan(&c))
	// Three jobs of a core-hour each at 0.333337 per core-hour: each line
	// rounds to 0.33, while the capacity (3 cores for an hour, all used)
	// costs 1.000011, 1.00: a cent is left over.
	for i := range 3 {
		var j int64
		require.NoError(t, pool.QueryRow(ctx, `INSERT INTO job (namespace, name, bu_id, cluster_id) VALUES ('n', $1, $2, $3) RETURNING id`, fmt.Sprint(i), bu, c).Scan(&j))
		_, err := pool.Exec(ctx, `INSERT INTO job_usage_1h (job_id, hour, requested_core_seconds, used_core_seconds) VALUES ($1, $2, 3600, 0)`, j, day.Add(time.Hour))
		require.NoError(t, err)
	}
	_, err := pool.Exec(ctx, `INSERT INTO watermark_1h (cluster_id, ts, used, capacity, utilization, peak, hosts, minutes, dimension)
		VALUES ($1, $2, 0, 3, 0, 0, 1, 60, 'CPU')`, c, day.Add(time.Hour))
	require.NoError(t, err)
	kind := "BATCH"
	_, err = cost.NewService(pool, auditLog(pool), cost.Config{}).UpsertRateCard(adminCtx(t, pool), cost.RateCardInput{ClusterKind: &kind,
		ValidFrom: day, CoreHour: decimal.RequireFromString("0.333337"), MemoryGBHour: decimal.Zero})
	require.NoError(t, err)
	_, err = cost.NewBiller(pool, cost.Config{}, cost.BillingConfig{}, slog.New(slog.DiscardHandler)).Bill(ctx, day, day.AddDate(0, 0, 1), day.AddDate(0, 0, 1))
	require.NoError(t, err)
	var total, rounding, usage decimal.Decimal
	require.NoError(t, pool.QueryRow(ctx, `SELECT total, rounding_amount, usage_amount FROM cost_cluster_day WHERE cluster_id = $1`, c).Scan(&total, &rounding, &usage))
	require.Equal(t, "1.00", total.StringFixed(2)) // 3 x 0.333337 = 1.000011
	require.Equal(t, "0.99", usage.StringFixed(2)) // 0.33 three times
	require.Equal(t, "0.01", rounding.StringFixed(2))
	var line decimal.Decimal
	require.NoError(t, pool.QueryRow(ctx, `SELECT amount FROM bill_line WHERE resource = 'ROUNDING' AND bu_id = $1`, bu).Scan(&line))
	require.True(t, line.Equal(rounding))
}

// adminCtx returns a context of an ADMIN person of pool's database (created
// on first use), so audited calls can name them.
func adminCtx(t *testing.T, pool *pgxpool.Pool) context.Context {
	t.Helper()
	ctx := context.Background()
	var bu, id int64
	require.NoError(t, pool.QueryRow(ctx, `INSERT INTO bu (name, code) VALUES ('Admins', 'ADMINS')
		ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name RETURNING id`).Scan(&bu))
	require.NoError(t, pool.QueryRow(ctx, `INSERT INTO person (login, name, bu_id, role) VALUES ('cost-admin', 'Cost Admin', $1, 'ADMIN')
		ON CONFLICT (login) DO UPDATE SET name = EXCLUDED.name RETURNING id`, bu).Scan(&id))
	return auth.WithPrincipal(ctx, &auth.Principal{PersonID: id, Login: "cost-admin", BUID: bu, Role: auth.Admin})
}

func auditLog(pool *pgxpool.Pool) *audit.Log { return audit.New(pool, slog.New(slog.DiscardHandler)) }
