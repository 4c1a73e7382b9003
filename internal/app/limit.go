package app

import (
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/teslaops/tesla/graph"
	"github.com/teslaops/tesla/internal/db"
)

// GraphQLLimits bound the GraphQL API while operations run, so that one
// caller's analysis cannot take the database away from everyone else.
//
// The API reads and writes through a pool of its own (DBConns connections, each
// with StatementTimeout as statement_timeout), beside the main pool that
// ingestion, the scheduler, authentication and /readyz use: whatever analysts
// send, those keep their connections. Inside the API's pool, expensive
// operations together hold at most ExpensiveAtOnce × graph.DefaultExpensiveParallel
// connections (LoadConfig checks that this leaves some), so cheap requests keep
// answering.
type GraphQLLimits struct {
	// Timeout is the deadline of a query or mutation (and of each subscription
	// event); an operation that runs past it gets TIMEOUT errors.
	Timeout time.Duration
	// StatementTimeout is the statement_timeout of the API's connections.
	StatementTimeout time.Duration
	// DBConns is the size of the API's pool.
	DBConns int32
	// ExpensiveCost is the cost from which an operation is expensive.
	ExpensiveCost int
	// ExpensiveAtOnce is how many expensive operations run at once in all.
	ExpensiveAtOnce int
	// ExpensivePerUser is how many expensive operations one person may run at once.
	ExpensivePerUser int
}

// run is what the GraphQL handler enforces.
func (l GraphQLLimits) run() graph.RunLimits {
	return graph.RunLimits{
		Timeout:            l.Timeout,
		ExpensiveCost:      l.ExpensiveCost,
		ExpensiveAtOnce:    l.ExpensiveAtOnce,
		ExpensivePerCaller: l.ExpensivePerUser,
		ExpensiveParallel:  graph.DefaultExpensiveParallel,
	}
}

// newAPIPool carves the GraphQL API's pool out beside pool (see GraphQLLimits).
func newAPIPool(pool *pgxpool.Pool, cfg Config) *pgxpool.Pool {
	return db.Share(pool, db.ShareOptions{Name: "api", MaxConns: cfg.GraphQL.DBConns, StatementTimeout: cfg.GraphQL.StatementTimeout})
}

// Close releases what the services hold of their own: the API's pool. The main
// pool belongs to the caller.
func (s Services) Close() {
	if s.api != nil {
		s.api.Close()
	}
}
