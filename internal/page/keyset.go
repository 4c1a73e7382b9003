package page

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/internal/fault"
)

// Keyset cursors serve the listings over tables that grow without bound (hosts,
// the audit log). A page is read by seeking an index to the key of the cursor row
// and reading Size+1 rows from there, so the cost of a page does not depend on how
// deep it lies nor on how large the table is, and rows inserted before the cursor
// do not shift the next page. The price: no page numbers, and a cursor only makes
// sense in the ordering it came from, so it carries a tag naming that ordering.

// Keyset is one ordering of a listing for keyset paging: the key expressions, the
// unique tie-breaker last, all in the same direction. Every field comes from code,
// never from input; a listing keeps one Keyset per ordering it offers.
type Keyset struct {
	// Tag names the ordering, e.g. "hosts/STATE/ASC"; cursors carry it, so a cursor
	// is refused in any other ordering.
	Tag string
	// Cols are the key, tie-breaker last. An index on the same expressions in the
	// same order is what makes a page cheap.
	Cols []Col
	// Desc orders every column descending.
	Desc bool
}

// Col is one key expression and the SQL type of its values. Values travel through
// cursors as PostgreSQL text and are cast back with Type, so a key compares in the
// database exactly as it sorts there (collation, time zone, precision).
type Col struct {
	Expr string // e.g. "h.hostname"; must never be NULL (coalesce a nullable column)
	Type string // e.g. "text", "bigint", "timestamptz"
}

// keysetVersion changes when the cursor layout does; older cursors are refused.
const keysetVersion = 1

type keyCursor struct {
	V   int      `json:"v"`
	Tag string   `json:"o"`
	Key []string `json:"k"`
}

// Cursor encodes the key values of one row (as read with Select).
func (k Keyset) Cursor(key []string) string {
	b, _ := json.Marshal(keyCursor{V: keysetVersion, Tag: k.Tag, Key: key})
	return base64.RawURLEncoding.EncodeToString(b)
}

// Decode returns the key values in c, refusing (BAD_USER_INPUT on field) a cursor
// that is malformed, of another version, or from another ordering.
func (k Keyset) Decode(field, c string) ([]string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	var kc keyCursor
	if err == nil {
		err = json.Unmarshal(raw, &kc)
	}
	if err != nil || kc.V != keysetVersion || len(kc.Key) != len(k.Cols) {
		return nil, fault.Field(field, "%s is not a valid cursor; use a cursor returned by this connection", field)
	}
	if kc.Tag != k.Tag {
		return nil, fault.Field(field, "%s comes from another ordering of this list; start again from the first page", field)
	}
	return kc.Key, nil
}

// Seek is a resolved keyset page request: which key range to read, in which
// direction, and how many rows.
type Seek struct {
	Keyset Keyset
	Size   int
	// Backward reads in reverse order (last/before); Page flips the rows back.
	Backward bool
	// After and Before are the key values of the cursors, nil when absent.
	After, Before []string
	// NoTotal: see Args.NoTotal.
	NoTotal bool
}

// Seek validates args for the ordering k.
func (a Args) Seek(k Keyset) (Seek, error) {
	if a.First != nil && a.Last != nil {
		return Seek{}, fault.Field("first", "pass either first or last, not both")
	}
	s := Seek{Keyset: k, Size: DefaultSize, NoTotal: a.NoTotal}
	var err error
	if a.After != nil {
		if s.After, err = k.Decode("after", *a.After); err != nil {
			return Seek{}, err
		}
	}
	if a.Before != nil {
		if s.Before, err = k.Decode("before", *a.Before); err != nil {
			return Seek{}, err
		}
	}
	switch {
	case a.Last != nil:
		s.Backward = true
		s.Size, err = size("last", *a.Last)
	case a.First != nil:
		s.Size, err = size("first", *a.First)
	}
	return s, err
}

// Cond is an SQL condition built together with the named arguments it uses, so
// the condition can never reference an argument it did not set.
type Cond struct {
	SQL  string
	Args pgx.NamedArgs
}

// Where returns the condition that keeps rows strictly between the cursors. Its
// arguments are named with prefix (so two seeks can share one statement). The row
// comparison is led by a plain comparison on the first key column: it says nothing
// new, but lets the planner start an index range scan on any index leading with
// that column, not only on one with the whole key.
func (s Seek) Where(prefix string) Cond {
	c := Cond{Args: pgx.NamedArgs{}}
	var parts []string
	bound := func(key []string, name, op string) {
		if key == nil {
			return
		}
		cols := make([]string, len(key))
		vals := make([]string, len(key))
		for i, col := range s.Keyset.Cols {
			arg := fmt.Sprintf("%s%s%d", prefix, name, i)
			c.Args[arg] = key[i]
			cols[i] = col.Expr
			vals[i] = "@" + arg + "::text"
			if col.Type != "text" {
				vals[i] += "::" + col.Type
			}
		}
		weak := op + "="
		if len(key) > 1 {
			parts = append(parts, cols[0]+" "+weak+" "+vals[0])
		}
		parts = append(parts, "("+strings.Join(cols, ", ")+") "+op+" ("+strings.Join(vals, ", ")+")")
	}
	gt, lt := ">", "<"
	if s.Keyset.Desc {
		gt, lt = lt, gt
	}
	bound(s.After, "a", gt)
	bound(s.Before, "b", lt)
	if len(parts) == 0 {
		c.SQL = "true"
	} else {
		c.SQL = strings.Join(parts, " AND ")
	}
	return c
}

// Select lists the key expressions as text columns, to read each row's cursor
// back with the row: "(expr)::text AS _key0, …". The aliases keep ORDER BY on a
// bare column name unambiguous.
func (s Seek) Select() string {
	out := make([]string, len(s.Keyset.Cols))
	for i, c := range s.Keyset.Cols {
		out[i] = fmt.Sprintf("(%s)::text AS _key%d", c.Expr, i)
	}
	return strings.Join(out, ", ")
}

// OrderLimit returns the ORDER BY and LIMIT clause: the reading order (reversed
// for a backward seek) and one row more than the page, to learn whether more
// rows follow.
func (s Seek) OrderLimit() string {
	desc := s.Keyset.Desc != s.Backward
	dir := " ASC"
	if desc {
		dir = " DESC"
	}
	out := make([]string, len(s.Keyset.Cols))
	for i, c := range s.Keyset.Cols {
		out[i] = c.Expr + dir
	}
	return fmt.Sprintf("ORDER BY %s LIMIT %d", strings.Join(out, ", "), s.Size+1)
}

// Complete reports whether rows read for s are the whole listing: a forward first
// page that found no more rows than it asked for. Its total is then the number of
// rows, and no count query is needed.
func (s Seek) Complete(read int) bool {
	return s.After == nil && s.Before == nil && !s.Backward && read <= s.Size
}

// NeedsCount reports whether the total of a seek that read rows must be counted:
// the caller wants it and the rows are not already the whole listing.
func (s Seek) NeedsCount(read int) bool {
	return !s.NoTotal && !s.Complete(read)
}

// Total is a listing's row count and whether it is an estimate.
type Total struct {
	N         int
	Estimated bool
}

// KeysetPage turns the rows a seek read (in reading order, with their key values, up to
// Size+1 of them) into a page in listing order with per-row cursors.
//
// hasPreviousPage after a cursor (and hasNextPage before one) is true without a
// query: the cursor row itself precedes the page, unless it has since been
// deleted. Relay allows that shortcut.
func KeysetPage[T any](s Seek, items []T, keys [][]string, total Total) Page[T] {
	more := len(items) > s.Size
	if more {
		items, keys = items[:s.Size], keys[:s.Size]
	}
	if s.Backward {
		reverse(items)
		reverse(keys)
	}
	info := Info{Total: total.N, Estimated: total.Estimated, Count: len(items), Cursors: make([]string, len(keys))}
	for i, k := range keys {
		info.Cursors[i] = s.Keyset.Cursor(k)
	}
	if s.Backward {
		info.HasPreviousPage, info.HasNextPage = more, s.Before != nil
	} else {
		info.HasNextPage, info.HasPreviousPage = more || s.Before != nil, s.After != nil
	}
	return Page[T]{Items: items, Info: info}
}

func reverse[T any](s []T) {
	for i, j := 0, len(s)-1; i < j; i, j = i+1, j-1 {
		s[i], s[j] = s[j], s[i]
	}
}
