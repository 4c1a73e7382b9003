// Package page turns Relay connection arguments (first/after, last/before) into a
// page request, and back into page info and cursors. Cursors are opaque base64
// strings of one of two kinds:
//
//   - Position cursors (this file) hold a 1-based position in the ordering. They
//     make backward paging and per-parent windows in batched queries
//     (row_number() OVER (PARTITION BY parent)) simple; the price is that every page
//     numbers the whole filtered set, and rows inserted before the cursor shift a
//     later page by one. Small, bounded lists (clusters, BUs, people, stacks,
//     tokens) use them.
//   - Keyset cursors (keyset.go) hold the ordering key of a row and the ordering's
//     tag. A page seeks an index and reads only its own rows, so tables that grow
//     without bound (hosts, the audit log) use them.
package page

import (
	"encoding/base64"
	"strconv"
	"strings"

	"github.com/teslaops/tesla/internal/fault"
)

// Limits on a page.
const (
	MaxSize     = 100
	DefaultSize = 50
)

// Args are the raw Relay arguments.
type Args struct {
	First  *int
	After  *string
	Last   *int
	Before *string
	// NoTotal says the caller does not read the total (a query that does not
	// select totalCount): keyset listings then skip counting and report 0.
	NoTotal bool
}

// Window selects rows by 1-based position: rows with From < pos <= To. When
// FromEnd is set (last without before), the window is the last Size rows and
// From/To are unknown until the total is known.
type Window struct {
	From    int
	To      int
	FromEnd bool
	Size    int
}

// Resolve validates args and returns the window they ask for.
func (a Args) Resolve() (Window, error) {
	if a.First != nil && a.Last != nil {
		return Window{}, fault.Field("first", "pass either first or last, not both")
	}
	after, err := decodeOptional("after", a.After)
	if err != nil {
		return Window{}, err
	}
	before, err := decodeOptional("before", a.Before)
	if err != nil {
		return Window{}, err
	}
	if a.Last != nil {
		n, err := size("last", *a.Last)
		if err != nil {
			return Window{}, err
		}
		if a.Before == nil {
			return Window{FromEnd: true, Size: n, From: after}, nil
		}
		from := max(before-1-n, after)
		return Window{From: from, To: before - 1, Size: n}, nil
	}
	n := DefaultSize
	if a.First != nil {
		if n, err = size("first", *a.First); err != nil {
			return Window{}, err
		}
	}
	to := after + n
	if a.Before != nil {
		to = min(to, before-1)
	}
	return Window{From: after, To: to, Size: n}, nil
}

// Bounds returns the concrete window once the total row count is known.
func (w Window) Bounds(total int) (from, to int) {
	if w.FromEnd {
		return max(total-w.Size, w.From), total
	}
	return w.From, min(w.To, total)
}

func size(field string, n int) (int, error) {
	if n < 1 || n > MaxSize {
		return 0, fault.Field(field, "%s must be between 1 and %d, got %d", field, MaxSize, n)
	}
	return n, nil
}

const cursorPrefix = "pos:"

// Cursor encodes a 1-based position.
func Cursor(pos int) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorPrefix + strconv.Itoa(pos)))
}

// DecodeCursor returns the position in c.
func DecodeCursor(field, c string) (int, error) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err == nil {
		if s, ok := strings.CutPrefix(string(raw), cursorPrefix); ok {
			if n, err := strconv.Atoi(s); err == nil && n >= 1 {
				return n, nil
			}
		}
	}
	return 0, fault.Field(field, "%s is not a valid cursor; use a cursor returned by this connection", field)
}

func decodeOptional(field string, c *string) (int, error) {
	if c == nil {
		return 0, nil
	}
	return DecodeCursor(field, *c)
}

// Info is what a connection reports about one page.
type Info struct {
	Total           int
	HasNextPage     bool
	HasPreviousPage bool
	// Estimated says Total is an estimate (see the listing for when).
	Estimated bool
	// First is the 1-based position of the first row on the page (position
	// cursors only).
	First int
	Count int
	// Cursors are the rows' keyset cursors; nil for position cursors.
	Cursors []string
}

// Cursor returns the cursor of the i-th row on the page.
func (i Info) Cursor(n int) string {
	if i.Cursors != nil {
		return i.Cursors[n]
	}
	return Cursor(i.First + n)
}

// NewInfo describes a page of count rows starting after position from, out of total.
func NewInfo(from, count, total int) Info {
	return Info{Total: total, First: from + 1, Count: count, HasPreviousPage: from > 0, HasNextPage: from+count < total}
}

// StartCursor and EndCursor return nil on an empty page.
func (i Info) StartCursor() *string {
	if i.Count == 0 {
		return nil
	}
	c := i.Cursor(0)
	return &c
}

// EndCursor is the cursor of the last row on the page.
func (i Info) EndCursor() *string {
	if i.Count == 0 {
		return nil
	}
	c := i.Cursor(i.Count - 1)
	return &c
}

// Page is a window of items with its info.
type Page[T any] struct {
	Items []T
	Info  Info
}

// FromOffsets runs an offset/limit listing (which also returns the total) for a
// window. A window counted from the end needs the total first, so it then asks
// once for the count and once for the rows.
func FromOffsets[T any](w Window, list func(offset, limit int) ([]T, int, error)) (Page[T], error) {
	from, to := w.From, w.To
	if w.FromEnd {
		_, total, err := list(0, 0)
		if err != nil {
			return Page[T]{}, err
		}
		from, to = w.Bounds(total)
	}
	items, total, err := list(from, max(to-from, 0))
	if err != nil {
		return Page[T]{}, err
	}
	return Page[T]{Items: items, Info: NewInfo(from, len(items), total)}, nil
}
