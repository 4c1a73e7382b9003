package agent

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/teslaops/tesla/internal/agenttask"
)

// Version is the agent's version, sent at registration and in heartbeats.
const Version = "0.1.0"

// Client speaks the agent protocol (docs/agent.md) to the server.
type Client struct {
	base string
	http *http.Client
	// long serves long polls, which outlast the per-request timeout: their
	// context bounds them instead.
	long    *http.Client
	timeout time.Duration
}

// NewClient returns a client of the server at base (http://host:port).
func NewClient(base string, timeout time.Duration) *Client {
	return &Client{base: strings.TrimRight(base, "/"), http: &http.Client{Timeout: timeout}, long: &http.Client{}, timeout: timeout}
}

// HTTPError is a non-2xx answer, with the protocol's error body.
type HTTPError struct {
	Status     int
	Message    string
	Field      string
	RetryAfter time.Duration
}

func (e *HTTPError) Error() string {
	msg := fmt.Sprintf("server answered %d", e.Status)
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if e.Field != "" {
		msg += " (field " + e.Field + ")"
	}
	return msg
}

// Retryable reports whether err may go away by itself: no answer at all (the
// server is down or unreachable), 5xx, 429 or 408. Everything else is the
// request's fault, or the credential's.
func Retryable(err error) bool {
	var he *HTTPError
	if !errors.As(err, &he) {
		return err != nil && !errors.Is(err, context.Canceled)
	}
	return he.Status >= 500 || he.Status == http.StatusTooManyRequests || he.Status == http.StatusRequestTimeout ||
		he.Status == statusRequestCanceled
}

// statusRequestCanceled is the server's answer to a request whose context
// ended while it was processed — a server shutting down cancels the requests
// in flight. Part of the batch may be stored; ingestion is idempotent, so the
// batch is sent again rather than dropped.
const statusRequestCanceled = 499

// Unauthorized reports whether err is a 401: the credential is wrong,
// expired or revoked.
func Unauthorized(err error) bool {
	var he *HTTPError
	return errors.As(err, &he) && he.Status == http.StatusUnauthorized
}

// ComponentSpec is a component the server says this host runs, and how to
// check it: a regular expression over /proc/PID/cmdline, a systemd unit, or
// both.
type ComponentSpec struct {
	Service   string `json:"service"`
	Component string `json:"component"`
	Process   string `json:"process"`
	Unit      string `json:"unit"`
}

// Registration is the answer to register.
type Registration struct {
	HostID                   int64           `json:"host_id"`
	Hostname                 string          `json:"hostname"`
	Cluster                  string          `json:"cluster"`
	Credential               string          `json:"credential"`
	SampleIntervalSeconds    int             `json:"sample_interval_seconds"`
	HeartbeatIntervalSeconds int             `json:"heartbeat_interval_seconds"`
	Components               []ComponentSpec `json:"components"`
}

// ComponentState is a component's state as the heartbeat reports it.
type ComponentState struct {
	Service   string `json:"service"`
	Component string `json:"component"`
	State     string `json:"state"`
	Detail    string `json:"detail"`
}

// Heartbeat is the heartbeat body.
type Heartbeat struct {
	TS           string           `json:"ts"`
	AgentVersion string           `json:"agent_version"`
	Components   []ComponentState `json:"components"`
	Spool        SpoolStats       `json:"spool"`
}

// HeartbeatAnswer is the answer to a heartbeat: the server's current
// intervals and component list.
type HeartbeatAnswer struct {
	HeartbeatIntervalSeconds int             `json:"heartbeat_interval_seconds"`
	SampleIntervalSeconds    int             `json:"sample_interval_seconds"`
	Components               []ComponentSpec `json:"components"`
}

// IngestAnswer is the ingestion endpoint's answer.
type IngestAnswer struct {
	Accepted   int64 `json:"accepted"`
	Duplicates int64 `json:"duplicates"`
	Rejected   int64 `json:"rejected"`
	Lines      int64 `json:"lines"`
	Errors     []struct {
		Line   int64  `json:"line"`
		Field  string `json:"field"`
		Reason string `json:"reason"`
	} `json:"errors"`
}

// Fault is a hardware fault report.
type Fault struct {
	Hostname   string `json:"hostname,omitempty"`
	Component  string `json:"component"`
	Kind       string `json:"kind"`
	Severity   string `json:"severity"`
	DetectedAt string `json:"detected_at"`
	Source     string `json:"source"`
	SourceRef  string `json:"source_ref"`
	Detail     string `json:"detail"`
}

// FaultsAnswer is the hardware fault endpoint's answer.
type FaultsAnswer struct {
	Accepted   int `json:"accepted"`
	Duplicates int `json:"duplicates"`
	Errors     []struct {
		Index int    `json:"index"`
		Field string `json:"field"`
		Error string `json:"error"`
	} `json:"errors"`
}

// Register registers the machine with an enrollment token.
func (c *Client) Register(ctx context.Context, token string, f Facts) (Registration, error) {
	var r Registration
	err := c.postJSON(ctx, "/api/v1/agents/register", token, f, &r)
	if err == nil && (r.Credential == "" || r.Hostname == "") {
		err = errors.New("the server's registration answer has no credential or hostname")
	}
	return r, err
}

// Heartbeat sends a heartbeat with the host credential.
func (c *Client) Heartbeat(ctx context.Context, cred string, hb Heartbeat) (HeartbeatAnswer, error) {
	var a HeartbeatAnswer
	return a, c.postJSON(ctx, "/api/v1/agents/heartbeat", cred, hb, &a)
}

// Faults reports hardware faults with the host credential.
func (c *Client) Faults(ctx context.Context, cred string, faults []Fault) (FaultsAnswer, error) {
	var a FaultsAnswer
	return a, c.postJSON(ctx, "/api/v1/hardware/faults", cred, map[string]any{"faults": faults}, &a)
}

// Samples posts NDJSON sample lines with the host credential.
func (c *Client) Samples(ctx context.Context, cred string, ndjson []byte) (IngestAnswer, error) {
	var a IngestAnswer
	return a, c.post(ctx, "/api/v1/metrics/hosts", cred, "application/x-ndjson", ndjson, &a)
}

// PollTasks waits up to wait for the host's next task and claims it; none
// (nil) when the wait ended without one (204).
func (c *Client) PollTasks(ctx context.Context, cred string, wait time.Duration) ([]agenttask.Claimed, error) {
	ctx, cancel := context.WithTimeout(ctx, wait+c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/api/v1/agents/tasks?max=1&wait="+wait.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", "tesla-agent/"+Version)
	req.Header.Set("Authorization", "Bearer "+cred)
	resp, err := c.long.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, fmt.Errorf("error reading the answer to GET /api/v1/agents/tasks: %w", err)
	}
	if resp.StatusCode == http.StatusNoContent {
		return nil, nil
	}
	if resp.StatusCode/100 != 2 {
		return nil, answerError(resp, raw)
	}
	var p agenttask.Poll
	if err := json.Unmarshal(raw, &p); err != nil {
		return nil, fmt.Errorf("the answer to GET /api/v1/agents/tasks is not the expected JSON: %w", err)
	}
	return p.Tasks, nil
}

// ReportTask reports a task's progress or end.
func (c *Client) ReportTask(ctx context.Context, cred string, id int64, rep agenttask.Report) (agenttask.ReportAnswer, error) {
	var a agenttask.ReportAnswer
	return a, c.postJSON(ctx, "/api/v1/agents/tasks/"+strconv.FormatInt(id, 10)+"/report", cred, rep, &a)
}

func (c *Client) postJSON(ctx context.Context, path, secret string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	return c.post(ctx, path, secret, "application/json", b, out)
}

func (c *Client) post(ctx context.Context, path, secret, contentType string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("User-Agent", "tesla-agent/"+Version)
	req.Header.Set("Authorization", "Bearer "+secret)
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("error reading the answer to POST %s: %w", path, err)
	}
	if resp.StatusCode/100 != 2 {
		return answerError(resp, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("the answer to POST %s is not the expected JSON: %w", path, err)
		}
	}
	return nil
}

// answerError reads a non-2xx answer's error body.
func answerError(resp *http.Response, raw []byte) *HTTPError {
	he := &HTTPError{Status: resp.StatusCode}
	var eb struct {
		Error   string `json:"error"`
		Message string `json:"message"`
		Field   string `json:"field"`
	}
	if json.Unmarshal(raw, &eb) == nil {
		he.Message, he.Field = cmp.Or(eb.Error, eb.Message), eb.Field
	} else {
		he.Message = strings.TrimSpace(string(raw[:min(len(raw), 300)]))
	}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
		he.RetryAfter = time.Duration(s) * time.Second
	}
	return he
}
