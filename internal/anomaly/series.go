package anomaly

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// Series is a metric series read from a `timestamp,value` CSV (the NAB format).
type Series struct {
	Timestamps []time.Time
	Values     []float64
	// Lines holds each kept row's line number in the file, so later messages
	// can name the line.
	Lines []int
	// Warnings name the lines that were skipped or look suspicious; the good
	// rows are kept.
	Warnings []string
}

// ReadOptions says how strict ReadSeries is.
type ReadOptions struct {
	// MinRows is the fewest rows a usable series has; fewer is an error.
	MinRows int
	// AllowGaps suppresses the warning for a step much longer than usual.
	AllowGaps bool
	// KeepOrder keeps every readable row in file order, even when its
	// timestamp repeats or goes back, as NAB itself does: NAB's data has rows
	// repeated where a clock went back for daylight saving and one row out of
	// order, and its labels and scores count them.
	KeepOrder bool
	// MaxWarnings caps the warnings kept (0 = 20); the count of the rest is
	// reported in one last warning.
	MaxWarnings int
}

// ErrShortSeries is returned when a file holds fewer good rows than asked for.
var ErrShortSeries = errors.New("series too short")

// ReadSeries reads a `timestamp,value` CSV with a header line. A row that cannot
// be read, or whose timestamp is not after the previous one, is skipped with a
// warning naming its line (a detector fed online can never go back in time). An
// empty, "NaN" or infinite value is kept as NaN or ±Inf: the detector is built
// to take them. A gap longer than three usual steps is reported as a warning.
func ReadSeries(r io.Reader, opt ReadOptions) (*Series, error) {
	maxWarn := opt.MaxWarnings
	if maxWarn == 0 {
		maxWarn = 20
	}
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	s := &Series{}
	dropped := 0
	warn := func(format string, args ...any) {
		if len(s.Warnings) < maxWarn {
			s.Warnings = append(s.Warnings, fmt.Sprintf(format, args...))
		} else {
			dropped++
		}
	}
	header, err := cr.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("line 1: empty file, want a header \"timestamp,value\": %w", ErrShortSeries)
	}
	if err != nil {
		return nil, fmt.Errorf("line 1: %w", err)
	}
	tsCol, valCol := -1, -1
	for i, h := range header {
		switch strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))) {
		case "timestamp":
			tsCol = i
		case "value":
			valCol = i
		}
	}
	if tsCol < 0 || valCol < 0 {
		return nil, fmt.Errorf("line 1: header %q lacks a \"timestamp\" and a \"value\" column", strings.Join(header, ","))
	}
	var steps []time.Duration // the first steps, to learn the usual one
	var usual time.Duration
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				warn("line %d: skipped: %v", pe.Line, pe.Err)
				continue
			}
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		if len(rec) <= tsCol || len(rec) <= valCol {
			warn("line %d: skipped: %d fields, want at least %d", line, len(rec), max(tsCol, valCol)+1)
			continue
		}
		t, err := ParseTimestamp(rec[tsCol])
		if err != nil {
			warn("line %d: skipped: %v", line, err)
			continue
		}
		v, err := parseValue(rec[valCol])
		if err != nil {
			warn("line %d: skipped: %v", line, err)
			continue
		}
		if n := len(s.Timestamps); n > 0 {
			prev := s.Timestamps[n-1]
			if !t.After(prev) && !opt.KeepOrder {
				warn("line %d: skipped: timestamp %s is not after %s (line %d); rows must be in time order", line, rec[tsCol], prev.Format(NABTimeLayout), s.Lines[n-1])
				continue
			}
			step := t.Sub(prev)
			if step <= 0 {
				// a repeated or earlier timestamp kept on request: not a step
			} else if usual == 0 {
				steps = append(steps, step)
				if len(steps) == 16 {
					usual = medianDuration(steps)
				}
			} else if !opt.AllowGaps && step > 3*usual {
				warn("line %d: gap of %s after %s (usual step %s); the detector treats it as missing samples", line, step, prev.Format(NABTimeLayout), usual)
			}
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			warn("line %d: value %q is not a finite number; it is scored 0 and not learnt", line, rec[valCol])
		}
		s.Timestamps = append(s.Timestamps, t)
		s.Values = append(s.Values, v)
		s.Lines = append(s.Lines, line)
	}
	if dropped > 0 {
		s.Warnings = append(s.Warnings, fmt.Sprintf("… and %d more warnings", dropped))
	}
	if opt.MinRows > 0 && len(s.Values) < opt.MinRows {
		return s, fmt.Errorf("%d good rows, want at least %d: %w", len(s.Values), opt.MinRows, ErrShortSeries)
	}
	return s, nil
}

// parseValue reads a value; an empty field is a missing sample (NaN).
func parseValue(f string) (float64, error) {
	f = strings.TrimSpace(f)
	if f == "" {
		return math.NaN(), nil
	}
	v, err := strconv.ParseFloat(f, 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && errors.Is(ne.Err, strconv.ErrRange) {
			return v, nil // ±Inf or 0 on overflow: kept, the detector copes
		}
		return 0, fmt.Errorf("value %q is not a number", f)
	}
	return v, nil
}

func medianDuration(d []time.Duration) time.Duration {
	c := append([]time.Duration(nil), d...)
	for i := 1; i < len(c); i++ {
		for j := i; j > 0 && c[j] < c[j-1]; j-- {
			c[j], c[j-1] = c[j-1], c[j]
		}
	}
	return c[len(c)/2]
}
