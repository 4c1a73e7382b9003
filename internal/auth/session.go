package auth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/internal/auth/dbsqlc"
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
	err := queries.SessionInsert(ctx, q, &dbsqlc.SessionInsertParams{
		IDHash: HashSecret(s.ID), PersonID: p.PersonID, TokenID: tokenID, Role: string(p.Role), CsrfToken: s.CSRF, ExpiresAt: s.ExpiresAt,
	})
	if err != nil {
		return Session{}, fmt.Errorf("error creating session: %w", err)
	}
	// Expired sessions are swept opportunistically; there are few per person.
	if err := queries.SessionSweep(ctx, q); err != nil {
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
	row, err := queries.SessionAuthenticate(ctx, q, HashSecret(id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, "", errBadCredential
	}
	if err != nil {
		return nil, "", fmt.Errorf("error authenticating session: %w", err)
	}
	p := Principal{
		PersonID: row.PersonID, Login: row.Login, Name: row.Name, BUID: row.BuID,
		Role: Role(row.Role), TokenID: row.TokenID, ExpiresAt: &row.ExpiresAt,
	}
	if !Role(row.PersonRole).AtLeast(p.Role) {
		// The person's role was lowered after sign-in (migration 0004 deletes such
		// sessions; this holds even for a change made with the trigger disabled).
		return nil, "", errBadCredential
	}
	p.Method = MethodSession
	if err := loadSubtree(ctx, q, &p); err != nil {
		return nil, "", err
	}
	return &p, row.CsrfToken, nil
}

// DeleteSession ends a session and tells open websockets of its person to check
// their credentials again.
func DeleteSession(ctx context.Context, q db.DBTX, id string) error {
	people, err := queries.SessionDelete(ctx, q, HashSecret(id))
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
