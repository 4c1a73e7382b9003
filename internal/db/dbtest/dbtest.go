// Package dbtest gives each test its own database on the real PostgreSQL server:
// a fresh database cloned from a migrated template. Cloning takes a fraction of a
// second, isolates tests completely (they may commit, COPY and LISTEN freely) and
// lets them run in parallel.
//
// The server is TESLA_TEST_DATABASE_URL, default
// postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable. A test is skipped,
// with a message, only when TESLA_TEST_SKIP_DB is set; otherwise a missing server
// fails the test, because a green run that tested nothing would lie.
package dbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/teslaops/tesla/internal/db"
)

// DefaultAdminURL is the server used when TESLA_TEST_DATABASE_URL is not set.
const DefaultAdminURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// templateLockID serialises template creation across test binaries, which go test
// runs in parallel processes.
const templateLockID = 7305_2002

var (
	templateOnce sync.Once
	templateName string
	templateErr  error
)

// AdminURL returns the URL of the maintenance database tests connect to.
func AdminURL() string {
	if u := os.Getenv("TESLA_TEST_DATABASE_URL"); u != "" {
		return u
	}
	return DefaultAdminURL
}

// Database is one test's private database.
type Database struct {
	Name string
	URL  string
	Pool *pgxpool.Pool
}

// New returns a pool on a fresh, migrated database that is dropped when the test
// ends.
func New(t testing.TB) *pgxpool.Pool {
	t.Helper()
	return NewDatabase(t, db.Options{}).Pool
}

// NewDatabase is New with pool options (e.g. a query-counting tracer) and access
// to the database's name and URL, for tests that start a server of their own.
func NewDatabase(t testing.TB, opts db.Options) *Database {
	t.Helper()
	if os.Getenv("TESLA_TEST_SKIP_DB") != "" {
		t.Skip("TESLA_TEST_SKIP_DB is set: skipping a test that needs PostgreSQL")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	templateOnce.Do(func() { templateName, templateErr = ensureTemplate(ctx) })
	if templateErr != nil {
		t.Fatalf("test database template: %v", templateErr)
	}
	name := "tesla_test_" + randomSuffix()
	admin, err := pgx.Connect(ctx, AdminURL())
	if err != nil {
		t.Fatalf("connecting to PostgreSQL at %s: %v (start it, or set TESLA_TEST_DATABASE_URL)", redact(AdminURL()), err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, fmt.Sprintf(`CREATE DATABASE %s TEMPLATE %s`, name, templateName)); err != nil {
		t.Fatalf("creating test database: %v", err)
	}
	dbURL := withDatabase(AdminURL(), name)
	pool, err := db.Open(ctx, dbURL, opts)
	if err != nil {
		t.Fatalf("opening test database: %v", err)
	}
	t.Cleanup(func() {
		pool.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		admin, err := pgx.Connect(ctx, AdminURL())
		if err != nil {
			t.Logf("dropping test database %s: %v", name, err)
			return
		}
		defer admin.Close(ctx)
		if _, err := admin.Exec(ctx, fmt.Sprintf(`DROP DATABASE IF EXISTS %s WITH (FORCE)`, name)); err != nil {
			t.Logf("dropping test database %s: %v", name, err)
		}
	})
	return &Database{Name: name, URL: dbURL, Pool: pool}
}

// ensureTemplate creates (once per migration fingerprint) a migrated template
// database and returns its name. It builds under a temporary name and renames at
// the end, so an interrupted build never leaves a half-migrated template behind.
func ensureTemplate(ctx context.Context) (string, error) {
	fp, err := db.MigrationsFingerprint()
	if err != nil {
		return "", err
	}
	name := "tesla_tmpl_" + fp
	admin, err := pgx.Connect(ctx, AdminURL())
	if err != nil {
		return "", fmt.Errorf("connecting to PostgreSQL at %s: %w (start it, or set TESLA_TEST_DATABASE_URL)", redact(AdminURL()), err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, `SELECT pg_advisory_lock($1)`, templateLockID); err != nil {
		return "", err
	}
	defer admin.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, templateLockID) //nolint:errcheck
	var exists bool
	if err := admin.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return "", err
	}
	if exists {
		return name, nil
	}
	building := name + "_building"
	if _, err := admin.Exec(ctx, fmt.Sprintf(`DROP DATABASE IF EXISTS %s WITH (FORCE)`, building)); err != nil {
		return "", err
	}
	if _, err := admin.Exec(ctx, fmt.Sprintf(`CREATE DATABASE %s`, building)); err != nil {
		return "", err
	}
	pool, err := db.Open(ctx, withDatabase(AdminURL(), building), db.Options{MaxConns: 2})
	if err != nil {
		return "", err
	}
	_, err = db.Migrate(ctx, pool)
	pool.Close()
	if err != nil {
		return "", fmt.Errorf("migrating template: %w", err)
	}
	if _, err := admin.Exec(ctx, fmt.Sprintf(`ALTER DATABASE %s RENAME TO %s`, building, name)); err != nil {
		return "", err
	}
	// Templates of other migration sets are left alone: branches with different
	// migrations often share one PostgreSQL (worktrees, CI runners), and dropping
	// another set's template breaks that set's tests while they run. Each
	// template is a few megabytes (drop stale tesla_tmpl_* databases by hand).
	return name, nil
}

func randomSuffix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func withDatabase(raw, name string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	u.Path = "/" + name
	return u.String()
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable url)"
	}
	return u.Redacted()
}
