package agent

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Component states the heartbeat reports.
const (
	StateStarted = "STARTED"
	StateStopped = "STOPPED"
	StateFailed  = "FAILED"
	StateUnknown = "UNKNOWN"
)

// ComponentChecker checks the components the server says the host runs.
type ComponentChecker struct {
	proc string
	// systemctl is the path of systemctl, "" where there is none (containers,
	// hosts without systemd): units are then not checked.
	systemctl string
	self      int
}

// NewComponentChecker checks processes under procRoot and, when systemctl is
// on the PATH, systemd units.
func NewComponentChecker(procRoot string) *ComponentChecker {
	c := &ComponentChecker{proc: procRoot, self: os.Getpid()}
	if p, err := exec.LookPath("systemctl"); err == nil {
		if _, err := os.Stat("/run/systemd/system"); err == nil {
			c.systemctl = p
		}
	}
	return c
}

// Check returns the state of each spec. A unit, where systemd runs, is
// checked with `systemctl is-active`; a process pattern against every
// process's command line (arguments joined by spaces). A process found
// running counts as STARTED even if its unit says otherwise (started by hand).
func (c *ComponentChecker) Check(ctx context.Context, specs []ComponentSpec) []ComponentState {
	if len(specs) == 0 {
		return nil
	}
	var cmdlines map[int]string
	out := make([]ComponentState, 0, len(specs))
	for _, s := range specs {
		st := ComponentState{Service: s.Service, Component: s.Component, State: StateUnknown}
		var notes []string
		if s.Unit != "" && c.systemctl != "" {
			st.State, st.Detail = c.unitState(ctx, s.Unit)
		} else if s.Unit != "" {
			notes = append(notes, "no systemd to check unit "+s.Unit)
		}
		if s.Process != "" && st.State != StateStarted {
			re, err := regexp.Compile(s.Process)
			if err != nil {
				notes = append(notes, fmt.Sprintf("bad process pattern %q: %v", s.Process, err))
			} else {
				if cmdlines == nil {
					cmdlines = c.cmdlines()
				}
				if pid := findProcess(cmdlines, re); pid > 0 {
					st.State, st.Detail = StateStarted, "pid "+strconv.Itoa(pid)
					if s.Unit != "" && c.systemctl != "" {
						st.Detail += " (not under unit " + s.Unit + ")"
					}
				} else if st.State == StateUnknown {
					st.State, st.Detail = StateStopped, "no process matches "+s.Process
				}
			}
		}
		if s.Unit == "" && s.Process == "" {
			notes = append(notes, "no check configured for this component's package")
		}
		if st.Detail == "" {
			st.Detail = strings.Join(notes, "; ")
		}
		out = append(out, st)
	}
	return out
}

// unitState maps `systemctl is-active` to a component state.
func (c *ComponentChecker) unitState(ctx context.Context, unit string) (string, string) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	// is-active exits non-zero for every state but active; its output is the state.
	b, _ := exec.CommandContext(ctx, c.systemctl, "is-active", "--", unit).Output()
	s := strings.TrimSpace(string(b))
	detail := "unit " + unit + " " + s
	switch s {
	case "active", "reloading", "refreshing":
		return StateStarted, detail
	case "inactive", "deactivating", "activating":
		return StateStopped, detail
	case "failed":
		return StateFailed, detail
	}
	return StateUnknown, "systemctl is-active " + unit + ": " + strings.TrimSpace(s)
}

// cmdlines reads every process's command line, arguments joined by spaces.
func (c *ComponentChecker) cmdlines() map[int]string {
	out := map[int]string{}
	entries, err := os.ReadDir(c.proc)
	if err != nil {
		return out
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == c.self {
			continue
		}
		b, err := os.ReadFile(filepath.Join(c.proc, e.Name(), "cmdline"))
		if err != nil || len(b) == 0 {
			continue // gone, or a kernel thread
		}
		out[pid] = string(bytes.TrimRight(bytes.ReplaceAll(b, []byte{0}, []byte{' '}), " "))
	}
	return out
}

// findProcess returns the lowest pid whose command line matches re.
func findProcess(cmdlines map[int]string, re *regexp.Regexp) int {
	best := 0
	for pid, cl := range cmdlines {
		if (best == 0 || pid < best) && re.MatchString(cl) {
			best = pid
		}
	}
	return best
}
