// Package db opens the PostgreSQL pool, applies the embedded migrations, and holds
// the small helpers every store shares: the DBTX interface, transactions and the
// translation of driver errors into domain errors.
package db

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	pgxdecimal "github.com/jackc/pgx-shopspring-decimal"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgconn/ctxwatch"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/teslaops/tesla/internal/fault"
)

// DBTX is what store functions take: a pool, a connection or a transaction, so the
// same query code serves the server, a transaction and a test.
type DBTX interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error)
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
	Begin(ctx context.Context) (pgx.Tx, error)
}

// Options configure Open.
type Options struct {
	// MaxConns bounds the pool; zero keeps pgx's default (max(4, NumCPU)).
	MaxConns int32
	// Tracer, when set, sees every query (used for query logging and counting).
	Tracer pgx.QueryTracer
	// SlowQuery is the duration above which the logging tracer logs a query at
	// warning level; zero disables slow-query logging.
	SlowQuery time.Duration
	Logger    *slog.Logger
	// StatementTimeout, when set, is the server-side statement_timeout of every
	// connection: PostgreSQL itself stops a statement that runs longer.
	StatementTimeout time.Duration
}

// Open parses url, connects and pings. The returned pool is ready for use.
func Open(ctx context.Context, url string, opts Options) (*pgxpool.Pool, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("error parsing database url: %w", err)
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	cfg.ConnConfig.RuntimeParams["timezone"] = "UTC"
	// numeric columns (money) scan into and encode from shopspring decimals
	// exactly, in binary; never through float64.
	cfg.AfterConnect = func(_ context.Context, conn *pgx.Conn) error {
		pgxdecimal.Register(conn.TypeMap())
		return nil
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = "tesla"
	if opts.StatementTimeout > 0 {
		setStatementTimeout(cfg, opts.StatementTimeout)
	}
	var tracers []pgx.QueryTracer
	if opts.Tracer != nil {
		tracers = append(tracers, opts.Tracer)
	}
	if opts.Logger != nil && opts.SlowQuery > 0 {
		tracers = append(tracers, &slowQueryTracer{logger: opts.Logger, threshold: opts.SlowQuery})
	}
	switch len(tracers) {
	case 0:
	case 1:
		cfg.ConnConfig.Tracer = tracers[0]
	default:
		cfg.ConnConfig.Tracer = multiTracer(tracers)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("error opening database pool: %w", err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := pool.Ping(pingCtx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("error connecting to database: %w", err)
	}
	return pool, nil
}

// ShareOptions configure Share.
type ShareOptions struct {
	// Name is appended to application_name ("tesla-<name>"), so the share's
	// sessions can be told apart in pg_stat_activity.
	Name string
	// MaxConns bounds the share; it is at least 1.
	MaxConns int32
	// StatementTimeout is the share's server-side statement_timeout; zero keeps
	// the base pool's.
	StatementTimeout time.Duration
}

// Share returns a second pool on base's database, with base's settings and
// tracers but its own connection limit and statement_timeout. A share carved out
// for one kind of work (the GraphQL API) can be exhausted without touching the
// connections of the base pool (ingestion, the scheduler, readiness). When a
// query's context ends, a share's connection asks the server to cancel the
// statement (instead of only dropping the socket), so abandoned work stops in
// PostgreSQL at once rather than at its statement_timeout.
//
// The share connects lazily, as pgxpool does, and is closed by the caller.
// Share panics only if pgxpool refuses a copy of base's own configuration,
// which its inputs cannot cause.
func Share(base *pgxpool.Pool, opts ShareOptions) *pgxpool.Pool {
	cfg := base.Config().Copy()
	cfg.MaxConns = max(opts.MaxConns, 1)
	cfg.MinConns = 0
	if opts.Name != "" {
		cfg.ConnConfig.RuntimeParams["application_name"] = "tesla-" + opts.Name
	}
	if opts.StatementTimeout > 0 {
		setStatementTimeout(cfg, opts.StatementTimeout)
	}
	cfg.ConnConfig.BuildContextWatcherHandler = func(c *pgconn.PgConn) ctxwatch.Handler {
		// The cancel request goes out at once; the socket deadline is the fallback
		// for a server that does not answer it.
		return &pgconn.CancelRequestContextWatcherHandler{Conn: c, DeadlineDelay: 2 * time.Second}
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		panic(fmt.Sprintf("db.Share: pgxpool refused a copy of its own configuration: %v", err))
	}
	return pool
}

func setStatementTimeout(cfg *pgxpool.Config, d time.Duration) {
	cfg.ConnConfig.RuntimeParams["statement_timeout"] = fmt.Sprintf("%dms", max(d.Milliseconds(), 1))
}

// IsTimeout reports whether err means a statement or a request ran out of time:
// a context deadline (as the context or as pgconn reports it), or PostgreSQL's
// query_canceled (57014), which both statement_timeout and a cancel request
// sent for an expired context raise.
func IsTimeout(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err) {
		return true
	}
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "57014"
}

// InTx runs fn in a transaction on db, committing when fn returns nil.
func InTx(ctx context.Context, db DBTX, fn func(tx pgx.Tx) error) error {
	tx, err := db.Begin(ctx)
	if err != nil {
		return fmt.Errorf("error starting transaction: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback(ctx)
		return err
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("error committing transaction: %w", err)
	}
	return nil
}

// Interpret turns a driver error into a domain error where one applies:
// no rows becomes NotFound (with what as the thing not found), a unique violation
// becomes Conflict, a foreign-key or check violation becomes Invalid. Other errors
// are returned unchanged, for the caller to wrap.
func Interpret(err error, what string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fault.NotFoundf("%s not found", what)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505":
			return fault.New(fault.Conflict, "%s already exists", what)
		case "23503":
			return fault.New(fault.Invalid, "%s refers to something that does not exist", what)
		case "23514", "22P02", "22003":
			return fault.New(fault.Invalid, "%s has an invalid value", what)
		}
	}
	return err
}

type slowQueryTracer struct {
	logger    *slog.Logger
	threshold time.Duration
}

type slowQueryKey struct{}

type slowQueryStart struct {
	at  time.Time
	sql string
}

func (t *slowQueryTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	return context.WithValue(ctx, slowQueryKey{}, slowQueryStart{at: time.Now(), sql: data.SQL})
}

func (t *slowQueryTracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryEndData) {
	start, ok := ctx.Value(slowQueryKey{}).(slowQueryStart)
	if !ok {
		return
	}
	if d := time.Since(start.at); d >= t.threshold {
		sql := start.sql
		if len(sql) > 300 {
			sql = sql[:300] + "…"
		}
		t.logger.WarnContext(ctx, "slow query", "duration_ms", d.Milliseconds(), "sql", sql, "error", data.Err)
	}
}

// multiTracer fans one pgx trace out to several tracers.
type multiTracer []pgx.QueryTracer

func (m multiTracer) TraceQueryStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	for _, t := range m {
		ctx = t.TraceQueryStart(ctx, conn, data)
	}
	return ctx
}

func (m multiTracer) TraceQueryEnd(ctx context.Context, conn *pgx.Conn, data pgx.TraceQueryEndData) {
	for _, t := range m {
		t.TraceQueryEnd(ctx, conn, data)
	}
}
