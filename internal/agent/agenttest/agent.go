package agenttest

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/agent"
	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db"
)

// Host is a host enrolled for a test agent: its credential is saved in its
// own state directory, and the services its agent runs live in its own
// services root, so that agents of one machine never share files.
type Host struct {
	Server     string // the agent API's URL
	ID         int64
	Name       string
	Credential string
	StateDir   string
	Root       string // the services root
}

// Enroll issues a credential for the host id (which must have a host row: the
// credential belongs to it) and saves it with the agent's state. Every
// service the host's agents start is killed when the test ends.
func Enroll(t testing.TB, q db.DBTX, server string, id int64, name string) Host {
	t.Helper()
	cred, err := auth.IssueHostCredential(context.Background(), q, id, 0)
	require.NoError(t, err)
	h := Host{Server: server, ID: id, Name: name, Credential: cred, StateDir: t.TempDir(), Root: t.TempDir()}
	t.Cleanup(func() { KillServices(h.Root) })
	require.NoError(t, agent.SaveState(h.StateDir, agent.State{Server: server, Hostname: name, HostID: id, Credential: cred}))
	return h
}

// Config is the host's agent configuration for tests: samples, heartbeats
// and hardware reports an hour apart (tests look at tasks, not telemetry) and
// short waits.
func (h Host) Config() agent.Config {
	return agent.Config{Server: h.Server, StateDir: h.StateDir, Hostname: h.Name,
		SampleInterval: time.Hour, SampleIntervalSet: true, HeartbeatInterval: time.Hour, HeartbeatIntervalSet: true,
		HardwareInterval: time.Hour, SpoolMaxBytes: 1 << 20, Timeout: 5 * time.Second,
		ServicesRoot: h.Root, TaskWait: 5 * time.Second}
}

// Start runs an agent with cfg until the returned stop is called or the test
// ends; stop returns once the agent has stopped, and may be called again.
func Start(t testing.TB, cfg agent.Config, logger *slog.Logger) (stop func()) {
	t.Helper()
	a, err := agent.New(cfg, logger.With("agent", cfg.Hostname))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = a.Run(ctx) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}
