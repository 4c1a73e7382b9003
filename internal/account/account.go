// Package account manages credentials under access rules: API tokens (create,
// list, revoke) and web sign-in sessions. Raw token storage and authentication live
// in package auth; this package decides who may do what with them, and audits it.
package account

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/internal/audit"
	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/page"
)

// Service is the access-checked credential manager.
type Service struct {
	db         db.DBTX
	audit      *audit.Log
	sessionTTL time.Duration
}

// NewService returns a Service reading through dbtx (a pool, or a transaction
// to compose with other services); sessions last sessionTTL.
func NewService(dbtx db.DBTX, log *audit.Log, sessionTTL time.Duration) *Service {
	return &Service{db: dbtx, audit: log, sessionTTL: sessionTTL}
}

// CreateTokenInput asks for a new API token.
type CreateTokenInput struct {
	Login string    `json:"login,omitempty"`
	Role  auth.Role `json:"role,omitempty"`
	Name  string    `json:"name,omitempty"`
	// ExpiresIn is the token's lifetime; nil means it never expires.
	ExpiresIn *time.Duration `json:"expiresIn,omitempty"`
	// Scopes limit the token to some surfaces (see auth.Scopes); empty means the
	// role's full rights.
	Scopes []string `json:"scopes,omitempty"`
	// ClusterID is the cluster of an enrollment token (scope "enroll"), which
	// needs one; no other token takes one.
	ClusterID int64 `json:"clusterId,omitempty"`
}

// Enrollment tokens always expire: after DefaultEnrollLifetime unless asked
// otherwise, never after more than MaxEnrollLifetime.
const (
	DefaultEnrollLifetime = 7 * 24 * time.Hour
	MaxEnrollLifetime     = 90 * 24 * time.Hour
)

// EnrollmentTokenInput asks for an enrollment token of a cluster.
type EnrollmentTokenInput struct {
	ClusterID int64          `json:"clusterId"`
	Name      string         `json:"name,omitempty"`
	ExpiresIn *time.Duration `json:"expiresIn,omitempty"`
}

// CreateEnrollmentToken creates a token that lets host agents register their
// machines into one cluster and does nothing else, owned by the caller. It
// needs OPERATOR or higher, always expires (default 7 days, at most 90) and is
// audited as createEnrollmentToken. The secret is returned once.
func (s *Service) CreateEnrollmentToken(ctx context.Context, in EnrollmentTokenInput) (auth.Token, string, error) {
	var (
		tok    auth.Token
		secret string
	)
	err := s.audit.Do(ctx, "createEnrollmentToken", fmt.Sprintf("cluster:%d", in.ClusterID), in, func(tx pgx.Tx) error {
		p, err := auth.RequireRole(ctx, auth.Operator, "creating an enrollment token")
		if err != nil {
			return err
		}
		tok, secret, err = createToken(ctx, tx, p, CreateTokenInput{
			Name: in.Name, ExpiresIn: in.ExpiresIn, Scopes: []string{auth.ScopeEnroll}, ClusterID: in.ClusterID})
		return err
	})
	return tok, secret, err
}

// checkEnrollment validates the enrollment part of a token request: scope
// "enroll" alone, with a live cluster and a bounded lifetime, which it fills in
// when left out. Other tokens must not name a cluster.
func checkEnrollment(ctx context.Context, tx pgx.Tx, in *CreateTokenInput) error {
	if !slices.Contains(in.Scopes, auth.ScopeEnroll) {
		if in.ClusterID != 0 {
			return fault.Field("input.clusterId", "only enrollment tokens (scope %q) are bound to a cluster", auth.ScopeEnroll)
		}
		return nil
	}
	if len(in.Scopes) != 1 {
		return fault.Field("input.scopes", "an enrollment token carries scope %q alone, not %s", auth.ScopeEnroll, strings.Join(in.Scopes, ", "))
	}
	if in.ClusterID == 0 {
		return fault.Field("input.clusterId", "an enrollment token needs the cluster its hosts register into")
	}
	if in.ExpiresIn == nil {
		d := DefaultEnrollLifetime
		in.ExpiresIn = &d
	}
	if *in.ExpiresIn > MaxEnrollLifetime {
		return fault.Field("input.expiresIn", "an enrollment token lives at most 90 days (2160h), not %s", *in.ExpiresIn)
	}
	var status string
	err := tx.QueryRow(ctx, `SELECT status FROM cluster WHERE id = $1`, in.ClusterID).Scan(&status)
	if errors.Is(err, pgx.ErrNoRows) {
		return fault.Field("input.clusterId", "no cluster with id %d", in.ClusterID)
	}
	if err != nil {
		return fmt.Errorf("error loading cluster %d: %w", in.ClusterID, err)
	}
	if status == "RETIRED" {
		return fault.Field("input.clusterId", "cluster %d is retired; hosts cannot register into it", in.ClusterID)
	}
	return nil
}

// CheckTokenLifetime refuses a token lifetime that is zero or negative, naming
// field. Such a lifetime has no sensible reading: literally it makes a token dead
// on arrival, and read as "no lifetime" it would silently make one that never
// expires. nil (no lifetime asked for) is a token without expiry.
func CheckTokenLifetime(field string, lifetime *time.Duration) error {
	if lifetime != nil && *lifetime <= 0 {
		return fault.Field(field, "a token's lifetime must be positive, such as 720h, not %s; leave it out for a token that does not expire", *lifetime)
	}
	return nil
}

// CreateToken creates a token. Anyone may create one for themselves with a role no
// higher than the one they hold now; admins may create tokens for anyone, up to the
// person's own role. The secret is returned once.
func (s *Service) CreateToken(ctx context.Context, in CreateTokenInput) (auth.Token, string, error) {
	var (
		tok    auth.Token
		secret string
	)
	// Left out, the login is the caller's own: the audit entry names that person,
	// not an empty target.
	target := in.Login
	if p, ok := auth.FromContext(ctx); ok && target == "" {
		target = p.Login
	}
	err := s.audit.Do(ctx, "createApiToken", "person:"+target, in, func(tx pgx.Tx) error {
		p, err := auth.Require(ctx)
		if err != nil {
			return err
		}
		tok, secret, err = createToken(ctx, tx, p, in)
		return err
	})
	return tok, secret, err
}

// CreateTokenAsOperator creates a token for the operator of the machine (the
// `tesla token create` command), who holds the database and so every right: no
// caller's role limits the token, but everything else is CreateToken's — the
// person must be active and hold the role, and name, lifetime and scopes are
// checked the same way. It is audited as cli.createToken.
func (s *Service) CreateTokenAsOperator(ctx context.Context, in CreateTokenInput) (auth.Token, string, error) {
	var (
		tok    auth.Token
		secret string
	)
	err := s.audit.Do(ctx, "cli.createToken", "person:"+in.Login, in, func(tx pgx.Tx) error {
		var err error
		tok, secret, err = createToken(ctx, tx, nil, in)
		return err
	})
	return tok, secret, err
}

// createToken checks in and stores the token. caller is who asks, or nil for the
// machine's operator, who may create any token a person's role allows.
func createToken(ctx context.Context, tx pgx.Tx, caller *auth.Principal, in CreateTokenInput) (auth.Token, string, error) {
	login := in.Login
	switch {
	case login == "" && caller != nil:
		login = caller.Login
	case login == "":
		return auth.Token{}, "", fault.Field("input.login", "whose token: a login is required")
	case caller != nil && login != caller.Login && !caller.Is(auth.Admin):
		return auth.Token{}, "", fault.Forbiddenf("only admins may create tokens for other people")
	}
	if len(in.Name) > 100 {
		return auth.Token{}, "", fault.Field("input.name", "name is limited to 100 characters")
	}
	if err := CheckTokenLifetime("input.expiresIn", in.ExpiresIn); err != nil {
		return auth.Token{}, "", err
	}
	for _, sc := range in.Scopes {
		if !slices.Contains(auth.Scopes(), sc) {
			return auth.Token{}, "", fault.Field("input.scopes", "unknown scope %q (known: %s)", sc, strings.Join(auth.Scopes(), ", "))
		}
	}
	if err := checkEnrollment(ctx, tx, &in); err != nil {
		return auth.Token{}, "", err
	}
	personID, personRole, err := auth.ActivePerson(ctx, tx, login)
	if err != nil {
		return auth.Token{}, "", err
	}
	role := in.Role
	switch {
	case role != "":
	case caller != nil:
		role = auth.Lower(caller.Role, personRole)
	default:
		role = personRole
	}
	if !role.Valid() {
		return auth.Token{}, "", fault.Field("input.role", "unknown role %q", role)
	}
	if !personRole.AtLeast(role) {
		return auth.Token{}, "", fault.Field("input.role", "%s holds role %s; a token cannot carry more (%s)", login, personRole, role)
	}
	if caller != nil && !caller.Role.AtLeast(role) {
		return auth.Token{}, "", fault.Forbiddenf("you cannot create a token with role %s: it is above your own (%s)", role, caller.Role)
	}
	if in.ClusterID != 0 && !role.AtLeast(auth.Operator) {
		return auth.Token{}, "", fault.Forbiddenf("enrollment tokens are for operators and admins; %s holds %s", login, role)
	}
	spec := auth.TokenSpec{PersonID: personID, Name: in.Name, Role: role, Scopes: in.Scopes, ClusterID: in.ClusterID}
	if in.ExpiresIn != nil {
		at := time.Now().Add(*in.ExpiresIn).UTC()
		spec.ExpiresAt = &at
	}
	return auth.InsertToken(ctx, tx, spec)
}

// RevokeToken revokes a token; its owner or an admin may.
func (s *Service) RevokeToken(ctx context.Context, id int64) (auth.Token, error) {
	var tok auth.Token
	err := s.audit.Do(ctx, "revokeApiToken", fmt.Sprintf("token:%d", id), map[string]int64{"id": id}, func(tx pgx.Tx) error {
		p, err := auth.Require(ctx)
		if err != nil {
			return err
		}
		ts, err := auth.TokensByIDs(ctx, tx, []int64{id})
		if err != nil {
			return err
		}
		if len(ts) == 0 {
			return fault.NotFoundf("token not found")
		}
		if ts[0].PersonID != p.PersonID && !p.Is(auth.Admin) {
			return fault.Forbiddenf("only the token's owner or an admin may revoke it")
		}
		tok, err = auth.RevokeToken(ctx, tx, id)
		return err
	})
	return tok, err
}

// ListTokens lists tokens: admins see all, everyone else their own.
func (s *Service) ListTokens(ctx context.Context, args page.Args) (page.Page[auth.Token], error) {
	p, err := auth.Require(ctx)
	if err != nil {
		return page.Page[auth.Token]{}, err
	}
	w, err := args.Resolve()
	if err != nil {
		return page.Page[auth.Token]{}, err
	}
	var owner *int64
	if !p.Is(auth.Admin) {
		owner = &p.PersonID
	}
	return page.FromOffsets(w, func(offset, limit int) ([]auth.Token, int, error) {
		return auth.TokenPage(ctx, s.db, owner, offset, limit)
	})
}

// TokensByIDs loads tokens, refusing any the caller may not see.
func (s *Service) TokensByIDs(ctx context.Context, ids []int64) (map[int64]auth.Token, error) {
	p, err := auth.Require(ctx)
	if err != nil {
		return nil, err
	}
	ts, err := auth.TokensByIDs(ctx, s.db, ids)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]auth.Token, len(ts))
	for _, t := range ts {
		if t.PersonID != p.PersonID && !p.Is(auth.Admin) {
			return nil, fault.Forbiddenf("you may read only your own tokens")
		}
		out[t.ID] = t
	}
	return out, nil
}

// SignIn exchanges an API token for a web session. It is audited like a mutation.
func (s *Service) SignIn(ctx context.Context, secret string) (*auth.Principal, auth.Session, error) {
	input := map[string]string{"method": "token"}
	// The one authentication function, for the surface a session opens (the
	// web app's GraphQL API): a token limited to another surface is refused
	// here exactly as it would be on every other transport.
	id, err := auth.Identify(ctx, s.db, auth.SurfaceGraphQL, auth.Credentials{Token: secret})
	if err != nil {
		// Refused sign-ins are audited too (anonymously unless the token was
		// genuine but may not sign in), so guessing shows up in the log.
		target := ""
		if p, aerr := auth.Authenticate(ctx, s.db, secret); aerr == nil {
			ctx, target = auth.WithPrincipal(ctx, p), "person:"+p.Login
		}
		return nil, auth.Session{}, s.audit.Do(ctx, "signIn", target, input, func(pgx.Tx) error { return err })
	}
	p := id.Principal
	ctx = auth.WithPrincipal(ctx, p)
	var sess auth.Session
	err = s.audit.Do(ctx, "signIn", "person:"+p.Login, input, func(tx pgx.Tx) error {
		sess, err = auth.CreateSession(ctx, tx, p, s.sessionTTL)
		return err
	})
	if err != nil {
		return nil, auth.Session{}, err
	}
	return p, sess, nil
}

// SignOut ends a session.
func (s *Service) SignOut(ctx context.Context, sessionID string) error {
	return s.audit.Do(ctx, "signOut", "", map[string]string{}, func(tx pgx.Tx) error {
		return auth.DeleteSession(ctx, tx, sessionID)
	})
}
