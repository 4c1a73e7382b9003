// Package invfile reads a declarative inventory — BUs, people, clusters and hosts
// in YAML or CSV — and brings the database to what it says: it compares the file
// with the database, lists the changes (the dry-run diff), and applies them in
// one transaction. A second run of the same file changes nothing, and nothing is
// deactivated or retired unless pruning is asked for. The formats are described
// in docs/operations.md; docs/examples/inventory.yaml and .csv are examples.
//
// The package decides what to change; the writes themselves are inventory's
// (inventory owns the tables), and the rules on names, codes and sizes are
// inventory's Check functions, so the file and the API refuse the same things.
package invfile

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/inventory"
)

// Format is an inventory file's format.
type Format string

// The formats.
const (
	YAML Format = "yaml"
	CSV  Format = "csv"
)

// ParseFormat reads a format name (yaml, yml or csv, any case).
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(s) {
	case "yaml", "yml":
		return YAML, nil
	case "csv":
		return CSV, nil
	}
	return "", fmt.Errorf("unknown inventory format %q: use yaml or csv", s)
}

// File is a parsed inventory file. Line is each entry's line in the file.
type File struct {
	BUs      []BU
	People   []Person
	Clusters []Cluster
	Hosts    []Host
}

// BU is a BU as the file states it; Parent is a BU code, empty for a root.
type BU struct {
	Line   int
	Code   string
	Name   string
	Parent string
}

// Person is a person as the file states it; Role defaults to VIEWER, and a
// missing email leaves the stored one.
type Person struct {
	Line  int
	Login string
	Name  string
	Email *string
	BU    string
	Role  string
}

// Cluster is a cluster as the file states it; missing optional fields leave the
// stored ones. Stack is "STACK VERSION", e.g. "TDP 3.1.0".
type Cluster struct {
	Line        int
	Name        string
	Region      string
	Kind        string
	OwnerBU     *string
	Stack       *string
	Description *string
}

// Host is a host as the file states it; missing facts leave the stored ones.
type Host struct {
	Line     int
	Hostname string
	Cluster  string
	inventory.HostFacts
}

// Errors are all the problems found in a file; any of them refuses the whole
// file. Each names its line ("content.line 12").
type Errors []*fault.Error

func (e Errors) Error() string {
	msgs := make([]string, len(e))
	for i, x := range e {
		msgs[i] = x.Message
	}
	return strings.Join(msgs, "; ")
}

// Unwrap lets errors.As find the first fault inside, so the audit log and the
// API see a bad-input error.
func (e Errors) Unwrap() []error {
	out := make([]error, len(e))
	for i, x := range e {
		out[i] = x
	}
	return out
}

// maxErrors bounds the problems reported for one file.
const maxErrors = 50

type collector struct{ errs Errors }

func (c *collector) add(line int, format string, args ...any) {
	if len(c.errs) >= maxErrors {
		return
	}
	msg := fmt.Sprintf(format, args...)
	field := "content"
	if line > 0 {
		field = fmt.Sprintf("content.line %d", line)
		msg = fmt.Sprintf("line %d: %s", line, msg)
	}
	c.errs = append(c.errs, &fault.Error{Kind: fault.Invalid, Field: field, Message: msg})
}

// addErr adds a domain check's error at line, keeping its message.
func (c *collector) addErr(line int, err error) {
	fe, ok := fault.As(err)
	if !ok {
		c.add(line, "%v", err)
		return
	}
	c.add(line, "%s", fe.Message)
}

func (c *collector) err() error {
	if len(c.errs) == 0 {
		return nil
	}
	return c.errs
}

// Parse reads an inventory file. Every entry is checked on its own (names,
// codes, kinds, numbers); references between entries are checked by Plan.
func Parse(format Format, content []byte) (*File, error) {
	switch format {
	case YAML:
		return parseYAML(content)
	case CSV:
		return parseCSV(content)
	}
	return nil, fault.Field("format", "unknown inventory format %q", format)
}

type yamlBU struct {
	Code   string `yaml:"code"`
	Name   string `yaml:"name"`
	Parent string `yaml:"parent"`
}

type yamlPerson struct {
	Login string  `yaml:"login"`
	Name  string  `yaml:"name"`
	Email *string `yaml:"email"`
	BU    string  `yaml:"bu"`
	Role  string  `yaml:"role"`
}

type yamlCluster struct {
	Name        string  `yaml:"name"`
	Region      string  `yaml:"region"`
	Kind        string  `yaml:"kind"`
	OwnerBU     *string `yaml:"owner_bu"`
	Stack       *string `yaml:"stack"`
	Description *string `yaml:"description"`
}

type yamlHost struct {
	Hostname    string  `yaml:"hostname"`
	Cluster     string  `yaml:"cluster"`
	Rack        *string `yaml:"rack"`
	IP          *string `yaml:"ip"`
	CPUCores    any     `yaml:"cpu_cores"`
	MemoryBytes any     `yaml:"memory"`
	DiskBytes   any     `yaml:"disk"`
	NICBps      any     `yaml:"nic"`
	OS          *string `yaml:"os"`
	Kernel      *string `yaml:"kernel"`
	Model       *string `yaml:"model"`
}

func parseYAML(content []byte) (*File, error) {
	c := &collector{}
	f := &File{}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(content))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return f, nil
		}
		c.add(yamlErrLine(err), "not valid YAML: %s", firstLine(strings.TrimPrefix(err.Error(), "yaml: ")))
		return nil, c.err()
	}
	var more yaml.Node
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
		c.add(more.Line, "an inventory file is one YAML document")
		return nil, c.err()
	}
	if len(doc.Content) == 0 {
		return f, nil
	}
	m := doc.Content[0]
	if m.Kind == yaml.ScalarNode && m.Tag == "!!null" {
		return f, nil
	}
	if m.Kind != yaml.MappingNode {
		c.add(m.Line, "the file must be a mapping with the sections bus, people, clusters and hosts")
		return nil, c.err()
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		key, sec := m.Content[i], m.Content[i+1]
		name := key.Value
		known := map[string]any{"bus": yamlBU{}, "people": yamlPerson{}, "clusters": yamlCluster{}, "hosts": yamlHost{}}[name]
		if known == nil {
			c.add(key.Line, "unknown section %q: the sections are bus, people, clusters and hosts", name)
			continue
		}
		if sec.Kind == yaml.ScalarNode && sec.Tag == "!!null" {
			continue
		}
		if sec.Kind != yaml.SequenceNode {
			c.add(key.Line, "section %s must be a list of entries", name)
			continue
		}
		fields := yamlFields(known)
		for _, it := range sec.Content {
			ln := it.Line
			decode := func(v any) bool {
				if it.Kind != yaml.MappingNode {
					c.add(ln, "%s entry: an entry is a mapping of fields", name)
					return false
				}
				for j := 0; j+1 < len(it.Content); j += 2 {
					if k := it.Content[j].Value; !fields[k] {
						c.add(it.Content[j].Line, "%s entry: unknown field %q", name, k)
						return false
					}
				}
				if err := it.Decode(v); err != nil {
					c.add(ln, "%s entry: %s", name, firstLine(strings.TrimPrefix(err.Error(), "yaml: ")))
					return false
				}
				return true
			}
			switch name {
			case "bus":
				var e yamlBU
				if decode(&e) {
					f.BUs = append(f.BUs, BU{Line: ln, Code: e.Code, Name: e.Name, Parent: e.Parent})
				}
			case "people":
				var e yamlPerson
				if decode(&e) {
					f.People = append(f.People, Person{Line: ln, Login: e.Login, Name: e.Name, Email: e.Email, BU: e.BU, Role: e.Role})
				}
			case "clusters":
				var e yamlCluster
				if decode(&e) {
					f.Clusters = append(f.Clusters, Cluster{Line: ln, Name: e.Name, Region: e.Region, Kind: e.Kind,
						OwnerBU: e.OwnerBU, Stack: e.Stack, Description: e.Description})
				}
			case "hosts":
				var e yamlHost
				if !decode(&e) {
					continue
				}
				h := Host{Line: ln, Hostname: e.Hostname, Cluster: e.Cluster}
				h.Rack, h.IP, h.OS, h.Kernel, h.Model = e.Rack, e.IP, e.OS, e.Kernel, e.Model
				h.CPUCores = number(c, ln, "cpu_cores", e.CPUCores, 1)
				h.MemoryBytes = number(c, ln, "memory", e.MemoryBytes, 1024)
				h.DiskBytes = number(c, ln, "disk", e.DiskBytes, 1024)
				h.NICBps = number(c, ln, "nic", e.NICBps, 1000)
				f.Hosts = append(f.Hosts, h)
			}
		}
	}
	check(c, f)
	if err := c.err(); err != nil {
		return nil, err
	}
	return f, nil
}

// yamlFields are the keys an entry struct accepts (its yaml tags).
func yamlFields(v any) map[string]bool {
	t := reflect.TypeOf(v)
	out := map[string]bool{}
	for i := range t.NumField() {
		out[t.Field(i).Tag.Get("yaml")] = true
	}
	return out
}

var yamlLineRe = regexp.MustCompile(`line (\d+)`)

// yamlErrLine finds the line in a YAML syntax error ("yaml: line 3: …").
func yamlErrLine(err error) int {
	if m := yamlLineRe.FindStringSubmatch(err.Error()); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 0
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// number reads a count or a size: an integer, or a string with a unit suffix
// (K, M, G, T, P; with base 1024 also KiB…PiB, and an optional "B" or "bps").
// nil stays nil (the fact is not stated).
func number(c *collector, ln int, name string, v any, base float64) *int64 {
	if v == nil {
		return nil
	}
	var (
		f   float64
		err error
	)
	switch x := v.(type) {
	case uint64:
		f = float64(x)
	case int64:
		f = float64(x)
	case int:
		f = float64(x)
	case float64:
		f = x
	case string:
		f, err = parseSize(x, base)
	default:
		err = fmt.Errorf("not a number")
	}
	if err != nil || f < 0 || math.IsNaN(f) || f > math.MaxInt64/2 || (base == 1 && f != math.Trunc(f)) {
		c.add(ln, "%s: %v is not a valid %s (a whole number ≥ 0%s)", name, v, name, unitHint(base))
		return nil
	}
	n := int64(f)
	return &n
}

func unitHint(base float64) string {
	switch base {
	case 1024:
		return `, or a size such as "256GiB"`
	case 1000:
		return `, or a rate such as "25G"`
	}
	return ""
}

func parseSize(s string, base float64) (float64, error) {
	s = strings.TrimSpace(s)
	if base == 1 {
		return strconv.ParseFloat(s, 64)
	}
	i := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if i < 0 {
		return strconv.ParseFloat(s, 64)
	}
	num, unit := s[:i], strings.TrimSpace(s[i:])
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, err
	}
	u := strings.ToUpper(unit)
	mult := base
	if strings.Contains(u, "I") {
		mult = 1024
		u = strings.Replace(u, "I", "", 1)
	}
	u = strings.TrimSuffix(strings.TrimSuffix(u, "BPS"), "B")
	exp := strings.Index("KMGTP", u)
	if len(u) != 1 || exp < 0 {
		if u == "" {
			return f, nil
		}
		return 0, fmt.Errorf("unknown unit %q", unit)
	}
	return f * math.Pow(mult, float64(exp+1)), nil
}

// csvColumns are the columns of an inventory CSV, by the kinds they apply to.
var csvColumns = map[string][]string{
	"kind":         {"bu", "person", "cluster", "host"},
	"code":         {"bu"},
	"name":         {"bu", "person", "cluster"},
	"parent":       {"bu"},
	"login":        {"person"},
	"email":        {"person"},
	"bu":           {"person"},
	"role":         {"person"},
	"region":       {"cluster"},
	"cluster_kind": {"cluster"},
	"owner_bu":     {"cluster"},
	"stack":        {"cluster"},
	"description":  {"cluster"},
	"hostname":     {"host"},
	"cluster":      {"host"},
	"rack":         {"host"},
	"ip":           {"host"},
	"cpu_cores":    {"host"},
	"memory":       {"host"},
	"disk":         {"host"},
	"nic":          {"host"},
	"os":           {"host"},
	"kernel":       {"host"},
	"model":        {"host"},
}

func parseCSV(content []byte) (*File, error) {
	c := &collector{}
	f := &File{}
	r := csv.NewReader(bytes.NewReader(content))
	r.Comment = '#'
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return f, nil
	}
	if err != nil {
		c.add(csvErrLine(err), "not valid CSV: %v", err)
		return nil, c.err()
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		if _, ok := csvColumns[h]; !ok {
			hl, _ := r.FieldPos(0)
			c.add(hl, "unknown column %q", h)
			continue
		}
		if _, dup := col[h]; dup {
			hl, _ := r.FieldPos(0)
			c.add(hl, "column %q appears twice", h)
		}
		col[h] = i
	}
	if _, ok := col["kind"]; !ok {
		c.add(1, "the header needs a kind column (bu, person, cluster or host)")
	}
	if c.err() != nil {
		return nil, c.err()
	}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			c.add(csvErrLine(err), "not valid CSV: %v", err)
			break
		}
		ln, _ := r.FieldPos(0)
		if len(rec) != len(header) {
			c.add(ln, "%d fields, but the header has %d", len(rec), len(header))
			continue
		}
		get := func(name string) *string {
			i, ok := col[name]
			if !ok || strings.TrimSpace(rec[i]) == "" {
				return nil
			}
			v := strings.TrimSpace(rec[i])
			return &v
		}
		val := func(name string) string {
			if v := get(name); v != nil {
				return *v
			}
			return ""
		}
		kind := strings.ToLower(val("kind"))
		if _, ok := map[string]bool{"bu": true, "person": true, "cluster": true, "host": true}[kind]; !ok {
			c.add(ln, "unknown kind %q: use bu, person, cluster or host", val("kind"))
			continue
		}
		bad := false
		for name := range col {
			if get(name) != nil && !contains(csvColumns[name], kind) {
				c.add(ln, "column %s does not apply to a %s", name, kind)
				bad = true
			}
		}
		if bad {
			continue
		}
		num := func(name string, base float64) *int64 {
			v := get(name)
			if v == nil {
				return nil
			}
			return number(c, ln, name, *v, base)
		}
		switch kind {
		case "bu":
			f.BUs = append(f.BUs, BU{Line: ln, Code: val("code"), Name: val("name"), Parent: val("parent")})
		case "person":
			f.People = append(f.People, Person{Line: ln, Login: val("login"), Name: val("name"), Email: get("email"), BU: val("bu"), Role: val("role")})
		case "cluster":
			f.Clusters = append(f.Clusters, Cluster{Line: ln, Name: val("name"), Region: val("region"), Kind: val("cluster_kind"),
				OwnerBU: get("owner_bu"), Stack: get("stack"), Description: get("description")})
		case "host":
			h := Host{Line: ln, Hostname: val("hostname"), Cluster: val("cluster")}
			h.Rack, h.IP, h.OS, h.Kernel, h.Model = get("rack"), get("ip"), get("os"), get("kernel"), get("model")
			h.CPUCores, h.MemoryBytes, h.DiskBytes, h.NICBps = num("cpu_cores", 1), num("memory", 1024), num("disk", 1024), num("nic", 1000)
			f.Hosts = append(f.Hosts, h)
		}
	}
	check(c, f)
	if err := c.err(); err != nil {
		return nil, err
	}
	return f, nil
}

func csvErrLine(err error) int {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return pe.Line
	}
	return 0
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// check refuses malformed entries and duplicates within the file, each error
// naming its line (and, for a duplicate, the first line).
func check(c *collector, f *File) {
	seen := map[string]int{}
	dup := func(ln int, what, key string) bool {
		k := what + "\x00" + key
		if first, ok := seen[k]; ok {
			c.add(ln, "duplicate %s %s (first on line %d)", what, key, first)
			return true
		}
		seen[k] = ln
		return false
	}
	for _, b := range f.BUs {
		if err := inventory.CheckBUCode("code", b.Code); err != nil {
			c.addErr(b.Line, err)
			continue
		}
		dup(b.Line, "BU code", b.Code)
		if err := inventory.CheckName("name", b.Name, 200); err != nil {
			c.add(b.Line, "BU %s: a name is required (at most 200 characters)", b.Code)
		}
		if b.Parent == b.Code {
			c.add(b.Line, "BU %s cannot be its own parent", b.Code)
		}
	}
	for _, p := range f.People {
		if err := inventory.CheckLogin("login", p.Login); err != nil {
			c.addErr(p.Line, err)
			continue
		}
		dup(p.Line, "login", p.Login)
		if err := inventory.CheckName("name", p.Name, 200); err != nil {
			c.add(p.Line, "person %s: a name is required (at most 200 characters)", p.Login)
		}
		if p.Email != nil {
			if err := inventory.CheckEmail("email", *p.Email); err != nil {
				c.addErr(p.Line, err)
			}
		}
		if p.BU == "" {
			c.add(p.Line, "person %s: bu (a BU code) is required", p.Login)
		}
		if p.Role != "" {
			if err := inventory.CheckRole("role", roleOf(p.Role)); err != nil {
				c.addErr(p.Line, err)
			}
		}
	}
	for _, cl := range f.Clusters {
		if err := inventory.CheckClusterName("name", cl.Name); err != nil {
			c.addErr(cl.Line, err)
			continue
		}
		dup(cl.Line, "cluster", cl.Name)
		if err := inventory.CheckName("region", cl.Region, 100); err != nil {
			c.add(cl.Line, "cluster %s: region is required", cl.Name)
		}
		if err := inventory.CheckClusterKind("kind", strings.ToUpper(cl.Kind)); err != nil {
			c.addErr(cl.Line, err)
		}
	}
	for _, h := range f.Hosts {
		if err := inventory.CheckHostname("hostname", h.Hostname); err != nil {
			c.addErr(h.Line, err)
			continue
		}
		dup(h.Line, "hostname", h.Hostname)
		if h.Cluster == "" {
			c.add(h.Line, "host %s: cluster is required", h.Hostname)
		}
		if err := h.HostFacts.Check("host"); err != nil {
			c.addErr(h.Line, err)
		}
	}
}
