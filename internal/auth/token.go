package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/internal/auth/dbsqlc"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/fault"
)

// queries are the package's static SQL (dbsqlc/*.sql), compiled by sqlc.
var queries = dbsqlc.New()

// TokenPrefix starts every API token, so leaked tokens are easy to recognise and
// scan for.
const TokenPrefix = "tsl_"

var tokenEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// Token is a stored API token (never the secret).
type Token struct {
	ID       int64
	PersonID int64
	Name     string
	Prefix   string
	Role     Role
	Scopes   []string
	// ClusterID is the cluster an enrollment token registers hosts into (0: none).
	ClusterID  int64
	CreatedAt  time.Time
	ExpiresAt  *time.Time
	RevokedAt  *time.Time
	LastUsedAt *time.Time
}

// NewSecret returns a fresh random token secret.
func NewSecret() string {
	var b [20]byte
	_, _ = rand.Read(b[:])
	return TokenPrefix + strings.ToLower(tokenEncoding.EncodeToString(b[:]))
}

// HashSecret is the one-way hash under which a token or session id is stored.
func HashSecret(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// TokenSpec describes a token to create.
type TokenSpec struct {
	PersonID  int64
	Name      string
	Role      Role
	Scopes    []string
	ExpiresAt *time.Time
	// ClusterID binds an enrollment token (scope "enroll") to its cluster.
	ClusterID int64
}

// InsertToken stores a new token for spec and returns it with its secret, which is
// shown once and never stored.
func InsertToken(ctx context.Context, q db.DBTX, spec TokenSpec) (Token, string, error) {
	if !spec.Role.Valid() {
		return Token{}, "", fault.Field("role", "unknown role %q", spec.Role)
	}
	secret := NewSecret()
	scopes := spec.Scopes
	if scopes == nil {
		scopes = []string{}
	}
	var cluster *int64
	if spec.ClusterID != 0 {
		cluster = &spec.ClusterID
	}
	row, err := queries.TokenInsert(ctx, q, &dbsqlc.TokenInsertParams{
		PersonID: spec.PersonID, Name: spec.Name, Prefix: secret[:len(TokenPrefix)+6], TokenHash: HashSecret(secret),
		Role: string(spec.Role), Scopes: scopes, ExpiresAt: spec.ExpiresAt, ClusterID: cluster,
	})
	if err != nil {
		return Token{}, "", fmt.Errorf("error creating token: %w", db.Interpret(err, "person or cluster"))
	}
	return tokenFromRow(row), secret, nil
}

// tokenFromRow turns a stored token into a Token; the hash stays behind.
func tokenFromRow(r *dbsqlc.ApiToken) Token {
	t := Token{
		ID: r.ID, PersonID: r.PersonID, Name: r.Name, Prefix: r.Prefix, Role: Role(r.Role), Scopes: r.Scopes,
		CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt, RevokedAt: r.RevokedAt, LastUsedAt: r.LastUsedAt,
	}
	if r.ClusterID != nil {
		t.ClusterID = *r.ClusterID
	}
	return t
}

func tokensFromRows(rows []*dbsqlc.ApiToken) []Token {
	ts := make([]Token, len(rows))
	for i, r := range rows {
		ts[i] = tokenFromRow(r)
	}
	return ts
}

// TokensByIDs loads tokens by id.
func TokensByIDs(ctx context.Context, q db.DBTX, ids []int64) ([]Token, error) {
	rows, err := queries.TokensByIDs(ctx, q, ids)
	if err != nil {
		return nil, fmt.Errorf("error loading tokens: %w", err)
	}
	return tokensFromRows(rows), nil
}

// TokenPage lists tokens, all of them or one person's, newest first.
func TokenPage(ctx context.Context, q db.DBTX, personID *int64, offset, limit int) ([]Token, int, error) {
	total, err := queries.TokenCount(ctx, q, personID)
	if err != nil {
		return nil, 0, fmt.Errorf("error counting tokens: %w", err)
	}
	rows, err := queries.TokenPage(ctx, q, &dbsqlc.TokenPageParams{PersonID: personID, Skip: int32(offset), Max: int32(limit)})
	if err != nil {
		return nil, 0, fmt.Errorf("error listing tokens: %w", err)
	}
	return tokensFromRows(rows), int(total), nil
}

// errBadCredential is deliberately vague: a caller learns nothing about which
// tokens exist.
var errBadCredential = fault.New(fault.Unauthenticated, "invalid, expired or revoked credential")

// lastUsedGranularity limits last_used_at writes to one per token per minute, so
// authentication does not turn every read into a write.
const lastUsedGranularity = time.Minute

// Authenticate resolves a secret to its principal: an API token, or a host
// agent's credential (HostCredentialPrefix), told apart by their prefixes.
func Authenticate(ctx context.Context, q db.DBTX, secret string) (*Principal, error) {
	if strings.HasPrefix(secret, HostCredentialPrefix) && len(secret) <= 200 {
		return authenticateHost(ctx, q, secret)
	}
	if !strings.HasPrefix(secret, TokenPrefix) || len(secret) > 200 {
		return nil, errBadCredential
	}
	row, err := queries.TokenAuthenticate(ctx, q, HashSecret(secret))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errBadCredential
	}
	if err != nil {
		return nil, fmt.Errorf("error authenticating token: %w", err)
	}
	// A token keeps the role it was created with, but never acts above what its
	// person holds today: lowering a person's role lowers all their tokens.
	p := Principal{
		PersonID: row.PersonID, Login: row.Login, Name: row.Name, BUID: row.BuID,
		Role: Lower(Role(row.Role), Role(row.PersonRole)), Method: MethodToken,
		TokenID: row.ID, Scopes: row.Scopes, ExpiresAt: row.ExpiresAt,
	}
	if row.ClusterID != nil {
		p.EnrollClusterID = *row.ClusterID
	}
	if row.LastUsedAt == nil || time.Since(*row.LastUsedAt) > lastUsedGranularity {
		if err := queries.TokenTouch(ctx, q, p.TokenID); err != nil {
			return nil, fmt.Errorf("error recording token use: %w", err)
		}
	}
	if err := loadSubtree(ctx, q, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

func loadSubtree(ctx context.Context, q db.DBTX, p *Principal) error {
	if p.Role != BUAdmin {
		return nil
	}
	ids, err := BUSubtree(ctx, q, p.BUID)
	if err != nil {
		return err
	}
	p.BUSubtree = ids
	return nil
}

// BUSubtree returns the id of bu and of every BU below it.
func BUSubtree(ctx context.Context, q db.DBTX, bu int64) ([]int64, error) {
	ids, err := queries.BUSubtree(ctx, q, bu)
	if err != nil {
		return nil, fmt.Errorf("error loading BU subtree: %w", err)
	}
	return ids, nil
}

// RevokeToken marks a token revoked; revoking twice is a no-op.
func RevokeToken(ctx context.Context, q db.DBTX, id int64) (Token, error) {
	row, err := queries.TokenRevoke(ctx, q, id)
	if err != nil {
		return Token{}, db.Interpret(err, "token")
	}
	t := tokenFromRow(row)
	// Sessions opened with the token end with it, and open websockets of its person
	// check their credentials again.
	if err := queries.SessionDeleteByToken(ctx, q, &id); err != nil {
		return Token{}, fmt.Errorf("error ending sessions of revoked token: %w", err)
	}
	if err := notifyCredentials(ctx, q, t.PersonID); err != nil {
		return Token{}, err
	}
	return t, nil
}

// notifyCredentials announces on CredentialsChannel that a credential of person
// changed. NOTIFY is transactional: listeners hear it only once the change commits.
func notifyCredentials(ctx context.Context, q db.DBTX, person int64) error {
	if err := queries.CredentialsNotify(ctx, q, &dbsqlc.CredentialsNotifyParams{Channel: CredentialsChannel, PersonID: person}); err != nil {
		return fmt.Errorf("error announcing credential change: %w", err)
	}
	return nil
}

// ActivePerson returns the id and role of the active person with login, for
// whoever issues a credential to them; NotFound when there is none (deactivated
// people get no new credentials).
func ActivePerson(ctx context.Context, q db.DBTX, login string) (int64, Role, error) {
	row, err := queries.PersonActiveByLogin(ctx, q, login)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, "", fault.NotFoundf("no active person with login %q", login)
	}
	if err != nil {
		return 0, "", fmt.Errorf("error loading person %q: %w", login, err)
	}
	return row.ID, Role(row.Role), nil
}

// EndCredentials revokes every live API token of a person and ends all their web
// sessions, announcing the change so open websockets close: what deactivating a
// person means. It reports how many tokens and sessions ended. Run it in the
// transaction that deactivates the person, so no credential outlives them.
func EndCredentials(ctx context.Context, q db.DBTX, person int64) (tokens, sessions int64, err error) {
	if tokens, err = queries.TokensRevokeOfPerson(ctx, q, person); err != nil {
		return 0, 0, fmt.Errorf("error revoking tokens of person %d: %w", person, err)
	}
	if sessions, err = queries.SessionsDeleteOfPerson(ctx, q, person); err != nil {
		return 0, 0, fmt.Errorf("error ending sessions of person %d: %w", person, err)
	}
	return tokens, sessions, notifyCredentials(ctx, q, person)
}
