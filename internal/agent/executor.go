package agent

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/teslaops/tesla/internal/agenttask"
)

// Executor carries out task specs on this machine, under its services root.
type Executor struct {
	layout Layout
	proc   string
	http   *http.Client
	reboot []string
}

// NewExecutor returns an executor keeping services under root; proc is the
// procfs root processes are checked in.
func NewExecutor(root, proc string) *Executor {
	return &Executor{layout: Layout{Root: root}, proc: proc, http: &http.Client{}, reboot: strings.Fields(DefaultRebootCommand)}
}

// WithReboot sets the command a REBOOT runs (nil keeps the default).
func (e *Executor) WithReboot(cmd []string) *Executor {
	if len(cmd) > 0 {
		e.reboot = cmd
	}
	return e
}

// Progress records a task's steps as they happen, and tells whoever watches
// (the runner's reporter) that they changed.
type Progress struct {
	mu      sync.Mutex
	steps   []agenttask.Step
	changed chan struct{}
}

// NewProgress returns an empty progress.
func NewProgress() *Progress { return &Progress{changed: make(chan struct{}, 1)} }

// Steps returns a copy of the steps so far.
func (p *Progress) Steps() []agenttask.Step {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]agenttask.Step(nil), p.steps...)
}

// Changed is signalled after each change.
func (p *Progress) Changed() <-chan struct{} { return p.changed }

func (p *Progress) set(i int, s agenttask.Step) int {
	p.mu.Lock()
	if i < 0 {
		p.steps = append(p.steps, s)
		i = len(p.steps) - 1
	} else {
		p.steps[i] = s
	}
	p.mu.Unlock()
	select {
	case p.changed <- struct{}{}:
	default:
	}
	return i
}

// step runs fn as a named step: OK with its output, SKIPPED when it returns
// errAlready, FAILED with its error (returned).
func (p *Progress) step(name string, fn func() (string, error)) error {
	s := agenttask.Step{Name: name, State: agenttask.StepRunning, StartedAt: time.Now().UTC()}
	i := p.set(-1, s)
	out, err := fn()
	now := time.Now().UTC()
	s.FinishedAt, s.Output = &now, out
	switch {
	case errors.Is(err, errAlready):
		s.State, err = agenttask.StepSkipped, nil
	case err != nil:
		s.State = agenttask.StepFailed
		s.Output = strings.TrimSpace(out + "\n" + err.Error())
	default:
		s.State = agenttask.StepOK
	}
	p.set(i, s)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// Run carries out spec, recording each step in p. It returns a summary, or
// the first failing step's error (the steps after it are not run).
func (e *Executor) Run(ctx context.Context, spec agenttask.Spec, p *Progress) (string, error) {
	if err := spec.Validate(); err != nil {
		return "", fmt.Errorf("the agent refuses the task: %w", err)
	}
	l, svc := e.layout, spec.Service
	stopTimeout := 10 * time.Second
	if spec.Process != nil && spec.Process.StopTimeoutSeconds > 0 {
		stopTimeout = time.Duration(spec.Process.StopTimeoutSeconds) * time.Second
	}
	stop := func() error {
		return p.step("stop", func() (string, error) {
			if spec.Unit != "" {
				return systemctl(ctx, "stop", spec.Unit)
			}
			return l.stopProcess(ctx, e.proc, svc, stopTimeout)
		})
	}
	start := func() error {
		return p.step("start", func() (string, error) {
			if spec.Unit != "" {
				return systemctl(ctx, "start", spec.Unit)
			}
			return l.startProcess(e.proc, svc, spec.Process)
		})
	}
	health := func() error {
		if spec.Health == nil {
			return nil
		}
		return p.step("health", func() (string, error) {
			return checkHealth(ctx, spec.Health, l.currentLink(svc))
		})
	}
	configure := func(ver string) error {
		if len(spec.Config) == 0 && len(spec.Remove) == 0 {
			return nil
		}
		return p.step("configure", func() (string, error) {
			// Removals are checked before anything is written, so a refused
			// path leaves the directory as it was.
			gone, err := l.removalTargets(svc, ver, spec.Remove)
			if err != nil {
				return "", err
			}
			var out []string
			if len(spec.Config) > 0 {
				w, err := l.writeConfig(svc, ver, spec.Config)
				if err != nil {
					return "", err
				}
				out = append(out, w)
			}
			if len(spec.Remove) > 0 {
				r, err := removeConfig(spec.Remove, gone)
				if err != nil {
					return "", err
				}
				out = append(out, r+" in "+l.versionDir(svc, ver))
			}
			return strings.Join(out, "; "), nil
		})
	}
	var err error
	switch spec.Action {
	case agenttask.ActionDeploy:
		prev := l.Current(svc)
		err = p.step("fetch", func() (string, error) {
			skipped, out, err := l.ensurePackage(ctx, e.http, spec)
			if err == nil && skipped {
				return out, errAlready
			}
			return out, err
		})
		if err == nil {
			err = configure(spec.Version)
		}
		if err == nil {
			err = stop()
		}
		if err == nil {
			err = p.step("switch", func() (string, error) {
				if prev == spec.Version {
					return "current already is " + spec.Version, errAlready
				}
				return fmt.Sprintf("current: %s → %s", cmpOr(prev, "(none)"), spec.Version), l.switchCurrent(svc, spec.Version)
			})
		}
		if err == nil {
			err = start()
		}
		if err == nil {
			err = health()
		}
		if err == nil {
			return fmt.Sprintf("%s %s deployed (was %s)", svc, spec.Version, cmpOr(prev, "none")), nil
		}
	case agenttask.ActionStart:
		if err = start(); err == nil {
			err = health()
		}
	case agenttask.ActionStop:
		err = stop()
	case agenttask.ActionRestart:
		if err = stop(); err == nil {
			if err = start(); err == nil {
				err = health()
			}
		}
	case agenttask.ActionCheck:
		err = health()
	case agenttask.ActionReboot:
		err = p.step("reboot", func() (string, error) { return runReboot(ctx, e.reboot) })
		if err == nil {
			return "reboot started: " + strings.Join(e.reboot, " "), nil
		}
	case agenttask.ActionConfigure:
		ver := cmpOr(spec.Version, l.Current(svc))
		if ver == "" {
			return "", fmt.Errorf("%s has no current version to configure", svc)
		}
		if spec.NoRestart {
			if err = configure(ver); err == nil {
				return fmt.Sprintf("%s %s configured, not restarted (current version %s)", svc, ver, cmpOr(l.Current(svc), "none")), nil
			}
			break
		}
		if err = configure(ver); err == nil {
			if err = stop(); err == nil {
				if err = start(); err == nil {
					err = health()
				}
			}
		}
	}
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s %s done (current version %s)", spec.Action, svc, cmpOr(l.Current(svc), "none")), nil
}
