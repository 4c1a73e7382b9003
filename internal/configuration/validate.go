package configuration

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Format is a configuration file's syntax, known from its extension.
type Format string

// The formats validation understands. Other files (shell fragments, log4j
// templates…) are stored and diffed but only their size is checked.
const (
	Properties Format = "properties"
	XML        Format = "xml"
	YAML       Format = "yaml"
	JSON       Format = "json"
	Plain      Format = "plain"
)

// FormatOf returns the format of a file by its extension.
func FormatOf(p string) Format {
	switch strings.ToLower(path.Ext(p)) {
	case ".properties":
		return Properties
	case ".xml":
		return XML
	case ".yaml", ".yml":
		return YAML
	case ".json":
		return JSON
	}
	return Plain
}

// Problem is one thing wrong with a file, at a line (1-based; 0 when the
// whole file is at fault).
type Problem struct {
	Line    int
	Message string
}

// String words the problem as refusals show it: "line 8: unknown key …".
func (p Problem) String() string {
	if p.Line == 0 {
		return p.Message
	}
	return fmt.Sprintf("line %d: %s", p.Line, p.Message)
}

// Schema lists the keys a service's file may set. Keys outside it are
// refused as unknown: a misspelt property silently does nothing in Hadoop,
// which is worse than a refusal. Prefixes admit families of keys whose
// names carry a variable part (per-queue, per-nameservice settings).
type Schema struct {
	Keys     []string
	Prefixes []string
}

func (s *Schema) known(key string) bool {
	if _, ok := slices.BinarySearch(s.Keys, key); ok {
		return true
	}
	for _, p := range s.Prefixes {
		if strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}

// Registry holds the schemas of known files by service and file name (the
// path's last element). A file without a schema is checked for syntax only.
// It is filled at start-up and read-only after, so it needs no lock.
type Registry struct {
	schemas map[string]*Schema
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{schemas: map[string]*Schema{}} }

// Register sets the schema of a service's file (e.g. "HDFS", "hdfs-site.xml").
func (r *Registry) Register(service, file string, s Schema) {
	s.Keys = slices.Clone(s.Keys)
	slices.Sort(s.Keys)
	r.schemas[service+"/"+file] = &s
}

// Schema returns the schema of a service's file, if one is registered.
func (r *Registry) Schema(service, p string) (*Schema, bool) {
	s, ok := r.schemas[service+"/"+path.Base(p)]
	return s, ok
}

// MaxFileBytes bounds one file's content: configuration files are small, and
// a bound keeps a proposal's diff and validation cheap.
const MaxFileBytes = 4 << 20

// maxProblems bounds the problems reported for one file.
const maxProblems = 20

// Validate checks a file's syntax by its format and, when the registry has a
// schema for the service's file, its keys. It returns the problems found, in
// line order, at most maxProblems.
func (r *Registry) Validate(service, p, content string) []Problem {
	if len(content) > MaxFileBytes {
		return []Problem{{Message: fmt.Sprintf("the file is %d bytes; at most %d are accepted", len(content), MaxFileBytes)}}
	}
	var schema *Schema
	if r != nil {
		schema, _ = r.Schema(service, p)
	}
	var keys []keyAt
	var probs []Problem
	switch FormatOf(p) {
	case Properties:
		keys, probs = parseProperties(content)
	case XML:
		keys, probs = parseHadoopXML(content)
	case YAML:
		keys, probs = parseYAML(content)
	case JSON:
		keys, probs = parseJSON(content)
	}
	if schema != nil {
		for _, k := range keys {
			if !schema.known(k.key) {
				probs = append(probs, Problem{Line: k.line, Message: fmt.Sprintf("unknown key %q for %s %s", k.key, service, path.Base(p))})
			}
		}
	}
	slices.SortStableFunc(probs, func(a, b Problem) int { return a.Line - b.Line })
	if len(probs) > maxProblems {
		probs = probs[:maxProblems]
	}
	return probs
}

type keyAt struct {
	key  string
	line int
}

// parseProperties reads Java properties: comments (# and !), key=value,
// key:value or key value, and lines continued by a trailing backslash. A key
// set twice is a problem: the second silently wins in Java, which hides
// mistakes.
func parseProperties(content string) ([]keyAt, []Problem) {
	var keys []keyAt
	var probs []Problem
	seen := map[string]int{}
	lines := strings.Split(content, "\n")
	for i := 0; i < len(lines); i++ {
		start := i + 1
		line := strings.TrimRight(lines[i], "\r")
		// Join continuation lines (an odd number of trailing backslashes).
		for trailingBackslashes(line)%2 == 1 && i+1 < len(lines) {
			i++
			line = line[:len(line)-1] + strings.TrimLeft(strings.TrimRight(lines[i], "\r"), " \t\f")
		}
		t := strings.TrimLeft(line, " \t\f")
		if t == "" || t[0] == '#' || t[0] == '!' {
			continue
		}
		key := propertyKey(t)
		if key == "" {
			probs = append(probs, Problem{Line: start, Message: "a property has no key"})
			continue
		}
		if first, ok := seen[key]; ok {
			probs = append(probs, Problem{Line: start, Message: fmt.Sprintf("key %q is set again (first on line %d)", key, first)})
			continue
		}
		seen[key] = start
		keys = append(keys, keyAt{key, start})
	}
	return keys, probs
}

// propertyKey returns the key of a logical line: up to the first separator
// ('=', ':' or white space) that no backslash escapes, unescaped.
func propertyKey(t string) string {
	var b strings.Builder
	for i := 0; i < len(t); i++ {
		c := t[i]
		if c == '\\' && i+1 < len(t) {
			i++
			b.WriteByte(t[i])
			continue
		}
		if c == '=' || c == ':' || c == ' ' || c == '\t' || c == '\f' {
			break
		}
		b.WriteByte(c)
	}
	return b.String()
}

func trailingBackslashes(s string) int {
	n := 0
	for n < len(s) && s[len(s)-1-n] == '\\' {
		n++
	}
	return n
}

// parseHadoopXML reads XML and, when the root is Hadoop's <configuration>,
// its <property><name> keys. Other XML documents are checked for syntax only.
func parseHadoopXML(content string) ([]keyAt, []Problem) {
	d := xml.NewDecoder(strings.NewReader(content))
	var keys []keyAt
	var probs []Problem
	seen := map[string]int{}
	var stack []string
	var text bytes.Buffer
	var nameLine int
	var name string
	var hasName bool
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var se *xml.SyntaxError
			if errors.As(err, &se) {
				return keys, append(probs, Problem{Line: se.Line, Message: "XML syntax: " + se.Msg})
			}
			line, _ := d.InputPos()
			return keys, append(probs, Problem{Line: line, Message: "XML: " + err.Error()})
		}
		line, _ := d.InputPos()
		switch t := tok.(type) {
		case xml.StartElement:
			stack = append(stack, t.Name.Local)
			text.Reset()
			if len(stack) == 2 && stack[0] == "configuration" && t.Name.Local == "property" {
				hasName, name = false, ""
			}
			if len(stack) == 3 && stack[0] == "configuration" && stack[1] == "property" && t.Name.Local == "name" {
				nameLine = line
			}
		case xml.CharData:
			text.Write(t)
		case xml.EndElement:
			if len(stack) == 3 && stack[0] == "configuration" && stack[1] == "property" && t.Name.Local == "name" {
				name, hasName = strings.TrimSpace(text.String()), true
			}
			if len(stack) == 2 && stack[0] == "configuration" && t.Name.Local == "property" {
				switch {
				case !hasName || name == "":
					probs = append(probs, Problem{Line: line, Message: "a <property> has no <name>"})
				case seen[name] > 0:
					probs = append(probs, Problem{Line: nameLine, Message: fmt.Sprintf("property %q is set again (first on line %d)", name, seen[name])})
				default:
					seen[name] = nameLine
					keys = append(keys, keyAt{name, nameLine})
				}
			}
			stack = stack[:len(stack)-1]
		}
	}
	if len(stack) > 0 {
		line, _ := d.InputPos()
		probs = append(probs, Problem{Line: line, Message: fmt.Sprintf("XML syntax: element <%s> is not closed", stack[len(stack)-1])})
	}
	return keys, probs
}

var yamlLine = regexp.MustCompile(`line (\d+)`)

// parseYAML reads YAML and returns the keys of its top-level mapping (flat
// files such as flink-conf.yaml hold dotted keys there).
func parseYAML(content string) ([]keyAt, []Problem) {
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(content), &root); err != nil {
		line := 0
		if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
			line, _ = strconv.Atoi(m[1])
		}
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		msg = yamlLine.ReplaceAllString(msg, "")
		msg = strings.TrimLeft(msg, ": ")
		return nil, []Problem{{Line: line, Message: "YAML syntax: " + msg}}
	}
	if len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return nil, nil
	}
	m := root.Content[0]
	var keys []keyAt
	var probs []Problem
	seen := map[string]int{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := m.Content[i]
		if first, ok := seen[k.Value]; ok {
			probs = append(probs, Problem{Line: k.Line, Message: fmt.Sprintf("key %q is set again (first on line %d)", k.Value, first)})
			continue
		}
		seen[k.Value] = k.Line
		keys = append(keys, keyAt{k.Value, k.Line})
	}
	return keys, probs
}

// parseJSON checks JSON syntax and returns the top-level object's keys with
// their lines.
func parseJSON(content string) ([]keyAt, []Problem) {
	lineOf := func(off int64) int {
		return 1 + strings.Count(content[:min(int(off), len(content))], "\n")
	}
	d := json.NewDecoder(strings.NewReader(content))
	d.UseNumber()
	fail := func(err error) []Problem {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return []Problem{{Line: lineOf(se.Offset), Message: "JSON syntax: " + se.Error()}}
		}
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return []Problem{{Line: lineOf(int64(len(content))), Message: "JSON syntax: unexpected end of the file"}}
		}
		return []Problem{{Line: lineOf(d.InputOffset()), Message: "JSON syntax: " + err.Error()}}
	}
	var keys []keyAt
	var probs []Problem
	tok, err := d.Token()
	if errors.Is(err, io.EOF) {
		return nil, nil
	}
	if err != nil {
		return nil, fail(err)
	}
	if tok == json.Delim('{') {
		seen := map[string]int{}
		for d.More() {
			kt, err := d.Token()
			if err != nil {
				return keys, fail(err)
			}
			k, _ := kt.(string)
			// The offset is just past the key, on the key's line.
			line := lineOf(d.InputOffset())
			if first, ok := seen[k]; ok {
				probs = append(probs, Problem{Line: line, Message: fmt.Sprintf("key %q is set again (first on line %d)", k, first)})
			} else {
				seen[k] = line
				keys = append(keys, keyAt{k, line})
			}
			var v json.RawMessage
			if err := d.Decode(&v); err != nil {
				return keys, fail(err)
			}
		}
		if _, err := d.Token(); err != nil {
			return keys, fail(err)
		}
	} else if d2, ok := tok.(json.Delim); ok && d2 == '[' {
		for d.More() {
			var v json.RawMessage
			if err := d.Decode(&v); err != nil {
				return nil, fail(err)
			}
		}
		if _, err := d.Token(); err != nil {
			return nil, fail(err)
		}
	}
	if _, err := d.Token(); !errors.Is(err, io.EOF) {
		return keys, append(probs, Problem{Line: lineOf(d.InputOffset()), Message: "JSON syntax: data after the top-level value"})
	}
	return keys, probs
}
