package stack

import (
	"cmp"
	"fmt"
	"strconv"
	"strings"
)

// SemVer is a package version: one to three numeric parts and an optional
// pre-release tag. Parts left out count as 0 when versions are compared, but
// are remembered so that "=3.1" can mean "any 3.1.x". Vendors' versions are
// rarely strict semver ("0.280", "3.5"), hence "semver-ish".
type SemVer struct {
	Parts [3]uint64
	// N is how many parts were written (1..3).
	N   int
	Pre string
}

// ParseSemVer parses a version such as "3.3.6", "0.280", "2.4" or "1.0.0-rc1"
// (a leading "v" is dropped). It is hand-written rather than a regular
// expression: the planner parses every dependency's constraint and version
// on each resolution.
func ParseSemVer(s string) (SemVer, error) {
	bad := func() (SemVer, error) {
		return SemVer{}, fmt.Errorf("%q is not a version: want one to three numbers separated by dots, optionally followed by -prerelease", s)
	}
	rest := strings.TrimPrefix(s, "v")
	var v SemVer
	for {
		digits := 0
		for digits < len(rest) && rest[digits] >= '0' && rest[digits] <= '9' {
			digits++
		}
		if digits == 0 || digits > 9 || v.N == 3 {
			return bad()
		}
		v.Parts[v.N], _ = strconv.ParseUint(rest[:digits], 10, 64)
		v.N++
		rest = rest[digits:]
		if rest == "" || rest[0] != '.' {
			break
		}
		rest = rest[1:]
	}
	if rest == "" {
		return v, nil
	}
	if rest[0] != '-' || len(rest) < 2 || !alnum(rest[1]) {
		return bad()
	}
	for i := 2; i < len(rest); i++ {
		if c := rest[i]; !alnum(c) && c != '.' && c != '-' {
			return bad()
		}
	}
	v.Pre = rest[1:]
	return v, nil
}

func alnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// String writes the version as it was parsed (without a leading "v").
func (v SemVer) String() string {
	var b strings.Builder
	for i := range v.N {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strconv.FormatUint(v.Parts[i], 10))
	}
	if v.Pre != "" {
		b.WriteString("-" + v.Pre)
	}
	return b.String()
}

// Compare returns -1, 0 or 1. A pre-release sorts before its release; two
// pre-release tags compare identifier by identifier, numbers numerically.
func (v SemVer) Compare(o SemVer) int {
	for i := range 3 {
		if v.Parts[i] != o.Parts[i] {
			if v.Parts[i] < o.Parts[i] {
				return -1
			}
			return 1
		}
	}
	switch {
	case v.Pre == o.Pre:
		return 0
	case v.Pre == "":
		return 1
	case o.Pre == "":
		return -1
	}
	a, b := strings.Split(v.Pre, "."), strings.Split(o.Pre, ".")
	for i := 0; i < len(a) && i < len(b); i++ {
		if c := compareIdent(a[i], b[i]); c != 0 {
			return c
		}
	}
	switch {
	case len(a) < len(b):
		return -1
	case len(a) > len(b):
		return 1
	}
	return 0
}

func compareIdent(a, b string) int {
	na, ea := strconv.ParseUint(a, 10, 64)
	nb, eb := strconv.ParseUint(b, 10, 64)
	switch {
	case ea == nil && eb == nil:
		return cmp.Compare(na, nb)
	case ea == nil:
		return -1 // numeric identifiers sort before alphanumeric ones
	case eb == nil:
		return 1
	}
	return strings.Compare(a, b)
}

// bound is one comparison of a constraint: version op bound.
type bound struct {
	op string // ">=", ">", "<=", "<", "=" (prefix match on the parts written)
	v  SemVer
}

func (b bound) allows(v SemVer) bool {
	switch b.op {
	case "=":
		for i := range b.v.N {
			if v.Parts[i] != b.v.Parts[i] {
				return false
			}
		}
		// "=3.1" allows 3.1.x; "=3.1.0-rc1" only that pre-release.
		return b.v.Pre == v.Pre || (b.v.N < 3 && b.v.Pre == "" && v.Pre == "")
	case ">=":
		return v.Compare(b.v) >= 0
	case ">":
		return v.Compare(b.v) > 0
	case "<=":
		return v.Compare(b.v) <= 0
	default:
		return v.Compare(b.v) < 0
	}
}

// Constraint is a parsed version constraint: every comma-separated term must
// hold ("*" or "" allows any version). See docs/stacks.md for the syntax.
type Constraint struct {
	text   string
	bounds []bound
}

// String returns the constraint as written.
func (c Constraint) String() string { return c.text }

// Allows reports whether v satisfies every term of c.
func (c Constraint) Allows(v SemVer) bool {
	for _, b := range c.bounds {
		if !b.allows(v) {
			return false
		}
	}
	return true
}

// ParseConstraint parses terms such as ">=1.2", "<2", "=3.1.0", "^1.4",
// "~1.4.2" or a bare version (same as "="), combined with commas:
// ">=3.2, <4".
func ParseConstraint(s string) (Constraint, error) {
	c := Constraint{text: strings.TrimSpace(s)}
	if c.text == "" || c.text == "*" {
		c.text = "*"
		return c, nil
	}
	for term := range strings.SplitSeq(c.text, ",") {
		term = strings.TrimSpace(term)
		if term == "" {
			return Constraint{}, fmt.Errorf("%q has an empty term between commas", s)
		}
		op := ""
		for _, o := range []string{">=", "<=", ">", "<", "=", "^", "~"} {
			if strings.HasPrefix(term, o) {
				op = o
				break
			}
		}
		v, err := ParseSemVer(strings.TrimSpace(term[len(op):]))
		if err != nil {
			return Constraint{}, fmt.Errorf("term %q of %q: %w", term, s, err)
		}
		switch op {
		case "", "=":
			c.bounds = append(c.bounds, bound{"=", v})
		case "^":
			// ^1.4 → >=1.4 <2; ^0.4 → >=0.4 <0.5; ^0.0.3 → >=0.0.3 <0.0.4
			up := SemVer{N: 3}
			switch {
			case v.Parts[0] > 0 || v.N == 1:
				up.Parts[0] = v.Parts[0] + 1
			case v.Parts[1] > 0 || v.N == 2:
				up.Parts[1] = v.Parts[1] + 1
			default:
				up.Parts[2] = v.Parts[2] + 1
			}
			c.bounds = append(c.bounds, bound{">=", v}, bound{"<", up})
		case "~":
			// ~1.4.2 → >=1.4.2 <1.5; ~1.4 → >=1.4 <1.5; ~1 → >=1 <2
			up := SemVer{N: 3}
			if v.N == 1 {
				up.Parts[0] = v.Parts[0] + 1
			} else {
				up.Parts[0], up.Parts[1] = v.Parts[0], v.Parts[1]+1
			}
			c.bounds = append(c.bounds, bound{">=", v}, bound{"<", up})
		default:
			c.bounds = append(c.bounds, bound{op, v})
		}
	}
	return c, nil
}
