package auth

import (
	"context"
	"crypto/subtle"
	"strings"

	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/fault"
)

// CredentialsChannel is the NOTIFY channel on which every change that can end or
// weaken a credential is announced: a token revoked, a session ended, a person
// deactivated or their role changed. The payload is the person's id and nothing
// else; whoever holds a credential of that person (an open websocket) checks it
// again through Identify.
const CredentialsChannel = "tesla_credentials"

// Credentials are what a caller presented, gathered by its transport from wherever
// that transport carries them: HTTP headers and cookies, or a websocket's
// connection_init payload.
type Credentials struct {
	// Authorization is an Authorization header value, "Bearer tsl_…" (the HTTP
	// header, or the Authorization key of a connection_init payload).
	Authorization string
	// Token is a bare token secret (the authToken key of a connection_init payload).
	Token string
	// Session is the value of the session cookie.
	Session string
	// CSRF is the X-CSRF-Token header. With CheckCSRF set (HTTP requests that can
	// change anything), a session must be accompanied by its own CSRF token.
	CSRF      string
	CheckCSRF bool
}

// Identity is an authenticated caller.
type Identity struct {
	Principal *Principal
	// CSRF is the session's CSRF token, which the web app echoes; empty for tokens.
	CSRF string
}

// ErrNoCredentials says that nothing at all was presented, so a transport can
// tell "anonymous" from "refused" (websocket upgrades, for one, may still
// authenticate in connection_init).
var ErrNoCredentials = fault.New(fault.Unauthenticated, "authentication required: send 'Authorization: Bearer <token>' or sign in")

var (
	errBadScheme = fault.New(fault.Unauthenticated, "the Authorization header must be 'Bearer <token>'")
	errCSRF      = fault.Forbiddenf("missing or wrong X-CSRF-Token header: cookie-authenticated requests must echo the session's CSRF token")
)

// Identify authenticates creds for use on surface. It is Tesla's one
// authentication: the HTTP middleware, the session endpoints and the websocket
// connection_init (and its re-checks when credentials change) all call it, so
// which credential wins, what a scope opens and when CSRF applies cannot drift
// apart between transports again.
//
// An explicit credential (Authorization, then Token) wins over the ambient
// session cookie, and a bad explicit credential is refused rather than falling
// back to the cookie. Errors are fault.Unauthenticated (no, bad, expired or
// revoked credential) or fault.Forbidden (a scope that does not open surface, a
// missing CSRF token); anything else is a database failure.
func Identify(ctx context.Context, q db.DBTX, surface Surface, c Credentials) (Identity, error) {
	var (
		id  Identity
		err error
	)
	switch {
	case c.Authorization != "":
		secret, ok := ParseBearer(c.Authorization)
		if !ok {
			return Identity{}, errBadScheme
		}
		id.Principal, err = Authenticate(ctx, q, secret)
	case c.Token != "":
		id.Principal, err = Authenticate(ctx, q, strings.TrimSpace(c.Token))
	case c.Session != "":
		id.Principal, id.CSRF, err = AuthenticateSession(ctx, q, c.Session)
		if err == nil && c.CheckCSRF && subtle.ConstantTimeCompare([]byte(c.CSRF), []byte(id.CSRF)) != 1 {
			return Identity{}, errCSRF
		}
	default:
		return Identity{}, ErrNoCredentials
	}
	if err != nil {
		return Identity{}, err
	}
	if !id.Principal.Allows(surface) {
		return Identity{}, errScopeRefused(id.Principal, surface)
	}
	return id, nil
}

// ParseBearer returns the token of an Authorization value "Bearer <token>". The
// scheme is matched case-insensitively, as RFC 9110 (section 11.1) requires of
// every authentication scheme.
func ParseBearer(h string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}
