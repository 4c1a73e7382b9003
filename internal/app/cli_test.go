package app

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/db/dbtest"
)

// The CLI tests set environment variables, so they cannot run in parallel with
// each other; each still has its own database.

func TestConfigFromEnvironment(t *testing.T) {
	c, err := LoadConfig(func(string) string { return "" })
	require.NoError(t, err)
	require.Equal(t, DefaultDatabaseURL, c.DatabaseURL)
	require.Equal(t, "127.0.0.1:8080", c.Listen)
	require.True(t, c.Introspection)
	require.False(t, c.Simulate)
	require.Equal(t, 3*time.Second, c.SimTaskMedian)
	require.InDelta(t, 2, c.OperationFailurePct, 0)

	env := map[string]string{
		"DATABASE_URL": "postgres://u:s3cret@db:5432/x", "TESLA_SIMULATE": "on", "TESLA_SIM_INTERVAL": "2s",
		"TESLA_GRAPHQL_INTROSPECTION": "off", "TESLA_WS_ORIGINS": "a.example, b.example",
		"TESLA_SIM_TASK_MEDIAN": "250ms", "TESLA_OPERATION_FAILURE_PCT": "0.5",
	}
	c, err = LoadConfig(func(k string) string { return env[k] })
	require.NoError(t, err)
	require.True(t, c.Simulate)
	require.Equal(t, 2*time.Second, c.SimInterval)
	require.False(t, c.Introspection)
	require.Equal(t, []string{"a.example", "b.example"}, c.WebsocketOrigins)
	require.Equal(t, 250*time.Millisecond, c.SimTaskMedian)
	require.InDelta(t, 0.5, c.OperationFailurePct, 0)
	require.NotContains(t, c.String(), "s3cret", "secrets are redacted when printed")

	bad := map[string]string{"DATABASE_URL": "mysql://x", "TESLA_LISTEN": "nope", "TESLA_LOG_LEVEL": "loud",
		"TESLA_SIMULATE": "maybe", "TESLA_SIM_INTERVAL": "-1s", "TESLA_GRAPHQL_DEPTH": "1",
		"TESLA_SIM_TASK_MEDIAN": "2h", "TESLA_OPERATION_FAILURE_PCT": "150"}
	_, err = LoadConfig(func(k string) string { return bad[k] })
	require.Error(t, err)
	for name := range bad {
		require.Contains(t, err.Error(), name, "the error names every bad variable")
	}
}

func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := Run(context.Background(), args, &out, io.Discard)
	return out.String(), err
}

func TestMigrateSeedTokenCommands(t *testing.T) {
	d := dbtest.NewDatabase(t, db.Options{})
	_, err := d.Pool.Exec(context.Background(), `DROP SCHEMA public CASCADE; CREATE SCHEMA public`)
	require.NoError(t, err)
	t.Setenv("DATABASE_URL", d.URL)
	t.Setenv("TESLA_LOG_LEVEL", "error")

	out, err := run(t, "migrate", "status")
	require.NoError(t, err)
	require.Contains(t, out, "schema version 0 of")
	require.Contains(t, out, "pending: 0001_foundation")

	// serve refuses a schema that is behind.
	_, err = run(t, "serve")
	require.ErrorContains(t, err, "tesla migrate up")

	out, err = run(t, "migrate", "up")
	require.NoError(t, err)
	require.Contains(t, out, "applied")

	out, err = run(t, "seed", "demo", "--clusters", "3", "--hosts", "30", "--people", "8", "--days", "1", "--tokens-file", t.TempDir()+"/tokens.json")
	require.NoError(t, err)
	require.Contains(t, out, "seeded demo fleet")
	require.Contains(t, out, "seeded 5 demo budgets")
	require.Contains(t, out, "ADMIN")
	_, err = run(t, "seed", "demo")
	require.ErrorContains(t, err, "already holds a fleet")
	out, err = run(t, "seed", "demo", "--if-empty")
	require.NoError(t, err)
	require.Contains(t, out, "not seeding")

	out, err = run(t, "token", "create", "--login", "viewer", "--role", "VIEWER")
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	token := lines[len(lines)-1]
	require.True(t, strings.HasPrefix(token, "tsl_"), "the token is alone on the last line: %q", out)

	_, err = run(t, "token", "create", "--login", "viewer", "--role", "ADMIN")
	require.ErrorContains(t, err, "cannot carry")
	_, err = run(t, "token", "create", "--login", "viewer", "--role", "VIEWER", "--name", strings.Repeat("x", 101))
	require.ErrorContains(t, err, "limited to 100 characters", "the command line checks a token as the API does")
	_, err = run(t, "token", "create", "--login", "viewer", "--role", "VIEWER", "--scope", "root")
	require.ErrorContains(t, err, `unknown scope "root"`)
	_, err = run(t, "token", "create", "--login", "nobody", "--role", "VIEWER")
	require.ErrorContains(t, err, "no active person")
	_, err = run(t, "token", "create", "--login", "viewer", "--role", "KING")
	require.ErrorContains(t, err, "unknown role")
	_, err = run(t, "token", "create", "--bogus")
	require.ErrorContains(t, err, "flag provided but not defined")
	_, err = run(t, "frobnicate")
	require.ErrorContains(t, err, "unknown command")

	// Enrollment tokens: bound to a cluster, owned by an admin unless --login
	// says otherwise, always expiring.
	var cluster string
	require.NoError(t, d.Pool.QueryRow(context.Background(), `SELECT name FROM cluster ORDER BY id LIMIT 1`).Scan(&cluster))
	out, err = run(t, "token", "create", "--name", "rack 7", "--scope", "enroll", "--cluster", cluster)
	require.NoError(t, err)
	require.Contains(t, out, "enrollment token for cluster "+cluster)
	lines = strings.Split(strings.TrimSpace(out), "\n")
	require.True(t, strings.HasPrefix(lines[len(lines)-1], "tsl_"), out)
	var expiresIn time.Duration
	require.NoError(t, d.Pool.QueryRow(context.Background(), `SELECT (expires_at - now())::interval FROM api_token
		WHERE token_hash = $1 AND cluster_id IS NOT NULL`, auth.HashSecret(lines[len(lines)-1])).Scan(&expiresIn))
	require.InDelta(t, (7 * 24 * time.Hour).Hours(), expiresIn.Hours(), 0.1, "enrollment tokens expire after a week by default")
	_, err = run(t, "token", "create", "--scope", "enroll")
	require.ErrorContains(t, err, "--cluster is required")
	_, err = run(t, "token", "create", "--scope", "enroll", "--cluster", "no-such-cluster")
	require.ErrorContains(t, err, `no cluster named "no-such-cluster"`)
	_, err = run(t, "token", "create", "--scope", "enroll", "--cluster", cluster, "--expires", "2200h")
	require.ErrorContains(t, err, "at most 90 days")
	_, err = run(t, "token", "create", "--scope", "enroll", "--cluster", cluster, "--login", "viewer")
	require.ErrorContains(t, err, "operators and admins")
	out, err = run(t, "token", "create", "--login", "viewer", "--role", "VIEWER", "--scope", "ingest")
	require.NoError(t, err, out)

	var audited int
	require.NoError(t, d.Pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_log WHERE action = 'cli.createToken' AND outcome = 'OK'`).Scan(&audited))
	require.GreaterOrEqual(t, audited, 5, "demo tokens and the CLI token are audited")
}

// TestServeStartsAndShutsDownGracefully runs the real serve command: it prints its
// URLs, answers health and GraphQL, ticks the demo fleet, and returns cleanly
// when its context ends (as on SIGTERM).
func TestServeStartsAndShutsDownGracefully(t *testing.T) {
	d := dbtest.NewDatabase(t, db.Options{})
	t.Setenv("DATABASE_URL", d.URL)
	t.Setenv("TESLA_LOG_LEVEL", "error")
	t.Setenv("TESLA_LISTEN", "127.0.0.1:0")
	t.Setenv("TESLA_SIMULATE", "on")
	t.Setenv("TESLA_SIM_INTERVAL", "1s")
	t.Setenv("TESLA_DEMO_TOKENS_FILE", t.TempDir()+"/tokens.json")
	_, err := run(t, "seed", "demo", "--clusters", "3", "--hosts", "30", "--people", "8", "--days", "1", "--tokens-file", t.TempDir()+"/tokens.json")
	require.NoError(t, err)

	var seeded time.Time
	require.NoError(t, d.Pool.QueryRow(context.Background(), `SELECT max(last_heartbeat) FROM host`).Scan(&seeded))

	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- Run(ctx, []string{"serve"}, pw, io.Discard); pw.Close() }()
	sc := bufio.NewScanner(pr)
	var base string
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "Tesla is serving on "); ok {
			base = rest
			break
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	require.NotEmpty(t, base)
	resp, err := http.Get(base + "/readyz")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	// The ticker moves heartbeats and writes this minute's samples: wait (bounded).
	deadline := time.Now().Add(20 * time.Second)
	for {
		var n int
		require.NoError(t, d.Pool.QueryRow(context.Background(), `SELECT count(*) FROM host h JOIN host_metric m
			ON m.host_id = h.id AND m.ts = date_trunc('minute', h.last_heartbeat) WHERE h.last_heartbeat > $1`, seeded).Scan(&n))
		if n > 0 {
			break
		}
		require.True(t, time.Now().Before(deadline), "the demo fleet did not tick")
		time.Sleep(100 * time.Millisecond)
	}

	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not shut down")
	}
}

func TestDBEnsureCreatesAMissingDatabase(t *testing.T) {
	d := dbtest.NewDatabase(t, db.Options{})
	name := d.Name + "_ensure"
	u := strings.Replace(d.URL, "/"+d.Name, "/"+name, 1)
	t.Cleanup(func() {
		_, _ = d.Pool.Exec(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	t.Setenv("DATABASE_URL", u)
	out, err := run(t, "db", "ensure")
	require.NoError(t, err)
	require.Equal(t, u, strings.TrimSpace(out))
	var exists bool
	require.NoError(t, d.Pool.QueryRow(context.Background(), `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists))
	require.True(t, exists)
	out, err = run(t, "db", "ensure") // idempotent
	require.NoError(t, err)
	require.Equal(t, u, strings.TrimSpace(out))

	t.Setenv("DATABASE_URL", "postgres://postgres@127.0.0.1:1/tesla?sslmode=disable")
	_, err = run(t, "db", "ensure")
	require.ErrorContains(t, err, "not usable", "an explicit DATABASE_URL that does not answer is an error, not a fallback")
}
