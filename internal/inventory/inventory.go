// Package inventory holds the organisation and the Aquila inventory: BUs, people,
// clusters, hosts, stacks and their packages, and host components. Every exported
// Service method checks the caller's access before it reads or changes anything,
// so no API path (GraphQL, HTTP, subscription) can skip the rules:
//
//   - inventory (clusters, hosts, stacks, BUs) is platform data every signed-in
//     role may read;
//   - people are private: viewers read only themselves, BU admins their BU subtree,
//     operators and admins everyone; asking for more is FORBIDDEN, never a silently
//     shortened list;
//   - changing host state needs OPERATOR, and every change is audited.
package inventory

import (
	"context"
	"fmt"
	"strings"

	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/internal/audit"
	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/inventory/dbsqlc"
	"github.com/teslaops/tesla/internal/page"
)

// queries are the package's static SQL (dbsqlc/*.sql), compiled by sqlc. The
// listings, whose filters and orders vary, are built in Go (queryPages).
var queries = dbsqlc.New()

// Service is the access-checked entry point to the inventory.
type Service struct {
	// pool is any DBTX: the server's pool, or a transaction the service then
	// reads and writes inside.
	dbtx  db.DBTX
	audit *audit.Log
	// decommissioner, when set, runs SetHostState(DECOMMISSIONED).
	decommissioner Decommissioner
}

// NewService returns a Service reading through pool (a pool, or a transaction to
// compose with other services), recording mutations in log.
func NewService(pool db.DBTX, log *audit.Log) *Service {
	return &Service{dbtx: pool, audit: log}
}

// HostStateChannel is the NOTIFY channel on which host state changes are announced
// (payload: the host id); subscriptions listen on it.
const HostStateChannel = "tesla_host_state"

// scanner is implemented by entities that list their scan destinations, so one
// generic paging routine can scan any of them plus its window columns.
type scanner interface{ dests() []any }

// pagedSpec describes one connection query: rows from From matching Where, ordered
// by Order within partitions of Partition (a constant for top-level lists, a parent
// id for batched nested lists).
type pagedSpec struct {
	Columns   string
	From      string
	Where     string
	Partition string
	Order     string
	Args      pgx.NamedArgs
}

// queryPages runs spec for window w and returns a page per partition key in keys
// (for a top-level list, keys is []int64{0} and Partition is "0"). It costs one
// query, plus one count query when some partition has no rows in the window, so a
// batched nested connection stays at a constant number of statements.
func queryPages[T any, PT interface {
	*T
	scanner
}](ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, spec pagedSpec, w page.Window, keys []int64) (map[int64]*page.Page[*T], error) {
	cond := `_pos > @_from AND _pos <= @_to`
	if w.FromEnd {
		cond = `_pos > GREATEST(_total - @_size, @_from)`
	}
	args := pgx.NamedArgs{"_from": w.From, "_to": w.To, "_size": w.Size}
	for k, v := range spec.Args {
		args[k] = v
	}
	where := cmpWhere(spec.Where)
	sql := fmt.Sprintf(`WITH f AS (
		SELECT %s, (%s)::bigint AS _part,
			row_number() OVER (PARTITION BY %s ORDER BY %s) AS _pos,
			count(*) OVER (PARTITION BY %s) AS _total
		FROM %s WHERE %s)
		SELECT * FROM f WHERE %s ORDER BY _part, _pos`,
		spec.Columns, spec.Partition, spec.Partition, spec.Order, spec.Partition, spec.From, where, cond)
	rows, err := q.Query(ctx, sql, args)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]*page.Page[*T], len(keys))
	firstPos := map[int64]int{}
	totals := map[int64]int{}
	for rows.Next() {
		item := PT(new(T))
		var (
			part       int64
			pos, total int64
		)
		if err := rows.Scan(append(item.dests(), &part, &pos, &total)...); err != nil {
			rows.Close()
			return nil, err
		}
		pg := out[part]
		if pg == nil {
			pg = &page.Page[*T]{}
			out[part] = pg
			firstPos[part] = int(pos)
		}
		totals[part] = int(total)
		pg.Items = append(pg.Items, (*T)(item))
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var missing []int64
	for _, k := range keys {
		if out[k] == nil {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		countSQL := fmt.Sprintf(`SELECT (%s)::bigint, count(*) FROM %s WHERE %s GROUP BY 1`, spec.Partition, spec.From, where)
		crows, err := q.Query(ctx, countSQL, args)
		if err != nil {
			return nil, err
		}
		for crows.Next() {
			var (
				part int64
				n    int
			)
			if err := crows.Scan(&part, &n); err != nil {
				crows.Close()
				return nil, err
			}
			totals[part] = n
		}
		if err := crows.Err(); err != nil {
			return nil, err
		}
	}
	for _, k := range keys {
		pg := out[k]
		if pg == nil {
			from, _ := w.Bounds(totals[k])
			out[k] = &page.Page[*T]{Info: page.NewInfo(from, 0, totals[k])}
			continue
		}
		pg.Info = page.NewInfo(firstPos[k]-1, len(pg.Items), totals[k])
	}
	return out, nil
}

func cmpWhere(w string) string {
	if strings.TrimSpace(w) == "" {
		return "true"
	}
	return w
}

// conds collects SQL conditions and their named arguments together, so a filter
// can never reference an argument it did not set.
type conds struct {
	parts []string
	args  pgx.NamedArgs
}

func newConds() *conds { return &conds{args: pgx.NamedArgs{}} }

func (c *conds) add(cond string, name string, value any) {
	c.parts = append(c.parts, cond)
	if name != "" {
		c.args[name] = value
	}
}

func (c *conds) where() string {
	if len(c.parts) == 0 {
		return "true"
	}
	return strings.Join(c.parts, " AND ")
}

// likePattern escapes s for a case-insensitive substring match with ILIKE.
func likePattern(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(s) + "%"
}

// single returns the only page of a top-level listing.
func single[T any](pages map[int64]*page.Page[*T]) page.Page[*T] {
	if pg := pages[0]; pg != nil {
		return *pg
	}
	return page.Page[*T]{}
}

// lookup runs a static query for a signed-in caller and converts its rows;
// what names the rows in errors.
func lookup[R, T any](ctx context.Context, what string, load func() ([]R, error), conv func(R) T) ([]T, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	rows, err := load()
	if err != nil {
		return nil, fmt.Errorf("error loading %s: %w", what, err)
	}
	out := make([]T, len(rows))
	for i, r := range rows {
		out[i] = conv(r)
	}
	return out, nil
}

// lookupOne runs a static query for a unique key, for a signed-in caller; no
// row is NotFound naming what.
func lookupOne[R, T any](ctx context.Context, what string, load func() (R, error), conv func(R) T) (T, error) {
	var zero T
	if _, err := auth.Require(ctx); err != nil {
		return zero, err
	}
	row, err := load()
	if errors.Is(err, pgx.ErrNoRows) {
		return zero, db.Interpret(err, what)
	}
	if err != nil {
		return zero, fmt.Errorf("error loading %s: %w", what, err)
	}
	return conv(row), nil
}

// byIDs serves a dataloader: the rows of load keyed by id. Unknown ids are
// absent from the map.
func byIDs[R, T any](ctx context.Context, what string, load func() ([]R, error), conv func(R) *T, key func(*T) int64) (map[int64]*T, error) {
	items, err := lookup(ctx, what, load, conv)
	if err != nil {
		return nil, err
	}
	m := make(map[int64]*T, len(items))
	for _, it := range items {
		m[key(it)] = it
	}
	return m, nil
}

// groupedBy serves a dataloader of lists: the rows of load grouped by key, in
// the query's order.
func groupedBy[R, T any](ctx context.Context, what string, load func() ([]R, error), conv func(R) *T, key func(*T) int64) (map[int64][]*T, error) {
	items, err := lookup(ctx, what, load, conv)
	if err != nil {
		return nil, err
	}
	m := map[int64][]*T{}
	for _, it := range items {
		m[key(it)] = append(m[key(it)], it)
	}
	return m, nil
}
