package hardware

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/fault"
)

// MaxBodyBytes bounds one request's body.
const MaxBodyBytes = 4 << 20

// wireFault is one fault as the agent protocol sends it (docs/agent.md).
type wireFault struct {
	Hostname   string `json:"hostname"`
	Component  string `json:"component"`
	Kind       string `json:"kind"`
	Severity   string `json:"severity"`
	DetectedAt string `json:"detected_at"`
	Source     string `json:"source"`
	SourceRef  string `json:"source_ref"`
	Detail     string `json:"detail"`
}

// Response is the body of every answer of the endpoint.
type Response struct {
	Accepted   int           `json:"accepted"`
	Duplicates int           `json:"duplicates"`
	Errors     []ReportError `json:"errors"`
	// Error and Field are set when the request as a whole was refused.
	Error string `json:"error,omitempty"`
	Field string `json:"field,omitempty"`
}

type handler struct {
	svc    *Service
	logger *slog.Logger
}

// NewHTTPHandler returns POST /api/v1/hardware/faults: a batch of faults from a
// host's agent (its own host only), an ingest-scoped token or an OPERATOR.
// Each fault is stored at most once per (host, source, source_ref), so an
// agent may resend after a lost answer. Faults with bad fields are listed by
// index in errors and the others stored: 200 with the counts. 400 when the
// body is not a batch, 401/403 for credentials, 413 over MaxBodyBytes.
func NewHTTPHandler(svc *Service, logger *slog.Logger) http.Handler {
	return &handler{svc: svc, logger: logger}
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	resp := &Response{Errors: []ReportError{}}
	status := h.serve(r, resp)
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	} else if status >= 400 {
		level = slog.LevelWarn
	}
	h.logger.LogAttrs(r.Context(), level, "hardware faults request", slog.Int("status", status), slog.Int("accepted", resp.Accepted),
		slog.Int("duplicates", resp.Duplicates), slog.Int("refused", len(resp.Errors)), slog.String("problem", resp.Error),
		slog.Int64("duration_ms", time.Since(start).Milliseconds()))
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="tesla"`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(resp)
}

func (h *handler) serve(r *http.Request, resp *Response) int {
	ctx := r.Context()
	if _, err := auth.RequireIngest(ctx, "reporting hardware faults"); err != nil {
		resp.Error = err.Error()
		if fault.Is(err, fault.Unauthenticated) {
			return http.StatusUnauthorized
		}
		return http.StatusForbidden
	}
	var body struct {
		Faults []wireFault `json:"faults"`
	}
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, MaxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&body); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			resp.Error = fmt.Sprintf("the body is larger than %d bytes; send fewer faults per request", MaxBodyBytes)
			return http.StatusRequestEntityTooLarge
		}
		resp.Error, resp.Field = "the body must be a JSON object {\"faults\": [...]}: "+err.Error(), "faults"
		return http.StatusBadRequest
	}
	if body.Faults == nil {
		resp.Error, resp.Field = `the body must hold "faults", a list`, "faults"
		return http.StatusBadRequest
	}
	reports := make([]Report, len(body.Faults))
	var bad []ReportError
	for i, f := range body.Faults {
		reports[i] = Report{Hostname: f.Hostname, Component: f.Component, Kind: f.Kind, Severity: f.Severity, Source: f.Source,
			SourceRef: f.SourceRef, Detail: f.Detail}
		if f.DetectedAt == "" {
			continue // Validate names the missing time
		}
		t, err := time.Parse(time.RFC3339, f.DetectedAt)
		if err != nil {
			bad = append(bad, ReportError{Index: i, Field: "detected_at", Error: fmt.Sprintf("detected_at %q is not RFC 3339 (e.g. 2026-01-02T15:04:05Z)", f.DetectedAt)})
			reports[i].Component = "" // refused below; keeps the index
			continue
		}
		reports[i].DetectedAt = t
	}
	res, err := h.svc.ReportFaults(ctx, auth.SurfaceIngest, reports)
	switch {
	case fault.Is(err, fault.Unauthenticated):
		resp.Error = err.Error()
		return http.StatusUnauthorized
	case fault.Is(err, fault.Forbidden):
		resp.Error = err.Error()
		return http.StatusForbidden
	case err != nil:
		if fe, ok := fault.As(err); ok {
			resp.Error, resp.Field = fe.Message, fe.Field
			return http.StatusBadRequest
		}
		h.logger.ErrorContext(ctx, "error storing hardware faults", "error", err)
		resp.Error = "internal error storing the faults; retry"
		return http.StatusInternalServerError
	}
	resp.Accepted, resp.Duplicates = res.Accepted, res.Duplicates
	resp.Errors = mergeErrors(bad, res.Errors)
	return http.StatusOK
}

// mergeErrors lists the parse errors in place of the validation errors of
// the same faults (a fault refused at parsing fails validation too), by index.
func mergeErrors(parse, validation []ReportError) []ReportError {
	byIndex := map[int]ReportError{}
	for _, e := range validation {
		e.Field = wireField(e.Field)
		byIndex[e.Index] = e
	}
	for _, e := range parse {
		byIndex[e.Index] = e
	}
	out := make([]ReportError, 0, len(byIndex))
	for _, e := range byIndex {
		out = append(out, e)
	}
	sortErrors(out)
	return out
}

// wireField names a report field as the protocol spells it.
func wireField(f string) string {
	switch f {
	case "detectedAt":
		return "detected_at"
	case "sourceRef":
		return "source_ref"
	case "hostId":
		return "hostname"
	}
	return f
}
