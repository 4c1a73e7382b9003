// Package auth authenticates requests (bearer API tokens and web sessions) and
// carries the resulting Principal in the context, where every domain package finds
// it to decide what the caller may see and do.
package auth

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/teslaops/tesla/internal/fault"
)

// Role is what a credential allows. Roles are ordered: each includes what the roles
// below it may read; the scoping rules themselves live in the domain packages.
type Role string

// The roles of DESIGN.md.
const (
	Viewer   Role = "VIEWER"   // own jobs, bills, budget; platform aggregates
	BUAdmin  Role = "BU_ADMIN" // everything of their BU subtree
	Operator Role = "OPERATOR" // cluster operations
	Admin    Role = "ADMIN"    // everything
)

var roleRank = map[Role]int{Viewer: 1, BUAdmin: 2, Operator: 3, Admin: 4}

// Roles lists every role, lowest first.
func Roles() []Role { return []Role{Viewer, BUAdmin, Operator, Admin} }

// Valid reports whether r is a known role.
func (r Role) Valid() bool { return roleRank[r] > 0 }

// AtLeast reports whether r ranks at or above o.
func (r Role) AtLeast(o Role) bool { return roleRank[r] >= roleRank[o] && r.Valid() }

// Lower returns the lower-ranked of two roles.
func Lower(a, b Role) Role {
	if a.AtLeast(b) {
		return b
	}
	return a
}

// ParseRole validates a role name from user input.
func ParseRole(field, s string) (Role, error) {
	r := Role(s)
	if !r.Valid() {
		return "", fault.Field(field, "unknown role %q: use VIEWER, BU_ADMIN, OPERATOR or ADMIN", s)
	}
	return r, nil
}

// Method says how a request was authenticated.
type Method string

// Authentication methods.
const (
	MethodToken   Method = "TOKEN"
	MethodSession Method = "SESSION"
	// MethodHost is a host agent's own credential (see hostcred.go).
	MethodHost Method = "HOST"
)

// Principal is the authenticated caller.
type Principal struct {
	PersonID int64
	Login    string
	Name     string
	BUID     int64
	// Role is the credential's role, which may be lower than the person's own.
	Role    Role
	Method  Method
	TokenID int64
	// Scopes restrict a token to some API surfaces (e.g. "ingest"); empty means all.
	Scopes []string
	// BUSubtree holds the ids of the person's BU and all BUs below it, loaded at
	// authentication for BU admins so scoping needs no query per check.
	BUSubtree []int64
	// ExpiresAt is when the credential stops working (nil: never), so long-lived
	// connections such as websockets can end with it.
	ExpiresAt *time.Time
	// HostID binds the credential to one host: a host agent's own credential
	// speaks for its machine only (0: not bound to a host).
	HostID int64
	// EnrollClusterID is, for an enrollment token, the cluster it registers
	// hosts into (0 otherwise).
	EnrollClusterID int64
}

// MayActForHost reports whether the credential may write data about host id: any
// credential that is not bound to a host, or the one bound to that very host. An
// agent's credential must never report samples, components or faults of another
// machine, whichever endpoint carries them.
func (p *Principal) MayActForHost(id int64) bool {
	return p != nil && (p.HostID == 0 || p.HostID == id)
}

// ScopeIngest lets a token push telemetry and nothing else: what an agent or a
// collector on a host should hold, instead of an operator's full rights.
const ScopeIngest = "ingest"

// ScopeEnroll lets a token register hosts into its one cluster
// (POST /api/v1/agents/register) and nothing else.
const ScopeEnroll = "enroll"

// ScopeAgent is carried by host credentials only (no token can be created with
// it): it opens the agent endpoints (heartbeat), beside ScopeIngest for the
// host's own samples and faults.
const ScopeAgent = "agent"

// Scopes lists the token scopes a token can be created with.
func Scopes() []string { return []string{ScopeIngest, ScopeEnroll} }

// Surface is a way into Tesla that a credential may be limited to. A scope names
// the one surface it opens, so a scoped token works there and nowhere else.
type Surface string

// The surfaces. SurfaceGraphQL is the GraphQL API over HTTP and websocket, and
// the web sign-in that leads to it; Tesla creates no token scoped to it, so in
// practice only unrestricted credentials use it. SurfaceIngest is the telemetry
// ingestion endpoint.
const (
	SurfaceGraphQL Surface = "graphql"
	SurfaceIngest  Surface = ScopeIngest
	// SurfaceEnroll is host registration (enrollment tokens); SurfaceAgent the
	// agent's own endpoints (host credentials).
	SurfaceEnroll Surface = ScopeEnroll
	SurfaceAgent  Surface = ScopeAgent
)

// Restricted reports whether the credential is limited to some scopes (an empty
// scope list means the role's full rights).
func (p *Principal) Restricted() bool { return len(p.Scopes) > 0 }

// Allows reports whether the credential may be used on surface s: an unrestricted
// credential everywhere, a scoped one only where a scope opens.
func (p *Principal) Allows(s Surface) bool {
	return p != nil && (!p.Restricted() || p.HasScope(string(s)))
}

// HasScope reports whether the credential carries scope s.
func (p *Principal) HasScope(s string) bool { return slices.Contains(p.Scopes, s) }

// InBUSubtree reports whether bu lies in the principal's BU subtree.
func (p *Principal) InBUSubtree(bu int64) bool { return slices.Contains(p.BUSubtree, bu) }

// Is reports whether the principal's role is at least r.
func (p *Principal) Is(r Role) bool { return p != nil && p.Role.AtLeast(r) }

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the principal in ctx, if any.
func FromContext(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(*Principal)
	return p, ok && p != nil
}

// Require returns the principal in ctx, if it may use the API; otherwise an
// Unauthenticated or Forbidden error. The transports already refuse scoped tokens
// on the API; refusing them here as well means a transport that forgets cannot
// hand an ingest-only token the whole API again.
func Require(ctx context.Context) (*Principal, error) { return RequireFor(ctx, SurfaceGraphQL) }

// RequireFor returns the principal in ctx if it may use surface s.
func RequireFor(ctx context.Context, s Surface) (*Principal, error) {
	p, ok := FromContext(ctx)
	if !ok {
		return nil, fault.New(fault.Unauthenticated, "authentication required: send an API token as 'Authorization: Bearer <token>' or sign in")
	}
	if !p.Allows(s) {
		return nil, errScopeRefused(p, s)
	}
	return p, nil
}

func errScopeRefused(p *Principal, s Surface) error {
	what := "the GraphQL API"
	if s != SurfaceGraphQL {
		what = "the " + string(s) + " endpoint"
	}
	return fault.Forbiddenf("this token is limited to %s and cannot use %s", strings.Join(p.Scopes, ", "), what)
}

// RequireRole returns the principal if its role is at least r; otherwise
// Unauthenticated or Forbidden, naming what was needed.
func RequireRole(ctx context.Context, r Role, what string) (*Principal, error) {
	p, err := Require(ctx)
	if err != nil {
		return nil, err
	}
	if !p.Is(r) {
		return nil, fault.Forbiddenf("%s needs role %s or higher; you have %s", what, r, p.Role)
	}
	return p, nil
}

// RequireIngest returns the principal if it may feed data into Tesla from
// machines (metrics, lineage): a token restricted to scopes needs the ingest
// scope, whatever its role; an unrestricted credential needs OPERATOR or
// higher. action words the refusal ("ingesting metrics", "posting lineage").
func RequireIngest(ctx context.Context, action string) (*Principal, error) {
	p, err := RequireFor(ctx, SurfaceIngest)
	if err != nil {
		return nil, err
	}
	if p.Restricted() {
		if p.HasScope(ScopeIngest) {
			return p, nil
		}
		return nil, fault.Forbiddenf("%s needs a token with scope %q; this token is limited to %v", action, ScopeIngest, p.Scopes)
	}
	if !p.Is(Operator) {
		return nil, fault.Forbiddenf("%s needs role %s or higher, or a token with scope %q; you have %s",
			action, Operator, ScopeIngest, p.Role)
	}
	return p, nil
}
