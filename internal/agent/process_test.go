package agent

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/agenttask"
)

// TestStartWaitsOutATextFileBusy: a program still open for writing somewhere
// (as a just-unpacked binary is in a process another goroutine forked at that
// moment) is refused with ETXTBSY; the start tries again until the writer is
// gone instead of failing the task.
func TestStartWaitsOutATextFileBusy(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	l := Layout{Root: root}
	bin := filepath.Join(l.versionDir("svc", "1.0.0"), "bin", "run.sh")
	require.NoError(t, os.MkdirAll(filepath.Dir(bin), 0o755))
	require.NoError(t, os.WriteFile(bin, []byte("#!/bin/sh\nexec sleep 30\n"), 0o755))
	require.NoError(t, l.switchCurrent("svc", "1.0.0"))

	writer, err := os.OpenFile(bin, os.O_WRONLY, 0)
	require.NoError(t, err)
	// Without a writer the start would succeed at once: check that the
	// writer really makes exec refuse, or the test proves nothing.
	probe := exec.Command(bin)
	if err := probe.Start(); err == nil {
		_ = probe.Process.Kill()
		_ = probe.Wait()
		t.Fatal("a program open for writing was started: this system does not refuse it, so the retry is not exercised")
	} else {
		require.ErrorIs(t, err, syscall.ETXTBSY)
	}
	go func() {
		time.Sleep(300 * time.Millisecond)
		_ = writer.Close()
	}()

	out, err := l.startProcess("/proc", "svc", &agenttask.Process{Command: []string{"bin/run.sh"}})
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(out, "started pid"), out)
	rec, ok := l.running("/proc", "svc")
	require.True(t, ok)
	_ = syscall.Kill(-rec.PID, syscall.SIGKILL)
}
