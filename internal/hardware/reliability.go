package hardware

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/fault"
)

// Groupings of the reliability figures.
const (
	ByModel   = "MODEL"
	ByAge     = "AGE"
	ByCluster = "CLUSTER"
)

// AgeBuckets is how many one-year age buckets there are before the last,
// open one ("5y+").
const AgeBuckets = 5

// Confidence is the level of the rates' intervals.
const Confidence = 0.95

// ReliabilityQuery asks for failure rates over a window.
type ReliabilityQuery struct {
	GroupBy string
	// Since and Until bound the window; zero Since: all history, zero Until: now.
	Since, Until time.Time
	// MinSeverity counts only faults this severe and worse ("": all).
	MinSeverity string
}

// Rate is the failure rate of one group: faults per 100 machine-years with
// its exact (Garwood) Poisson confidence interval.
type Rate struct {
	// Key identifies the group: the model, the age bucket ("0-1y" … "5y+",
	// "unknown") or the cluster id.
	Key string
	// Label is what to show: the model, the bucket, the cluster's name.
	Label        string
	Hosts        int
	MachineYears float64
	Faults       int
	// PerHundred is Faults per 100 machine-years; Lower and Upper bound it at
	// Confidence. With no exposure all three are 0 and Upper is +Inf.
	PerHundred   float64
	Lower, Upper float64
}

// PoissonInterval returns the exact (Garwood) two-sided interval at level
// conf for the mean of a Poisson count k: [χ²(α/2; 2k)/2, χ²(1−α/2; 2k+2)/2],
// with the lower bound 0 when k is 0.
func PoissonInterval(k int, conf float64) (lo, hi float64) {
	alpha := 1 - conf
	if k > 0 {
		lo = distuv.ChiSquared{K: float64(2 * k)}.Quantile(alpha/2) / 2
	}
	hi = distuv.ChiSquared{K: float64(2*k + 2)}.Quantile(1-alpha/2) / 2
	return lo, hi
}

// NewRate computes a group's rate and interval from its fault count and
// exposure.
func NewRate(key, label string, hosts, faults int, machineYears float64) Rate {
	r := Rate{Key: key, Label: label, Hosts: hosts, Faults: faults, MachineYears: machineYears}
	if machineYears <= 0 {
		r.Upper = math.Inf(1)
		return r
	}
	lo, hi := PoissonInterval(faults, Confidence)
	r.PerHundred = float64(faults) / machineYears * 100
	r.Lower, r.Upper = lo/machineYears*100, hi/machineYears*100
	return r
}

// exposureCTE is each host's exposure within the window: from the later of
// when its faults began to be seen (the lifecycle's tracked_since, else its
// registration), its in-service date and the window's start, to the earliest
// of the end of tracking, its decommissioning and the window's end.
const exposureCTE = `hx AS (
	SELECT h.id, h.cluster_id, coalesce(nullif(h.model, ''), 'unknown') AS model, l.in_service_at,
		greatest(coalesce(l.tracked_since, h.created_at), coalesce(l.in_service_at, '-infinity'), @since::timestamptz) AS s,
		least(coalesce(l.tracked_until, 'infinity'),
			CASE WHEN h.state = 'DECOMMISSIONED' THEN h.state_changed_at ELSE 'infinity' END, @until::timestamptz) AS e
	FROM host h LEFT JOIN host_lifecycle l ON l.host_id = h.id
), hxe AS (SELECT * FROM hx WHERE e > s)`

// exposure is the hxe CTE the rates read: the window's exposure computed in
// the statement, or, within Refresh, the table it computed once for all three
// groupings.
func (s *Service) exposure() string {
	if s.exposureTable != "" {
		return `hxe AS (SELECT * FROM ` + s.exposureTable + `)`
	}
	return exposureCTE
}

// faultFilter keeps a host's faults inside its exposure and of the severities asked.
const faultFilter = `f.detected_at >= hxe.s AND f.detected_at < hxe.e AND f.severity = ANY(@severities)`

const secondsPerYear = 365.25 * 86400

// Reliability returns the failure rates of the groups, highest rate first
// (ties: more machine-years first); any signed-in role.
func (s *Service) Reliability(ctx context.Context, q ReliabilityQuery) ([]Rate, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	args, err := s.windowArgs(q)
	if err != nil {
		return nil, err
	}
	if q.Since.IsZero() && q.Until.IsZero() && q.MinSeverity == "" {
		// All history until now: what the hardware-reliability job stores.
		if !slices.Contains([]string{ByModel, ByAge, ByCluster}, q.GroupBy) {
			return nil, fault.Field("groupBy", "group by MODEL, AGE or CLUSTER, not %q", q.GroupBy)
		}
		if out, ok, err := s.storedRates(ctx, q.GroupBy); ok || err != nil {
			return out, err
		}
	}
	key := fmt.Sprintf("reliability/%s/%d/%d/%s", q.GroupBy, q.Since.UnixNano(), q.Until.UnixNano(), q.MinSeverity)
	if v, ok := s.cache.get(key, s.now()); ok {
		return slices.Clone(v.([]Rate)), nil
	}
	out, err := s.reliability(ctx, q, args)
	if err == nil {
		s.cache.put(key, s.now(), slices.Clone(out))
	}
	return out, err
}

func (s *Service) reliability(ctx context.Context, q ReliabilityQuery, args pgx.NamedArgs) ([]Rate, error) {
	var sql string
	switch q.GroupBy {
	case ByModel, ByCluster:
		key := `hxe.model`
		if q.GroupBy == ByCluster {
			key = `hxe.cluster_id::text`
		}
		sql = `WITH ` + s.exposure() + `,
			ex AS (SELECT ` + key + ` AS k, count(*) AS hosts, sum(date_part('epoch', hxe.e - hxe.s)) / ` + fmt.Sprint(secondsPerYear) + ` AS my
				FROM hxe GROUP BY 1),
			fc AS (SELECT ` + key + ` AS k, count(*) AS n FROM hardware_fault f JOIN hxe ON hxe.id = f.host_id
				WHERE ` + faultFilter + ` GROUP BY 1)
			SELECT ex.k, ex.hosts, ex.my, coalesce(fc.n, 0) FROM ex LEFT JOIN fc USING (k)`
	case ByAge:
		// Each host's exposure is cut into the years of its age (one slice per
		// host and bucket, so count(*) counts hosts); a fault counts in the
		// bucket of the host's age when it was detected. Seconds are summed as
		// float8 (date_part), not numeric (extract), which is ten times slower.
		sql = `WITH ` + s.exposure() + `,
			slices AS (
				SELECT hxe.id, b.k::text || CASE WHEN b.k = ` + fmt.Sprint(AgeBuckets) + ` THEN 'y+' ELSE '-' || (b.k + 1)::text || 'y' END AS k,
					greatest(hxe.s, hxe.in_service_at + make_interval(years => b.k)) AS s,
					least(hxe.e, CASE WHEN b.k = ` + fmt.Sprint(AgeBuckets) + ` THEN 'infinity' ELSE hxe.in_service_at + make_interval(years => b.k + 1) END) AS e
				FROM hxe CROSS JOIN generate_series(0, ` + fmt.Sprint(AgeBuckets) + `) AS b (k)
				WHERE hxe.in_service_at IS NOT NULL
				UNION ALL
				SELECT hxe.id, 'unknown', hxe.s, hxe.e FROM hxe WHERE hxe.in_service_at IS NULL),
			ex AS (SELECT k, count(*) AS hosts, sum(date_part('epoch', e - s)) / ` + fmt.Sprint(secondsPerYear) + ` AS my
				FROM slices WHERE e > s GROUP BY 1),
			fc AS (SELECT CASE WHEN hxe.in_service_at IS NULL THEN 'unknown'
					ELSE least(date_part('year', age(f.detected_at, hxe.in_service_at))::int, ` + fmt.Sprint(AgeBuckets) + `)::text ||
						CASE WHEN date_part('year', age(f.detected_at, hxe.in_service_at)) >= ` + fmt.Sprint(AgeBuckets) + ` THEN 'y+'
						ELSE '-' || (date_part('year', age(f.detected_at, hxe.in_service_at))::int + 1)::text || 'y' END END AS k,
					count(*) AS n
				FROM hardware_fault f JOIN hxe ON hxe.id = f.host_id WHERE ` + faultFilter + ` GROUP BY 1)
			SELECT ex.k, ex.hosts, ex.my, coalesce(fc.n, 0) FROM ex LEFT JOIN fc USING (k)`
	default:
		return nil, fault.Field("groupBy", "group by MODEL, AGE or CLUSTER, not %q", q.GroupBy)
	}
	rows, err := s.dbtx.Query(ctx, sql, args)
	if err != nil {
		return nil, fmt.Errorf("error computing hardware reliability: %w", err)
	}
	var out []Rate
	var key string
	var hosts, faults int
	var my float64
	if _, err := pgx.ForEachRow(rows, []any{&key, &hosts, &my, &faults}, func() error {
		out = append(out, NewRate(key, key, hosts, faults, my))
		return nil
	}); err != nil {
		return nil, fmt.Errorf("error computing hardware reliability: %w", err)
	}
	if q.GroupBy == ByCluster {
		if err := s.labelClusters(ctx, out); err != nil {
			return nil, err
		}
	}
	sortRates(q.GroupBy, out)
	return out, nil
}

// sortRates orders rates highest first (ties: more machine-years first), or
// by age, youngest first, for AGE.
func sortRates(groupBy string, out []Rate) {
	if groupBy == ByAge {
		slices.SortFunc(out, func(a, b Rate) int { return cmp.Compare(ageOrder(a.Key), ageOrder(b.Key)) })
		return
	}
	slices.SortFunc(out, func(a, b Rate) int {
		return cmp.Or(cmp.Compare(b.PerHundred, a.PerHundred), cmp.Compare(b.MachineYears, a.MachineYears), cmp.Compare(a.Key, b.Key))
	})
}

// ageOrder sorts age buckets youngest first, unknown last.
func ageOrder(k string) int {
	var n int
	if _, err := fmt.Sscanf(k, "%d", &n); err != nil {
		return math.MaxInt
	}
	return n
}

func (s *Service) labelClusters(ctx context.Context, rates []Rate) error {
	rows, err := s.dbtx.Query(ctx, `SELECT id::text, name FROM cluster`)
	if err != nil {
		return fmt.Errorf("error loading cluster names: %w", err)
	}
	names := map[string]string{}
	var id, name string
	if _, err := pgx.ForEachRow(rows, []any{&id, &name}, func() error { names[id] = name; return nil }); err != nil {
		return fmt.Errorf("error loading cluster names: %w", err)
	}
	for i := range rates {
		if n, ok := names[rates[i].Key]; ok {
			rates[i].Label = n
		}
	}
	return nil
}

// windowArgs checks a window and returns the query arguments.
func (s *Service) windowArgs(q ReliabilityQuery) (pgx.NamedArgs, error) {
	until := q.Until
	if until.IsZero() {
		until = s.now()
	}
	since := q.Since
	if since.IsZero() {
		since = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if !since.Before(until) {
		return nil, fault.Field("since", "since must be before until")
	}
	sev := Severities
	if q.MinSeverity != "" {
		if sev = atLeast(q.MinSeverity); sev == nil {
			return nil, fault.Field("minSeverity", "unknown severity %q", q.MinSeverity)
		}
	}
	return pgx.NamedArgs{"since": since, "until": until, "severities": sev}, nil
}

// Candidate is a host ranked for replacement, with the figures behind its score.
type Candidate struct {
	HostID int64
	Model  string
	// ModelRate is its model's faults per 100 machine-years (all history).
	ModelRate float64
	// AgeYears is its age now (nil: in-service date unknown); AgeFactor is its
	// age bucket's rate over the fleet's rate (1 when unknown), clamped to
	// [MinAgeFactor, MaxAgeFactor].
	AgeYears  *float64
	AgeFactor float64
	// WarrantyEnd and OutOfWarranty: a host out of warranty costs more to repair.
	WarrantyEnd   *time.Time
	OutOfWarranty bool
	// RecentFaults are its own faults of the last RecentWindow; Faults all of them.
	RecentFaults int
	Faults       int
	// Score is the ranking: expected faults in the coming year, from its model
	// and age, plus its own recent faults, times OutOfWarrantyWeight when out of
	// warranty (docs/hardware.md).
	Score float64
	// inServiceAt is the host's in-service date, which AgeYears is from.
	inServiceAt *time.Time
}

// Ranking constants (docs/hardware.md, "Hosts to replace next").
const (
	RecentWindow        = 365 * 24 * time.Hour
	OutOfWarrantyWeight = 1.5
	MinAgeFactor        = 0.5
	MaxAgeFactor        = 3.0
	// MaxCandidates bounds hostsToReplace(first).
	MaxCandidates = 100
)

// HostsToReplace ranks the hosts in service (not DECOMMISSIONED) by Score,
// highest first (ties: oldest first); any signed-in role.
func (s *Service) HostsToReplace(ctx context.Context, first int) ([]Candidate, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	if first < 1 || first > MaxCandidates {
		return nil, fault.Field("first", "first must be between 1 and %d, got %d", MaxCandidates, first)
	}
	if out, ok, err := s.storedCandidates(ctx, first); ok || err != nil {
		return out, err
	}
	key := fmt.Sprintf("replace/%d", first)
	if v, ok := s.cache.get(key, s.now()); ok {
		return slices.Clone(v.([]Candidate)), nil
	}
	out, err := s.hostsToReplace(ctx, first)
	if err == nil {
		s.cache.put(key, s.now(), slices.Clone(out))
	}
	return out, err
}

func (s *Service) hostsToReplace(ctx context.Context, first int) ([]Candidate, error) {
	byModel, err := s.Reliability(ctx, ReliabilityQuery{GroupBy: ByModel})
	if err != nil {
		return nil, err
	}
	byAge, err := s.Reliability(ctx, ReliabilityQuery{GroupBy: ByAge})
	if err != nil {
		return nil, err
	}
	return s.rank(ctx, s.now(), first, byModel, byAge)
}

// rank ranks the hosts in service by Score as of now, from the rates of all
// history by model and by age, and returns the first.
func (s *Service) rank(ctx context.Context, now time.Time, first int, byModel, byAge []Rate) ([]Candidate, error) {
	var faults int
	var my float64
	models, modelRates := []string{}, []float64{}
	for _, r := range byModel {
		faults += r.Faults
		my += r.MachineYears
		models, modelRates = append(models, r.Key), append(modelRates, r.PerHundred)
	}
	ages, ageFactors := []string{}, []float64{}
	fleet := 0.0
	if my > 0 {
		fleet = float64(faults) / my * 100
	}
	for _, r := range byAge {
		f := 1.0
		if fleet > 0 && r.Key != "unknown" && r.MachineYears > 0 {
			f = min(max(r.PerHundred/fleet, MinAgeFactor), MaxAgeFactor)
		}
		ages, ageFactors = append(ages, r.Key), append(ageFactors, f)
	}
	rows, err := s.dbtx.Query(ctx, `WITH mr AS (SELECT unnest(@models::text[]) AS model, unnest(@model_rates::float8[]) AS rate),
		ar AS (SELECT unnest(@ages::text[]) AS k, unnest(@age_factors::float8[]) AS factor),
		rc AS (SELECT host_id, count(*) FILTER (WHERE detected_at >= @recent) AS recent, count(*) AS total
			FROM hardware_fault GROUP BY host_id),
		hs AS (
			SELECT h.id, coalesce(nullif(h.model, ''), 'unknown') AS model, l.in_service_at, l.warranty_end,
				coalesce(rc.recent, 0) AS recent, coalesce(rc.total, 0) AS total,
				CASE WHEN l.in_service_at IS NULL THEN 'unknown'
					WHEN date_part('year', age(@now, l.in_service_at)) >= @buckets THEN @buckets::int::text || 'y+'
					ELSE date_part('year', age(@now, l.in_service_at))::int::text || '-' ||
						(date_part('year', age(@now, l.in_service_at))::int + 1)::text || 'y' END AS k
			FROM host h LEFT JOIN host_lifecycle l ON l.host_id = h.id LEFT JOIN rc ON rc.host_id = h.id
			WHERE h.state <> 'DECOMMISSIONED')
		SELECT hs.id, hs.model, coalesce(mr.rate, 0), coalesce(ar.factor, 1), hs.recent, hs.total, hs.in_service_at,
			hs.warranty_end::timestamptz, coalesce(hs.warranty_end < @now::date, false),
			(coalesce(mr.rate, 0) / 100 * coalesce(ar.factor, 1) + hs.recent)
				* CASE WHEN hs.warranty_end < @now::date THEN @weight::float8 ELSE 1 END AS score
		FROM hs LEFT JOIN mr USING (model) LEFT JOIN ar USING (k)
		ORDER BY score DESC, hs.in_service_at ASC NULLS LAST, hs.id
		LIMIT @first`, pgx.NamedArgs{"models": models, "model_rates": modelRates, "ages": ages, "age_factors": ageFactors,
		"recent": now.Add(-RecentWindow), "now": now, "buckets": AgeBuckets, "weight": OutOfWarrantyWeight, "first": first})
	if err != nil {
		return nil, fmt.Errorf("error ranking hosts to replace: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Candidate, error) { return scanCandidate(r, now) })
	if err != nil {
		return nil, fmt.Errorf("error ranking hosts to replace: %w", err)
	}
	return out, nil
}

// scanCandidate reads a ranked host (id, model, model rate, age factor, recent
// and all faults, in-service date, warranty end, out of warranty, score), its
// age taken at now.
func scanCandidate(r pgx.CollectableRow, now time.Time) (Candidate, error) {
	var c Candidate
	err := r.Scan(&c.HostID, &c.Model, &c.ModelRate, &c.AgeFactor, &c.RecentFaults, &c.Faults, &c.inServiceAt, &c.WarrantyEnd,
		&c.OutOfWarranty, &c.Score)
	if c.inServiceAt != nil {
		y := now.Sub(*c.inServiceAt).Hours() / hoursPerYear
		c.AgeYears = &y
	}
	return c, err
}
