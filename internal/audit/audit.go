// Package audit records every mutation: who asked, what, with which input, and how
// it ended. A successful change and its audit row commit in one transaction, so the
// log never claims a change that did not happen nor misses one that did; refused and
// failed attempts are recorded too, after the rollback.
package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/internal/audit/dbsqlc"
	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/page"
)

// Outcome is how an audited action ended.
type Outcome string

// Outcomes.
const (
	OK     Outcome = "OK"
	Denied Outcome = "DENIED"
	Failed Outcome = "FAILED"
)

// Entry is one audit row.
type Entry struct {
	ID         int64
	At         time.Time
	PersonID   *int64
	Actor      string
	Action     string
	Target     string
	Input      json.RawMessage
	Outcome    Outcome
	Error      string
	RemoteAddr string
}

// queries are the package's static SQL (dbsqlc/*.sql), compiled by sqlc.
var queries = dbsqlc.New()

// Log writes audit entries.
type Log struct {
	// pool is any DBTX: the server's pool, or a transaction the Log's actions
	// then run inside (as savepoints).
	pool   db.DBTX
	logger *slog.Logger
}

// New returns a Log on pool, which may be a pool, a connection or a transaction.
func New(pool db.DBTX, logger *slog.Logger) *Log { return &Log{pool: pool, logger: logger} }

type remoteKey struct{}

// WithRemoteAddr records the client address for audit entries made under ctx.
func WithRemoteAddr(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, remoteKey{}, addr)
}

// Do runs fn in a transaction as the audited action and records the outcome. target
// names the object acted on; input is stored as JSON (callers pass the validated
// input, never secrets). The error fn returns is returned unchanged.
func (l *Log) Do(ctx context.Context, action, target string, input any, fn func(tx pgx.Tx) error) error {
	raw, err := json.Marshal(input)
	if err != nil {
		raw = []byte(`{}`)
	}
	e := Entry{Action: action, Target: target, Input: raw, Actor: "anonymous"}
	if p, ok := auth.FromContext(ctx); ok {
		e.PersonID, e.Actor = &p.PersonID, p.Login
	}
	e.RemoteAddr, _ = ctx.Value(remoteKey{}).(string)

	fnErr := db.InTx(ctx, l.pool, func(tx pgx.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		e.Outcome = OK
		return insert(ctx, tx, e)
	})
	if fnErr == nil {
		return nil
	}
	e.Outcome, e.Error = Failed, fnErr.Error()
	if fe, ok := fault.As(fnErr); ok && (fe.Kind == fault.Forbidden || fe.Kind == fault.Unauthenticated) {
		e.Outcome = Denied
	} else if !ok {
		// Internal errors may hold SQL; the log keeps a generic phrase.
		e.Error = "internal error"
	}
	if err := insert(context.WithoutCancel(ctx), l.pool, e); err != nil {
		l.logger.ErrorContext(ctx, "error writing audit entry", "action", action, "error", err)
	}
	return fnErr
}

func insert(ctx context.Context, q db.DBTX, e Entry) error {
	err := queries.EntryInsert(ctx, q, &dbsqlc.EntryInsertParams{
		PersonID: e.PersonID, Actor: e.Actor, Action: e.Action, Target: e.Target, Input: e.Input,
		Outcome: string(e.Outcome), Error: e.Error, RemoteAddr: e.RemoteAddr,
	})
	if err != nil {
		return fmt.Errorf("error writing audit entry: %w", err)
	}
	return nil
}

// Filter narrows a listing.
type Filter struct {
	Action   string
	Outcome  Outcome
	PersonID *int64
}

// List returns entries newest first with the total matching count. Admins see all
// entries; everyone else only their own.
func (l *Log) List(ctx context.Context, f Filter, args page.Args) (page.Page[*Entry], error) {
	p, err := auth.Require(ctx)
	if err != nil {
		return page.Page[*Entry]{}, err
	}
	w, err := args.Resolve()
	if err != nil {
		return page.Page[*Entry]{}, err
	}
	if !p.Is(auth.Admin) {
		if f.PersonID != nil && *f.PersonID != p.PersonID {
			return page.Page[*Entry]{}, fault.Forbiddenf("only admins may read other people's audit entries")
		}
		f.PersonID = &p.PersonID
	}
	return page.FromOffsets(w, func(offset, limit int) ([]*Entry, int, error) {
		return l.list(ctx, f, offset, limit)
	})
}

func (l *Log) list(ctx context.Context, f Filter, offset, limit int) ([]*Entry, int, error) {
	where := `($1 = '' OR action = $1) AND ($2 = '' OR outcome = $2) AND ($3::bigint IS NULL OR person_id = $3)`
	var total int
	if err := l.pool.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE `+where, f.Action, f.Outcome, f.PersonID).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("error counting audit entries: %w", err)
	}
	rows, err := l.pool.Query(ctx, `SELECT id, at, person_id, actor, action, target, input, outcome, error, remote_addr
		FROM audit_log WHERE `+where+` ORDER BY id DESC OFFSET $4 LIMIT $5`, f.Action, f.Outcome, f.PersonID, offset, limit)
	if err != nil {
		return nil, 0, fmt.Errorf("error listing audit entries: %w", err)
	}
	es, err := pgx.CollectRows(rows, scanEntry)
	if err != nil {
		return nil, 0, fmt.Errorf("error listing audit entries: %w", err)
	}
	return es, total, nil
}

// ByID loads one entry; admins may read any, others only their own.
func (l *Log) ByID(ctx context.Context, id int64) (*Entry, error) {
	p, err := auth.Require(ctx)
	if err != nil {
		return nil, err
	}
	row, err := queries.EntryByID(ctx, l.pool, id)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, db.Interpret(err, "audit entry")
	}
	if err != nil {
		return nil, fmt.Errorf("error loading audit entry %d: %w", id, err)
	}
	e := &Entry{
		ID: row.ID, At: row.At, PersonID: row.PersonID, Actor: row.Actor, Action: row.Action, Target: row.Target,
		Input: row.Input, Outcome: Outcome(row.Outcome), Error: row.Error, RemoteAddr: row.RemoteAddr,
	}
	if !p.Is(auth.Admin) && (e.PersonID == nil || *e.PersonID != p.PersonID) {
		return nil, fault.Forbiddenf("only admins may read other people's audit entries")
	}
	return e, nil
}

func scanEntry(r pgx.CollectableRow) (*Entry, error) {
	e := &Entry{}
	err := r.Scan(&e.ID, &e.At, &e.PersonID, &e.Actor, &e.Action, &e.Target, &e.Input, &e.Outcome, &e.Error, &e.RemoteAddr)
	return e, err
}
