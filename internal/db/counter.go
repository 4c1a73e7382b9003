package db

import (
	"context"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
)

// QueryCounter is a pgx tracer that counts queries and keeps the start of each
// statement. Tests use it to prove that a GraphQL request costs a constant number
// of SQL statements, whatever its size, and to show which ones when it does not.
type QueryCounter struct {
	mu  sync.Mutex
	sql []string
}

// TraceQueryStart records one query.
func (c *QueryCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	s := strings.Join(strings.Fields(data.SQL), " ")
	if len(s) > 120 {
		s = s[:120]
	}
	c.mu.Lock()
	c.sql = append(c.sql, s)
	c.mu.Unlock()
	return ctx
}

// TraceQueryEnd does nothing.
func (c *QueryCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// Count returns the queries seen so far.
func (c *QueryCounter) Count() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return int64(len(c.sql))
}

// Statements returns the (shortened) statements seen so far.
func (c *QueryCounter) Statements() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.sql...)
}

// Reset forgets everything seen.
func (c *QueryCounter) Reset() {
	c.mu.Lock()
	c.sql = nil
	c.mu.Unlock()
}
