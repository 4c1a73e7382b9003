package lineage

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/fault"
)

// Authorize decides whether the caller in ctx may post lineage events: the
// same rule as telemetry ingestion (ingest.Authorize), since both feed data
// from machines. A token restricted to scopes needs the "ingest" scope,
// whatever its role; an unrestricted credential needs OPERATOR or higher.
func Authorize(ctx context.Context) (*auth.Principal, error) {
	p, err := auth.RequireIngest(ctx, "posting lineage")
	if err != nil {
		return nil, err
	}
	// A host agent's credential carries the ingest scope for its own samples,
	// but lineage is about jobs and datasets, not the machine: a stolen host
	// credential must not be able to rewrite the lineage graph.
	if p.HostID != 0 {
		return nil, fault.Forbiddenf("posting lineage needs an ingest token; a host's own credential reports about its machine only")
	}
	return p, nil
}

// MaxBodyBytes bounds one request's body (a batch of events).
const MaxBodyBytes = 32 << 20

// batchEvents is how many events one transaction stores.
const batchEvents = 100

// maxErrors bounds the errors and problems a response lists.
const maxErrors = 100

// EventError is why one event of a request was refused.
type EventError struct {
	// Index is the event's position among the request's events, from 0 (blank
	// NDJSON lines are not counted).
	Index   int    `json:"index"`
	Field   string `json:"field"`
	Message string `json:"message"`
}

// EventProblem is a facet of a stored event that was invalid and left out.
type EventProblem struct {
	Index   int    `json:"index"`
	Problem string `json:"problem"`
}

// Response is the body of every answer of the endpoint.
type Response struct {
	Accepted   int            `json:"accepted"`
	Duplicates int            `json:"duplicates"`
	Rejected   int            `json:"rejected"`
	Errors     []EventError   `json:"errors"`
	Problems   []EventProblem `json:"problems"`
	// Error is set when the request as a whole failed.
	Error string `json:"error,omitempty"`
}

type handler struct {
	store  *Store
	logger *slog.Logger
}

// NewHTTPHandler returns the OpenLineage endpoint (POST /api/v1/lineage, the
// path Marquez serves, so OpenLineage clients need only its URL). It takes one
// event as a JSON object (application/json, as Marquez), a JSON array of
// events, or NDJSON (application/x-ndjson, one event a line). Each event is
// validated and stored on its own, atomically; the response counts what was
// accepted, recognised as a duplicate and refused, and lists refusals by
// field and invalid facets (whose events were stored without them).
//
// Status: 201 for one event stored, 200 for a batch with any event stored or
// recognised, 400 when nothing in the request could be stored, 401/403 for
// credentials, 413 for a body over MaxBodyBytes, 500 when the database failed
// (the counts say what was stored before).
func NewHTTPHandler(store *Store, logger *slog.Logger) http.Handler {
	return &handler{store: store, logger: logger}
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	resp := &Response{Errors: []EventError{}, Problems: []EventProblem{}}
	status := h.serve(w, r, resp)
	level := slog.LevelInfo
	if status >= 500 {
		level = slog.LevelError
	} else if status >= 400 {
		level = slog.LevelWarn
	}
	h.logger.LogAttrs(r.Context(), level, "lineage request", slog.Int("status", status), slog.Int("accepted", resp.Accepted),
		slog.Int("duplicates", resp.Duplicates), slog.Int("rejected", resp.Rejected), slog.String("problem", resp.Error),
		slog.Int64("duration_ms", time.Since(start).Milliseconds()))
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="tesla"`)
	}
	if status == http.StatusMethodNotAllowed {
		w.Header().Set("Allow", http.MethodPost)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(resp)
}

func (h *handler) serve(w http.ResponseWriter, r *http.Request, resp *Response) int {
	ctx := r.Context()
	if r.Method != http.MethodPost {
		resp.Error = "use POST"
		return http.StatusMethodNotAllowed
	}
	if _, err := Authorize(ctx); err != nil {
		resp.Error = err.Error()
		if fault.Is(err, fault.Unauthenticated) {
			return http.StatusUnauthorized
		}
		return http.StatusForbidden
	}
	ndjson := false
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		switch {
		case err != nil:
			resp.Error = fmt.Sprintf("bad Content-Type %q: send application/json or application/x-ndjson", ct)
			return http.StatusUnsupportedMediaType
		case mt == "application/json":
		case mt == "application/x-ndjson" || mt == "application/ndjson" || mt == "application/jsonl":
			ndjson = true
		default:
			resp.Error = fmt.Sprintf("unsupported Content-Type %q: send application/json (one event or an array) or application/x-ndjson", mt)
			return http.StatusUnsupportedMediaType
		}
	}
	var rd io.Reader = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	switch strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))) {
	case "", "identity":
	case "gzip", "x-gzip": // the OpenLineage clients' compression option
		gz, err := gzip.NewReader(rd)
		if err != nil {
			resp.Error = fmt.Sprintf("the body is not gzip data (%v) although Content-Encoding says gzip", err)
			return http.StatusBadRequest
		}
		defer gz.Close()
		// Bound the inflated body too, so a small gzip bomb cannot.
		rd = io.LimitReader(gz, MaxBodyBytes+1)
	default:
		resp.Error = fmt.Sprintf("unsupported Content-Encoding %q: send gzip or nothing", r.Header.Get("Content-Encoding"))
		return http.StatusUnsupportedMediaType
	}
	body, err := io.ReadAll(rd)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			resp.Error = fmt.Sprintf("request body over the limit of %d bytes: split it", MaxBodyBytes)
			return http.StatusRequestEntityTooLarge
		}
		resp.Error = fmt.Sprintf("the request body ended early or is corrupt: %v", err)
		return http.StatusBadRequest
	}
	if len(body) > MaxBodyBytes {
		resp.Error = fmt.Sprintf("decompressed request body over the limit of %d bytes: split it", MaxBodyBytes)
		return http.StatusRequestEntityTooLarge
	}
	events, single, err := split(body, ndjson)
	if err != nil {
		resp.Error = err.Error()
		return http.StatusBadRequest
	}
	// Parse everything first, then store the valid events in chunks of
	// batchEvents, one transaction each.
	type parsed struct {
		index int
		ev    *Event
	}
	valid := make([]parsed, 0, len(events))
	for i, raw := range events {
		ev, err := Parse(raw)
		if err != nil {
			resp.Rejected++
			var fe *FieldError
			if !errors.As(err, &fe) {
				fe = &FieldError{Field: "$", Message: err.Error()}
			}
			if len(resp.Errors) < maxErrors {
				resp.Errors = append(resp.Errors, EventError{Index: i, Field: fe.Field, Message: fe.Message})
			}
			continue
		}
		valid = append(valid, parsed{i, ev})
	}
	for start := 0; start < len(valid); start += batchEvents {
		chunk := valid[start:min(start+batchEvents, len(valid))]
		evs := make([]*Event, len(chunk))
		for i, p := range chunk {
			evs[i] = p.ev
		}
		dups, err := h.store.ApplyBatch(ctx, evs)
		if err != nil {
			h.logger.ErrorContext(ctx, "error storing lineage events", slog.Int("from_index", chunk[0].index), slog.Any("error", err))
			resp.Error = fmt.Sprintf("internal error while storing events; the events before index %d were stored "+
				"(the counts say how many), send the rest again", chunk[0].index)
			if ctx.Err() != nil {
				resp.Error = fmt.Sprintf("request canceled; the events before index %d were stored, send the rest again", chunk[0].index)
			}
			return http.StatusInternalServerError
		}
		for i, p := range chunk {
			if dups[i] {
				resp.Duplicates++
				continue
			}
			resp.Accepted++
			for _, pr := range p.ev.Problems {
				if len(resp.Problems) < maxErrors {
					resp.Problems = append(resp.Problems, EventProblem{Index: p.index, Problem: pr})
				}
			}
		}
	}
	switch {
	case resp.Accepted+resp.Duplicates == 0:
		if resp.Rejected == 0 {
			resp.Error = "no events in the request"
		} else if single {
			resp.Error = "event refused: " + resp.Errors[0].Field + ": " + resp.Errors[0].Message
		} else {
			resp.Error = "every event was refused"
		}
		return http.StatusBadRequest
	case single && resp.Accepted == 1:
		return http.StatusCreated
	}
	return http.StatusOK
}

// split cuts a body into raw events: NDJSON by lines, JSON as one object or an
// array of them. single reports a lone JSON object (Marquez's form).
func split(body []byte, ndjson bool) (events []json.RawMessage, single bool, err error) {
	trimmed := bytes.TrimSpace(body)
	if !ndjson {
		switch {
		case len(trimmed) == 0:
			return nil, false, errors.New("empty body: send an OpenLineage event")
		case trimmed[0] == '[':
			if err := json.Unmarshal(trimmed, &events); err != nil {
				return nil, false, fmt.Errorf("malformed JSON array of events: %v", err)
			}
			return events, false, nil
		case trimmed[0] == '{':
			if !json.Valid(trimmed) {
				return nil, true, fmt.Errorf("malformed JSON: %v", json.Unmarshal(trimmed, new(any)))
			}
			return []json.RawMessage{trimmed}, true, nil
		}
		return nil, false, errors.New("the body must be a JSON object (an event) or an array of events")
	}
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(make([]byte, 0, 64<<10), MaxBodyBytes)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		events = append(events, json.RawMessage(bytes.Clone(line)))
	}
	return events, false, sc.Err()
}
