package lineage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/lineage/dbsqlc"
	"github.com/teslaops/tesla/internal/page"
	"github.com/teslaops/tesla/internal/workload"
)

// Limits of a lineage walk. The cost model (graph/cost.go) prices a walk by
// depth × FanoutBound × its node limit, so these bound both the work and the
// price.
const (
	DefaultDepth    = 3
	MaxDepth        = 20
	DefaultMaxNodes = 500
	MaxNodes        = 5000
	// FanoutBound is how many edges one level may read per node allowed: a
	// level reads at most FanoutBound × maxNodes edges, and a walk that meets
	// more stops there, truncated.
	FanoutBound = 4
)

// Direction is which way a walk follows the data.
type Direction int

// The directions: UPSTREAM follows data back to where it came from (a job to
// the datasets it reads, a dataset to the jobs that write it), DOWNSTREAM to
// where it goes, BOTH each of those from the start node (not a sideways walk to
// siblings).
const (
	Upstream Direction = iota + 1
	Downstream
	Both
)

// NodeKind is the kind of a lineage node.
type NodeKind int

// Jobs and datasets alternate along every lineage path.
const (
	JobNode NodeKind = iota + 1
	DatasetNode
)

// Node is a job or a dataset by id.
type Node struct {
	Kind NodeKind
	ID   int64
}

// Edge is one job reading (READ: dataset → job) or writing (WRITE: job →
// dataset) one dataset.
type Edge struct {
	JobID, DatasetID int64
	Direction        string
}

// Graph is the result of a walk: the nodes reached (the start first), each
// with its distance in edges from the start, and the edges among them.
type Graph struct {
	Nodes     []Node
	Distance  map[Node]int
	Edges     []Edge
	Truncated bool
	// Jobs and Datasets are the nodes' records, by id.
	Jobs     map[int64]*workload.Job
	Datasets map[int64]*Dataset
}

// Dataset is a dataset with its latest valid facets.
type Dataset struct {
	ID        int64
	Namespace string
	Name      string
	Facets    json.RawMessage
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Service answers lineage questions. Lineage structure (which jobs read and
// write which datasets, and their names) is platform metadata that every
// signed-in role reads, as it reads the inventory; who owns a job and its runs
// are checked where they are read (workload.CheckRuns, the person rules).
type Service struct {
	pool *pgxpool.Pool
}

// NewService returns a Service over pool.
func NewService(pool *pgxpool.Pool) *Service { return &Service{pool: pool} }

// Walk follows lineage from start in dir for at most depth edges, reading
// level by level (two index seeks per level), never visiting a node twice (so
// cycles end), and stopping at maxNodes nodes with Truncated set.
func (s *Service) Walk(ctx context.Context, start Node, dir Direction, depth, maxNodes int) (*Graph, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	if depth < 1 || depth > MaxDepth {
		return nil, fault.Field("depth", "depth must be between 1 and %d", MaxDepth)
	}
	if maxNodes < 1 || maxNodes > MaxNodes {
		return nil, fault.Field("maxNodes", "maxNodes must be between 1 and %d", MaxNodes)
	}
	if err := s.exists(ctx, start); err != nil {
		return nil, err
	}
	g, err := walk(ctx, s.pool, start, dir, depth, maxNodes)
	if err != nil {
		return nil, err
	}
	return g, load(ctx, s.pool, g)
}

// load reads the records of a walk's nodes: two statements.
func load(ctx context.Context, q db.DBTX, g *Graph) error {
	var jobs, datasets []int64
	for _, n := range g.Nodes {
		if n.Kind == JobNode {
			jobs = append(jobs, n.ID)
		} else {
			datasets = append(datasets, n.ID)
		}
	}
	var err error
	if g.Jobs, err = workload.LoadJobs(ctx, q, jobs); err != nil {
		return err
	}
	rows, err := queries.DatasetsByIDs(ctx, q, datasets)
	if err != nil {
		return fmt.Errorf("error loading datasets: %w", err)
	}
	g.Datasets = make(map[int64]*Dataset, len(rows))
	for _, r := range rows {
		g.Datasets[r.ID] = datasetFromRow(r)
	}
	return nil
}

func (s *Service) exists(ctx context.Context, n Node) error {
	var ok bool
	var err error
	switch n.Kind {
	case JobNode:
		ok, err = queries.JobExists(ctx, s.pool, n.ID)
	case DatasetNode:
		ok, err = queries.DatasetExists(ctx, s.pool, n.ID)
	}
	if err != nil {
		return fmt.Errorf("error loading lineage node: %w", err)
	}
	if !ok {
		return fault.NotFoundf("node not found: no such job or dataset")
	}
	return nil
}

// walk is Walk without the checks, for the benchmark's sake as well.
func walk(ctx context.Context, q db.DBTX, start Node, dir Direction, depth, maxNodes int) (*Graph, error) {
	g := &Graph{Nodes: []Node{start}, Distance: map[Node]int{start: 0}}
	edgeSeen := map[Edge]bool{}
	type front struct {
		dir            Direction
		jobs, datasets []int64
	}
	var fronts []*front
	seed := func(d Direction) *front {
		f := &front{dir: d}
		if start.Kind == JobNode {
			f.jobs = []int64{start.ID}
		} else {
			f.datasets = []int64{start.ID}
		}
		return f
	}
	if dir == Upstream || dir == Both {
		fronts = append(fronts, seed(Upstream))
	}
	if dir == Downstream || dir == Both {
		fronts = append(fronts, seed(Downstream))
	}
	// visited is per direction: a node reached upstream may still be walked
	// downstream from the start when BOTH is asked.
	visited := map[Direction]map[Node]bool{Upstream: {start: true}, Downstream: {start: true}}
	limit := int32(FanoutBound * maxNodes)

	for level := 1; level <= depth && !g.Truncated; level++ {
		for _, f := range fronts {
			if len(f.jobs) == 0 && len(f.datasets) == 0 {
				continue
			}
			// Downstream: a job's WRITE edges, a dataset's READ edges;
			// upstream the other way round.
			jobDir, dsDir := "WRITE", "READ"
			if f.dir == Upstream {
				jobDir, dsDir = "READ", "WRITE"
			}
			var found []Edge
			if len(f.jobs) > 0 {
				rows, err := queries.EdgesOfJobs(ctx, q, &dbsqlc.EdgesOfJobsParams{JobIds: f.jobs, Directions: []string{jobDir}, Max: limit})
				if err != nil {
					return nil, fmt.Errorf("error loading lineage: %w", err)
				}
				if len(rows) == int(limit) {
					g.Truncated = true
				}
				for _, r := range rows {
					found = append(found, Edge{JobID: r.JobID, DatasetID: r.DatasetID, Direction: r.Direction})
				}
			}
			if len(f.datasets) > 0 {
				rows, err := queries.EdgesOfDatasets(ctx, q, &dbsqlc.EdgesOfDatasetsParams{DatasetIds: f.datasets, Directions: []string{dsDir}, Max: limit})
				if err != nil {
					return nil, fmt.Errorf("error loading lineage: %w", err)
				}
				if len(rows) == int(limit) {
					g.Truncated = true
				}
				for _, r := range rows {
					found = append(found, Edge{JobID: r.JobID, DatasetID: r.DatasetID, Direction: r.Direction})
				}
			}
			fromJobs := map[int64]bool{}
			for _, j := range f.jobs {
				fromJobs[j] = true
			}
			f.jobs, f.datasets = nil, nil
			for _, e := range found {
				// The far end: a dataset when the edge was found from a job.
				next := Node{Kind: JobNode, ID: e.JobID}
				if fromJobs[e.JobID] && (e.Direction == jobDir) {
					next = Node{Kind: DatasetNode, ID: e.DatasetID}
				}
				if _, known := g.Distance[next]; !known {
					if len(g.Nodes) >= maxNodes {
						g.Truncated = true
						continue
					}
					g.Nodes = append(g.Nodes, next)
					g.Distance[next] = level
				}
				if !edgeSeen[e] {
					edgeSeen[e] = true
					g.Edges = append(g.Edges, e)
				}
				if !visited[f.dir][next] {
					visited[f.dir][next] = true
					if next.Kind == JobNode {
						f.jobs = append(f.jobs, next.ID)
					} else {
						f.datasets = append(f.datasets, next.ID)
					}
				}
			}
		}
	}
	return g, nil
}

// Impacted is a job downstream of a dataset, at a distance in edges, with the
// time its next run is due when known (workload.Deadlines).
type Impacted struct {
	Job      *workload.Job
	Distance int
	Deadline *time.Time
}

// ImpactResult is what depends on a dataset.
type ImpactResult struct {
	Dataset *Dataset
	// Jobs are nearest first, then by id.
	Jobs      []Impacted
	Truncated bool
	// EarliestDeadline is the soonest deadline among Jobs: the first moment
	// a late dataset puts a downstream schedule at risk. Nil when none of
	// the jobs has a known deadline.
	EarliestDeadline *time.Time
}

// ImpactDepth is how far Impact looks downstream.
const ImpactDepth = MaxDepth

// Impact lists the jobs downstream of a dataset (nearest first, then by id),
// up to MaxDepth edges and DefaultMaxNodes nodes, with their deadlines;
// truncated says whether the walk stopped at the limit.
func (s *Service) Impact(ctx context.Context, dataset int64) (*ImpactResult, error) {
	g, err := s.Walk(ctx, Node{Kind: DatasetNode, ID: dataset}, Downstream, ImpactDepth, DefaultMaxNodes)
	if err != nil {
		return nil, err
	}
	res := &ImpactResult{Dataset: g.Datasets[dataset], Truncated: g.Truncated}
	priorities := map[int64]string{}
	for _, n := range g.Nodes {
		if j := g.Jobs[n.ID]; n.Kind == JobNode && j != nil {
			res.Jobs = append(res.Jobs, Impacted{Job: j, Distance: g.Distance[n]})
			priorities[j.ID] = j.Priority
		}
	}
	sort.Slice(res.Jobs, func(i, j int) bool {
		if res.Jobs[i].Distance != res.Jobs[j].Distance {
			return res.Jobs[i].Distance < res.Jobs[j].Distance
		}
		return res.Jobs[i].Job.ID < res.Jobs[j].Job.ID
	})
	if len(priorities) == 0 {
		return res, nil
	}
	deadlines, err := workload.Deadlines(ctx, s.pool, priorities, time.Now())
	if err != nil {
		return nil, err
	}
	for i := range res.Jobs {
		if d, ok := deadlines[res.Jobs[i].Job.ID]; ok {
			res.Jobs[i].Deadline = &d
			if res.EarliestDeadline == nil || d.Before(*res.EarliestDeadline) {
				res.EarliestDeadline = &d
			}
		}
	}
	return res, nil
}

// DatasetsByIDs returns the datasets of ids that exist.
func (s *Service) DatasetsByIDs(ctx context.Context, ids []int64) (map[int64]*Dataset, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	rows, err := queries.DatasetsByIDs(ctx, s.pool, ids)
	if err != nil {
		return nil, fmt.Errorf("error loading datasets: %w", err)
	}
	out := make(map[int64]*Dataset, len(rows))
	for _, r := range rows {
		out[r.ID] = datasetFromRow(r)
	}
	return out, nil
}

// DatasetByName returns the dataset of a natural key, or NotFound.
func (s *Service) DatasetByName(ctx context.Context, namespace, name string) (*Dataset, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	r, err := queries.DatasetByName(ctx, s.pool, &dbsqlc.DatasetByNameParams{Namespace: namespace, Name: name})
	if err != nil {
		return nil, db.Interpret(err, fmt.Sprintf("dataset %s/%s", namespace, name))
	}
	return datasetFromRow(r), nil
}

func datasetFromRow(r *dbsqlc.Dataset) *Dataset {
	return &Dataset{ID: r.ID, Namespace: r.Namespace, Name: r.Name, Facets: r.Facets, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

var datasetKeyset = page.Keyset{Tag: "datasets/NAME/ASC", Cols: []page.Col{{Expr: "namespace", Type: "text"}, {Expr: "name", Type: "text"}}}

// Datasets lists datasets by (namespace, name), optionally in one namespace, a
// keyset page at a time (forward: first/after).
func (s *Service) Datasets(ctx context.Context, namespace *string, args page.Args) (page.Page[*Dataset], error) {
	if _, err := auth.Require(ctx); err != nil {
		return page.Page[*Dataset]{}, err
	}
	if args.Last != nil || args.Before != nil {
		return page.Page[*Dataset]{}, fault.Field("last", "datasets page forward only: use first and after")
	}
	seek, err := args.Seek(datasetKeyset)
	if err != nil {
		return page.Page[*Dataset]{}, err
	}
	p := &dbsqlc.DatasetPageParams{Namespace: namespace, Max: int32(seek.Size + 1)}
	if seek.After != nil {
		p.AfterNamespace, p.AfterName = &seek.After[0], seek.After[1]
	}
	rows, err := queries.DatasetPage(ctx, s.pool, p)
	if err != nil {
		return page.Page[*Dataset]{}, fmt.Errorf("error loading datasets: %w", err)
	}
	items := make([]*Dataset, len(rows))
	keys := make([][]string, len(rows))
	for i, r := range rows {
		items[i] = datasetFromRow(r)
		keys[i] = []string{r.Namespace, r.Name}
	}
	var total page.Total
	if seek.NeedsCount(len(rows)) {
		total, err = page.CountTotal(ctx, s.pool, "dataset", namespace != nil, func() (int, error) {
			n, err := queries.DatasetCount(ctx, s.pool, namespace)
			return int(n), err
		})
		if err != nil {
			return page.Page[*Dataset]{}, fmt.Errorf("error counting datasets: %w", err)
		}
	} else if !seek.NoTotal {
		total.N = len(rows)
	}
	return page.KeysetPage(seek, items, keys, total), nil
}

// ProducerRun returns the latest run that wrote version of dataset, or nil
// when none is known. The run is checked like any run (workload.CheckRuns):
// a caller who may not read the producing job's runs is refused.
func (s *Service) ProducerRun(ctx context.Context, dataset int64, version string) (*workload.Run, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	r, err := queries.VersionProducer(ctx, s.pool, &dbsqlc.VersionProducerParams{DatasetID: dataset, Version: version})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("error loading the producer of a dataset version: %w", err)
	}
	jobs, err := workload.LoadJobs(ctx, s.pool, []int64{r.JobID})
	if err != nil {
		return nil, err
	}
	if j := jobs[r.JobID]; j != nil {
		if err := workload.CheckRuns(ctx, j); err != nil {
			return nil, err
		}
	}
	return workload.LoadRun(ctx, s.pool, r.RunID)
}
