package lineage

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgtype"
)

// EventKind is which of OpenLineage's three event types an event is.
type EventKind int

// The event kinds: RunEvent (a run's transition, with the run's lineage),
// JobEvent (a job's static lineage) and DatasetEvent (a dataset's metadata).
const (
	RunEvent EventKind = iota + 1
	JobEvent
	DatasetEvent
)

func (k EventKind) String() string {
	switch k {
	case RunEvent:
		return "RunEvent"
	case JobEvent:
		return "JobEvent"
	case DatasetEvent:
		return "DatasetEvent"
	}
	return "unknown"
}

// runStates maps a RunEvent's eventType to the run state it sets; OTHER sets
// none (it carries metadata only).
var runStates = map[string]string{
	"START":    "RUNNING",
	"RUNNING":  "RUNNING",
	"COMPLETE": "COMPLETED",
	"FAIL":     "FAILED",
	"ABORT":    "ABORTED",
	"OTHER":    "",
}

// Event is one validated OpenLineage event, reduced to what Tesla stores.
type Event struct {
	Kind EventKind
	// Type is the RunEvent's eventType (START, RUNNING, COMPLETE, FAIL, ABORT,
	// OTHER); OTHER when the event did not say.
	Type string
	// Time is eventTime, in UTC when it carried no zone.
	Time  time.Time
	RunID pgtype.UUID
	Job   JobRef
	// Inputs and Outputs are the datasets read and written; Dataset is a
	// DatasetEvent's dataset.
	Inputs, Outputs []DatasetRef
	Dataset         DatasetRef
	// From the run facets, when present and valid.
	NominalStart, NominalEnd *time.Time
	ParentRunID              pgtype.UUID
	// Problems are the facets found invalid, as "path: message". Their facet is
	// left out; the event's lineage is stored all the same.
	Problems []string
}

// JobRef is a job by its natural key, with what its facets say about it.
type JobRef struct {
	Namespace, Name string
	// Kind is BATCH or STREAMING from the jobType facet's processingType.
	Kind *string
	// Description is the documentation facet's description.
	Description *string
}

// DatasetRef is a dataset by its natural key, with the version its version
// facet names and its valid dataset facets.
type DatasetRef struct {
	Namespace, Name string
	Version         string
	// Facets is a JSON object of the dataset's valid facets ({} when none).
	Facets string
	// SizeBytes and RowCount are what a run reported writing, from a valid
	// outputStatistics output facet (size, rowCount); nil when not reported.
	// Only outputs carry them.
	SizeBytes, RowCount *int64
}

// FieldError refuses an event: the field that is wrong, by its JSON path, and
// why.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

func refuse(field, format string, args ...any) error {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// wire is the JSON shape of any event. Facets stay raw: each is checked on
// its own, so one bad facet costs only itself.
type wire struct {
	EventType *string         `json:"eventType"`
	EventTime *string         `json:"eventTime"`
	Producer  *string         `json:"producer"`
	SchemaURL *string         `json:"schemaURL"`
	Run       json.RawMessage `json:"run"`
	Job       json.RawMessage `json:"job"`
	Dataset   json.RawMessage `json:"dataset"`
	Inputs    json.RawMessage `json:"inputs"`
	Outputs   json.RawMessage `json:"outputs"`
}

type wireRun struct {
	RunID  *string                    `json:"runId"`
	Facets map[string]json.RawMessage `json:"facets"`
}

type wireJob struct {
	Namespace *string                    `json:"namespace"`
	Name      *string                    `json:"name"`
	Facets    map[string]json.RawMessage `json:"facets"`
}

type wireDataset struct {
	Namespace    *string                    `json:"namespace"`
	Name         *string                    `json:"name"`
	Facets       map[string]json.RawMessage `json:"facets"`
	InputFacets  map[string]json.RawMessage `json:"inputFacets"`
	OutputFacets map[string]json.RawMessage `json:"outputFacets"`
}

// Parse validates one event against the OpenLineage 2-0-2 spec (the required
// fields and their types, by hand, here in one place; facets by the checks in
// facets.go) and reduces it to an Event. A wrong required field refuses the
// event with a *FieldError naming it; a wrong facet is only reported in
// Event.Problems.
func Parse(raw []byte) (*Event, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, refuse("$", "an event must be a JSON object")
	}
	var w wire
	if err := decode(raw, &w, ""); err != nil {
		return nil, err
	}
	ev := &Event{}
	var err error
	if ev.Time, err = parseTime("eventTime", w.EventTime); err != nil {
		return nil, err
	}
	// PostgreSQL keeps microseconds: the idempotency key must be the time as
	// stored, or an event with nanoseconds would never match its own key.
	ev.Time = ev.Time.Round(time.Microsecond)
	if err := requireString("producer", w.Producer); err != nil {
		return nil, err
	}
	if err := requireString("schemaURL", w.SchemaURL); err != nil {
		return nil, err
	}
	switch {
	case present(w.Run):
		ev.Kind = RunEvent
	case present(w.Dataset):
		ev.Kind = DatasetEvent
		if present(w.Job) {
			return nil, refuse("job", "a DatasetEvent has no job (an event with a job but no run is a JobEvent)")
		}
	case present(w.Job):
		ev.Kind = JobEvent
	default:
		return nil, refuse("run", "required: a RunEvent has run and job, a JobEvent job, a DatasetEvent dataset")
	}

	if ev.Kind == DatasetEvent {
		var d wireDataset
		if err := decode(w.Dataset, &d, "dataset"); err != nil {
			return nil, err
		}
		if ev.Dataset, err = ev.dataset("dataset", &d, ""); err != nil {
			return nil, err
		}
		return ev, nil
	}

	if ev.Kind == RunEvent {
		ev.Type = "OTHER"
		if w.EventType != nil {
			if _, ok := runStates[*w.EventType]; !ok {
				return nil, refuse("eventType", "%q is not one of START, RUNNING, COMPLETE, FAIL, ABORT, OTHER", *w.EventType)
			}
			ev.Type = *w.EventType
		}
		var r wireRun
		if err := decode(w.Run, &r, "run"); err != nil {
			return nil, err
		}
		if r.RunID == nil {
			return nil, refuse("run.runId", "required: the run's UUID, which ties the events of one run together")
		}
		if ev.RunID, err = parseUUID("run.runId", *r.RunID); err != nil {
			return nil, err
		}
		ev.runFacets(r.Facets)
		if !present(w.Job) {
			return nil, refuse("job", "required: a RunEvent names its job by namespace and name")
		}
	} else if w.EventType != nil {
		return nil, refuse("eventType", "only a RunEvent has an eventType (this event has no run)")
	}

	var j wireJob
	if err := decode(w.Job, &j, "job"); err != nil {
		return nil, err
	}
	if err := requireString("job.namespace", j.Namespace); err != nil {
		return nil, err
	}
	if err := requireString("job.name", j.Name); err != nil {
		return nil, err
	}
	ev.Job = JobRef{Namespace: *j.Namespace, Name: *j.Name}
	ev.jobFacets(j.Facets)

	if ev.Inputs, err = ev.datasets("inputs", w.Inputs, "inputFacets"); err != nil {
		return nil, err
	}
	if ev.Outputs, err = ev.datasets("outputs", w.Outputs, "outputFacets"); err != nil {
		return nil, err
	}
	return ev, nil
}

// State is the run state the event sets ("" for OTHER).
func (e *Event) State() string { return runStates[e.Type] }

func (e *Event) datasets(field string, raw json.RawMessage, ioFacets string) ([]DatasetRef, error) {
	if !present(raw) {
		return nil, nil
	}
	var list []json.RawMessage
	if err := decode(raw, &list, field); err != nil {
		return nil, err
	}
	out := make([]DatasetRef, 0, len(list))
	for i, item := range list {
		path := fmt.Sprintf("%s[%d]", field, i)
		var d wireDataset
		if err := decode(item, &d, path); err != nil {
			return nil, err
		}
		ref, err := e.dataset(path, &d, ioFacets)
		if err != nil {
			return nil, err
		}
		out = append(out, ref)
	}
	return out, nil
}

func (e *Event) dataset(path string, d *wireDataset, ioFacets string) (DatasetRef, error) {
	if err := requireString(path+".namespace", d.Namespace); err != nil {
		return DatasetRef{}, err
	}
	if err := requireString(path+".name", d.Name); err != nil {
		return DatasetRef{}, err
	}
	ref := DatasetRef{Namespace: *d.Namespace, Name: *d.Name, Facets: "{}"}
	valid := e.checkFacets(path+".facets", datasetFacetRules, d.Facets)
	if v, ok := valid["version"]; ok {
		var f struct {
			DatasetVersion string `json:"datasetVersion"`
		}
		if json.Unmarshal(v, &f) == nil {
			ref.Version = f.DatasetVersion
		}
	}
	if len(valid) > 0 {
		b, err := json.Marshal(valid)
		if err == nil {
			ref.Facets = string(b)
		}
	}
	switch ioFacets {
	case "inputFacets":
		e.checkFacets(path+".inputFacets", inputFacetRules, d.InputFacets)
	case "outputFacets":
		valid := e.checkFacets(path+".outputFacets", outputFacetRules, d.OutputFacets)
		if v, ok := valid["outputStatistics"]; ok {
			ref.SizeBytes, ref.RowCount = outputStatistics(v)
		}
	}
	return ref, nil
}

// outputStatistics reads a valid outputStatistics facet's size and rowCount;
// a negative count (the schema does not forbid one) is not a size.
func outputStatistics(raw json.RawMessage) (size, rows *int64) {
	var f struct {
		Size     *int64 `json:"size"`
		RowCount *int64 `json:"rowCount"`
	}
	if json.Unmarshal(raw, &f) != nil {
		return nil, nil
	}
	if f.Size != nil && *f.Size < 0 {
		f.Size = nil
	}
	if f.RowCount != nil && *f.RowCount < 0 {
		f.RowCount = nil
	}
	return f.Size, f.RowCount
}

func (e *Event) runFacets(facets map[string]json.RawMessage) {
	valid := e.checkFacets("run.facets", runFacetRules, facets)
	if v, ok := valid["nominalTime"]; ok {
		var f struct {
			Start *string `json:"nominalStartTime"`
			End   *string `json:"nominalEndTime"`
		}
		if json.Unmarshal(v, &f) == nil {
			if t, err := parseTime("", f.Start); err == nil {
				e.NominalStart = &t
			}
			if f.End != nil {
				if t, err := parseTime("", f.End); err == nil {
					e.NominalEnd = &t
				}
			}
		}
	}
	if v, ok := valid["parent"]; ok {
		var f struct {
			Run struct {
				RunID string `json:"runId"`
			} `json:"run"`
		}
		if json.Unmarshal(v, &f) == nil {
			e.ParentRunID, _ = parseUUID("", f.Run.RunID)
		}
	}
}

func (e *Event) jobFacets(facets map[string]json.RawMessage) {
	valid := e.checkFacets("job.facets", jobFacetRules, facets)
	if v, ok := valid["jobType"]; ok {
		var f struct {
			ProcessingType string `json:"processingType"`
		}
		if json.Unmarshal(v, &f) == nil {
			if k := strings.ToUpper(f.ProcessingType); k == "BATCH" || k == "STREAMING" {
				e.Job.Kind = &k
			}
		}
	}
	if v, ok := valid["documentation"]; ok {
		var f struct {
			Description string `json:"description"`
		}
		if json.Unmarshal(v, &f) == nil {
			e.Job.Description = &f.Description
		}
	}
}

// checkFacets checks each facet of a facets object and returns the valid ones,
// recording the others in e.Problems (in name order, so reports are stable).
func (e *Event) checkFacets(path string, rules map[string]facetRule, facets map[string]json.RawMessage) map[string]json.RawMessage {
	if len(facets) == 0 {
		return nil
	}
	names := make([]string, 0, len(facets))
	for n := range facets {
		names = append(names, n)
	}
	sort.Strings(names)
	valid := make(map[string]json.RawMessage, len(facets))
	for _, n := range names {
		if err := CheckFacet(path+"."+n, rules[n], facets[n]); err != nil {
			e.Problems = append(e.Problems, err.Error())
			continue
		}
		valid[n] = facets[n]
	}
	return valid
}

// decode unmarshals raw into v, naming the field of a type mismatch.
func decode(raw json.RawMessage, v any, path string) error {
	err := json.Unmarshal(raw, v)
	if err == nil {
		return nil
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		field := te.Field
		switch {
		case path != "" && field != "":
			field = path + "." + field
		case field == "":
			field = path
		}
		if field == "" {
			field = "$"
		}
		return refuse(field, "expected %s, got a JSON %s", jsonKind(te.Type.Kind().String()), te.Value)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return refuse("$", "malformed JSON at byte %d: %v", se.Offset, se)
	}
	if path == "" {
		path = "$"
	}
	return refuse(path, "%v", err)
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "map", "struct":
		return "an object"
	case "slice":
		return "an array"
	}
	return goKind
}

func present(raw json.RawMessage) bool {
	return len(raw) > 0 && !bytes.Equal(raw, []byte("null"))
}

func requireString(field string, s *string) error {
	if s == nil {
		return refuse(field, "required")
	}
	if strings.TrimSpace(*s) == "" {
		return refuse(field, "must not be empty")
	}
	return nil
}

// zoneless are the layouts of times without a zone, read as UTC: real clients
// (the Python client among them) send eventTime so.
var zoneless = []string{"2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999", "2006-01-02"}

// parseTime reads an RFC 3339 time, or one without a zone as UTC.
func parseTime(field string, s *string) (time.Time, error) {
	if s == nil {
		return time.Time{}, refuse(field, "required")
	}
	if t, err := time.Parse(time.RFC3339Nano, *s); err == nil {
		return t.UTC(), nil
	}
	for _, layout := range zoneless {
		if t, err := time.ParseInLocation(layout, *s, time.UTC); err == nil {
			return t, nil
		}
	}
	return time.Time{}, refuse(field, "%q is not a date-time (RFC 3339, e.g. 2024-05-01T10:00:00Z; without a zone it is read as UTC)", *s)
}

func parseUUID(field, s string) (pgtype.UUID, error) {
	var u pgtype.UUID
	if len(s) != 36 || u.Scan(s) != nil {
		return pgtype.UUID{}, refuse(field, "%q is not a UUID", s)
	}
	return u, nil
}
