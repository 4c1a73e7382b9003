package hardware

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/internal/db"
)

// The failure rates of all history and the hosts to replace next read every
// host's exposure: seconds at 250,000 hosts (docs/benchmarks.md). The
// hardware-reliability job computes them ahead (Refresh) into
// hardware_reliability and hardware_replacement, and the GraphQL reads answer
// from those few rows. A window or a minimum severity (hardwareReliability's
// since, until, minSeverity) is still computed on demand.
const (
	// RefreshEvery is the oldest the stored figures get before the job
	// recomputes them even without a change it knows of (hosts registered or
	// decommissioned, models changed, imports through other packages).
	RefreshEvery = 10 * time.Minute
	// StaleAfter is when stored figures are too old to serve (the job has not
	// run for that long): the reads compute on demand again.
	StaleAfter = time.Hour
)

// markChanged records, in the writer's transaction, that the stored figures
// no longer reflect the faults, lifecycles or host states: the job's next run
// recomputes them.
func markChanged(ctx context.Context, dbtx db.DBTX) error {
	if _, err := dbtx.Exec(ctx, `UPDATE hardware_figures_state SET generation = generation + 1`); err != nil {
		return fmt.Errorf("error marking the hardware figures out of date: %w", err)
	}
	return nil
}

// RefreshResult says what a Refresh did.
type RefreshResult struct {
	// Computed is false when the stored figures were fresh (no change since,
	// younger than RefreshEvery) and left alone.
	Computed bool
	// Groups counts the rate rows stored (all three groupings), Candidates the
	// ranked hosts.
	Groups, Candidates int
	// ComputedAt is when the stored figures were computed; Took how long.
	ComputedAt time.Time
	Took       time.Duration
}

// Refresh computes the failure rates by MODEL, AGE and CLUSTER over all
// history until now and the first MaxCandidates hosts to replace, and stores
// them, replacing the previous figures in one transaction. Unless force, it
// does nothing while the stored figures are younger than RefreshEvery and no
// change was marked since they were computed. It checks nothing: the
// hardware-reliability job calls it.
func Refresh(ctx context.Context, dbtx db.DBTX, now time.Time, force bool) (RefreshResult, error) {
	var gen int64
	var computedGen *int64
	var computedAt *time.Time
	if err := dbtx.QueryRow(ctx, `SELECT generation, computed_generation, computed_at FROM hardware_figures_state`).
		Scan(&gen, &computedGen, &computedAt); err != nil {
		return RefreshResult{}, fmt.Errorf("error reading the hardware figures' state: %w", err)
	}
	if !force && computedAt != nil && computedGen != nil && *computedGen == gen && now.Sub(*computedAt) < RefreshEvery {
		return RefreshResult{ComputedAt: *computedAt}, nil
	}
	start := time.Now()
	var rates map[string][]Rate
	var cands []Candidate
	// The three groupings read the same exposure of every host: it is computed
	// once, into a temporary table of this transaction, and the ranking reuses
	// the MODEL and AGE rates.
	err := db.InTx(ctx, dbtx, func(tx pgx.Tx) error {
		s := &Service{dbtx: tx, now: func() time.Time { return now }, cache: newResultCache()}
		args, err := s.windowArgs(ReliabilityQuery{})
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TEMPORARY TABLE hardware_exposure ON COMMIT DROP AS WITH `+exposureCTE+`
			SELECT * FROM hxe`, args); err != nil {
			return fmt.Errorf("error computing the hosts' exposure: %w", err)
		}
		if _, err := tx.Exec(ctx, `ANALYZE hardware_exposure`); err != nil {
			return fmt.Errorf("error computing the hosts' exposure: %w", err)
		}
		s.exposureTable = "hardware_exposure"
		rates = map[string][]Rate{}
		for _, by := range []string{ByModel, ByAge, ByCluster} {
			if rates[by], err = s.reliability(ctx, ReliabilityQuery{GroupBy: by}, args); err != nil {
				return err
			}
		}
		cands, err = s.rank(ctx, now, MaxCandidates, rates[ByModel], rates[ByAge])
		return err
	})
	if err != nil {
		return RefreshResult{}, err
	}
	var groupBy, keys []string
	var hosts, faults []int32
	var mys []float64
	for _, by := range []string{ByModel, ByAge, ByCluster} {
		for _, r := range rates[by] {
			groupBy, keys = append(groupBy, by), append(keys, r.Key)
			hosts, faults, mys = append(hosts, int32(r.Hosts)), append(faults, int32(r.Faults)), append(mys, r.MachineYears)
		}
	}
	n := len(cands)
	c := struct {
		host                        []int64
		model                       []string
		modelRate, ageFactor, score []float64
		inService, warranty         []*time.Time
		out                         []bool
		recent, total               []int32
	}{make([]int64, n), make([]string, n), make([]float64, n), make([]float64, n), make([]float64, n),
		make([]*time.Time, n), make([]*time.Time, n), make([]bool, n), make([]int32, n), make([]int32, n)}
	for i, x := range cands {
		c.host[i], c.model[i], c.modelRate[i], c.ageFactor[i], c.score[i] = x.HostID, x.Model, x.ModelRate, x.AgeFactor, x.Score
		c.inService[i], c.warranty[i], c.out[i] = x.inServiceAt, x.WarrantyEnd, x.OutOfWarranty
		c.recent[i], c.total[i] = int32(x.RecentFaults), int32(x.Faults)
	}
	took := time.Since(start)
	err = db.InTx(ctx, dbtx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM hardware_reliability`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO hardware_reliability (group_by, key, hosts, machine_years, faults)
			SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::float8[], $5::int[])`,
			groupBy, keys, hosts, mys, faults); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM hardware_replacement`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO hardware_replacement (rank, host_id, model, model_rate, age_factor,
				in_service_at, warranty_end, out_of_warranty, recent_faults, faults, score)
			SELECT u.ord, u.host_id, u.model, u.model_rate, u.age_factor, u.in_service_at, u.warranty_end, u.out_of_warranty,
				u.recent, u.total, u.score
			FROM unnest($1::bigint[], $2::text[], $3::float8[], $4::float8[], $5::timestamptz[], $6::timestamptz[],
				$7::bool[], $8::int[], $9::int[], $10::float8[])
				WITH ORDINALITY AS u (host_id, model, model_rate, age_factor, in_service_at, warranty_end, out_of_warranty,
					recent, total, score, ord)
			JOIN host h ON h.id = u.host_id`,
			c.host, c.model, c.modelRate, c.ageFactor, c.inService, c.warranty, c.out, c.recent, c.total, c.score); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE hardware_figures_state SET computed_generation = $1, computed_at = $2, took_ms = $3`,
			gen, now, took.Milliseconds())
		return err
	})
	if err != nil {
		return RefreshResult{}, fmt.Errorf("error storing the hardware figures: %w", err)
	}
	return RefreshResult{Computed: true, Groups: len(keys), Candidates: n, ComputedAt: now, Took: took}, nil
}

// storedAt returns when the stored figures were computed, if they may be
// served (computed, and not older than StaleAfter).
func (s *Service) storedAt(ctx context.Context) (time.Time, bool, error) {
	var at *time.Time
	if err := s.dbtx.QueryRow(ctx, `SELECT computed_at FROM hardware_figures_state`).Scan(&at); err != nil {
		return time.Time{}, false, fmt.Errorf("error reading the hardware figures' state: %w", err)
	}
	if at == nil || s.now().Sub(*at) > StaleAfter {
		return time.Time{}, false, nil
	}
	return *at, true, nil
}

// storedRates returns the stored rates of a grouping, ordered as computed; ok
// is false when there are none to serve.
func (s *Service) storedRates(ctx context.Context, groupBy string) (out []Rate, ok bool, err error) {
	if _, ok, err := s.storedAt(ctx); !ok || err != nil {
		return nil, false, err
	}
	rows, err := s.dbtx.Query(ctx, `SELECT key, hosts, machine_years, faults FROM hardware_reliability WHERE group_by = $1`, groupBy)
	if err != nil {
		return nil, false, fmt.Errorf("error reading hardware reliability: %w", err)
	}
	var key string
	var hosts, faults int
	var my float64
	if _, err := pgx.ForEachRow(rows, []any{&key, &hosts, &my, &faults}, func() error {
		out = append(out, NewRate(key, key, hosts, faults, my))
		return nil
	}); err != nil {
		return nil, false, fmt.Errorf("error reading hardware reliability: %w", err)
	}
	if groupBy == ByCluster {
		if err := s.labelClusters(ctx, out); err != nil {
			return nil, false, err
		}
	}
	sortRates(groupBy, out)
	return out, true, nil
}

// storedCandidates returns the first stored hosts to replace; ok is false
// when there are none to serve.
func (s *Service) storedCandidates(ctx context.Context, first int) ([]Candidate, bool, error) {
	at, ok, err := s.storedAt(ctx)
	if !ok || err != nil {
		return nil, false, err
	}
	rows, err := s.dbtx.Query(ctx, `SELECT host_id, model, model_rate, age_factor, recent_faults, faults, in_service_at,
			warranty_end, out_of_warranty, score
		FROM hardware_replacement ORDER BY rank LIMIT $1`, first)
	if err != nil {
		return nil, false, fmt.Errorf("error reading hosts to replace: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Candidate, error) { return scanCandidate(r, at) })
	if err != nil {
		return nil, false, fmt.Errorf("error reading hosts to replace: %w", err)
	}
	return out, true, nil
}
