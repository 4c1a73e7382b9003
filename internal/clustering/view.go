package clustering

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/fault"
)

// Run is a stored run of the analysis.
type Run struct {
	ID          int64
	ComputedAt  time.Time
	From, To    time.Time
	Features    []string
	K           int
	Quality     float64
	Silhouettes map[int]float64
	Hosts       int
	Outliers    int
	Explained   []float64
	Iterations  int
	Duration    time.Duration
	Groups      []storedGroup
}

var errNoRun = errors.New("no clustering run yet")

func latestRun(ctx context.Context, q db.DBTX) (*Run, error) {
	var r Run
	var sil map[string]float64
	var groups []byte
	var ms int64
	err := q.QueryRow(ctx, `
		SELECT id, computed_at, window_from, window_to, features, k, quality, silhouettes, hosts, outliers,
		       explained, iterations, duration_ms, groups
		FROM clustering_run ORDER BY computed_at DESC, id DESC LIMIT 1`).
		Scan(&r.ID, &r.ComputedAt, &r.From, &r.To, &r.Features, &r.K, &r.Quality, &sil, &r.Hosts, &r.Outliers,
			&r.Explained, &r.Iterations, &ms, &groups)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errNoRun
	}
	if err != nil {
		return nil, fmt.Errorf("error loading the latest clustering run: %w", err)
	}
	r.Duration = time.Duration(ms) * time.Millisecond
	r.Silhouettes = map[int]float64{}
	for k, v := range sil {
		if n, err := strconv.Atoi(k); err == nil {
			r.Silhouettes[n] = v
		}
	}
	if err := json.Unmarshal(groups, &r.Groups); err != nil {
		return nil, fmt.Errorf("error reading clustering run %d: %w", r.ID, err)
	}
	return &r, nil
}

// Filter restricts a view of the latest run to some hosts. Empty fields do not
// restrict.
type Filter struct {
	ClusterIDs []int64
	Kinds      []string
	// BUID keeps the hosts of clusters owned by the BU or a BU below it.
	BUID *int64
	Rack *string
}

// Scan says how many assignment rows a view through f reads at most, for
// pricing: none for the whole fleet (the run's counts, the sample index), the
// clusters' hosts for a filter by cluster (largest hosts per cluster each), a
// rack's for a rack, every host otherwise.
func (f Filter) Scan(fleet, largestCluster, rack int) int {
	switch {
	case f.empty():
		return 0
	case f.Rack != nil:
		return rack
	case len(f.Kinds) == 0 && f.BUID == nil:
		return min(fleet, len(f.ClusterIDs)*largestCluster)
	}
	return fleet
}

func (f Filter) empty() bool {
	return len(f.ClusterIDs) == 0 && len(f.Kinds) == 0 && f.BUID == nil && f.Rack == nil
}

// Point is one host on the distribution chart, with the names a chart shows.
type Point struct {
	HostID   int64
	Hostname string
	Cluster  string
	Label    int
	X, Y     float64
	Distance float64
	Outlier  bool
}

// GroupView is a group as seen through a filter: its centroid and description
// are the whole fleet's (what the group is), its count the filter's.
type GroupView struct {
	Label       int
	Centroid    []float64
	Z           []float64
	Description string
	// Hosts counts the group's hosts the filter keeps; FleetHosts all of them.
	Hosts, FleetHosts int
}

// View is the latest run seen through a filter.
type View struct {
	Run    *Run
	Filter Filter
	Groups []GroupView
	// Hosts counts the hosts the filter keeps.
	Hosts int
}

// MaxPoints bounds the points one request returns.
const MaxPoints = 20000

// Latest returns the latest run through f; nil when no run has completed yet.
// Every signed-in role may read it: it is platform data, like the inventory it
// is drawn from.
func (s *Service) Latest(ctx context.Context, f Filter) (*View, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	r, err := latestRun(ctx, s.pool)
	if errors.Is(err, errNoRun) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	v := &View{Run: r, Filter: f}
	if f.empty() {
		// The whole fleet: the run's own counts, no scan.
		for _, g := range r.Groups {
			v.Groups = append(v.Groups, GroupView{Label: g.Label, Centroid: g.Centroid, Z: g.Z,
				Description: g.Description, Hosts: g.Hosts, FleetHosts: g.Hosts})
			v.Hosts += g.Hosts
		}
		return v, nil
	}
	where, args := f.where(r.ID)
	counts := map[int]int{}
	rows, err := s.pool.Query(ctx, `SELECT a.label, count(*) FROM clustering_assignment a
		JOIN host h ON h.id = a.host_id JOIN cluster c ON c.id = h.cluster_id
		WHERE `+where+` GROUP BY a.label`, args...)
	if err != nil {
		return nil, fmt.Errorf("error counting clustering groups: %w", err)
	}
	var label, n int
	if _, err := pgx.ForEachRow(rows, []any{&label, &n}, func() error {
		counts[label] = n
		v.Hosts += n
		return nil
	}); err != nil {
		return nil, fmt.Errorf("error counting clustering groups: %w", err)
	}
	for _, g := range r.Groups {
		v.Groups = append(v.Groups, GroupView{Label: g.Label, Centroid: g.Centroid, Z: g.Z,
			Description: g.Description, Hosts: counts[g.Label], FleetHosts: g.Hosts})
	}
	return v, nil
}

// Points returns up to limit of the view's hosts for the distribution chart:
// every outlier first, then an even sample (the run's random order, stable
// between requests and read from an index), so a chart of 200,000 hosts stays
// a few thousand dots with every group in proportion.
func (s *Service) Points(ctx context.Context, v *View, limit int) ([]Point, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	if limit < 0 || limit > MaxPoints {
		return nil, fault.Field("limit", "limit must be between 0 and %d", MaxPoints)
	}
	where, args := v.Filter.where(v.Run.ID)
	return s.points(ctx, `SELECT a.host_id, h.hostname, c.name, a.label, a.x, a.y, a.distance, a.outlier
		FROM clustering_assignment a JOIN host h ON h.id = a.host_id JOIN cluster c ON c.id = h.cluster_id
		WHERE `+where+` ORDER BY a.outlier DESC, a.rank LIMIT `+strconv.Itoa(limit), args)
}

// Outliers returns up to limit of the view's outliers, farthest from their
// group first.
func (s *Service) Outliers(ctx context.Context, v *View, limit int) ([]Point, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	if limit < 0 || limit > MaxPoints {
		return nil, fault.Field("first", "first must be between 0 and %d", MaxPoints)
	}
	where, args := v.Filter.where(v.Run.ID)
	return s.points(ctx, `SELECT a.host_id, h.hostname, c.name, a.label, a.x, a.y, a.distance, a.outlier
		FROM clustering_assignment a JOIN host h ON h.id = a.host_id JOIN cluster c ON c.id = h.cluster_id
		WHERE `+where+` AND a.outlier ORDER BY a.distance DESC, a.host_id LIMIT `+strconv.Itoa(limit), args)
}

func (s *Service) points(ctx context.Context, sql string, args []any) ([]Point, error) {
	rows, err := s.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("error loading clustering points: %w", err)
	}
	var out []Point
	var p Point
	var x, y, d float32
	_, err = pgx.ForEachRow(rows, []any{&p.HostID, &p.Hostname, &p.Cluster, &p.Label, &x, &y, &d, &p.Outlier}, func() error {
		p.X, p.Y, p.Distance = float64(x), float64(y), float64(d)
		out = append(out, p)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("error loading clustering points: %w", err)
	}
	return out, nil
}

// where builds the filter's condition over a (assignment), h (host) and c
// (cluster), with its arguments: values always as parameters.
func (f Filter) where(runID int64) (string, []any) {
	cond := "a.run_id = $1"
	args := []any{runID}
	add := func(sql string, v any) {
		args = append(args, v)
		cond += fmt.Sprintf(" AND "+sql, len(args))
	}
	if len(f.ClusterIDs) > 0 {
		add("h.cluster_id = ANY($%d)", f.ClusterIDs)
	}
	if len(f.Kinds) > 0 {
		add("c.kind = ANY($%d)", f.Kinds)
	}
	if f.BUID != nil {
		add(`c.owner_bu_id IN (WITH RECURSIVE sub AS (
			SELECT id FROM bu WHERE id = $%d
			UNION SELECT b.id FROM bu b JOIN sub ON b.parent_id = sub.id) SELECT id FROM sub)`, *f.BUID)
	}
	if f.Rack != nil {
		add("h.rack = $%d", *f.Rack)
	}
	return cond, args
}
