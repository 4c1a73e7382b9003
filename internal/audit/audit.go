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
	"maps"
	"strings"
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
	dbtx   db.DBTX
	logger *slog.Logger
}

// New returns a Log on pool, which may be a pool, a connection or a transaction.
func New(pool db.DBTX, logger *slog.Logger) *Log { return &Log{dbtx: pool, logger: logger} }

type remoteKey struct{}

type actorKey struct{}

// WithActor names who acts under ctx when no person does (the command line's
// operator, "cli"), so the log says who rather than "anonymous".
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor)
}

// WithRemoteAddr records the client address for audit entries made under ctx.
func WithRemoteAddr(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, remoteKey{}, addr)
}

// Do runs fn in a transaction as the audited action and records the outcome. target
// names the object acted on; input is stored as JSON (callers pass the validated
// input, never secrets) after fn ran, so a pointer input fn fills in (e.g. the
// state before and after a change) is recorded as fn left it. The error fn
// returns is returned unchanged.
func (l *Log) Do(ctx context.Context, action, target string, input any, fn func(tx pgx.Tx) error) error {
	e := Entry{Action: action, Target: target, Actor: "anonymous"}
	if a, ok := ctx.Value(actorKey{}).(string); ok && a != "" {
		e.Actor = a
	}
	if p, ok := auth.FromContext(ctx); ok {
		// A host agent's credential has no person: the actor is "host:NAME".
		e.Actor = p.Login
		if p.PersonID != 0 {
			e.PersonID = &p.PersonID
		}
	}
	e.RemoteAddr, _ = ctx.Value(remoteKey{}).(string)

	fnErr := db.InTx(ctx, l.dbtx, func(tx pgx.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		e.Outcome, e.Input = OK, marshalInput(input)
		return insert(ctx, tx, e)
	})
	if fnErr == nil {
		return nil
	}
	e.Outcome, e.Error, e.Input = Failed, fnErr.Error(), marshalInput(input)
	if fe, ok := fault.As(fnErr); ok && (fe.Kind == fault.Forbidden || fe.Kind == fault.Unauthenticated) {
		e.Outcome = Denied
	} else if !ok {
		// Internal errors may hold SQL; the log keeps a generic phrase.
		e.Error = "internal error"
	}
	if err := insert(context.WithoutCancel(ctx), l.dbtx, e); err != nil {
		l.logger.ErrorContext(ctx, "error writing audit entry", "action", action, "error", err)
	}
	return fnErr
}

// RecordSystem writes an OK entry for an action the platform took on its own
// (actor such as "system:heartbeat", no person), in q — the transaction of the
// change itself, so the entry commits with it.
func RecordSystem(ctx context.Context, q db.DBTX, actor, action, target string, input any) error {
	return insert(ctx, q, Entry{Actor: actor, Action: action, Target: target, Input: marshalInput(input), Outcome: OK})
}

// marshalInput stores input as JSON once the action ran, so an input that fn
// completes (a change's state before and after) is recorded whole.
func marshalInput(input any) json.RawMessage {
	raw, err := json.Marshal(input)
	if err != nil {
		return []byte(`{}`)
	}
	return raw
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

// listKeyset orders the log newest first by id (ids are issued in commit order
// closely enough, and unlike at they are unique).
var listKeyset = page.Keyset{Tag: "audit/ID/DESC", Desc: true, Cols: []page.Col{{Expr: "id", Type: "bigint"}}}

// List returns entries newest first with keyset cursors. Admins see all entries;
// everyone else only their own. The total is exact when filtered (and every
// non-admin listing is, by person); an admin's unfiltered listing of a large log
// reports the table's estimate (page.CountTotal).
func (l *Log) List(ctx context.Context, f Filter, args page.Args) (page.Page[*Entry], error) {
	p, err := auth.Require(ctx)
	if err != nil {
		return page.Page[*Entry]{}, err
	}
	seek, err := args.Seek(listKeyset)
	if err != nil {
		return page.Page[*Entry]{}, err
	}
	if !p.Is(auth.Admin) {
		if f.PersonID != nil && *f.PersonID != p.PersonID {
			return page.Page[*Entry]{}, fault.Forbiddenf("only admins may read other people's audit entries")
		}
		f.PersonID = &p.PersonID
	}
	var conds []string
	cargs := pgx.NamedArgs{}
	add := func(cond, name string, v any) {
		conds = append(conds, cond)
		cargs[name] = v
	}
	if f.Action != "" {
		add(`action = @action`, "action", f.Action)
	}
	if f.Outcome != "" {
		add(`outcome = @outcome`, "outcome", f.Outcome)
	}
	if f.PersonID != nil {
		add(`person_id = @person`, "person", *f.PersonID)
	}
	filtered := len(conds) > 0
	where := strings.Join(append(conds, "true"), " AND ")
	sk := seek.Where("_k")
	rargs := maps.Clone(cargs)
	maps.Copy(rargs, sk.Args)
	rows, err := l.dbtx.Query(ctx, `SELECT id, at, person_id, actor, action, target, input, outcome, error, remote_addr, `+
		seek.Select()+` FROM audit_log WHERE `+where+` AND `+sk.SQL+` `+seek.OrderLimit(), rargs)
	if err != nil {
		return page.Page[*Entry]{}, fmt.Errorf("error listing audit entries: %w", err)
	}
	var keys [][]string
	es, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*Entry, error) {
		e := &Entry{}
		key := make([]string, 1)
		err := r.Scan(&e.ID, &e.At, &e.PersonID, &e.Actor, &e.Action, &e.Target, &e.Input, &e.Outcome, &e.Error, &e.RemoteAddr, &key[0])
		keys = append(keys, key)
		return e, err
	})
	if err != nil {
		return page.Page[*Entry]{}, fmt.Errorf("error listing audit entries: %w", err)
	}
	var total page.Total
	if seek.Complete(len(es)) {
		total.N = len(es)
	} else if seek.NeedsCount(len(es)) {
		total, err = page.CountTotal(ctx, l.dbtx, "audit_log", filtered, func() (int, error) {
			var n int
			err := l.dbtx.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE `+where, cargs).Scan(&n)
			return n, err
		})
		if err != nil {
			return page.Page[*Entry]{}, fmt.Errorf("error counting audit entries: %w", err)
		}
	}
	return page.KeysetPage(seek, es, keys, total), nil
}

// ByID loads one entry; admins may read any, others only their own.
func (l *Log) ByID(ctx context.Context, id int64) (*Entry, error) {
	p, err := auth.Require(ctx)
	if err != nil {
		return nil, err
	}
	row, err := queries.EntryByID(ctx, l.dbtx, id)
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
