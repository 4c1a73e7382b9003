package app

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/frontend"
	"github.com/teslaops/tesla/graph/model"
	"github.com/teslaops/tesla/internal/db"
)

// The fleet bench drives the queries the web app and the analysts really send.
// They are read from the source tree at run time — the GraphQL documents
// exported by frontend/src (whatever file they live in) and the examples of
// docs/graphql.md — so the bench follows the frontend as it changes; a fixed
// list of host-page queries (every sort and filter the cluster page offers, and
// deep paging) is added, because those are the ones whose cost grows with the
// fleet.

// benchQuery is one GraphQL operation the load generator sends.
type benchQuery struct {
	Name   string
	Source string // where it was read from
	Query  string
	Vars   map[string]any
	// Walk, when set, pages through the result: each call continues from the
	// endCursor the previous call of the same worker got at Walk's path.
	Walk []string
}

var (
	varDef     = regexp.MustCompile(`\$(\w+)\s*:\s*([\w\[\]!]+)`)
	docsBlock  = regexp.MustCompile("(?s)```graphql\n(.*?)```")
	opStartsAt = regexp.MustCompile(`(?m)^(\{|query\b|mutation\b|subscription\b)`)
)

// frontendQueries reads the queries the web app sends (frontend.Documents: every
// graphql(`…`) document under dir, with its fragments). Mutations and
// subscriptions are not part of the load.
func frontendQueries(dir string) ([]benchQuery, error) {
	docs, err := frontend.Documents(dir)
	if err != nil {
		return nil, err
	}
	var out []benchQuery
	for _, d := range docs {
		if d.Kind == "query" {
			out = append(out, benchQuery{Name: d.Name, Source: d.File, Query: d.Text})
		}
	}
	return out, nil
}

// docsQueries reads the query examples of a Markdown file's graphql blocks.
func docsQueries(path string) ([]benchQuery, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []benchQuery
	for _, m := range docsBlock.FindAllStringSubmatch(string(src), -1) {
		block := m[1]
		starts := opStartsAt.FindAllStringIndex(block, -1)
		for i, s := range starts {
			end := len(block)
			if i+1 < len(starts) {
				end = starts[i+1][0]
			}
			op := strings.TrimSpace(block[s[0]:end])
			// Trailing comment lines belong to the next operation.
			lines := strings.Split(op, "\n")
			for len(lines) > 0 && strings.HasPrefix(strings.TrimSpace(lines[len(lines)-1]), "#") {
				lines = lines[:len(lines)-1]
			}
			op = strings.Join(lines, "\n")
			if !strings.HasPrefix(op, "{") && !strings.HasPrefix(op, "query") {
				continue
			}
			first := strings.Join(strings.Fields(strings.SplitN(op, "\n", 2)[0]), " ")
			out = append(out, benchQuery{Name: fmt.Sprintf("docs %d: %.40s", len(out)+1, first), Source: filepath.Base(path), Query: op})
		}
	}
	return out, nil
}

// hostPageQueries are the cluster page's host list at every sort and filter
// the UI offers, on the biggest cluster, plus a walk through all its pages.
func hostPageQueries(cluster string) []benchQuery {
	const nodes = `totalCount pageInfo { hasNextPage endCursor }
		nodes { id hostname rack state stateReason cpuCores memoryBytes os lastHeartbeat latestMetrics { ts cpuPercent memoryPercent } }`
	page := func(args string) string {
		return `query HostPage($name: String!, $after: String) { cluster(name: $name) { hosts(first: 50, after: $after` + args + `) { ` + nodes + ` } } }`
	}
	var out []benchQuery
	for _, o := range []struct{ name, args string }{
		{"hosts by hostname", ``},
		{"hosts by state", `, orderBy: {field: STATE, direction: ASC}`},
		{"hosts by rack", `, orderBy: {field: RACK, direction: DESC}`},
		{"hosts by cpu cores", `, orderBy: {field: CPU_CORES, direction: DESC}`},
		{"hosts by memory", `, orderBy: {field: MEMORY_BYTES, direction: DESC}`},
		{"hosts by heartbeat", `, orderBy: {field: LAST_HEARTBEAT, direction: ASC}`},
		{"hosts DEGRADED", `, filter: {state: DEGRADED}`},
		{"hosts search", `, filter: {search: "r05"}`},
	} {
		out = append(out, benchQuery{Name: o.name + " (giant cluster)", Source: "fleet bench", Query: page(o.args),
			Vars: map[string]any{"name": cluster}})
	}
	out = append(out, benchQuery{Name: "hosts walking every page (giant cluster)", Source: "fleet bench", Query: page(""),
		Vars: map[string]any{"name": cluster}, Walk: []string{"cluster", "hosts", "pageInfo"}},
		benchQuery{Name: "cluster watermarkNow", Source: "fleet bench",
			Query: `query($name: String!) { cluster(name: $name) { watermarkNow { dimension utilization status } } }`,
			Vars:  map[string]any{"name": cluster}},
		benchQuery{Name: "platform clusterCount", Source: "fleet bench", Query: `{ platform { clusterCount } }`},
		benchQuery{Name: "me", Source: "fleet bench", Query: `{ me { role } }`})
	return out
}

// bindVariables fills the variables a query declares from known values, and
// reports false for a query that needs a value the bench does not have.
func bindVariables(q *benchQuery, known map[string]any) bool {
	if q.Vars == nil {
		q.Vars = map[string]any{}
	}
	header := q.Query
	if i := strings.Index(header, "{"); i >= 0 {
		header = header[:i]
	}
	for _, m := range varDef.FindAllStringSubmatch(header, -1) {
		name, typ := m[1], m[2]
		if _, ok := q.Vars[name]; ok {
			continue
		}
		if v, ok := known[name]; ok {
			q.Vars[name] = v
			continue
		}
		if strings.HasSuffix(typ, "!") {
			return false
		}
	}
	return true
}

// loadBenchQueries gathers every query to drive, from the tree at root. known
// holds values by variable name; byQuery, values for one query's variables
// (by the query's name: several pages call an id "id" and mean different
// kinds), which win over known.
func loadBenchQueries(root string, known map[string]any, byQuery map[string]map[string]any, cluster string) (use []benchQuery, skipped []string, err error) {
	var all []benchQuery
	fq, err := frontendQueries(filepath.Join(root, "frontend", "src"))
	if err != nil {
		return nil, nil, fmt.Errorf("error reading the frontend's queries: %w", err)
	}
	dq, err := docsQueries(filepath.Join(root, "docs", "graphql.md"))
	if err != nil {
		return nil, nil, fmt.Errorf("error reading the examples of docs/graphql.md: %w", err)
	}
	if len(fq) == 0 {
		return nil, nil, fmt.Errorf("no GraphQL queries found under %s/frontend/src: run the bench from the repository root (or pass --root)", root)
	}
	all = append(append(append(all, fq...), dq...), hostPageQueries(cluster)...)
	for _, q := range all {
		if vars, ok := byQuery[q.Name]; ok {
			if q.Vars == nil {
				q.Vars = map[string]any{}
			}
			for k, v := range vars {
				q.Vars[k] = v
			}
		}
		if bindVariables(&q, known) {
			use = append(use, q)
		} else {
			skipped = append(skipped, q.Name)
		}
	}
	slices.SortStableFunc(use, func(a, b benchQuery) int { return strings.Compare(a.Source, b.Source) })
	return use, skipped, nil
}

// benchStandIns finds, in the seeded fleet, the objects the pages that show one
// object are asked about: a job with runs and lineage (the demo's memory hog),
// a queue of a batch cluster, a BU with jobs, an operation and a stack
// version, an anomaly episode when there is one, two versions of a cluster's
// configuration to compare. A query whose object the fleet lacks is skipped, and the bench says so.
func benchStandIns(ctx context.Context, q db.DBTX) (map[string]map[string]any, error) {
	out := map[string]map[string]any{}
	var job, queue, bu int64
	var code string
	err := q.QueryRow(ctx, `SELECT j.id FROM job j ORDER BY (j.name = 'ads.ctr_feature_backfill') DESC, j.id LIMIT 1`).Scan(&job)
	if err == nil {
		id := model.GlobalID(model.KindJob, job)
		for _, name := range []string{"JobHead", "JobDetail", "JobRuns", "JobHealth"} {
			out[name] = map[string]any{"id": id}
		}
		out["JobLineage"] = map[string]any{"node": id}
	} else if !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("error finding a job for the bench: %w", err)
	}
	err = q.QueryRow(ctx, `SELECT q.id FROM queue q WHERE q.parent_id IS NOT NULL ORDER BY q.id LIMIT 1`).Scan(&queue)
	if err == nil {
		out["QueueDetail"] = map[string]any{"id": model.GlobalID(model.KindQueue, queue)}
	} else if !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("error finding a queue for the bench: %w", err)
	}
	err = q.QueryRow(ctx, `SELECT b.id, b.code FROM bu b JOIN person p ON p.bu_id = b.id JOIN job j ON j.owner_id = p.id
		GROUP BY b.id ORDER BY count(*) DESC, b.id LIMIT 1`).Scan(&bu, &code)
	if err == nil {
		gid := model.GlobalID(model.KindBU, bu)
		out["BUCentre"] = map[string]any{"code": code}
		out["BUCentreQueues"] = map[string]any{"bu": gid}
		out["BUCentreJobs"] = map[string]any{"filter": map[string]any{"bu": gid}}
	} else if !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("error finding a BU for the bench: %w", err)
	}
	// The cost page and the money panels ask for this month's bills.
	now := time.Now().UTC()
	month := map[string]any{"unit": "MONTH",
		"start": time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC).Format(time.RFC3339)}
	out["CostPage"] = map[string]any{"period": month}
	out["ScreenCost"] = map[string]any{"period": month}
	if code != "" {
		gid := model.GlobalID(model.KindBU, bu)
		out["BUBudget"] = map[string]any{"code": code}
		out["BUHealth"] = map[string]any{"code": code}
		out["BUPeopleBudgets"] = map[string]any{"bu": gid, "canEdit": true}
		out["BUBills"] = map[string]any{"bu": gid, "period": month}
	}
	var person int64
	err = q.QueryRow(ctx, `SELECT p.id FROM person p JOIN job j ON j.owner_id = p.id
		GROUP BY p.id ORDER BY count(*) DESC, p.id LIMIT 1`).Scan(&person)
	if err == nil {
		out["MyBill"] = map[string]any{"person": model.GlobalID(model.KindPerson, person), "period": month}
	} else if !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("error finding a person for the bench: %w", err)
	}
	// An operation's page (the newest operation, when the fleet has run one)
	// and a stack version's detail (the newest version).
	var op, version int64
	err = q.QueryRow(ctx, `SELECT id FROM operation ORDER BY id DESC LIMIT 1`).Scan(&op)
	if err == nil {
		id := model.GlobalID(model.KindOperation, op)
		out["OperationDetail"] = map[string]any{"id": id}
		out["OperationTasks"] = map[string]any{"id": id, "first": 20}
	} else if !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("error finding an operation for the bench: %w", err)
	}
	var cluster int64
	var region string
	err = q.QueryRow(ctx, `SELECT v.id, c.id, c.region FROM stack_version v, cluster c
		ORDER BY v.released_at DESC, v.id DESC, c.id LIMIT 1`).Scan(&version, &cluster, &region)
	if err == nil {
		out["StackVersionDetail"] = map[string]any{"id": model.GlobalID(model.KindStackVersion, version)}
		// The upgrade wizard's pre-checks and the scale-out dialog's spares.
		out["UpgradePreCheck"] = map[string]any{"input": map[string]any{
			"cluster": model.GlobalID(model.KindCluster, cluster), "stackVersion": model.GlobalID(model.KindStackVersion, version)}}
		out["ScaleOutSpares"] = map[string]any{"region": region}
	} else if !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("error finding a stack version for the bench: %w", err)
	}
	// The configuration page's compare: the two newest versions of a cluster
	// with a history (the seeded fleet has none until someone makes a change).
	var configCluster string
	var newest int64
	err = q.QueryRow(ctx, `SELECT c.name, max(v.version) FROM config_version v JOIN cluster c ON c.id = v.cluster_id
		GROUP BY c.id, c.name HAVING count(*) >= 2 ORDER BY max(v.version) DESC, c.name LIMIT 1`).Scan(&configCluster, &newest)
	if err == nil {
		out["ConfigDiff"] = map[string]any{"name": configCluster, "older": newest - 1, "newer": newest}
	} else if !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("error finding a configuration history for the bench: %w", err)
	}
	// The configuration page's edit form reads one group's whole host list.
	var groupCluster, group string
	err = q.QueryRow(ctx, `SELECT c.name, g.name FROM config_group g JOIN cluster c ON c.id = g.cluster_id
		ORDER BY (g.rule_kind = 'LIST') DESC, g.id LIMIT 1`).Scan(&groupCluster, &group)
	if err == nil {
		out["ConfigGroupHosts"] = map[string]any{"name": groupCluster, "group": group, "first": 5000}
	} else if !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("error finding a config group for the bench: %w", err)
	}
	var episode int64
	err = q.QueryRow(ctx, `SELECT id FROM anomaly_episode ORDER BY started_at DESC, id DESC LIMIT 1`).Scan(&episode)
	if err == nil {
		out["Anomaly"] = map[string]any{"id": model.GlobalID(model.KindAnomaly, episode)}
	} else if !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("error finding an anomaly for the bench: %w", err)
	}
	return out, nil
}
