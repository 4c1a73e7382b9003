package auth

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/internal/db"
)

// Host credentials are what a host agent holds after registering: a secret bound
// to one host, not to a person. Deactivating the person who created the
// enrollment token does not cut the fleet's agents off (their enrollment token
// dies with the person; the credentials it led to do not). A credential dies
// when its host registers again (the new registration's credential replaces it)
// and when the host is DECOMMISSIONED (checked at every use, whichever code path
// retired the host).
//
// A host credential authenticates as a Principal with HostID set, no person, and
// the scopes ScopeAgent and ScopeIngest: the agent endpoints, and ingestion of
// its own host's samples and faults (auth.MayActForHost). Never GraphQL, the web
// sign-in or websockets.

// HostCredentialPrefix starts every host credential, so Authenticate can tell
// one from a token and a leaked one is easy to recognise.
const HostCredentialPrefix = "tslh_"

// HostScopes are the scopes of every host credential.
func HostScopes() []string { return []string{ScopeAgent, ScopeIngest} }

// IssueHostCredential revokes host's live credential, if any, and stores a new
// one, returning its secret (shown once, never stored). enrolledBy is the
// enrollment token that asked (0: none).
func IssueHostCredential(ctx context.Context, q db.DBTX, host, enrolledBy int64) (string, error) {
	var b [20]byte
	_, _ = rand.Read(b[:])
	secret := HostCredentialPrefix + strings.ToLower(tokenEncoding.EncodeToString(b[:]))
	var by *int64
	if enrolledBy != 0 {
		by = &enrolledBy
	}
	// Both statements in one round trip, in order (the live credential is
	// unique per host).
	batch := &pgx.Batch{}
	batch.Queue(`UPDATE host_credential SET revoked_at = now() WHERE host_id = $1 AND revoked_at IS NULL`, host)
	batch.Queue(`INSERT INTO host_credential (host_id, prefix, secret_hash, enrolled_by) VALUES ($1, $2, $3, $4)`,
		host, secret[:len(HostCredentialPrefix)+6], HashSecret(secret), by)
	if err := q.SendBatch(ctx, batch).Close(); err != nil {
		return "", fmt.Errorf("error storing the credential of host %d: %w", host, err)
	}
	return secret, nil
}

// authenticateHost resolves a host credential to its principal.
func authenticateHost(ctx context.Context, q db.DBTX, secret string) (*Principal, error) {
	row, err := queries.HostCredentialAuthenticate(ctx, q, HashSecret(secret))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, errBadCredential
	}
	if err != nil {
		return nil, fmt.Errorf("error authenticating host credential: %w", err)
	}
	return &Principal{
		Login: "host:" + row.Hostname, Name: row.Hostname, Role: Viewer, Method: MethodHost,
		TokenID: row.ID, Scopes: HostScopes(), HostID: row.HostID,
	}, nil
}
