package clustering

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"gonum.org/v1/gonum/mat"

	"github.com/teslaops/tesla/internal/audit"
	"github.com/teslaops/tesla/internal/auth"
)

// Config configures the analysis. The zero value is the default for every field.
type Config struct {
	// Window is how much history each host's features summarise (default 24 h
	// of complete hours: a whole daily cycle, so a host busy at night and one
	// busy by day look alike when they do the same work).
	Window time.Duration
	// Keep is how many runs are kept (default 3).
	Keep int
	// Options tune the clustering itself.
	Options Options
	// Now is the clock (default time.Now).
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	c.Window = cmp.Or(c.Window, 24*time.Hour)
	c.Keep = cmp.Or(c.Keep, 3)
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Service runs the analysis and answers questions about its latest run. It is
// the only writer of clustering_run and clustering_assignment.
type Service struct {
	pool  *pgxpool.Pool
	audit *audit.Log
	cfg   Config
	// runNow runs the analysis as the scheduler's job (recorded like a
	// scheduled run); set by the server, which owns the job set.
	runNow func(context.Context) error
}

// NewService returns a Service over pool, auditing operators' runs in log.
func NewService(pool *pgxpool.Pool, log *audit.Log, cfg Config) *Service {
	return &Service{pool: pool, audit: log, cfg: cfg.withDefaults()}
}

// SetRunner sets how RunNow runs the analysis: through the job runner, so an
// operator's run is locked against the scheduled one and recorded with it.
func (s *Service) SetRunner(run func(context.Context) error) { s.runNow = run }

// RunNow runs the analysis now for an operator (or an admin), audited: an
// analysis of the whole fleet is seconds of database work, not for every role.
func (s *Service) RunNow(ctx context.Context) error {
	return s.audit.Do(ctx, "runClusteringAnalysis", "machine-clustering", struct{}{}, func(pgx.Tx) error {
		if _, err := auth.RequireRole(ctx, auth.Operator, "running the machine clustering analysis"); err != nil {
			return err
		}
		if s.runNow == nil {
			return errors.New("this server has no job runner for the machine clustering analysis")
		}
		return s.runNow(ctx)
	})
}

// RunAndView runs the analysis now for an operator and returns the new
// clustering of the whole fleet (nil when too few hosts had samples).
func (s *Service) RunAndView(ctx context.Context) (*View, error) {
	if err := s.RunNow(ctx); err != nil {
		return nil, err
	}
	return s.Latest(ctx, Filter{})
}

// Outcome is what one run did.
type Outcome struct {
	RunID    int64
	Hosts    int
	K        int
	Outliers int
	Quality  float64
	Duration time.Duration
}

// RunOnce clusters every host with hourly sums in the window ending at the last
// complete hour, stores the run and prunes old ones. Fewer hosts than groups to
// make is not an error: the run is skipped.
func (s *Service) RunOnce(ctx context.Context) (Outcome, error) {
	began := time.Now()
	to := s.cfg.Now().UTC().Truncate(time.Hour)
	from := to.Add(-s.cfg.Window)
	ids, x, err := LoadFeatures(ctx, s.pool, from, to)
	if err != nil {
		return Outcome{}, err
	}
	if len(ids) < max(s.cfg.Options.withDefaults().KMin, 2) {
		return Outcome{Hosts: len(ids)}, nil
	}
	prev, err := s.previous(ctx)
	if err != nil {
		return Outcome{}, err
	}
	opts := s.cfg.Options
	if opts.Seed == 0 {
		// Deterministic for a given window: rerunning an hour gives its groups.
		opts.Seed = uint64(to.Unix())
	}
	res, err := Analyze(x, opts, prev)
	if err != nil {
		return Outcome{}, fmt.Errorf("error clustering %d hosts: %w", len(ids), err)
	}
	out := Outcome{Hosts: len(ids), K: res.K, Quality: res.Quality}
	for _, o := range res.Outlier {
		if o {
			out.Outliers++
		}
	}
	out.Duration = time.Since(began)
	out.RunID, err = s.store(ctx, from, to, opts.Seed, ids, res, out)
	return out, err
}

// LoadFeatures reads every host's features (Feature order) over [from, to) from
// host_metric_1h: means as sums over counts, 95th percentiles over the hours'
// means; utilisations as fractions, network in as a fraction of the NIC,
// containers as a count. Hosts without a sample in the window are left out;
// a metric a host never reported counts 0.
func LoadFeatures(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, from, to time.Time) ([]int64, *mat.Dense, error) {
	rows, err := q.Query(ctx, `
		SELECT m.host_id,
		       coalesce(sum(m.cpu_sum) / nullif(sum(m.cpu_n), 0) / 100, 0),
		       coalesce(percentile_cont(0.95) WITHIN GROUP (ORDER BY m.cpu_sum / nullif(m.cpu_n, 0)) / 100, 0),
		       coalesce(sum(m.mem_sum) / nullif(sum(m.mem_n), 0) / 100, 0),
		       coalesce(percentile_cont(0.95) WITHIN GROUP (ORDER BY m.mem_sum / nullif(m.mem_n, 0)) / 100, 0),
		       coalesce(sum(m.io_sum) / nullif(sum(m.io_n), 0) / 100, 0),
		       coalesce(percentile_cont(0.95) WITHIN GROUP (ORDER BY m.io_sum / nullif(m.io_n, 0)) / 100, 0),
		       coalesce(sum(m.net_in_sum) / nullif(sum(m.net_in_n), 0) / nullif(min(h.nic_bps), 0), 0),
		       coalesce(percentile_cont(0.95) WITHIN GROUP (ORDER BY m.net_in_sum / nullif(m.net_in_n, 0))
		                / nullif(min(h.nic_bps), 0), 0),
		       coalesce(sum(m.containers_sum) / nullif(sum(m.containers_n), 0), 0),
		       coalesce(percentile_cont(0.95) WITHIN GROUP (ORDER BY m.containers_sum / nullif(m.containers_n, 0)), 0)
		FROM host_metric_1h m
		JOIN host h ON h.id = m.host_id
		WHERE m.hour >= $1 AND m.hour < $2 AND m.samples > 0
		GROUP BY m.host_id
		ORDER BY m.host_id`, from, to)
	if err != nil {
		return nil, nil, fmt.Errorf("error loading clustering features: %w", err)
	}
	var ids []int64
	var data []float64
	var id int64
	var f [10]float64
	_, err = pgx.ForEachRow(rows, []any{&id, &f[0], &f[1], &f[2], &f[3], &f[4], &f[5], &f[6], &f[7], &f[8], &f[9]}, func() error {
		ids = append(ids, id)
		data = append(data, f[:]...)
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("error loading clustering features: %w", err)
	}
	if len(ids) == 0 {
		return nil, mat.NewDense(1, len(Feature), nil), nil
	}
	return ids, mat.NewDense(len(ids), len(Feature), data), nil
}

// storedGroup is a Group as clustering_run.groups holds it.
type storedGroup struct {
	Label       int       `json:"label"`
	Centroid    []float64 `json:"centroid"`
	Z           []float64 `json:"z"`
	Description string    `json:"description"`
	Hosts       int       `json:"hosts"`
}

// previous returns the latest run's centroids and labels, or nil before the
// first run (or when its features differ from today's).
func (s *Service) previous(ctx context.Context) (*Previous, error) {
	r, err := latestRun(ctx, s.pool)
	if errors.Is(err, errNoRun) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if len(r.Groups) == 0 || len(r.Features) != len(Feature) {
		return nil, nil
	}
	c := mat.NewDense(len(r.Groups), len(Feature), nil)
	labels := make([]int, len(r.Groups))
	for i, g := range r.Groups {
		if len(g.Centroid) != len(Feature) {
			return nil, nil
		}
		c.SetRow(i, g.Centroid)
		labels[i] = g.Label
	}
	return &Previous{Centroids: c, Labels: labels}, nil
}

// store writes the run and its assignments in one transaction, so a reader sees
// a run whole or not at all, and deletes runs beyond Keep.
func (s *Service) store(ctx context.Context, from, to time.Time, seed uint64, ids []int64, res *Result, out Outcome) (int64, error) {
	groups := make([]storedGroup, len(res.Groups))
	for i, g := range res.Groups {
		groups[i] = storedGroup{Label: g.Label, Centroid: g.Centroid, Z: g.Z, Description: g.Description, Hosts: g.Hosts}
	}
	sil := map[string]float64{}
	for k, v := range res.Silhouettes {
		sil[fmt.Sprint(k)] = v
	}
	groupJSON, err := json.Marshal(groups)
	if err != nil {
		return 0, err
	}
	silJSON, err := json.Marshal(sil)
	if err != nil {
		return 0, err
	}
	var id int64
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `
			INSERT INTO clustering_run (window_from, window_to, features, k, quality, silhouettes, hosts, outliers,
			                            explained, iterations, seed, duration_ms, groups)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id`,
			from, to, Feature, res.K, res.Quality, silJSON, out.Hosts, out.Outliers,
			res.Explained[:], res.Iterations, int64(seed), out.Duration.Milliseconds(), groupJSON).Scan(&id); err != nil {
			return fmt.Errorf("error recording clustering run: %w", err)
		}
		// A seeded random order of the hosts: the chart's even sample.
		rank := rand.New(rand.NewPCG(seed, 0x72616e6b)).Perm(len(ids)) // "rank"
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"clustering_assignment"},
			[]string{"run_id", "host_id", "label", "x", "y", "distance", "outlier", "rank"},
			pgx.CopyFromSlice(len(ids), func(i int) ([]any, error) {
				return []any{id, ids[i], res.Labels[i], float32(res.X[i]), float32(res.Y[i]),
					float32(res.Distances[i]), res.Outlier[i], int32(rank[i])}, nil
			}))
		if err != nil {
			return fmt.Errorf("error storing clustering assignments: %w", err)
		}
		if _, err := tx.Exec(ctx, `
			DELETE FROM clustering_run WHERE id NOT IN (
				SELECT id FROM clustering_run ORDER BY computed_at DESC, id DESC LIMIT $1)`, s.cfg.Keep); err != nil {
			return fmt.Errorf("error pruning clustering runs: %w", err)
		}
		return nil
	})
	return id, err
}
