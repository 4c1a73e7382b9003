package app

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/db/dbtest"
)

// syncBuffer is a bytes.Buffer safe for the server's goroutines to write while
// the test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestServeNeverWritesDemoTokens: with the demo tokens file configured, serve's
// output and its structured log (at debug level) hold no token secret; `seed
// demo --tokens-file` prints each one exactly once.
func TestServeNeverWritesDemoTokens(t *testing.T) {
	d := dbtest.NewDatabase(t, db.Options{})
	file := t.TempDir() + "/tokens.json"
	t.Setenv("DATABASE_URL", d.URL)
	t.Setenv("TESLA_LOG_LEVEL", "debug")
	t.Setenv("TESLA_LOG_FORMAT", "json")
	t.Setenv("TESLA_LISTEN", "127.0.0.1:0")
	t.Setenv("TESLA_DEMO_TOKENS_FILE", file)
	seeded, err := run(t, "seed", "demo", "--clusters", "2", "--hosts", "10", "--people", "8", "--days", "1", "--tokens-file", file)
	require.NoError(t, err)
	tokens, err := readDemoTokens(file)
	require.NoError(t, err)
	require.NotEmpty(t, tokens)
	for _, tok := range tokens {
		require.Equal(t, 1, strings.Count(seeded, tok.Token), "seed prints each demo token once")
	}

	var stdout, log syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, []string{"serve"}, &stdout, &log) }()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(log.String(), `"msg":"serving"`) {
		require.True(t, time.Now().Before(deadline), "serve did not start: %s", log.String())
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not shut down")
	}
	require.Contains(t, stdout.String(), file, "serve says where the tokens are")
	require.Contains(t, log.String(), `"msg":"serving"`)
	for _, tok := range tokens {
		require.NotContains(t, stdout.String(), tok.Token)
		require.NotContains(t, log.String(), tok.Token)
		require.NotContains(t, log.String(), tok.Token[:12], "not even a prefix of a secret")
	}
}
