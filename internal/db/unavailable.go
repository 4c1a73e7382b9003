package db

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// Unavailable tells whether err means the database cannot serve anything right
// now — its disk is full, it is out of some other resource, it is shutting down
// or restarting, or it cannot be reached — rather than that something is wrong
// with the request or the code, and says which in words fit for a client. Such
// failures are answered 503 with that reason (a client should retry later),
// never a vague 500.
func Unavailable(err error) (string, bool) {
	// A deadline or a cancellation is the caller's clock, not the database going
	// away (context.DeadlineExceeded also satisfies net.Error).
	if err == nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return "", false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case pgErr.Code == "53100":
			return "the database is out of disk space", true
		case strings.HasPrefix(pgErr.Code, "53"):
			return "the database is out of resources (SQLSTATE " + pgErr.Code + ")", true
		case strings.HasPrefix(pgErr.Code, "57P"), strings.HasPrefix(pgErr.Code, "08"):
			return "the database is restarting or unreachable", true
		}
		return "", false
	}
	var connErr *pgconn.ConnectError
	var netErr net.Error
	if errors.As(err, &connErr) || errors.As(err, &netErr) || pgconn.SafeToRetry(err) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return "the database is restarting or unreachable", true
	}
	return "", false
}
