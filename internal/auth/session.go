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
// keeps the role of the token that opened it.
func CreateSession(ctx context.Context, q db.DBTX, p *Principal, ttl time.Duration) (Session, error) {
	s := Session{ID: randomString(32), CSRF: randomString(24), ExpiresAt: time.Now().Add(ttl).UTC()}
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

// AuthenticateSession resolves a session id to its principal and CSRF token.
func AuthenticateSession(ctx context.Context, q db.DBTX, id string) (*Principal, string, error) {
	if id == "" || len(id) > 100 {
		return nil, "", errBadCredential
	}
	var (
		p    Principal
		csrf string
	)
	err := q.QueryRow(ctx, `SELECT s.role, s.csrf_token, coalesce(s.token_id, 0), p.id, p.login, p.name, p.bu_id
		FROM web_session s JOIN person p ON p.id = s.person_id
		WHERE s.id_hash = $1 AND s.expires_at > now() AND p.active`, HashSecret(id)).
		Scan(&p.Role, &csrf, &p.TokenID, &p.PersonID, &p.Login, &p.Name, &p.BUID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, "", errBadCredential
	}
	if err != nil {
		return nil, "", fmt.Errorf("error authenticating session: %w", err)
	}
	p.Method = MethodSession
	if err := loadSubtree(ctx, q, &p); err != nil {
		return nil, "", err
	}
	return &p, csrf, nil
}

// DeleteSession ends a session.
func DeleteSession(ctx context.Context, q db.DBTX, id string) error {
	if _, err := q.Exec(ctx, `DELETE FROM web_session WHERE id_hash = $1`, HashSecret(id)); err != nil {
		return fmt.Errorf("error ending session: %w", err)
	}
	return nil
}
