package agenttest

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/teslaops/tesla/internal/agentapi"
	"github.com/teslaops/tesla/internal/notify"
)

// Server is the server side agents talk to: the agent API over HTTP and the
// task queue behind it, woken by the database's notifications.
type Server struct {
	// Tasks is the queue tests dispatch tasks through.
	Tasks *agentapi.Tasks
	// URL is the agent API's base URL, the agents' server.
	URL string
}

// NewServer starts the server side on pool until the test ends. The lease
// and poll are short so that a task whose agent stopped expires within a
// test's patience.
func NewServer(t testing.TB, pool *pgxpool.Pool, logger *slog.Logger) *Server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(wg.Wait)
	t.Cleanup(cancel)
	events := notify.NewListener(pool, logger, agentapi.TaskChannel, agentapi.TaskQueuedChannel)
	wg.Go(func() { events.Run(ctx) })
	tasks := agentapi.NewTasks(pool, events, logger, agentapi.TasksConfig{Lease: 2 * time.Second, Poll: 500 * time.Millisecond})
	wg.Go(func() { tasks.Run(ctx) })
	srv := httptest.NewServer(agentapi.NewHandler(pool, logger, agentapi.Config{}, tasks))
	t.Cleanup(srv.Close)
	return &Server{Tasks: tasks, URL: srv.URL}
}
