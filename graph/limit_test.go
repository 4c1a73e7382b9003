package graph

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/fault"
)

func TestGuardSharesExpensiveSlots(t *testing.T) {
	t.Parallel()
	g := newGuard(RunLimits{ExpensiveAtOnce: 2, ExpensivePerCaller: 1}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	g.queueWait = 50 * time.Millisecond
	as := func(id int64) context.Context {
		return auth.WithPrincipal(context.Background(), &auth.Principal{PersonID: id, Login: fmt.Sprint("p", id), Role: auth.Viewer})
	}

	releaseA, err := g.acquire(as(1))
	require.Nil(t, err)

	// The same person is refused at once, with a code and a retry hint.
	start := time.Now()
	_, err = g.acquire(as(1))
	require.NotNil(t, err)
	require.Less(t, time.Since(start), g.queueWait, "a caller over its share does not wait")
	require.Equal(t, "RATE_LIMITED", err.Extensions["code"])
	require.Equal(t, retryAfterSeconds, err.Extensions["retryAfterSeconds"])

	releaseB, err := g.acquire(as(2))
	require.Nil(t, err, "another person takes the second slot")

	// Both slots taken: a third person waits, then is refused.
	start = time.Now()
	_, err = g.acquire(as(3))
	require.NotNil(t, err)
	require.GreaterOrEqual(t, time.Since(start), g.queueWait)
	require.Equal(t, "RATE_LIMITED", err.Extensions["code"])

	// A slot freed while someone waits goes to them.
	got := make(chan *struct{ release func() }, 1)
	go func() {
		g.queueWait = 10 * time.Second
		release, err := g.acquire(as(3))
		if err != nil {
			got <- nil
			return
		}
		got <- &struct{ release func() }{release}
	}()
	releaseA()
	select {
	case r := <-got:
		require.NotNil(t, r, "the waiting operation gets the freed slot")
		r.release()
	case <-time.After(10 * time.Second):
		t.Fatal("the waiting operation never got the freed slot")
	}
	releaseB()
	require.Empty(t, g.running, "every slot is returned")
	require.Zero(t, len(g.slots))
}

func TestTimeoutsBecomeTimeoutFaults(t *testing.T) {
	t.Parallel()
	for _, err := range []error{
		context.DeadlineExceeded,
		fmt.Errorf("error loading host 1: %w", context.DeadlineExceeded),
		fmt.Errorf("error analysing host n1: %w", &pgconn.PgError{Code: "57014", Message: "canceling statement due to statement timeout"}),
	} {
		fe, ok := timeoutFault(err, 3*time.Second)
		require.True(t, ok, err)
		require.Equal(t, fault.Timeout, fe.Kind)
		require.Contains(t, fe.Message, "3s")
	}
	for _, err := range []error{
		context.Canceled,
		errors.New("boom"),
		&pgconn.PgError{Code: "23505"},
	} {
		_, ok := timeoutFault(err, time.Second)
		require.False(t, ok, err)
	}
}

func TestErrorPresenterReportsTimeoutsWithTheirCode(t *testing.T) {
	t.Parallel()
	present := errorPresenter(slog.New(slog.NewTextHandler(io.Discard, nil)), 2*time.Second)
	for _, err := range []error{
		fmt.Errorf("error loading clusters: %w", context.DeadlineExceeded),
		fmt.Errorf("error analysing host n1: %w", &pgconn.PgError{Code: "57014"}),
	} {
		got := present(context.Background(), err)
		require.Equal(t, "TIMEOUT", got.Extensions["code"])
		require.Contains(t, got.Message, "2s")
		require.NotContains(t, got.Message, "57014")
	}
	require.Equal(t, "INTERNAL", present(context.Background(), errors.New("boom")).Extensions["code"])
}
