package ingest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"time"
)

// The parsers below scan each line in place, in the read buffer, without
// encoding/json: a line costs a few map lookups and strconv.ParseFloat calls and
// allocates nothing unless it is rejected. Lines are flat objects of strings and
// numbers, which is all the grammar this needs; anything richer is a wrong type.

// field is a sample field a line may carry.
type field uint8

const (
	fieldNone field = iota
	fieldHost       // hostname, or id when numeric
	fieldHostname
	fieldHostID
	fieldTS
	fieldCPU // the metric fields, in the order of record.vals
	fieldMem
	fieldDiskIO
	fieldNetIn
	fieldNetOut
	fieldContainers
)

// fieldNames maps every accepted name (JSON key or CSV column) to its field.
var fieldNames = map[string]field{
	"host": fieldHost, "hostname": fieldHostname, "host_id": fieldHostID,
	"ts": fieldTS, "timestamp": fieldTS,
	"cpu": fieldCPU, "cpu_pct": fieldCPU,
	"mem": fieldMem, "mem_pct": fieldMem,
	"disk_io": fieldDiskIO, "disk_io_pct": fieldDiskIO,
	"net_in": fieldNetIn, "net_in_bps": fieldNetIn,
	"net_out": fieldNetOut, "net_out_bps": fieldNetOut,
	"containers": fieldContainers,
}

const knownFields = "host, hostname, host_id, ts, timestamp, cpu, mem, disk_io, net_in, net_out, containers " +
	"(or cpu_pct, mem_pct, disk_io_pct, net_in_bps, net_out_bps)"

func (f field) isHost() bool { return f == fieldHost || f == fieldHostname || f == fieldHostID }

// group is the bit that says the field was given; the three host fields share
// one, since a line names its host once.
func (f field) group() uint16 {
	if f.isHost() {
		return 1 << fieldHost
	}
	return 1 << f
}

// Bounds of the metric values; see the package documentation.
const (
	percentTolerance = 100.5
	maxBitsPerSecond = 1e15
	maxUnixSeconds   = 1e11 // year 5138: anything above is not seconds
)

// valueKind is the JSON type of a value.
type valueKind uint8

const (
	kindNull valueKind = iota
	kindString
	kindNumber
	kindBool
	kindNonFinite // NaN, Infinity, -Infinity, or a number too large for float64
	kindComposite // object or array
)

func (k valueKind) String() string {
	switch k {
	case kindString:
		return "a string"
	case kindNumber:
		return "a number"
	case kindBool:
		return "a boolean"
	case kindComposite:
		return "an object or array"
	}
	return "null"
}

type value struct {
	kind valueKind
	str  []byte // kindString: the unescaped contents
	num  float64
}

// problem is why a line was rejected; field names the field at fault as the
// sender spelt it, empty for the line as a whole.
type problem struct {
	field  string
	reason string
}

func invalidJSON(why string) *problem { return &problem{reason: "invalid JSON: " + why} }

// record collects one line's fields before they become a sample.
type record struct {
	given    uint16 // field groups given, null included
	has      uint8  // metrics measured, bit i for vals[i]
	hostKind field
	hostName []byte
	hostID   int64
	ts       time.Time
	hasTS    bool
	vals     [6]float64 // cpu, mem, disk_io, net_in, net_out, containers
}

// set checks one field's value and records it.
func (s *lineSource) set(f field, key []byte, v value) *problem {
	r := &s.rec
	if r.given&f.group() != 0 {
		if f.isHost() {
			return &problem{field: string(key), reason: "host given twice: give one of host, hostname or host_id"}
		}
		return &problem{field: string(key), reason: "field given twice"}
	}
	r.given |= f.group()
	if v.kind == kindNull {
		return nil
	}
	switch {
	case f == fieldHost || f == fieldHostname:
		if v.kind == kindString {
			r.hostKind, r.hostName = f, v.str
			return nil
		}
		if f == fieldHost && v.kind == kindNumber {
			return s.setHostID(key, v)
		}
		return wrongType(key, "a hostname string", v)
	case f == fieldHostID:
		if v.kind != kindNumber {
			return wrongType(key, "an integer host id", v)
		}
		return s.setHostID(key, v)
	case f == fieldTS:
		return s.setTS(key, v)
	}
	// A metric.
	if v.kind == kindNonFinite {
		return &problem{field: string(key), reason: "not a finite number"}
	}
	if v.kind != kindNumber {
		return wrongType(key, "a number", v)
	}
	x := v.num
	if x < 0 {
		return &problem{field: string(key), reason: "negative value " + strconv.FormatFloat(x, 'g', -1, 64)}
	}
	x += 0 // -0 becomes 0
	switch f {
	case fieldCPU, fieldMem, fieldDiskIO:
		if x > percentTolerance {
			return &problem{field: string(key), reason: "percent over 100: " + strconv.FormatFloat(x, 'g', -1, 64)}
		}
		x = min(x, 100)
	case fieldNetIn, fieldNetOut:
		if x > maxBitsPerSecond {
			return &problem{field: string(key), reason: "over 1e15 bits/s: " + strconv.FormatFloat(x, 'g', -1, 64) + " (the unit is bits per second)"}
		}
	case fieldContainers:
		if x != math.Trunc(x) || x > math.MaxInt32 {
			return &problem{field: string(key), reason: "not an integer count: " + strconv.FormatFloat(x, 'g', -1, 64)}
		}
	}
	i := f - fieldCPU
	r.vals[i] = x
	r.has |= 1 << i
	return nil
}

func (s *lineSource) setHostID(key []byte, v value) *problem {
	if v.num != math.Trunc(v.num) || v.num < 1 || v.num > math.MaxInt64/2 {
		return &problem{field: string(key), reason: "not a valid host id: " + strconv.FormatFloat(v.num, 'g', -1, 64)}
	}
	s.rec.hostKind, s.rec.hostID = fieldHostID, int64(v.num)
	return nil
}

func wrongType(key []byte, want string, v value) *problem {
	return &problem{field: string(key), reason: "must be " + want + ", not " + v.kind.String()}
}

// setTS parses a timestamp and checks it against the request's window.
func (s *lineSource) setTS(key []byte, v value) *problem {
	var ts time.Time
	switch v.kind {
	case kindString:
		t, ok := parseRFC3339(v.str)
		if !ok {
			return &problem{field: string(key), reason: fmt.Sprintf("bad timestamp %q: use RFC 3339 (2026-03-01T12:00:00Z) or unix seconds", v.str)}
		}
		ts = t
	case kindNumber:
		x := v.num
		if math.Abs(x) >= maxUnixSeconds {
			reason := "timestamp out of range: unix seconds expected"
			if x >= maxUnixSeconds && x < 1e14 {
				reason += " (this looks like milliseconds)"
			}
			return &problem{field: string(key), reason: reason}
		}
		sec := math.Floor(x)
		us := math.Round((x - sec) * 1e6)
		ts = time.Unix(int64(sec), int64(us)*1000).UTC()
	case kindNonFinite:
		return &problem{field: string(key), reason: "not a finite number"}
	default:
		return wrongType(key, "an RFC 3339 string or unix seconds", v)
	}
	switch {
	case ts.Before(s.oldest):
		return &problem{field: string(key), reason: s.detail(func() string {
			return fmt.Sprintf("timestamp %s is older than the maximum age of %s", ts.Format(time.RFC3339), humanDuration(s.cfg.MaxAge))
		}, "timestamp older than the maximum age")}
	case ts.After(s.newest):
		return &problem{field: string(key), reason: s.detail(func() string {
			return fmt.Sprintf("timestamp %s is %s in the future; at most %s is allowed", ts.Format(time.RFC3339),
				humanDuration(ts.Sub(s.now).Round(time.Second)), humanDuration(s.cfg.FutureSkew))
		}, "timestamp too far in the future")}
	}
	s.rec.ts, s.rec.hasTS = ts, true
	return nil
}

func humanDuration(d time.Duration) string {
	if d >= 48*time.Hour && d%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + " days"
	}
	return d.String()
}

// parseJSONLine parses one NDJSON line into s.rec.
func (s *lineSource) parseJSONLine(b []byte) *problem {
	i := skipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return &problem{reason: "not a JSON object"}
	}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		i++
	} else {
		for {
			if i >= len(b) || b[i] != '"' {
				return invalidJSON("expected a quoted field name")
			}
			key, j, ok := scanString(b, i)
			if !ok {
				return invalidJSON("bad string")
			}
			i = skipSpace(b, j)
			if i >= len(b) || b[i] != ':' {
				return invalidJSON("expected ':' after a field name")
			}
			v, j, p := scanValue(b, skipSpace(b, i+1))
			if p != nil {
				return p
			}
			i = skipSpace(b, j)
			if f := fieldNames[string(key)]; f != fieldNone {
				if p := s.set(f, key, v); p != nil {
					return p
				}
			} else if !s.cfg.AllowUnknownFields {
				return &problem{field: string(key), reason: "unknown field; known fields: " + knownFields}
			}
			if i < len(b) && b[i] == ',' {
				i = skipSpace(b, i+1)
				continue
			}
			if i < len(b) && b[i] == '}' {
				i++
				break
			}
			return invalidJSON("expected ',' or '}'")
		}
	}
	if skipSpace(b, i) != len(b) {
		return invalidJSON("text after the object")
	}
	return nil
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

// scanString reads the JSON string starting at b[i] == '"' and returns its
// contents and the index after it. Strings with escapes (rare here) are decoded
// by encoding/json into a fresh slice.
func scanString(b []byte, i int) ([]byte, int, bool) {
	escaped := false
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			if !escaped {
				return b[i+1 : j], j + 1, true
			}
			var s string
			if err := json.Unmarshal(b[i:j+1], &s); err != nil {
				return nil, j + 1, false
			}
			return []byte(s), j + 1, true
		case c == '\\':
			escaped = true
			j++
		case c < 0x20:
			return nil, j, false
		}
	}
	return nil, len(b), false
}

// scanValue reads the JSON value starting at b[i].
func scanValue(b []byte, i int) (value, int, *problem) {
	if i >= len(b) {
		return value{}, i, invalidJSON("missing value")
	}
	switch c := b[i]; {
	case c == '"':
		s, j, ok := scanString(b, i)
		if !ok {
			return value{}, j, invalidJSON("bad string")
		}
		return value{kind: kindString, str: s}, j, nil
	case c == '-' || (c >= '0' && c <= '9'):
		if bytes.HasPrefix(b[i:], []byte("-Infinity")) {
			return value{kind: kindNonFinite}, i + len("-Infinity"), nil
		}
		j := scanNumber(b, i)
		if j < 0 {
			return value{}, i, invalidJSON("bad number")
		}
		x, err := strconv.ParseFloat(string(b[i:j]), 64)
		if err != nil {
			return value{kind: kindNonFinite}, j, nil // out of float64 range
		}
		return value{kind: kindNumber, num: x}, j, nil
	case c == '{' || c == '[':
		j := skipComposite(b, i)
		if j < 0 {
			return value{}, i, invalidJSON("unterminated object or array")
		}
		return value{kind: kindComposite}, j, nil
	}
	for _, lit := range literals {
		if bytes.HasPrefix(b[i:], lit.text) {
			return value{kind: lit.kind}, i + len(lit.text), nil
		}
	}
	return value{}, i, invalidJSON("unexpected character")
}

var literals = []struct {
	text []byte
	kind valueKind
}{
	{[]byte("null"), kindNull}, {[]byte("true"), kindBool}, {[]byte("false"), kindBool},
	{[]byte("NaN"), kindNonFinite}, {[]byte("Infinity"), kindNonFinite},
}

// scanNumber returns the index after the JSON number starting at b[i], or -1.
func scanNumber(b []byte, i int) int {
	digits := func(j int) int {
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		return j
	}
	j := i
	if j < len(b) && b[j] == '-' {
		j++
	}
	switch {
	case j < len(b) && b[j] == '0':
		j++
	case j < len(b) && b[j] >= '1' && b[j] <= '9':
		j = digits(j)
	default:
		return -1
	}
	if j < len(b) && b[j] == '.' {
		k := digits(j + 1)
		if k == j+1 {
			return -1
		}
		j = k
	}
	if j < len(b) && (b[j] == 'e' || b[j] == 'E') {
		j++
		if j < len(b) && (b[j] == '+' || b[j] == '-') {
			j++
		}
		k := digits(j)
		if k == j {
			return -1
		}
		j = k
	}
	return j
}

// skipComposite returns the index after the object or array at b[i], or -1.
func skipComposite(b []byte, i int) int {
	depth := 0
	for j := i; j < len(b); j++ {
		switch b[j] {
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return j + 1
			}
		case '"':
			_, k, ok := scanString(b, j)
			if !ok {
				return -1
			}
			j = k - 1
		}
	}
	return -1
}

// parseCSVHeader maps the header's columns to fields. A bad header is a
// request-level problem: every row would fail the same way.
func (s *lineSource) parseCSVHeader(b []byte) error {
	cells, p := s.splitCSV(b)
	if p != nil {
		return fmt.Errorf("bad CSV header: %s", p.reason)
	}
	s.cols = s.cols[:0]
	s.colNames = s.colNames[:0]
	var given uint16
	for _, c := range cells {
		name := string(bytes.ToLower(c))
		f := fieldNames[name]
		if f == fieldNone && !s.cfg.AllowUnknownFields {
			return fmt.Errorf("unknown CSV column %q; known columns: %s", name, knownFields)
		}
		if f != fieldNone {
			if given&f.group() != 0 {
				return fmt.Errorf("CSV column %q repeats a column (give one of host, hostname, host_id; one ts or timestamp)", name)
			}
			given |= f.group()
		}
		s.cols = append(s.cols, f)
		s.colNames = append(s.colNames, []byte(name))
	}
	if given&fieldHost.group() == 0 || given&fieldTS.group() == 0 {
		return fmt.Errorf("the CSV header must name a host column (host, hostname or host_id) and a ts column (ts or timestamp)")
	}
	return nil
}

// parseCSVLine parses one CSV data row into s.rec.
func (s *lineSource) parseCSVLine(b []byte) *problem {
	cells, p := s.splitCSV(b)
	if p != nil {
		return p
	}
	if len(cells) != len(s.cols) {
		return &problem{reason: fmt.Sprintf("%d cells where the header has %d", len(cells), len(s.cols))}
	}
	for k, c := range cells {
		f := s.cols[k]
		if f == fieldNone {
			continue
		}
		v, p := csvValue(f, s.colNames[k], c)
		if p != nil {
			return p
		}
		if p := s.set(f, s.colNames[k], v); p != nil {
			return p
		}
	}
	return nil
}

// csvValue types a cell as the JSON value it stands for: text for hostnames,
// numbers for metrics and ids, either for timestamps.
func csvValue(f field, name, c []byte) (value, *problem) {
	if len(c) == 0 {
		return value{kind: kindNull}, nil
	}
	if f == fieldHost || f == fieldHostname {
		return value{kind: kindString, str: c}, nil
	}
	if j := scanNumber(c, 0); j == len(c) {
		x, err := strconv.ParseFloat(string(c), 64)
		if err != nil {
			return value{kind: kindNonFinite}, nil
		}
		return value{kind: kindNumber, num: x}, nil
	}
	if f == fieldTS {
		return value{kind: kindString, str: c}, nil
	}
	switch string(bytes.ToLower(bytes.TrimPrefix(bytes.TrimPrefix(c, []byte("+")), []byte("-")))) {
	case "nan", "inf", "infinity":
		return value{kind: kindNonFinite}, nil
	}
	return value{}, &problem{field: string(name), reason: fmt.Sprintf("not a number: %q", c)}
}

// splitCSV splits a row into trimmed, unquoted cells (RFC 4180 quoting within
// one line). The cells point into b or into s.scratch, valid until the next row.
func (s *lineSource) splitCSV(b []byte) ([][]byte, *problem) {
	if cap(s.scratch) < len(b) {
		s.scratch = make([]byte, 0, len(b)) // never grows within the row, so cells stay valid
	}
	s.scratch = s.scratch[:0]
	cells := s.cells[:0]
	i := 0
	for {
		for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
			i++
		}
		if i < len(b) && b[i] == '"' {
			start := len(s.scratch)
			j := i + 1
			for {
				k := bytes.IndexByte(b[j:], '"')
				if k < 0 {
					return nil, &problem{reason: "unterminated quoted cell (cells may not span lines)"}
				}
				s.scratch = append(s.scratch, b[j:j+k]...)
				j += k + 1
				if j < len(b) && b[j] == '"' { // "" is a quote
					s.scratch = append(s.scratch, '"')
					j++
					continue
				}
				break
			}
			cells = append(cells, s.scratch[start:len(s.scratch):len(s.scratch)])
			for j < len(b) && (b[j] == ' ' || b[j] == '\t') {
				j++
			}
			if j < len(b) && b[j] != ',' {
				return nil, &problem{reason: "text after a quoted cell"}
			}
			i = j
		} else {
			k := bytes.IndexByte(b[i:], ',')
			if k < 0 {
				k = len(b) - i
			}
			cells = append(cells, bytes.TrimRight(b[i:i+k], " \t"))
			i += k
		}
		if i >= len(b) {
			break
		}
		i++ // the comma
	}
	s.cells = cells
	return cells, nil
}

// parseRFC3339 parses an RFC 3339 timestamp. The common shape is read by hand,
// without allocating; anything else goes through time.Parse.
func parseRFC3339(b []byte) (time.Time, bool) {
	num := func(i, n int) int {
		v := 0
		for _, c := range b[i : i+n] {
			if c < '0' || c > '9' {
				return -1
			}
			v = v*10 + int(c-'0')
		}
		return v
	}
	if len(b) < 20 || b[4] != '-' || b[7] != '-' || (b[10] != 'T' && b[10] != 't') || b[13] != ':' || b[16] != ':' {
		return parseRFC3339Slow(b)
	}
	y, mo, d, h, mi, sec := num(0, 4), num(5, 2), num(8, 2), num(11, 2), num(14, 2), num(17, 2)
	if y < 0 || mo < 1 || mo > 12 || d < 1 || d > daysIn(mo, y) || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59 {
		return time.Time{}, false
	}
	i, nsec := 19, 0
	if b[i] == '.' {
		i++
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			if i-start < 9 {
				nsec = nsec*10 + int(b[i]-'0')
			}
			i++
		}
		if i == start {
			return time.Time{}, false
		}
		for k := min(i-start, 9); k < 9; k++ {
			nsec *= 10
		}
	}
	offset := 0
	switch {
	case i == len(b)-1 && (b[i] == 'Z' || b[i] == 'z'):
	case i == len(b)-6 && (b[i] == '+' || b[i] == '-') && b[i+3] == ':':
		oh, om := num(i+1, 2), num(i+4, 2)
		if oh < 0 || oh > 23 || om < 0 || om > 59 {
			return time.Time{}, false
		}
		offset = oh*3600 + om*60
		if b[i] == '-' {
			offset = -offset
		}
	default:
		return time.Time{}, false
	}
	unix := daysFromCivil(y, mo, d)*86400 + int64(h*3600+mi*60+sec-offset)
	return time.Unix(unix, int64(nsec)).UTC(), true
}

func parseRFC3339Slow(b []byte) (time.Time, bool) {
	t, err := time.Parse(time.RFC3339Nano, string(b))
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}

func daysIn(m, y int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil is the number of days from 1970-01-01 to y-m-d (proleptic
// Gregorian), after Howard Hinnant's algorithm.
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}
