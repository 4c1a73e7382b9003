// Package agenttask holds the wire types of the tasks a host agent carries
// out: what the server dispatches (Spec), what the agent reports back (Step,
// Report), and the checks both sides apply. The server (internal/agentapi)
// validates a spec before queueing it; the agent (internal/agent) validates it
// again before acting, since it is the one touching the machine.
package agenttask

import (
	"fmt"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Actions a task asks for.
const (
	// ActionDeploy fetches the package version (unless it is already
	// unpacked), writes its configuration, stops the running version,
	// switches the service's current link, starts it and checks its health.
	// Rolling back is a DEPLOY of the previous version.
	ActionDeploy = "DEPLOY"
	// ActionStart starts the service (nothing if it runs) and checks it.
	ActionStart = "START"
	// ActionStop stops the service (nothing if it is stopped).
	ActionStop = "STOP"
	// ActionRestart stops, starts and checks the service.
	ActionRestart = "RESTART"
	// ActionCheck runs the health check only.
	ActionCheck = "CHECK"
	// ActionConfigure writes (and removes) the configuration files and
	// restarts (only writes them with Spec.NoRestart).
	ActionConfigure = "CONFIGURE"
	// ActionReboot restarts the machine with the agent's reboot command
	// (its configuration; default "systemctl reboot"). It names no service.
	// The agent reports it done once the command returned; an agent that
	// finds it unfinished in its journal after the machine booted reports it
	// done too: that boot was the reboot.
	ActionReboot = "REBOOT"
)

// Actions lists every action.
var Actions = []string{ActionDeploy, ActionStart, ActionStop, ActionRestart, ActionCheck, ActionConfigure, ActionReboot}

// Task states. QUEUED → CLAIMED (an agent took it) → RUNNING (first report)
// → SUCCEEDED | FAILED; any unfinished state → EXPIRED (deadline passed, or the
// agent stopped reporting past its lease).
const (
	StateQueued    = "QUEUED"
	StateClaimed   = "CLAIMED"
	StateRunning   = "RUNNING"
	StateSucceeded = "SUCCEEDED"
	StateFailed    = "FAILED"
	StateExpired   = "EXPIRED"
)

// Final reports whether state ends a task.
func Final(state string) bool {
	return state == StateSucceeded || state == StateFailed || state == StateExpired
}

// Step states.
const (
	StepRunning = "RUNNING"
	StepOK      = "OK"
	StepSkipped = "SKIPPED"
	StepFailed  = "FAILED"
)

// Source kinds.
const (
	SourceTar = "TAR"
	SourceGit = "GIT"
)

// Health check kinds.
const (
	HealthHTTP    = "HTTP"
	HealthTCP     = "TCP"
	HealthCommand = "COMMAND"
)

// Bounds of what a task carries, so a row and a report stay small whatever
// an agent sends.
const (
	MaxSteps      = 50
	MaxStepOutput = 2 << 10
	MaxOutput     = 8 << 10
	MaxConfig     = 64
	MaxConfigSize = 256 << 10
	// DefaultTimeout is a task's whole life, from dispatch to its end.
	DefaultTimeout = 30 * time.Minute
	MaxTimeout     = 24 * time.Hour
)

// Spec is one task: what the agent does, to which service.
type Spec struct {
	// Action is one of Actions.
	Action string `json:"action"`
	// Service names the directory <root>/<service> the agent keeps the
	// service's versions in (letters, digits, '.', '_', '-').
	Service string `json:"service"`
	// Version is the version to deploy (DEPLOY), or whose configuration to
	// write (CONFIGURE; default the current one). Same alphabet as Service.
	Version string `json:"version,omitempty"`
	// Source is where DEPLOY fetches the package from.
	Source *Source `json:"source,omitempty"`
	// Process is how the agent runs the service itself; Unit names a systemd
	// unit instead (START, STOP and RESTART then go through systemctl).
	Process *Process `json:"process,omitempty"`
	Unit    string   `json:"unit,omitempty"`
	// Config are files written into the version's directory.
	Config []File `json:"config,omitempty"`
	// Remove are files deleted from the version's directory (CONFIGURE
	// only), at paths relative to it: configuration files a new
	// configuration version no longer has, which would otherwise stay and be
	// read at the next restart. A file already absent is not an error.
	Remove []string `json:"remove,omitempty"`
	// NoRestart makes a CONFIGURE only write the files, leaving the service
	// running as it is: it reads them at its next restart (CONFIG_APPLY
	// writes a batch's files, then restarts it in a later stage).
	NoRestart bool `json:"no_restart,omitempty"`
	// Health is the check run after a start, and by CHECK.
	Health *HealthCheck `json:"health,omitempty"`
	// TimeoutSeconds bounds the task from dispatch to end (default 1800):
	// past it, a task not finished is EXPIRED.
	TimeoutSeconds int `json:"timeout_seconds,omitempty"`
}

// Source is a package's origin.
type Source struct {
	// Kind is TAR (a tar archive, gzip-compressed or not) or GIT.
	Kind string `json:"kind"`
	// Location is an http(s) URL or a local path (TAR); a repository URL or
	// path (GIT).
	Location string `json:"location"`
	// Ref is the branch, tag or commit to check out (GIT).
	Ref string `json:"ref,omitempty"`
	// Checksum is "sha256:<hex>" of the archive (TAR, required): verified
	// before anything is unpacked.
	Checksum string `json:"checksum,omitempty"`
}

// Process is a command the agent starts in the service's current version
// directory, detached from itself (so it survives an agent restart), tracked
// by a pid file.
type Process struct {
	// Command is the program and its arguments; a relative program is taken
	// in the version directory.
	Command []string `json:"command"`
	// Env is added to the agent's environment.
	Env map[string]string `json:"env,omitempty"`
	// StopTimeoutSeconds is how long a stop waits after SIGTERM before
	// SIGKILL (default 10).
	StopTimeoutSeconds int `json:"stop_timeout_seconds,omitempty"`
}

// File is a configuration file, at Path relative to the version directory
// (never outside it).
type File struct {
	Path    string `json:"path"`
	Content string `json:"content"`
	// Mode is the file's permission bits (default 0644).
	Mode uint32 `json:"mode,omitempty"`
}

// HealthCheck says how to tell the service works.
type HealthCheck struct {
	// Kind is HTTP (GET URL answers 2xx, and its body contains Expect when
	// given), TCP (Address accepts a connection) or COMMAND (exits 0).
	Kind    string   `json:"kind"`
	URL     string   `json:"url,omitempty"`
	Expect  string   `json:"expect,omitempty"`
	Address string   `json:"address,omitempty"`
	Command []string `json:"command,omitempty"`
	// TimeoutMS bounds one attempt (default 5000); Attempts (default 10)
	// are IntervalMS apart (default 1000).
	TimeoutMS  int `json:"timeout_ms,omitempty"`
	Attempts   int `json:"attempts,omitempty"`
	IntervalMS int `json:"interval_ms,omitempty"`
}

// Step is one step of a task, as the agent reports it.
type Step struct {
	Name       string     `json:"name"`
	State      string     `json:"state"`
	Output     string     `json:"output,omitempty"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
}

// Report is what an agent posts about a task: its state, every step so far
// (the whole list each time, so a report sent twice changes nothing), and at
// the end its output and error.
type Report struct {
	State  string `json:"state"`
	Steps  []Step `json:"steps"`
	Output string `json:"output,omitempty"`
	Error  string `json:"error,omitempty"`
}

// ReportAnswer is the server's answer to a report.
type ReportAnswer struct {
	// State is the task's state after the report.
	State string `json:"state"`
	// Cancel asks the agent to stop the task (and report it FAILED).
	Cancel bool `json:"cancel"`
	// LeaseSeconds is how long the task lives without another report.
	LeaseSeconds int `json:"lease_seconds"`
}

// Claimed is a task as an agent receives it.
type Claimed struct {
	ID           int64     `json:"id"`
	Spec         Spec      `json:"spec"`
	LeaseSeconds int       `json:"lease_seconds"`
	Deadline     time.Time `json:"deadline"`
}

// Poll is the 200 answer to an agent's poll.
type Poll struct {
	Tasks []Claimed `json:"tasks"`
}

// FieldError is a spec's fault, naming the field (e.g. "spec.source.checksum").
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Message + " (field " + e.Field + ")" }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

var (
	nameRE     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$`)
	checksumRE = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
	unitRE     = regexp.MustCompile(`^[A-Za-z0-9:_.@-]{1,200}$`)
)

// Validate checks the spec, naming the first field at fault (prefixed with
// "spec.").
func (s *Spec) Validate() error {
	switch {
	case !slices.Contains(Actions, s.Action):
		return fieldErr("spec.action", "action %q: use %s", s.Action, strings.Join(Actions, ", "))
	case s.Action == ActionReboot && s.Service != "":
		return fieldErr("spec.service", "REBOOT restarts the machine: it names no service")
	case s.Action != ActionReboot && !nameRE.MatchString(s.Service):
		return fieldErr("spec.service", "service %q must be 1-100 letters, digits, '.', '_' or '-', not starting with '.'", s.Service)
	case s.Version != "" && !nameRE.MatchString(s.Version):
		return fieldErr("spec.version", "version %q must be 1-100 letters, digits, '.', '_' or '-', not starting with '.'", s.Version)
	case s.Version == "current":
		return fieldErr("spec.version", "version may not be %q: the agent's link has that name", s.Version)
	case s.TimeoutSeconds < 0 || time.Duration(s.TimeoutSeconds)*time.Second > MaxTimeout:
		return fieldErr("spec.timeout_seconds", "timeout_seconds must be 0 (default 1800) to %d", int(MaxTimeout/time.Second))
	case s.Unit != "" && !unitRE.MatchString(s.Unit):
		return fieldErr("spec.unit", "unit %q is not a systemd unit name", s.Unit)
	case s.Unit != "" && s.Process != nil:
		return fieldErr("spec.unit", "give unit or process, not both")
	}
	switch s.Action {
	case ActionDeploy:
		if s.Version == "" {
			return fieldErr("spec.version", "DEPLOY needs the version")
		}
		if s.Source == nil {
			return fieldErr("spec.source", "DEPLOY needs the source of the package")
		}
		if err := s.Source.validate(); err != nil {
			return err
		}
	case ActionCheck:
		if s.Health == nil {
			return fieldErr("spec.health", "CHECK needs a health check")
		}
	case ActionConfigure:
		if len(s.Config) == 0 && len(s.Remove) == 0 {
			return fieldErr("spec.config", "CONFIGURE needs files to write or remove")
		}
	}
	if len(s.Remove) > 0 && s.Action != ActionConfigure {
		return fieldErr("spec.remove", "only CONFIGURE removes configuration files")
	}
	if s.NoRestart && s.Action != ActionConfigure {
		return fieldErr("spec.no_restart", "no_restart is for CONFIGURE")
	}
	if s.Action == ActionReboot && (s.Process != nil || s.Unit != "" || len(s.Config) > 0 || len(s.Remove) > 0 || s.Health != nil || s.Version != "") {
		return fieldErr("spec.action", "REBOOT takes no version, process, unit, configuration or health check")
	}
	if s.Action == ActionDeploy || s.Action == ActionStart || s.Action == ActionRestart || s.Action == ActionConfigure && !s.NoRestart {
		if s.Process == nil && s.Unit == "" {
			return fieldErr("spec.process", "%s needs a process (command) or a unit to run", s.Action)
		}
	}
	if s.Action != ActionDeploy && s.Source != nil {
		return fieldErr("spec.source", "only DEPLOY fetches a source")
	}
	if p := s.Process; p != nil {
		if len(p.Command) == 0 || p.Command[0] == "" {
			return fieldErr("spec.process.command", "the command is empty")
		}
		if p.StopTimeoutSeconds < 0 || p.StopTimeoutSeconds > 3600 {
			return fieldErr("spec.process.stop_timeout_seconds", "stop_timeout_seconds must be 0 (default 10) to 3600")
		}
		for k := range p.Env {
			if k == "" || strings.ContainsAny(k, "=\x00") {
				return fieldErr("spec.process.env", "environment name %q is not valid", k)
			}
		}
	}
	if len(s.Config) > MaxConfig {
		return fieldErr("spec.config", "at most %d files, got %d", MaxConfig, len(s.Config))
	}
	for i, f := range s.Config {
		field := fmt.Sprintf("spec.config[%d]", i)
		if _, err := CleanRelative(f.Path); err != nil {
			return fieldErr(field+".path", "%v", err)
		}
		if len(f.Content) > MaxConfigSize {
			return fieldErr(field+".content", "a file is at most %d bytes", MaxConfigSize)
		}
		if f.Mode > 0o777 {
			return fieldErr(field+".mode", "mode %#o is not permission bits", f.Mode)
		}
	}
	if len(s.Remove) > MaxConfig {
		return fieldErr("spec.remove", "at most %d files to remove, got %d", MaxConfig, len(s.Remove))
	}
	written := make(map[string]bool, len(s.Config))
	for _, f := range s.Config {
		c, _ := CleanRelative(f.Path)
		written[c] = true
	}
	for i, p := range s.Remove {
		field := fmt.Sprintf("spec.remove[%d]", i)
		c, err := CleanRelative(p)
		if err != nil {
			return fieldErr(field, "file to remove: %v", err)
		}
		// Writing and removing the same file has no meaning an agent could
		// order safely.
		if written[c] {
			return fieldErr(field, "%q is both written and removed", p)
		}
	}
	if h := s.Health; h != nil {
		if err := h.validate(); err != nil {
			return err
		}
	}
	return nil
}

func (src *Source) validate() error {
	switch src.Kind {
	case SourceTar:
		if !checksumRE.MatchString(src.Checksum) {
			return fieldErr("spec.source.checksum", "a TAR source needs checksum \"sha256:<64 lowercase hex>\"")
		}
		if src.Ref != "" {
			return fieldErr("spec.source.ref", "ref is for GIT sources")
		}
	case SourceGit:
		if src.Ref == "" || strings.HasPrefix(src.Ref, "-") {
			return fieldErr("spec.source.ref", "a GIT source needs the ref (branch, tag or commit) to check out")
		}
		if src.Checksum != "" {
			return fieldErr("spec.source.checksum", "checksum is for TAR sources (a GIT ref is checked out as named)")
		}
	default:
		return fieldErr("spec.source.kind", "source kind %q: use TAR or GIT", src.Kind)
	}
	if src.Location == "" || strings.HasPrefix(src.Location, "-") {
		return fieldErr("spec.source.location", "location is required (a URL or a path)")
	}
	if strings.Contains(src.Location, "://") {
		u, err := url.Parse(src.Location)
		if err != nil || u.Host == "" && u.Scheme != "file" {
			return fieldErr("spec.source.location", "location %q is not a valid URL", src.Location)
		}
		if src.Kind == SourceTar && u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "file" {
			return fieldErr("spec.source.location", "a TAR location is an http(s) URL or a path, not %s", u.Scheme)
		}
	}
	return nil
}

func (h *HealthCheck) validate() error {
	switch h.Kind {
	case HealthHTTP:
		u, err := url.Parse(h.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fieldErr("spec.health.url", "an HTTP check needs an http(s) URL, got %q", h.URL)
		}
	case HealthTCP:
		if h.Address == "" || !strings.Contains(h.Address, ":") {
			return fieldErr("spec.health.address", "a TCP check needs host:port, got %q", h.Address)
		}
	case HealthCommand:
		if len(h.Command) == 0 || h.Command[0] == "" {
			return fieldErr("spec.health.command", "a COMMAND check needs a command")
		}
	default:
		return fieldErr("spec.health.kind", "health kind %q: use HTTP, TCP or COMMAND", h.Kind)
	}
	switch {
	case h.TimeoutMS < 0 || h.TimeoutMS > 600_000:
		return fieldErr("spec.health.timeout_ms", "timeout_ms must be 0 (default 5000) to 600000")
	case h.Attempts < 0 || h.Attempts > 1000:
		return fieldErr("spec.health.attempts", "attempts must be 0 (default 10) to 1000")
	case h.IntervalMS < 0 || h.IntervalMS > 600_000:
		return fieldErr("spec.health.interval_ms", "interval_ms must be 0 (default 1000) to 600000")
	}
	return nil
}

// Timeout is the spec's whole-task bound.
func (s *Spec) Timeout() time.Duration {
	if s.TimeoutSeconds == 0 {
		return DefaultTimeout
	}
	return time.Duration(s.TimeoutSeconds) * time.Second
}

// CleanRelative returns p cleaned, refusing what would leave the directory it
// is relative to: an absolute path, "..", or nothing.
func CleanRelative(p string) (string, error) {
	if p == "" || strings.ContainsRune(p, 0) {
		return "", fmt.Errorf("path %q is empty or not valid", p)
	}
	if path.IsAbs(p) || strings.HasPrefix(p, `\`) {
		return "", fmt.Errorf("path %q is absolute: give it relative to the version directory", p)
	}
	c := path.Clean(p)
	if c == "." || c == ".." || strings.HasPrefix(c, "../") {
		return "", fmt.Errorf("path %q leaves the version directory", p)
	}
	return c, nil
}

// Truncate cuts s to at most max bytes (on a rune boundary), ending with a
// marker saying how much was cut.
func Truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	marker := fmt.Sprintf("\n…[truncated %d bytes]", len(s))
	cut := max - len(marker)
	if cut < 0 {
		cut = 0
	}
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + fmt.Sprintf("\n…[truncated %d bytes]", len(s)-cut)
}

// Bound cuts a report to the bounds a row keeps: MaxSteps steps (the first
// MaxSteps-1 and the last), outputs truncated with a marker.
func (r *Report) Bound() {
	if len(r.Steps) > MaxSteps {
		r.Steps = append(r.Steps[:MaxSteps-1:MaxSteps-1], r.Steps[len(r.Steps)-1])
	}
	for i := range r.Steps {
		r.Steps[i].Output = Truncate(r.Steps[i].Output, MaxStepOutput)
		r.Steps[i].Name = Truncate(r.Steps[i].Name, 100)
	}
	r.Output = Truncate(r.Output, MaxOutput)
	r.Error = Truncate(r.Error, MaxStepOutput)
}
