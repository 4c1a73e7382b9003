package inventory

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// querier is what a keyset listing needs of a pool or transaction.
type querier interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}

// querySeek runs a keyset page query whose select list is the entity's columns,
// then nkeys key columns as text (page.Seek.Select), preceded by the parent id when
// parented is set. It returns the rows and their keys in reading order, grouped by
// parent (0 for a top-level listing).
func querySeek[T any, PT interface {
	*T
	scanner
}](ctx context.Context, q querier, sql string, args pgx.NamedArgs, nkeys int, parented bool) (map[int64][]*T, map[int64][][]string, error) {
	rows, err := q.Query(ctx, sql, args)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	items := map[int64][]*T{}
	keys := map[int64][][]string{}
	for rows.Next() {
		var parent int64
		item := PT(new(T))
		key := make([]string, nkeys)
		dests := make([]any, 0, 1+len(item.dests())+nkeys)
		if parented {
			dests = append(dests, &parent)
		}
		dests = append(dests, item.dests()...)
		for i := range key {
			dests = append(dests, &key[i])
		}
		if err := rows.Scan(dests...); err != nil {
			return nil, nil, err
		}
		items[parent] = append(items[parent], (*T)(item))
		keys[parent] = append(keys[parent], key)
	}
	return items, keys, rows.Err()
}

// addCond adds a condition built together with its arguments.
func (c *conds) addCond(sql string, args pgx.NamedArgs) {
	c.parts = append(c.parts, sql)
	for k, v := range args {
		c.args[k] = v
	}
}
