package workload_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/audit"
	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/page"
	"github.com/teslaops/tesla/internal/workload"
)

// recorder keeps the statements a pool runs, to EXPLAIN them again.
type recorder struct {
	mu    sync.Mutex
	stmts []recorded
}

type recorded struct {
	SQL  string
	Args []any
}

func (r *recorder) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	r.mu.Lock()
	r.stmts = append(r.stmts, recorded{SQL: data.SQL, Args: data.Args})
	r.mu.Unlock()
	return ctx
}

func (r *recorder) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (r *recorder) take() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.stmts
	r.stmts = nil
	return out
}

type planNode struct {
	NodeType  string     `json:"Node Type"`
	Relation  string     `json:"Relation Name"`
	IndexName string     `json:"Index Name"`
	Plans     []planNode `json:"Plans"`
}

func (n planNode) walk(f func(planNode)) {
	f(n)
	for _, c := range n.Plans {
		c.walk(f)
	}
}

func explain(t *testing.T, pool *pgxpool.Pool, st recorded) planNode {
	t.Helper()
	var out []struct{ Plan planNode }
	var raw []byte
	require.NoError(t, pool.QueryRow(context.Background(), `EXPLAIN (FORMAT JSON) `+st.SQL, st.Args...).Scan(&raw), st.SQL)
	require.NoError(t, json.Unmarshal(raw, &out))
	return out[0].Plan
}

// seedJobs fills a database with 60,000 jobs of 200 people in 10 BUs, on 20
// clusters and 200 queues, with 3 runs each, and analyses it.
func seedJobs(t testing.TB, pool *pgxpool.Pool) {
	t.Helper()
	for _, sql := range []string{
		`INSERT INTO bu (name, code) SELECT 'bu' || b, 'BU' || b FROM generate_series(1, 10) b`,
		`INSERT INTO person (login, name, email, bu_id, role)
		 SELECT 'p' || g, 'P', 'p' || g || '@x', (SELECT min(id) FROM bu) + g % 10, 'VIEWER' FROM generate_series(1, 200) g`,
		`INSERT INTO cluster (name, region, kind) SELECT 'c' || c, 'r', 'BATCH' FROM generate_series(1, 20) c`,
		`INSERT INTO queue (cluster_id, name, path) SELECT c.id, 'q' || g, 'root.q' || g FROM cluster c, generate_series(1, 10) g`,
		`INSERT INTO job (namespace, name, owner_id, bu_id, cluster_id, queue_id, kind, priority)
		 SELECT 'ns' || (g % 50), 'job-' || lpad(((g * 7919) % 60000)::text, 6, '0'),
		        CASE WHEN g % 10 = 0 THEN NULL ELSE (SELECT min(id) FROM person) + g % 200 END,
		        CASE WHEN g % 10 = 0 THEN (SELECT min(id) FROM bu) + g % 10 END,
		        (SELECT min(id) FROM cluster) + g % 20, (SELECT min(id) FROM queue) + g % 200,
		        CASE WHEN g % 10 = 3 THEN 'STREAMING' ELSE 'BATCH' END,
		        CASE WHEN g % 100 = 0 THEN 'P0' WHEN g % 20 = 1 THEN 'P1' WHEN g % 5 = 2 THEN 'P3' ELSE 'P2' END
		 FROM generate_series(1, 60000) g`,
		`INSERT INTO job_run (job_id, run_uuid, state, started_at)
		 SELECT j.id, gen_random_uuid(), CASE WHEN r = 0 THEN 'RUNNING' ELSE 'COMPLETED' END,
		        CASE WHEN j.id % 7 = 0 AND r = 0 THEN NULL ELSE now() - r * interval '1 day' END
		 FROM job j, generate_series(0, 2) r`,
		`VACUUM ANALYZE`,
	} {
		_, err := pool.Exec(context.Background(), sql)
		require.NoError(t, err, sql)
	}
}

// Every filter of the jobs listing alone and some together, each ordering both
// ways, first page and a page after a cursor, with its count; and a job's runs
// with each of their filters: none reads job or job_run sequentially (60,000
// jobs and 180,000 runs, analysed, so the planner would where no index serves).
func TestJobListingsUseIndexes(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	pool := dbtest.NewDatabase(t, db.Options{Tracer: rec}).Pool
	ctx := auth.WithPrincipal(context.Background(), &auth.Principal{PersonID: 1, Login: "x", Role: auth.Admin})
	seedJobs(t, pool)
	s := workload.NewService(pool, audit.New(pool, slog.New(slog.DiscardHandler)), workload.Config{})
	var bu, person, cluster, queue, job int64
	require.NoError(t, pool.QueryRow(ctx, `SELECT (SELECT min(id) FROM bu), (SELECT min(id) + 5 FROM person),
		(SELECT min(id) + 3 FROM cluster), (SELECT min(id) + 17 FROM queue), (SELECT min(id) + 700 FROM job)`).
		Scan(&bu, &person, &cluster, &queue, &job))
	filters := map[string]workload.JobFilter{
		"none":            {},
		"owner":           {OwnerID: &person},
		"bu":              {BUID: &bu},
		"cluster":         {ClusterID: &cluster},
		"queue":           {QueueID: &queue},
		"kind":            {Kind: "STREAMING"},
		"priority":        {Priority: "P0"},
		"bu+priority":     {BUID: &bu, Priority: "P1"},
		"cluster+kind":    {ClusterID: &cluster, Kind: "BATCH"},
		"owner+priority":  {OwnerID: &person, Priority: "P2"},
		"queue+kind+prio": {QueueID: &queue, Kind: "BATCH", Priority: "P2"},
	}
	rec.take()
	checked := 0
	check := func(name string) {
		t.Helper()
		for _, st := range rec.take() {
			if strings.HasPrefix(st.SQL, "EXPLAIN") || strings.Contains(st.SQL, "pg_class") {
				continue
			}
			plan := explain(t, pool, st)
			rec.take()
			plan.walk(func(n planNode) {
				if n.NodeType == "Seq Scan" && (n.Relation == "job" || n.Relation == "job_run") {
					t.Errorf("%s: sequential scan of %s in\n%s", name, n.Relation, st.SQL)
				}
			})
			checked++
		}
	}
	small := 20
	for name, f := range filters {
		for _, o := range []workload.JobOrder{{}, {Desc: true}, {Field: "NAME"}, {Field: "NAME", Desc: true}, {Field: "PRIORITY"}, {Field: "PRIORITY", Desc: true}} {
			p, err := s.Jobs(ctx, f, o, page.Args{First: &small})
			require.NoError(t, err)
			check(name + "/" + o.Field)
			if p.Info.HasNextPage {
				_, err = s.Jobs(ctx, f, o, page.Args{First: &small, After: p.Info.EndCursor()})
				require.NoError(t, err)
				check(name + "/" + o.Field + "/after")
			}
		}
	}
	j, err := s.Job(ctx, job)
	require.NoError(t, err)
	from, to := time.Now().Add(-36*time.Hour), time.Now()
	for name, f := range map[string]workload.RunFilter{"none": {}, "window": {From: &from, To: &to}, "state": {State: "COMPLETED"}} {
		two := 2
		p, err := s.Runs(ctx, j, f, page.Args{First: &two})
		require.NoError(t, err)
		check("runs " + name)
		if p.Info.HasNextPage {
			_, err = s.Runs(ctx, j, f, page.Args{First: &two, After: p.Info.EndCursor()})
			require.NoError(t, err)
			check("runs " + name + "/after")
		}
	}
	require.Greater(t, checked, 100, "the listings' statements were explained")
}
