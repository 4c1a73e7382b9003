package auth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/internal/db"
)

// Session is a web sign-in: the browser holds ID in an HttpOnly cookie and must echo
// CSRF in a header on every cookie-authenticated POST.
type Session struct {
	ID        string
	CSRF      string
	ExpiresAt time.Time
}

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// CreateSession opens a web session for an authenticated principal. The session
// keeps the role of the token that opened it, and lasts ttl but never beyond the
// token's own expiry: signing in must not stretch a short-lived token.
func CreateSession(ctx context.Context, q db.DBTX, p *Principal, ttl time.Duration) (Session, error) {
	s := Session{ID: randomString(32), CSRF: randomString(24), ExpiresAt: time.Now().Add(ttl).UTC()}
	if p.ExpiresAt != nil && p.ExpiresAt.Before(s.ExpiresAt) {
		s.ExpiresAt = p.ExpiresAt.UTC()
	}
	var tokenID *int64
	if p.TokenID != 0 {
		tokenID = &p.TokenID
	}
	_, err := q.Exec(ctx, `INSERT INTO web_session (id_hash, person_id, token_id, role, csrf_token, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, HashSecret(s.ID), p.PersonID, tokenID, p.Role, s.CSRF, s.ExpiresAt)
	if err != nil {
		return Session{}, fmt.Errorf("error creating session: %w", err)
	}
	// Expired sessions are swept opportunistically; there are few per person.
	if _, err := q.Exec(ctx, `DELETE FROM web_session WHERE expires_at < now()`); err != nil {
		return Session{}, fmt.Errorf("error sweeping sessions: %w", err)
	}
	return s, nil
}

// AuthenticateSession resolves a session id to its principal and CSRF token. A
// session lives no longer than the token that opened it (expired or revoked, the
// session ends too) and ends when its person is deactivated or now holds a role
// below the session's.
func AuthenticateSession(ctx context.Context, q db.DBTX, id string) (*Principal, string, error) {
	if id == "" || len(id) > 100 {
		return nil, "", errBadCredential
	}
	var (
		p          Principal
		csrf       string
		personRole Role
	)
	err := q.QueryRow(ctx, `SELECT s.role, s.csrf_token, coalesce(s.token_id, 0), least(s.expires_at, t.expires_at),
			p.id, p.login, p.name, p.bu_id, p.role
		FROM web_session s JOIN person p ON p.id = s.person_id
		LEFT JOIN api_token t ON t.id = s.token_id
		WHERE s.id_hash = $1 AND s.expires_at > now() AND p.active
			AND (s.token_id IS NULL OR (t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > now())))`,
		HashSecret(id)).
		Scan(&p.Role, &csrf, &p.TokenID, &p.ExpiresAt, &p.PersonID, &p.Login, &p.Name, &p.BUID, &personRole)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, "", errBadCredential
	}
	if err != nil {
		return nil, "", fmt.Errorf("error authenticating session: %w", err)
	}
	if !personRole.AtLeast(p.Role) {
		// The person's role was lowered after sign-in (migration 0004 deletes such
		// sessions; this holds even for a change made with the trigger disabled).
		return nil, "", errBadCredential
	}
	p.Method = MethodSession
	if err := loadSubtree(ctx, q, &p); err != nil {
		return nil, "", err
	}
	return &p, csrf, nil
}

// DeleteSession ends a session and tells open websockets of its person to check
// their credentials again.
func DeleteSession(ctx context.Context, q db.DBTX, id string) error {
	rows, err := q.Query(ctx, `DELETE FROM web_session WHERE id_hash = $1 RETURNING person_id`, HashSecret(id))
	if err != nil {
		return fmt.Errorf("error ending session: %w", err)
	}
	people, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return fmt.Errorf("error ending session: %w", err)
	}
	for _, person := range people {
		if err := notifyCredentials(ctx, q, person); err != nil {
			return err
		}
	}
	return nil
}
