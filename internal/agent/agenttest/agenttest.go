// Package agenttest runs real agents on this machine for the tests of the
// packages that drive them (the agent task API and the operations engine's
// agent executor): a server side with the agents' task queue and API, hosts
// enrolled with their own state directory and services root, agents started
// and stopped with the test, and versionsrv, a small HTTP service answering
// its version, packed as the package agents deploy.
//
// It is a normal package so that tests of several packages can share it, but
// only tests import it.
package agenttest

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Logger logs at level and above to the test's log until the test ends:
// agents and the task queue may still log while they stop, and logging to a
// finished test panics.
func Logger(t testing.TB, level slog.Level) *slog.Logger {
	done := &atomic.Bool{}
	t.Cleanup(func() { done.Store(true) })
	return slog.New(slog.NewTextHandler(testLog{t, done}, &slog.HandlerOptions{Level: level}))
}

// testLog writes to the test's log until done.
type testLog struct {
	t    testing.TB
	done *atomic.Bool
}

func (w testLog) Write(b []byte) (int, error) {
	if !w.done.Load() {
		w.t.Log(strings.TrimSpace(string(b)))
	}
	return len(b), nil
}

// KillServices kills the process groups recorded in the pid files of the
// services root root, so that no service an agent started outlives its test.
func KillServices(root string) {
	files, _ := filepath.Glob(filepath.Join(root, "*", "run", "pid.json"))
	for _, f := range files {
		var p struct {
			PID int `json:"pid"`
		}
		if b, err := os.ReadFile(f); err == nil && json.Unmarshal(b, &p) == nil && p.PID > 0 {
			_ = syscall.Kill(-p.PID, syscall.SIGKILL)
		}
	}
}

// Serving returns what versionsrv at addr answers on /version ("" when
// nothing answers). The timeout keeps a stuck service from hanging a test.
func Serving(addr string) string {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + addr + "/version")
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// FreePort returns a TCP port free on every one of addrs (at least one), so
// that a service configured with one port can listen on each host's address.
func FreePort(t testing.TB, addrs ...string) string {
	t.Helper()
	for range 50 {
		l, err := net.Listen("tcp", addrs[0]+":0")
		require.NoError(t, err)
		port := l.Addr().(*net.TCPAddr).Port
		ok := true
		var held []net.Listener
		for _, a := range addrs[1:] {
			m, err := net.Listen("tcp", fmt.Sprintf("%s:%d", a, port))
			if err != nil {
				ok = false
				break
			}
			held = append(held, m)
		}
		l.Close()
		for _, m := range held {
			m.Close()
		}
		if ok {
			return fmt.Sprint(port)
		}
	}
	t.Fatal("no port free on every address")
	return ""
}
