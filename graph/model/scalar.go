package model

import (
	"context"
	"encoding/json"
	"io"
	"regexp"
	"strconv"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/teslaops/tesla/internal/fault"
)

// Duration is a Go duration sent as a string such as "1h30m".
type Duration time.Duration

// UnmarshalGQLContext parses a duration string; a bad one is the caller's
// mistake (BAD_USER_INPUT) naming the argument it was given for.
func (d *Duration) UnmarshalGQLContext(ctx context.Context, v any) error {
	name := argName(ctx)
	s, ok := v.(string)
	if !ok {
		return badInput(name, "must be a Duration string such as \"90m\", not %s", describe(v))
	}
	parsed, err := time.ParseDuration(s)
	if err != nil {
		return badInput(name, "Duration %q is not valid: use units h, m, s (e.g. \"720h\")", s)
	}
	*d = Duration(parsed)
	return nil
}

// UnmarshalGQL is UnmarshalGQLContext outside a request.
func (d *Duration) UnmarshalGQL(v any) error { return d.UnmarshalGQLContext(context.Background(), v) }

// MarshalGQLContext writes the duration as a string.
func (d Duration) MarshalGQLContext(_ context.Context, w io.Writer) error {
	d.MarshalGQL(w)
	return nil
}

// MarshalGQL writes the duration as a string.
func (d Duration) MarshalGQL(w io.Writer) {
	_, _ = io.WriteString(w, strconv.Quote(time.Duration(d).String()))
}

// MarshalTime writes a Time as RFC 3339, as gqlgen's own Time scalar does.
func MarshalTime(t time.Time) graphql.ContextMarshaler {
	return graphql.ContextWriterFunc(func(_ context.Context, w io.Writer) error {
		graphql.MarshalTime(t).MarshalGQL(w)
		return nil
	})
}

// UnmarshalTime parses an RFC 3339 timestamp (in UTC from then on). Anything else,
// "yesterday", an empty string or a number, is the caller's mistake: a
// BAD_USER_INPUT naming the argument, never an internal error.
func UnmarshalTime(ctx context.Context, v any) (time.Time, error) {
	name := argName(ctx)
	s, ok := v.(string)
	if !ok {
		return time.Time{}, badInput(name, "must be an RFC 3339 time string such as \"2026-03-01T12:00:00Z\", not %s", describe(v))
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, badInput(name, "%q is not an RFC 3339 time such as \"2026-03-01T12:00:00Z\"", s)
	}
	return t.UTC(), nil
}

// argName names the argument or input field being decoded in ctx: the last name
// on its path ("from" in platform.watermarkSeries.from), or "" outside a request.
func argName(ctx context.Context) string {
	p := graphql.GetPath(ctx)
	for i := len(p) - 1; i >= 0; i-- {
		if n, ok := p[i].(ast.PathName); ok {
			return string(n)
		}
	}
	return ""
}

// badInput is an Invalid fault that starts with the argument's name and carries
// it as the error's field.
func badInput(name, format string, args ...any) error {
	if name == "" {
		return fault.New(fault.Invalid, format, args...)
	}
	return fault.Field(name, name+" "+format, args...)
}

// describe names the JSON kind of a value a client sent, without quoting it whole.
func describe(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case string:
		return "a string"
	}
	return "a number"
}

// Decimal is an exact decimal number, such as money, carried as its string form so
// no float rounding ever touches it.
type Decimal string

// UnmarshalGQL accepts a decimal string (or an integer literal).
func (d *Decimal) UnmarshalGQL(v any) error {
	switch x := v.(type) {
	case string:
		// Plain decimal notation only: ParseFloat would also take "NaN", "Inf",
		// "1e400" and hex floats, none of which is an amount.
		if !decimalPattern.MatchString(x) {
			return fault.New(fault.Invalid, "Decimal %q is not a decimal number such as \"12.50\"", x)
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

var decimalPattern = regexp.MustCompile(`^-?[0-9]{1,30}(\.[0-9]{1,30})?$`)

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
