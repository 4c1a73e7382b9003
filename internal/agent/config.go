package agent

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Config is the agent's configuration: flags, most with an environment
// variable of the same meaning (the flag wins). The intervals have flags
// only: they are the server's policy (TESLA_AGENT_*_INTERVAL of serve), which
// a flag overrides on one host.
type Config struct {
	// Server is the portal's base URL (http://tesla.example:8080).
	Server string
	// EnrollToken (or the content of EnrollTokenFile) registers the host
	// when it has no credential, or when its credential is refused.
	EnrollToken     string
	EnrollTokenFile string
	// StateDir holds the host credential and the spool.
	StateDir string
	// Hostname overrides the kernel's host name (containers, tests).
	Hostname string
	// SampleInterval and HeartbeatInterval are the server's unless set here
	// (SampleIntervalSet, HeartbeatIntervalSet).
	SampleInterval       time.Duration
	SampleIntervalSet    bool
	HeartbeatInterval    time.Duration
	HeartbeatIntervalSet bool
	// HardwareInterval is how often hardware error counters are read.
	HardwareInterval time.Duration
	// SpoolMaxBytes bounds the on-disk queue of unsent samples.
	SpoolMaxBytes int64
	// Timeout bounds each request to the server.
	Timeout time.Duration
	// Paths are the /proc, /sys and /etc the host is read from.
	Paths Paths
	// ServicesRoot is where tasks install services (<root>/<service>/<version>,
	// current, run/); empty: the agent takes no tasks.
	ServicesRoot string
	// TaskWait is how long one poll for tasks waits on the server (default 30s).
	TaskWait time.Duration
	// RebootCommand is what a REBOOT task runs (default "systemctl reboot"):
	// the program and its arguments.
	RebootCommand []string
}

// String prints the configuration without its secret.
func (c Config) String() string {
	tok := ""
	if c.EnrollToken != "" {
		tok = "[redacted]"
	}
	return fmt.Sprintf("server=%s enroll_token=%s enroll_token_file=%s state_dir=%s hostname=%s sample_interval=%s heartbeat_interval=%s spool_max_bytes=%d services_root=%s task_wait=%s reboot_command=%q",
		c.Server, tok, c.EnrollTokenFile, c.StateDir, c.Hostname, c.SampleInterval, c.HeartbeatInterval, c.SpoolMaxBytes, c.ServicesRoot, c.TaskWait,
		strings.Join(c.RebootCommand, " "))
}

// Defaults.
const (
	DefaultStateDir          = "/var/lib/tesla-agent"
	DefaultSampleInterval    = time.Minute
	DefaultHeartbeatInterval = 15 * time.Second
	DefaultSpoolMaxBytes     = 64 << 20
	DefaultServicesRoot      = "/var/lib/tesla-agent/services"
	DefaultTaskWait          = 30 * time.Second
	DefaultRebootCommand     = "systemctl reboot"
)

// Usage is the agent's flag summary for `tesla help`.
const Usage = `  agent --server URL [--enroll-token T | --enroll-token-file F] [--state-dir D] [--hostname H]
        [--sample-interval 60s] [--heartbeat-interval 15s] [--spool-max-bytes N]
        [--services-root D] [--task-wait 30s] [--reboot-command "systemctl reboot"]
                                    run the host agent (docs/agent.md)`

// LoadConfig parses the agent's flags over its environment variables.
func LoadConfig(args []string, getenv func(string) string) (Config, error) {
	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	env := func(name, def string) string { return cmp.Or(getenv(name), def) }
	var c Config
	var sample, beat, hw, timeout string
	var spool, taskWait, reboot string
	fs.StringVar(&c.Server, "server", env("TESLA_AGENT_SERVER", ""), "the portal's URL (TESLA_AGENT_SERVER)")
	fs.StringVar(&c.EnrollToken, "enroll-token", env("TESLA_AGENT_ENROLL_TOKEN", ""), "enrollment token (TESLA_AGENT_ENROLL_TOKEN)")
	fs.StringVar(&c.EnrollTokenFile, "enroll-token-file", env("TESLA_AGENT_ENROLL_TOKEN_FILE", ""), "file holding the enrollment token (TESLA_AGENT_ENROLL_TOKEN_FILE)")
	fs.StringVar(&c.StateDir, "state-dir", env("TESLA_AGENT_STATE_DIR", DefaultStateDir), "credential and spool directory (TESLA_AGENT_STATE_DIR)")
	fs.StringVar(&c.Hostname, "hostname", env("TESLA_AGENT_HOSTNAME", ""), "host name to register as (TESLA_AGENT_HOSTNAME; default the kernel's)")
	fs.StringVar(&sample, "sample-interval", "", "time between samples (default the server's, 60s)")
	fs.StringVar(&beat, "heartbeat-interval", "", "time between heartbeats (default the server's, 15s)")
	fs.StringVar(&hw, "hardware-interval", env("TESLA_AGENT_HARDWARE_INTERVAL", "5m"), "time between hardware error checks (TESLA_AGENT_HARDWARE_INTERVAL)")
	fs.StringVar(&spool, "spool-max-bytes", env("TESLA_AGENT_SPOOL_MAX_BYTES", strconv.Itoa(DefaultSpoolMaxBytes)), "bound of the on-disk spool (TESLA_AGENT_SPOOL_MAX_BYTES)")
	fs.StringVar(&timeout, "timeout", env("TESLA_AGENT_TIMEOUT", "30s"), "timeout of each request (TESLA_AGENT_TIMEOUT)")
	fs.StringVar(&c.ServicesRoot, "services-root", env("TESLA_AGENT_SERVICES_ROOT", DefaultServicesRoot), "where tasks install services; \"\" takes no tasks (TESLA_AGENT_SERVICES_ROOT)")
	fs.StringVar(&taskWait, "task-wait", env("TESLA_AGENT_TASK_WAIT", "30s"), "how long one poll for tasks waits (TESLA_AGENT_TASK_WAIT)")
	fs.StringVar(&reboot, "reboot-command", env("TESLA_AGENT_REBOOT_COMMAND", DefaultRebootCommand), "what a REBOOT task runs, split on spaces (TESLA_AGENT_REBOOT_COMMAND)")
	fs.StringVar(&c.Paths.Proc, "proc", env("TESLA_AGENT_PROC", "/proc"), "procfs root (TESLA_AGENT_PROC)")
	fs.StringVar(&c.Paths.Sys, "sys", env("TESLA_AGENT_SYS", "/sys"), "sysfs root (TESLA_AGENT_SYS)")
	fs.StringVar(&c.Paths.Etc, "etc", env("TESLA_AGENT_ETC", "/etc"), "root of os-release (TESLA_AGENT_ETC)")
	if err := fs.Parse(args); err != nil {
		var names []string
		fs.VisitAll(func(f *flag.Flag) { names = append(names, "--"+f.Name) })
		return Config{}, fmt.Errorf("agent: %w (flags: %s)", err, strings.Join(names, " "))
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("agent: unexpected argument %q", fs.Arg(0))
	}
	var errs []error
	dur := func(flagName, v string, def time.Duration) (time.Duration, bool) {
		if v == "" {
			return def, false
		}
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second {
			errs = append(errs, fmt.Errorf("--%s: %q is not a duration of at least 1s (e.g. 60s)", flagName, v))
		}
		return d, true
	}
	c.SampleInterval, c.SampleIntervalSet = dur("sample-interval", sample, DefaultSampleInterval)
	c.HeartbeatInterval, c.HeartbeatIntervalSet = dur("heartbeat-interval", beat, DefaultHeartbeatInterval)
	c.HardwareInterval, _ = dur("hardware-interval", hw, 5*time.Minute)
	c.Timeout, _ = dur("timeout", timeout, 30*time.Second)
	c.TaskWait, _ = dur("task-wait", taskWait, DefaultTaskWait)
	if c.TaskWait > time.Minute {
		errs = append(errs, fmt.Errorf("--task-wait: %s is over the server's bound of 1m", c.TaskWait))
	}
	n, err := strconv.ParseInt(spool, 10, 64)
	switch {
	case err != nil:
		errs = append(errs, fmt.Errorf("--spool-max-bytes: %q is not a number of bytes", spool))
	case n < 64<<10:
		errs = append(errs, fmt.Errorf("--spool-max-bytes: %d is too small (at least 65536)", n))
	}
	c.SpoolMaxBytes = n
	if c.RebootCommand = strings.Fields(reboot); len(c.RebootCommand) == 0 {
		errs = append(errs, errors.New("--reboot-command is empty: give the command that restarts the machine"))
	}
	if u, err := url.Parse(c.Server); c.Server == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("--server: %q is not the portal's http(s) URL (e.g. https://tesla.example)", c.Server))
	}
	if c.EnrollToken != "" && c.EnrollTokenFile != "" {
		errs = append(errs, errors.New("--enroll-token and --enroll-token-file: give one, not both"))
	}
	if c.StateDir == "" {
		errs = append(errs, errors.New("--state-dir is required"))
	}
	if c.Hostname == "" {
		h, err := os.Hostname()
		if err != nil {
			errs = append(errs, fmt.Errorf("--hostname: the kernel's host name is unreadable (%v): give one", err))
		}
		c.Hostname = h
	}
	return c, errors.Join(errs...)
}

// enrollToken returns the enrollment token, reading the file each time (an
// operator may put a fresh token there after the old one expired).
func (c Config) enrollToken() (string, error) {
	if c.EnrollTokenFile == "" {
		return c.EnrollToken, nil
	}
	b, err := os.ReadFile(c.EnrollTokenFile)
	if err != nil {
		return "", fmt.Errorf("error reading the enrollment token file: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}
