package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/teslaops/tesla/internal/agenttask"
)

// pidFile is the record of a process the agent started, under the service's
// run directory: enough for a restarted agent to find it again, and to tell
// it from another process that later got the same pid (its start time).
type pidFile struct {
	PID        int      `json:"pid"`
	StartTicks uint64   `json:"start_ticks"`
	Version    string   `json:"version"`
	Command    []string `json:"command"`
	StartedAt  string   `json:"started_at"`
}

// maxLogBytes is the size past which a service's log is moved to .1 at its
// next start (one old log kept).
const maxLogBytes = 16 << 20

func (l Layout) pidPath(svc string) string { return filepath.Join(l.runDir(svc), "pid.json") }

// running returns the service's process if the agent started it and it still
// runs.
func (l Layout) running(proc, svc string) (pidFile, bool) {
	b, err := os.ReadFile(l.pidPath(svc))
	if err != nil {
		return pidFile{}, false
	}
	var p pidFile
	if json.Unmarshal(b, &p) != nil || p.PID <= 0 {
		return pidFile{}, false
	}
	ticks, alive := procStart(proc, p.PID)
	return p, alive && ticks == p.StartTicks
}

// procStart reads a process's start time (clock ticks since boot, field 22 of
// /proc/PID/stat); alive is false for a process that is gone or a zombie.
func procStart(proc string, pid int) (ticks uint64, alive bool) {
	b, err := os.ReadFile(filepath.Join(proc, strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, false
	}
	// The command name (field 2) may hold spaces and parentheses: fields
	// are counted after its last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 || f[0] == "Z" || f[0] == "X" {
		return 0, false
	}
	t, err := strconv.ParseUint(f[19], 10, 64)
	return t, err == nil
}

// startProcess starts the service's command in its current version
// directory, in a session of its own (so it outlives the agent and is
// stopped as a group), logging to run/<service>.log, and records its pid.
func (l Layout) startProcess(proc, svc string, p *agenttask.Process) (string, error) {
	if cur, ok := l.running(proc, svc); ok {
		return fmt.Sprintf("already running: pid %d (version %s)", cur.PID, cur.Version), errAlready
	}
	cur := l.currentLink(svc)
	dir, err := filepath.EvalSymlinks(cur)
	if err != nil {
		return "", fmt.Errorf("%s has no current version to start: %w", svc, err)
	}
	ver := filepath.Base(dir)
	if err := os.MkdirAll(l.runDir(svc), 0o755); err != nil {
		return "", err
	}
	logPath := filepath.Join(l.runDir(svc), svc+".log")
	if fi, err := os.Stat(logPath); err == nil && fi.Size() > maxLogBytes {
		_ = os.Rename(logPath, logPath+".1")
	}
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return "", fmt.Errorf("error opening the service log: %w", err)
	}
	defer logf.Close()
	prog := p.Command[0]
	if !filepath.IsAbs(prog) {
		if _, err := os.Stat(filepath.Join(dir, prog)); err == nil {
			prog = filepath.Join(dir, prog)
		} else if found, err := exec.LookPath(prog); err == nil {
			prog = found
		} else {
			return "", fmt.Errorf("the command %q is neither in %s nor on the PATH", p.Command[0], dir)
		}
	}
	env := append(os.Environ(), "TESLA_SERVICE="+svc, "TESLA_VERSION="+ver, "TESLA_SERVICE_DIR="+dir)
	for k, v := range p.Env {
		env = append(env, k+"="+v)
	}
	var cmd *exec.Cmd
	// A program unpacked a moment ago can be refused with ETXTBSY ("text file
	// busy"): a process forked at that moment by another goroutine (another
	// service's start, a health check) holds a copy of the descriptor the
	// unpacking wrote it through until it execs (golang.org/issue/22315). The
	// copy goes within milliseconds, so the start is tried again for a while.
	for attempt := 0; ; attempt++ {
		cmd = exec.Command(prog, p.Command[1:]...)
		cmd.Dir = dir
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.Env = env
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		err := cmd.Start()
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.ETXTBSY) || attempt >= textBusyRetries {
			return "", fmt.Errorf("error starting %s: %w", prog, err)
		}
		time.Sleep(time.Duration(attempt+1) * 20 * time.Millisecond)
	}
	pid := cmd.Process.Pid
	// Reap it when it exits, so it never lingers as a zombie that looks
	// alive; an agent started later leaves that to init.
	go func() { _ = cmd.Wait() }()
	ticks, _ := procStart(proc, pid)
	rec := pidFile{PID: pid, StartTicks: ticks, Version: ver, Command: p.Command, StartedAt: time.Now().UTC().Format(time.RFC3339)}
	b, _ := json.Marshal(rec)
	if err := writeFileAtomic(l.pidPath(svc), b, 0o644); err != nil {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		return "", err
	}
	return fmt.Sprintf("started pid %d (version %s): %s; log %s", pid, ver, strings.Join(p.Command, " "), logPath), nil
}

// textBusyRetries is how many times a start refused with ETXTBSY is tried
// again, 20 ms longer apart each time: about 3 s in all.
const textBusyRetries = 16

// errAlready says a start or stop found nothing to do.
var errAlready = errors.New("nothing to do")

// stopProcess stops the service's process group: SIGTERM, then SIGKILL after
// the stop timeout.
func (l Layout) stopProcess(ctx context.Context, proc, svc string, timeout time.Duration) (string, error) {
	p, ok := l.running(proc, svc)
	if !ok {
		_ = os.Remove(l.pidPath(svc))
		return "not running", errAlready
	}
	gone := func() bool { t, alive := procStart(proc, p.PID); return !alive || t != p.StartTicks }
	_ = syscall.Kill(-p.PID, syscall.SIGTERM)
	how := "SIGTERM"
	deadline := time.Now().Add(timeout)
	for !gone() {
		if time.Now().After(deadline) {
			_ = syscall.Kill(-p.PID, syscall.SIGKILL)
			how = fmt.Sprintf("SIGKILL after %s", timeout)
			deadline = time.Now().Add(10 * time.Second)
			for !gone() {
				if time.Now().After(deadline) {
					return "", fmt.Errorf("pid %d survives SIGKILL", p.PID)
				}
				time.Sleep(20 * time.Millisecond)
			}
			break
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	_ = os.Remove(l.pidPath(svc))
	return fmt.Sprintf("stopped pid %d (version %s) with %s", p.PID, p.Version, how), nil
}

// systemctl runs `systemctl verb unit`.
func systemctl(ctx context.Context, verb, unit string) (string, error) {
	bin, err := exec.LookPath("systemctl")
	if err != nil {
		return "", errors.New("the task names a systemd unit, but systemctl is not on the agent's PATH")
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	b, err := exec.CommandContext(ctx, bin, verb, "--", unit).CombinedOutput()
	out := strings.TrimSpace(string(b))
	if err != nil {
		return out, fmt.Errorf("systemctl %s %s: %v: %s", verb, unit, err, agenttask.Truncate(out, 1000))
	}
	return cmpOr(out, "systemctl "+verb+" "+unit+": done"), nil
}

// runReboot runs the reboot command, bounded: "systemctl reboot" returns
// once the reboot is queued, before the agent is stopped by it.
func runReboot(ctx context.Context, cmd []string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	b, err := exec.CommandContext(ctx, cmd[0], cmd[1:]...).CombinedOutput()
	out := strings.TrimSpace(string(b))
	if err != nil {
		return out, fmt.Errorf("%s: %v: %s", strings.Join(cmd, " "), err, agenttask.Truncate(out, 1000))
	}
	return cmpOr(out, strings.Join(cmd, " ")+": done"), nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// checkHealth runs the check until an attempt passes or attempts run out.
func checkHealth(ctx context.Context, h *agenttask.HealthCheck, dir string) (string, error) {
	timeout := time.Duration(cmpInt(h.TimeoutMS, 5000)) * time.Millisecond
	attempts := cmpInt(h.Attempts, 10)
	interval := time.Duration(cmpInt(h.IntervalMS, 1000)) * time.Millisecond
	var last error
	for i := 1; i <= attempts; i++ {
		actx, cancel := context.WithTimeout(ctx, timeout)
		out, err := healthAttempt(actx, h, dir)
		cancel()
		if err == nil {
			return fmt.Sprintf("attempt %d/%d: %s", i, attempts, out), nil
		}
		last = err
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		if i < attempts {
			select {
			case <-ctx.Done():
				return "", ctx.Err()
			case <-time.After(interval):
			}
		}
	}
	return "", fmt.Errorf("unhealthy after %d attempts %s apart: %v", attempts, interval, last)
}

func cmpInt(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

func healthAttempt(ctx context.Context, h *agenttask.HealthCheck, dir string) (string, error) {
	switch h.Kind {
	case agenttask.HealthHTTP:
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.URL, nil)
		if err != nil {
			return "", err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		text := agenttask.Truncate(strings.TrimSpace(string(body)), 200)
		if resp.StatusCode/100 != 2 {
			return "", fmt.Errorf("GET %s answered %s: %s", h.URL, resp.Status, text)
		}
		if h.Expect != "" && !strings.Contains(string(body), h.Expect) {
			return "", fmt.Errorf("GET %s answered %q, without %q", h.URL, text, h.Expect)
		}
		return fmt.Sprintf("GET %s: %s %q", h.URL, resp.Status, text), nil
	case agenttask.HealthTCP:
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", h.Address)
		if err != nil {
			return "", err
		}
		c.Close()
		return "connected to " + h.Address, nil
	default:
		cmd := exec.CommandContext(ctx, h.Command[0], h.Command[1:]...)
		if _, err := os.Stat(dir); err == nil {
			cmd.Dir = dir
		}
		cmd.WaitDelay = time.Second
		b, err := cmd.CombinedOutput()
		out := agenttask.Truncate(strings.TrimSpace(string(b)), 500)
		if err != nil {
			return "", fmt.Errorf("%s: %v: %s", strings.Join(h.Command, " "), err, out)
		}
		return fmt.Sprintf("%s: exit 0: %s", strings.Join(h.Command, " "), out), nil
	}
}
