package notify

import (
	"context"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5/pgconn"
)

// Execer runs a statement: a pool, a connection or a transaction.
type Execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// NotifyIDs announces ids on channel, one notification each. NOTIFY is
// transactional: sent in a transaction, listeners hear it only once the change
// commits, so they never load a state that is about to be rolled back.
func NotifyIDs(ctx context.Context, q Execer, channel string, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	if _, err := q.Exec(ctx, `SELECT pg_notify($1, id::text) FROM unnest($2::bigint[]) AS id`, channel, ids); err != nil {
		return fmt.Errorf("error notifying %s: %w", channel, err)
	}
	return nil
}

// Notify announces one identifier on channel (an id, or the time a rollup
// covered): never data, which listeners load through the access-checked domain
// layer. Like NotifyIDs it is transactional.
func Notify(ctx context.Context, q Execer, channel, payload string) error {
	if _, err := q.Exec(ctx, `SELECT pg_notify($1, $2)`, channel, payload); err != nil {
		return fmt.Errorf("error notifying %s: %w", channel, err)
	}
	return nil
}

// ParseID reads an id payload; ok is false for anything else (a Resync, a
// malformed payload), which callers skip.
func ParseID(ev Event) (id int64, ok bool) {
	if ev.Resync {
		return 0, false
	}
	id, err := strconv.ParseInt(ev.Payload, 10, 64)
	return id, err == nil
}
