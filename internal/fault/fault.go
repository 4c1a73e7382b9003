// Package fault defines the kinds of error the domain layer reports to its callers.
// Domain packages return *fault.Error for anything a client can act on (not found,
// forbidden, bad input, conflict); the API layer maps the kind to a stable code and
// everything else to a generic internal error, so SQL text and stack traces never
// reach a client.
package fault

import (
	"errors"
	"fmt"
)

// Kind classifies a domain error; it maps one-to-one to a GraphQL `extensions.code`.
type Kind string

// The kinds of domain error.
const (
	Unauthenticated Kind = "UNAUTHENTICATED"
	Forbidden       Kind = "FORBIDDEN"
	NotFound        Kind = "NOT_FOUND"
	Invalid         Kind = "BAD_USER_INPUT"
	Conflict        Kind = "CONFLICT"
	// Timeout: the request ran past its deadline (or a statement past the
	// database's statement_timeout) and was stopped; a narrower request may pass.
	Timeout Kind = "TIMEOUT"
	// RateLimited: the caller (or everyone together) already runs as much
	// expensive work as the server allows at once; retrying later may pass.
	RateLimited Kind = "RATE_LIMITED"
)

// Error is a domain error whose message is safe to show to the caller.
type Error struct {
	Kind Kind
	// Field names the input field at fault, when there is one (e.g. "input.state").
	Field   string
	Message string
}

func (e *Error) Error() string { return e.Message }

// New returns an error of the given kind with a formatted, client-safe message.
func New(kind Kind, format string, args ...any) *Error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// Field returns an Invalid error that names the input field at fault.
func Field(field, format string, args ...any) *Error {
	return &Error{Kind: Invalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// NotFoundf returns a NotFound error.
func NotFoundf(format string, args ...any) *Error { return New(NotFound, format, args...) }

// Forbiddenf returns a Forbidden error.
func Forbiddenf(format string, args ...any) *Error { return New(Forbidden, format, args...) }

// As returns the domain error inside err, if there is one.
func As(err error) (*Error, bool) {
	var fe *Error
	if errors.As(err, &fe) {
		return fe, true
	}
	return nil, false
}

// Is reports whether err carries a domain error of the given kind.
func Is(err error, kind Kind) bool {
	fe, ok := As(err)
	return ok && fe.Kind == kind
}
