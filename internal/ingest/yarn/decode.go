package yarn

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// The ResourceManager's JSON is loose in practice (ResourceManagerRest.md and
// Hadoop's own test responses show all of these): numbers come as strings
// ("allocatedMB": "1536"), a capacity may be "NaN", a list of one element may
// come as the element itself (the JSON is converted from XML), `users` is null,
// {} or {"user": [...]}, and finished applications report allocatedMB -1. So
// the answers are decoded into generic values and read through node, which
// knows the JSON path of every value and names it when one is truly wrong.

// node is one JSON value with its path, e.g. apps.app[3].memorySeconds.
type node struct {
	v    any
	path string
}

// parseJSON decodes a whole answer. A syntax error names the line and column.
func parseJSON(what string, body []byte) (node, error) {
	d := json.NewDecoder(bytes.NewReader(body))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line, col := position(body, se.Offset)
			return node{}, fmt.Errorf("%s: invalid JSON at line %d column %d: %s", what, line, col, se.Error())
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return node{}, fmt.Errorf("%s: truncated JSON", what)
		}
		return node{}, fmt.Errorf("%s: invalid JSON: %s", what, err.Error())
	}
	if d.More() {
		return node{}, fmt.Errorf("%s: invalid JSON: more than one value", what)
	}
	return node{v: v}, nil
}

func position(body []byte, off int64) (line, col int) {
	if off > int64(len(body)) {
		off = int64(len(body))
	}
	line = 1 + bytes.Count(body[:off], []byte{'\n'})
	col = int(off) - bytes.LastIndexByte(body[:off], '\n')
	return line, col
}

func (n node) missing() bool { return n.v == nil }

func (n node) child(name string) string {
	if n.path == "" {
		return name
	}
	return n.path + "." + name
}

// get returns a member of an object; a missing member (or a non-object) is a
// missing node, so optional fields need no checks.
func (n node) get(name string) node {
	m, _ := n.v.(map[string]any)
	return node{v: m[name], path: n.child(name)}
}

// isObject tells a JSON object.
func (n node) isObject() bool { _, ok := n.v.(map[string]any); return ok }

// list reads a list that the XML-to-JSON conversion may have turned into a
// single object (one element), null or {} (no element).
func (n node) list() ([]node, error) {
	switch v := n.v.(type) {
	case nil:
		return nil, nil
	case []any:
		out := make([]node, len(v))
		for i, e := range v {
			out[i] = node{v: e, path: fmt.Sprintf("%s[%d]", n.path, i)}
		}
		return out, nil
	case map[string]any:
		if len(v) == 0 {
			return nil, nil
		}
		return []node{{v: v, path: n.path + "[0]"}}, nil
	}
	return nil, n.wrong("a list")
}

// wrapped reads the RM's wrapper objects: {"app": [...]}, {"queue": [...]},
// {"user": [...]}; null, {} and "" are empty.
func (n node) wrapped(inner string) ([]node, error) {
	switch v := n.v.(type) {
	case nil:
		return nil, nil
	case string:
		if v == "" {
			return nil, nil
		}
	case []any:
		// A list where a wrapper was expected: take it as the list itself.
		return n.list()
	case map[string]any:
		return n.get(inner).list()
	}
	return nil, n.wrong(fmt.Sprintf("an object holding %q", inner))
}

// num reads a number given as a number or a string. ok is false when the value
// is absent, null, empty or NaN; an object, list or non-numeric string is an
// error naming the field.
func (n node) num() (f float64, ok bool, err error) {
	var s string
	switch v := n.v.(type) {
	case nil:
		return 0, false, nil
	case json.Number:
		s = string(v)
	case string:
		s = strings.TrimSpace(v)
		if s == "" {
			return 0, false, nil
		}
	case bool:
		return 0, false, n.wrong("a number")
	default:
		return 0, false, n.wrong("a number")
	}
	f, err = strconv.ParseFloat(s, 64)
	if err != nil {
		// ParseFloat accepts "NaN" and "Infinity"; anything else is not a number.
		return 0, false, n.wrong("a number")
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false, nil
	}
	return f, true, nil
}

// str reads a string; numbers and booleans are given as their text.
func (n node) str() (string, error) {
	switch v := n.v.(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	case json.Number:
		return string(v), nil
	case bool:
		return strconv.FormatBool(v), nil
	}
	return "", n.wrong("a string")
}

func (n node) wrong(want string) error {
	got := "null"
	switch v := n.v.(type) {
	case map[string]any:
		got = "an object"
	case []any:
		got = "a list"
	case string:
		got = strconv.Quote(clip(v, 40))
	case json.Number:
		got = string(v)
	case bool:
		got = strconv.FormatBool(v)
	}
	path := n.path
	if path == "" {
		path = "(top level)"
	}
	return &FieldError{Path: path, Message: fmt.Sprintf("expected %s, got %s", want, got)}
}

// FieldError names the JSON field of a ResourceManager answer that could not
// be read.
type FieldError struct {
	Path    string
	Message string
}

func (e *FieldError) Error() string { return e.Path + ": " + e.Message }

// reader collects the first error of a series of reads, so a decoder reads
// every field it wants and checks once.
type reader struct{ err error }

func (r *reader) num(n node) (float64, bool) {
	f, ok, err := n.num()
	if err != nil && r.err == nil {
		r.err = err
	}
	return f, ok
}

// numOr reads a number, def when absent.
func (r *reader) numOr(n node, def float64) float64 {
	if f, ok := r.num(n); ok {
		return f
	}
	return def
}

func (r *reader) str(n node) string {
	s, err := n.str()
	if err != nil && r.err == nil {
		r.err = err
	}
	return s
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
