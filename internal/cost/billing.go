package cost

import (
	"cmp"
	"context"
	_ "embed"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/shopspring/decimal"

	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/lineage"
)

var (
	//go:embed sql/owners.sql
	ownersSQL string
	//go:embed sql/jobs.sql
	jobsSQL string
	//go:embed sql/clusters.sql
	clustersSQL string
	//go:embed sql/storage.sql
	storageSQL string
)

// BillingConfig tunes the billing job.
type BillingConfig struct {
	// Days is how many days up to today each run bills again (default 2:
	// yesterday, for late usage, and today so far).
	Days int
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Biller writes bill lines. One Biller serves the scheduled job, the command
// line and the demo seed.
type Biller struct {
	pool   db.DBTX
	cfg    Config
	bcfg   BillingConfig
	logger *slog.Logger
}

// NewBiller returns a Biller on pool; logger (nil: none) gets a line per
// Bill call, for callers without a summary line of their own.
func NewBiller(pool db.DBTX, cfg Config, bcfg BillingConfig, logger *slog.Logger) *Biller {
	bcfg.Days = cmp.Or(bcfg.Days, 2)
	if bcfg.Now == nil {
		bcfg.Now = time.Now
	}
	return &Biller{pool: pool, cfg: cfg.WithDefaults(), bcfg: bcfg, logger: logger}
}

// BillResult counts what a billing pass wrote.
type BillResult struct {
	Days     int
	Clusters int
	// Unpriced counts cluster-days that ran without a rate card: nothing of
	// them is billed.
	Unpriced int
	// Unplaced counts the datasets with a known size whose last writer has
	// no cluster: their storage is not priced.
	Unplaced int64
	Lines    int
	// Total is the sum of the lines written, which is the sum of the priced
	// clusters' totals.
	Total decimal.Decimal
}

func (r *BillResult) add(o BillResult) {
	r.Days += o.Days
	r.Clusters += o.Clusters
	r.Unpriced += o.Unpriced
	r.Unplaced += o.Unplaced
	r.Lines += o.Lines
	r.Total = r.Total.Add(o.Total)
}

// RunOnce bills the last Days days up to the current hour: the scheduled
// job's pass.
func (b *Biller) RunOnce(ctx context.Context) (BillResult, error) {
	now := b.bcfg.Now().UTC()
	today := now.Truncate(24 * time.Hour)
	return b.Bill(ctx, today.AddDate(0, 0, 1-b.bcfg.Days), today.AddDate(0, 0, 1), now.Truncate(time.Hour))
}

// Bill bills the days [from, to) (UTC midnights), counting only complete
// hours before until: each day is replaced whole in its own transaction, so
// re-running a period replaces it and a failure leaves every day either as it
// was or fully re-billed.
func (b *Biller) Bill(ctx context.Context, from, to, until time.Time) (BillResult, error) {
	res := BillResult{Total: decimal.Zero}
	for day := from.UTC().Truncate(24 * time.Hour); day.Before(to); day = day.AddDate(0, 0, 1) {
		end := day.Add(24 * time.Hour)
		if until.Before(end) {
			end = until
		}
		if !end.After(day) {
			break
		}
		r, err := b.billDay(ctx, day, end)
		if err != nil {
			return res, err
		}
		res.add(r)
	}
	if b.logger == nil {
		return res, nil
	}
	b.logger.InfoContext(ctx, "billed", "days", res.Days, "clusters", res.Clusters, "unpriced", res.Unpriced,
		"unplaced_datasets", res.Unplaced, "lines", res.Lines, "total", res.Total.StringFixed(2), "currency", b.cfg.Currency)
	return res, nil
}

// billLockKey serialises billing per day: a fixed high word and the day number.
func billLockKey(day time.Time) int64 { return 0x4231<<48 | day.Unix()/86400 }

type clusterInfo struct {
	id      int64
	kind    string
	ownerBU *int64
}

type clusterHours struct {
	hours                             int
	capCore, capGB, chargedCore, chGB decimal.Decimal
}

type jobDay struct {
	jobID, clusterID int64
	person, bu       *int64
	coreHours, gbHrs decimal.Decimal
}

// jobStorage is what a job stores on a day: the TB-days of the datasets it
// wrote last.
type jobStorage struct {
	jobID, clusterID int64
	person, bu       *int64
	tbDays           decimal.Decimal
}

// line is one bill_line row.
type line struct {
	cluster           int64
	resource          Resource
	job, person, bu   *int64
	quantity          decimal.Decimal
	unit              string
	unitPrice, amount decimal.Decimal
	card              int64
}

func (b *Biller) billDay(ctx context.Context, day, end time.Time) (BillResult, error) {
	res := BillResult{Days: 1, Total: decimal.Zero}
	err := db.InTx(ctx, b.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, billLockKey(day)); err != nil {
			return fmt.Errorf("error locking bill day %s: %w", day.Format(time.DateOnly), err)
		}
		t0 := time.Now()
		stored, err := lineage.StoredBytesByJob(ctx, tx, end)
		if err != nil {
			return err
		}
		ts := time.Now()
		writers := make([]int64, len(stored))
		for i, s := range stored {
			writers[i] = s.JobID
		}
		if _, err := tx.Exec(ctx, ownersSQL, day, day, end, writers); err != nil {
			return fmt.Errorf("error recording job owners of %s: %w", day.Format(time.DateOnly), err)
		}
		t1 := time.Now()
		in, err := loadDay(ctx, tx, day, end, stored)
		if err != nil {
			return err
		}
		res.Unplaced = in.unplaced
		t2 := time.Now()
		lines, totals := price(in, b.cfg, day)
		res.Clusters, res.Unpriced, res.Lines = len(totals), in.unpriced, len(lines)
		for _, t := range totals {
			res.Total = res.Total.Add(t.total)
		}
		t3 := time.Now()
		err = writeDay(ctx, tx, day, lines, totals)
		if b.logger != nil {
			b.logger.DebugContext(ctx, "billed day", "day", day.Format(time.DateOnly), "lines", len(lines),
				"sizes_ms", ts.Sub(t0).Milliseconds(), "owners_ms", t1.Sub(ts).Milliseconds(), "load_ms", t2.Sub(t1).Milliseconds(),
				"price_ms", t3.Sub(t2).Milliseconds(), "write_ms", time.Since(t3).Milliseconds())
		}
		return err
	})
	if err != nil {
		return BillResult{}, fmt.Errorf("error billing %s: %w", day.Format(time.DateOnly), err)
	}
	return res, nil
}

// dayInput is everything pricing a day needs, read in a fixed number of
// statements.
type dayInput struct {
	clusters map[int64]clusterInfo
	cards    []*RateCard
	hours    map[int64]clusterHours
	jobs     []jobDay
	storage  []jobStorage
	unpriced int
	// unplaced counts sized datasets whose writer has no cluster.
	unplaced int64
}

func loadDay(ctx context.Context, tx pgx.Tx, day, end time.Time, stored []lineage.JobStorage) (*dayInput, error) {
	in := &dayInput{clusters: map[int64]clusterInfo{}, hours: map[int64]clusterHours{}}
	rows, err := tx.Query(ctx, `SELECT id, kind, owner_bu_id FROM cluster`)
	if err != nil {
		return nil, fmt.Errorf("error loading clusters: %w", err)
	}
	var c clusterInfo
	if _, err := pgx.ForEachRow(rows, []any{&c.id, &c.kind, &c.ownerBU}, func() error {
		in.clusters[c.id] = c
		return nil
	}); err != nil {
		return nil, fmt.Errorf("error loading clusters: %w", err)
	}
	if in.cards, err = loadRateCards(ctx, tx); err != nil {
		return nil, err
	}
	rows, err = tx.Query(ctx, clustersSQL, day, end)
	if err != nil {
		return nil, fmt.Errorf("error loading cluster capacity: %w", err)
	}
	var id int64
	var h clusterHours
	if _, err := pgx.ForEachRow(rows, []any{&id, &h.hours, &h.capCore, &h.capGB, &h.chargedCore, &h.chGB}, func() error {
		in.hours[id] = h
		return nil
	}); err != nil {
		return nil, fmt.Errorf("error loading cluster capacity: %w", err)
	}
	rows, err = tx.Query(ctx, jobsSQL, day, day, end)
	if err != nil {
		return nil, fmt.Errorf("error loading job usage: %w", err)
	}
	var j jobDay
	if _, err := pgx.ForEachRow(rows, []any{&j.jobID, &j.clusterID, &j.person, &j.bu, &j.coreHours, &j.gbHrs}, func() error {
		in.jobs = append(in.jobs, j)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("error loading job usage: %w", err)
	}
	return in, loadStorage(ctx, tx, day, stored, in)
}

// loadStorage places the stored bytes of each writing job on its cluster,
// with its owner of the day; writers without a cluster are counted in
// unplaced.
func loadStorage(ctx context.Context, tx pgx.Tx, day time.Time, stored []lineage.JobStorage, in *dayInput) error {
	if len(stored) == 0 {
		return nil
	}
	ids := make([]int64, len(stored))
	byJob := make(map[int64]*lineage.JobStorage, len(stored))
	for i := range stored {
		ids[i] = stored[i].JobID
		byJob[ids[i]] = &stored[i]
	}
	rows, err := tx.Query(ctx, storageSQL, day, ids)
	if err != nil {
		return fmt.Errorf("error loading the writers of stored datasets: %w", err)
	}
	var s jobStorage
	if _, err := pgx.ForEachRow(rows, []any{&s.jobID, &s.clusterID, &s.person, &s.bu}, func() error {
		js := byJob[s.jobID]
		s.tbDays = js.Bytes.Shift(-12)
		in.storage = append(in.storage, s)
		delete(byJob, s.jobID)
		return nil
	}); err != nil {
		return fmt.Errorf("error loading the writers of stored datasets: %w", err)
	}
	for _, js := range byJob {
		in.unplaced += js.Datasets
	}
	return nil
}

// clusterTotal is one cost_cluster_day row.
type clusterTotal struct {
	cluster, card                                    int64
	hours                                            int
	capCore, capGB, chargedCore, chargedGB           decimal.Decimal
	capacity, usage, idle, overhead, rounding, total decimal.Decimal
	// storedTBDays and storage: the TB-days priced and their lines' sum.
	storedTBDays, storage decimal.Decimal
}

// cents is the places amounts are rounded to.
const cents = int32(2)

// overheadOfDay is the day's part of a monthly overhead: the month's amount
// accrued to the end of the day, rounded, less that to the day before, so the
// days of a month add up to the monthly amount exactly.
func overheadOfDay(monthly decimal.Decimal, day time.Time) decimal.Decimal {
	n := decimal.NewFromInt(int64(time.Date(day.Year(), day.Month()+1, 0, 0, 0, 0, 0, time.UTC).Day()))
	i := decimal.NewFromInt(int64(day.Day()))
	upTo := monthly.Mul(i).Div(n).Round(cents)
	before := monthly.Mul(i.Sub(decimal.NewFromInt(1))).Div(n).Round(cents)
	return upTo.Sub(before)
}

// price turns a day's usage and capacity into bill lines and cluster totals
// (docs/cost.md, "Formulas"):
//
//   - usage: each job's core-hours and GB-hours at the card's prices, each
//     line rounded to the cent;
//   - idle: capacity cost less usage cost, shared among the cluster's jobs in
//     proportion to their usage cost (to the owner BU when nobody used it);
//   - overhead: the day's part of the monthly overhead, shared among the BUs
//     that used the cluster (by the rule), or the owner BU's;
//   - storage: each writing job's TB-days at the card's storage price, each
//     line rounded to the cent (no lines when the card has no storage
//     price); not part of usage, so it bears no idle and no overhead;
//   - rounding: the cluster's total (capacity cost rounded, plus storage cost
//     rounded, plus overhead) less everything above, on the owner BU.
//
// A job without a BU is charged to the cluster's owner BU. Clusters without a
// card that day are not priced and counted in unpriced. A cluster that did
// not run but holds datasets is priced for its storage alone.
func price(in *dayInput, cfg Config, day time.Time) ([]line, []clusterTotal) {
	byCluster := map[int64][]jobDay{}
	for _, j := range in.jobs {
		byCluster[j.clusterID] = append(byCluster[j.clusterID], j)
	}
	storageOf := map[int64][]jobStorage{}
	for _, s := range in.storage {
		storageOf[s.clusterID] = append(storageOf[s.clusterID], s)
	}
	ids := make([]int64, 0, len(in.hours)+len(storageOf))
	for id := range in.hours {
		ids = append(ids, id)
	}
	for id := range storageOf {
		if _, ran := in.hours[id]; !ran {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	lines := make([]line, 0, 3*len(in.jobs)+len(in.storage)+4*len(ids))
	var totals []clusterTotal
	for _, id := range ids {
		h := in.hours[id]
		info, ok := in.clusters[id]
		if !ok {
			continue // a retired cluster's watermark history outlives its row
		}
		card := cardFor(in.cards, id, info.kind, day)
		if card == nil {
			in.unpriced++
			continue
		}
		owner := info.ownerBU
		t := clusterTotal{cluster: id, card: card.ID, hours: h.hours, capCore: h.capCore, capGB: h.capGB,
			chargedCore: h.chargedCore, chargedGB: h.chGB,
			usage: decimal.Zero, idle: decimal.Zero, overhead: decimal.Zero, storedTBDays: decimal.Zero, storage: decimal.Zero}
		capCost := h.capCore.Mul(card.CoreHour).Add(h.capGB.Mul(card.MemoryGBHour))
		t.capacity = capCost.Round(cents)
		od := decimal.Zero
		if h.hours > 0 { // overhead accrues on the days a cluster ran
			od = overheadOfDay(card.OverheadPerMonth, day)
		}
		storageRaw := decimal.Zero
		if card.StorageTBDay.IsPositive() {
			for _, s := range storageOf[id] {
				if s.tbDays.IsZero() {
					continue
				}
				bu := s.bu
				if bu == nil {
					bu = owner
				}
				raw := s.tbDays.Mul(card.StorageTBDay)
				storageRaw = storageRaw.Add(raw)
				a := raw.Round(cents)
				t.storedTBDays = t.storedTBDays.Add(s.tbDays)
				t.storage = t.storage.Add(a)
				lines = append(lines, line{cluster: id, resource: Storage, job: &s.jobID, person: s.person, bu: bu,
					quantity: s.tbDays, unit: UnitTBDay, unitPrice: card.StorageTBDay, amount: a, card: card.ID})
			}
		}
		t.total = t.capacity.Add(storageRaw.Round(cents)).Add(od)

		jobs := byCluster[id]
		raw := make([]decimal.Decimal, len(jobs))
		usageRaw := decimal.Zero
		buWeight := map[int64]decimal.Decimal{}
		var bus []int64
		for i, j := range jobs {
			bu := j.bu
			if bu == nil {
				bu = owner
			}
			core, mem := j.coreHours.Mul(card.CoreHour), j.gbHrs.Mul(card.MemoryGBHour)
			raw[i] = core.Add(mem)
			usageRaw = usageRaw.Add(raw[i])
			for _, u := range []struct {
				r     Resource
				q     decimal.Decimal
				unit  string
				price decimal.Decimal
				amt   decimal.Decimal
			}{{CPU, j.coreHours, UnitCoreHour, card.CoreHour, core}, {Memory, j.gbHrs, UnitGBHour, card.MemoryGBHour, mem}} {
				if u.q.IsZero() {
					continue
				}
				a := u.amt.Round(cents)
				t.usage = t.usage.Add(a)
				lines = append(lines, line{cluster: id, resource: u.r, job: &jobs[i].jobID, person: j.person, bu: bu,
					quantity: u.q, unit: u.unit, unitPrice: u.price, amount: a, card: card.ID})
			}
			if bu != nil {
				if _, seen := buWeight[*bu]; !seen {
					bus = append(bus, *bu)
					buWeight[*bu] = decimal.Zero
				}
				buWeight[*bu] = buWeight[*bu].Add(raw[i])
			}
		}
		share := func(r Resource, job, person, bu *int64, amount decimal.Decimal) {
			if amount.IsZero() {
				return
			}
			lines = append(lines, line{cluster: id, resource: r, job: job, person: person, bu: bu,
				quantity: amount, unit: cfg.Currency, unitPrice: decimal.NewFromInt(1), amount: amount, card: card.ID})
		}
		idleRaw := capCost.Sub(usageRaw)
		if usageRaw.IsPositive() {
			// One division per cluster: each job's share is its usage times
			// this ratio (to 20 places; what that leaves is on ROUNDING).
			ratio := idleRaw.DivRound(usageRaw, 20)
			for i, j := range jobs {
				if raw[i].IsZero() {
					continue
				}
				bu := j.bu
				if bu == nil {
					bu = owner
				}
				a := raw[i].Mul(ratio).Round(cents)
				t.idle = t.idle.Add(a)
				share(Idle, &jobs[i].jobID, j.person, bu, a)
			}
		} else {
			a := idleRaw.Round(cents)
			t.idle = a
			share(Idle, nil, nil, owner, a)
		}
		if od.IsPositive() {
			weights, sum := buWeight, decimal.Zero
			for _, w := range buWeight {
				sum = sum.Add(w)
			}
			if cfg.OverheadRule == Even || !sum.IsPositive() {
				weights, sum = map[int64]decimal.Decimal{}, decimal.NewFromInt(int64(len(bus)))
				for _, bu := range bus {
					weights[bu] = decimal.NewFromInt(1)
				}
			}
			if len(bus) == 0 {
				t.overhead = od
				share(Overhead, nil, nil, owner, od)
			} else {
				slices.Sort(bus)
				for _, bu := range bus {
					a := od.Mul(weights[bu]).Div(sum).Round(cents)
					t.overhead = t.overhead.Add(a)
					share(Overhead, nil, nil, &bu, a)
				}
			}
		}
		t.rounding = t.total.Sub(t.usage).Sub(t.storage).Sub(t.idle).Sub(t.overhead)
		share(Rounding, nil, nil, owner, t.rounding)
		totals = append(totals, t)
	}
	return lines, totals
}

func writeDay(ctx context.Context, tx pgx.Tx, day time.Time, lines []line, totals []clusterTotal) error {
	for _, table := range []string{"bill_line", "bill_bu_day", "bill_cluster_day", "bill_person_day", "cost_cluster_day"} {
		if _, err := tx.Exec(ctx, `DELETE FROM `+table+` WHERE day = $1`, day); err != nil {
			return fmt.Errorf("error replacing %s: %w", table, err)
		}
	}
	_, err := tx.CopyFrom(ctx, pgx.Identifier{"bill_line"},
		[]string{"day", "cluster_id", "resource", "job_id", "person_id", "bu_id", "quantity", "unit", "unit_price", "amount", "rate_card_id"},
		pgx.CopyFromSlice(len(lines), func(i int) ([]any, error) {
			l := &lines[i]
			return []any{day, l.cluster, string(l.resource), l.job, l.person, l.bu, numeric(l.quantity), l.unit, numeric(l.unitPrice), numeric(l.amount), l.card}, nil
		}))
	if err != nil {
		return fmt.Errorf("error writing bill lines: %w", err)
	}
	_, err = tx.CopyFrom(ctx, pgx.Identifier{"cost_cluster_day"},
		[]string{"day", "cluster_id", "rate_card_id", "hours", "capacity_core_hours", "capacity_gb_hours", "charged_core_hours",
			"charged_gb_hours", "capacity_amount", "usage_amount", "idle_amount", "overhead_amount", "rounding_amount", "total",
			"stored_tb_days", "storage_amount"},
		pgx.CopyFromSlice(len(totals), func(i int) ([]any, error) {
			t := &totals[i]
			return []any{day, t.cluster, t.card, t.hours, t.capCore, t.capGB, t.chargedCore, t.chargedGB,
				t.capacity, t.usage, t.idle, t.overhead, t.rounding, t.total, t.storedTBDays, t.storage}, nil
		}))
	if err != nil {
		return fmt.Errorf("error writing cluster totals: %w", err)
	}
	for _, sum := range sumLines(lines) {
		_, err = tx.CopyFrom(ctx, pgx.Identifier{sum.table}, sum.columns, pgx.CopyFromSlice(len(sum.rows), func(i int) ([]any, error) {
			r := sum.rows[i]
			return append(append([]any{day}, r.key...), string(r.resource), r.quantity, r.amount), nil
		}))
		if err != nil {
			return fmt.Errorf("error writing %s: %w", sum.table, err)
		}
	}
	return nil
}

// sumRow is one row of a daily sum table.
type sumRow struct {
	key              []any
	resource         Resource
	quantity, amount decimal.Decimal
}

type sumTable struct {
	table   string
	columns []string
	rows    []*sumRow
}

// sumKey identifies a sum row: one or two ids (a nil id is its own value)
// and the resource.
type sumKey struct {
	a, b       int64
	aNil, bNil bool
	resource   Resource
}

// sumLines adds the day's lines up per BU (bill_bu_day), per cluster and BU
// (bill_cluster_day) and per person and BU (bill_person_day), in one pass:
// cheaper than three GROUP BYs reading the lines back.
func sumLines(lines []line) []sumTable {
	tables := []sumTable{
		{table: "bill_bu_day", columns: []string{"day", "bu_id", "resource", "quantity", "amount"}},
		{table: "bill_cluster_day", columns: []string{"day", "cluster_id", "bu_id", "resource", "quantity", "amount"}},
		{table: "bill_person_day", columns: []string{"day", "person_id", "bu_id", "resource", "quantity", "amount"}},
	}
	idx := []map[sumKey]*sumRow{{}, {}, {}}
	for i := range lines {
		l := &lines[i]
		var bu int64
		if l.bu != nil {
			bu = *l.bu
		}
		keys := []sumKey{{a: bu, aNil: l.bu == nil, bNil: true, resource: l.resource},
			{a: l.cluster, b: bu, bNil: l.bu == nil, resource: l.resource}}
		if l.person != nil {
			keys = append(keys, sumKey{a: *l.person, b: bu, bNil: l.bu == nil, resource: l.resource})
		}
		for t, k := range keys {
			r := idx[t][k]
			if r == nil {
				r = &sumRow{resource: l.resource, quantity: decimal.Zero, amount: decimal.Zero}
				switch t {
				case 0:
					r.key = []any{l.bu}
				case 1:
					r.key = []any{l.cluster, l.bu}
				default:
					r.key = []any{*l.person, l.bu}
				}
				idx[t][k] = r
				tables[t].rows = append(tables[t].rows, r)
			}
			r.quantity, r.amount = r.quantity.Add(l.quantity), r.amount.Add(l.amount)
		}
	}
	return tables
}

// numeric encodes a decimal for COPY as pgtype.Numeric straight from its
// coefficient and exponent.
func numeric(d decimal.Decimal) pgtype.Numeric {
	return pgtype.Numeric{Int: d.Coefficient(), Exp: d.Exponent(), Valid: true}
}
