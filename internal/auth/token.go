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

	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/fault"
)

// TokenPrefix starts every API token, so leaked tokens are easy to recognise and
// scan for.
const TokenPrefix = "tsl_"

var tokenEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// Token is a stored API token (never the secret).
type Token struct {
	ID         int64
	PersonID   int64
	Name       string
	Prefix     string
	Role       Role
	Scopes     []string
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
}

const tokenColumns = `id, person_id, name, prefix, role, scopes, created_at, expires_at, revoked_at, last_used_at`

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
	rows, err := q.Query(ctx, `INSERT INTO api_token (person_id, name, prefix, token_hash, role, scopes, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING `+tokenColumns,
		spec.PersonID, spec.Name, secret[:len(TokenPrefix)+6], HashSecret(secret), spec.Role, scopes, spec.ExpiresAt)
	if err != nil {
		return Token{}, "", fmt.Errorf("error creating token: %w", err)
	}
	t, err := pgx.CollectExactlyOneRow(rows, scanToken)
	if err != nil {
		return Token{}, "", fmt.Errorf("error creating token: %w", db.Interpret(err, "person"))
	}
	return t, secret, nil
}

func scanToken(row pgx.CollectableRow) (Token, error) {
	var t Token
	err := row.Scan(&t.ID, &t.PersonID, &t.Name, &t.Prefix, &t.Role, &t.Scopes, &t.CreatedAt, &t.ExpiresAt, &t.RevokedAt, &t.LastUsedAt)
	return t, err
}

// TokensByIDs loads tokens by id.
func TokensByIDs(ctx context.Context, q db.DBTX, ids []int64) ([]Token, error) {
	rows, err := q.Query(ctx, `SELECT `+tokenColumns+` FROM api_token WHERE id = ANY($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("error loading tokens: %w", err)
	}
	ts, err := pgx.CollectRows(rows, scanToken)
	if err != nil {
		return nil, fmt.Errorf("error loading tokens: %w", err)
	}
	return ts, nil
}

// TokenPage lists tokens, all of them or one person's, newest first.
func TokenPage(ctx context.Context, q db.DBTX, personID *int64, offset, limit int) ([]Token, int, error) {
	var total int
	if err := q.QueryRow(ctx, `SELECT count(*) FROM api_token WHERE $1::bigint IS NULL OR person_id = $1`, personID).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("error counting tokens: %w", err)
	}
	rows, err := q.Query(ctx, `SELECT `+tokenColumns+` FROM api_token WHERE $1::bigint IS NULL OR person_id = $1
		ORDER BY id DESC OFFSET $2 LIMIT $3`, personID, offset, limit)
	if err != nil {
		return nil, 0, fmt.Errorf("error listing tokens: %w", err)
	}
	ts, err := pgx.CollectRows(rows, scanToken)
	if err != nil {
		return nil, 0, fmt.Errorf("error listing tokens: %w", err)
	}
	return ts, total, nil
}

// errBadCredential is deliberately vague: a caller learns nothing about which
// tokens exist.
var errBadCredential = fault.New(fault.Unauthenticated, "invalid, expired or revoked credential")

// lastUsedGranularity limits last_used_at writes to one per token per minute, so
// authentication does not turn every read into a write.
const lastUsedGranularity = time.Minute

// Authenticate resolves a token secret to its principal.
func Authenticate(ctx context.Context, q db.DBTX, secret string) (*Principal, error) {
	if !strings.HasPrefix(secret, TokenPrefix) || len(secret) > 200 {
		return nil, errBadCredential
	}
	var (
		p          Principal
		lastUsed   *time.Time
		tokenRole  Role
		personRole Role
	)
	err := q.QueryRow(ctx, `SELECT t.id, t.role, t.scopes, t.expires_at, t.last_used_at, p.id, p.login, p.name, p.bu_id, p.role
		FROM api_token t JOIN person p ON p.id = t.person_id
		WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > now()) AND p.active`,
		HashSecret(secret)).Scan(&p.TokenID, &tokenRole, &p.Scopes, &p.ExpiresAt, &lastUsed, &p.PersonID, &p.Login, &p.Name, &p.BUID, &personRole)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errBadCredential
	}
	if err != nil {
		return nil, fmt.Errorf("error authenticating token: %w", err)
	}
	// A token keeps the role it was created with, but never acts above what its
	// person holds today: lowering a person's role lowers all their tokens.
	p.Role = Lower(tokenRole, personRole)
	p.Method = MethodToken
	if lastUsed == nil || time.Since(*lastUsed) > lastUsedGranularity {
		if _, err := q.Exec(ctx, `UPDATE api_token SET last_used_at = now() WHERE id = $1`, p.TokenID); err != nil {
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
	rows, err := q.Query(ctx, `WITH RECURSIVE t AS (
		SELECT id FROM bu WHERE id = $1
		UNION SELECT b.id FROM bu b JOIN t ON b.parent_id = t.id)
		SELECT id FROM t ORDER BY id`, bu)
	if err != nil {
		return nil, fmt.Errorf("error loading BU subtree: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("error loading BU subtree: %w", err)
	}
	return ids, nil
}

// RevokeToken marks a token revoked; revoking twice is a no-op.
func RevokeToken(ctx context.Context, q db.DBTX, id int64) (Token, error) {
	rows, err := q.Query(ctx, `UPDATE api_token SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 RETURNING `+tokenColumns, id)
	if err != nil {
		return Token{}, fmt.Errorf("error revoking token: %w", err)
	}
	t, err := pgx.CollectExactlyOneRow(rows, scanToken)
	if err != nil {
		return Token{}, db.Interpret(err, "token")
	}
	// Sessions opened with the token end with it, and open websockets of its person
	// check their credentials again.
	if _, err := q.Exec(ctx, `DELETE FROM web_session WHERE token_id = $1`, id); err != nil {
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
	if _, err := q.Exec(ctx, `SELECT pg_notify($1, $2::bigint::text)`, CredentialsChannel, person); err != nil {
		return fmt.Errorf("error announcing credential change: %w", err)
	}
	return nil
}
