package model

import (
	"encoding/json"
	"io"
	"strconv"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"github.com/teslaops/tesla/internal/fault"
)

// Duration is a Go duration sent as a string such as "1h30m".
type Duration time.Duration

// UnmarshalGQL parses a duration string.
func (d *Duration) UnmarshalGQL(v any) error {
	s, ok := v.(string)
	if !ok {
		return fault.New(fault.Invalid, "Duration must be a string such as \"90m\"")
	}
	parsed, err := time.ParseDuration(s)
	if err != nil {
		return fault.New(fault.Invalid, "Duration %q is not valid: use units h, m, s (e.g. \"720h\")", s)
	}
	*d = Duration(parsed)
	return nil
}

// MarshalGQL writes the duration as a string.
func (d Duration) MarshalGQL(w io.Writer) {
	_, _ = io.WriteString(w, strconv.Quote(time.Duration(d).String()))
}

// Decimal is an exact decimal number, such as money, carried as its string form so
// no float rounding ever touches it.
type Decimal string

// UnmarshalGQL accepts a decimal string (or an integer literal).
func (d *Decimal) UnmarshalGQL(v any) error {
	switch x := v.(type) {
	case string:
		if _, err := strconv.ParseFloat(x, 64); err != nil {
			return fault.New(fault.Invalid, "Decimal %q is not a number", x)
		}
		*d = Decimal(x)
	case int64:
		*d = Decimal(strconv.FormatInt(x, 10))
	case json.Number:
		*d = Decimal(x.String())
	default:
		return fault.New(fault.Invalid, "Decimal must be a string such as \"12.50\"")
	}
	return nil
}

// MarshalGQL writes the decimal as a string.
func (d Decimal) MarshalGQL(w io.Writer) { _, _ = io.WriteString(w, strconv.Quote(string(d))) }

// JSON is arbitrary JSON passed through as is.
type JSON json.RawMessage

// UnmarshalGQL stores any input value as JSON.
func (j *JSON) UnmarshalGQL(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fault.New(fault.Invalid, "JSON value cannot be encoded: %v", err)
	}
	*j = b
	return nil
}

// MarshalGQL writes the raw JSON (or null).
func (j JSON) MarshalGQL(w io.Writer) {
	if len(j) == 0 {
		_, _ = io.WriteString(w, "null")
		return
	}
	_, _ = w.Write(j)
}

var _ graphql.Marshaler = Duration(0)
