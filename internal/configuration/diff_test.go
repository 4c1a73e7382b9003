package configuration

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// applyUnified applies a diff made by UnifiedDiff to old, checking every
// context and removed line against old: if the diff is wrong, this fails.
func applyUnified(t *testing.T, old, diff string) string {
	t.Helper()
	if diff == "" {
		return old
	}
	al, anl := splitLines(old)
	var out []string
	// noNL: the last line written from the diff was marked as having no newline.
	noNL := false
	lines := strings.Split(strings.TrimSuffix(diff, "\n"), "\n")
	require.True(t, strings.HasPrefix(lines[0], "--- ") && strings.HasPrefix(lines[1], "+++ "))
	pos := 0
	var last byte
	for _, l := range lines[2:] {
		switch {
		case strings.HasPrefix(l, "@@ "):
			var as, ac, bs, bc int
			_, err := fmt.Sscanf(l, "@@ -%d,%d +%d,%d @@", &as, &ac, &bs, &bc)
			require.NoError(t, err, l)
			start := as - 1
			if ac == 0 {
				start = as
			}
			require.GreaterOrEqual(t, start, pos)
			out = append(out, al[pos:start]...)
			pos = start
		case l == `\ No newline at end of file`:
			if last == '+' || last == ' ' {
				noNL = true
			}
		case l[0] == ' ':
			require.Equal(t, al[pos], l[1:])
			out = append(out, l[1:])
			pos++
			last = ' '
			noNL = false
		case l[0] == '-':
			require.Equal(t, al[pos], l[1:])
			pos++
			last = '-'
		case l[0] == '+':
			out = append(out, l[1:])
			last = '+'
			noNL = false
		}
	}
	outNL := !noNL
	if pos < len(al) {
		outNL = anl
	}
	out = append(out, al[pos:]...)
	if len(out) == 0 {
		return ""
	}
	s := strings.Join(out, "\n")
	if outNL {
		s += "\n"
	}
	return s
}

func TestUnifiedDiffFormat(t *testing.T) {
	t.Parallel()
	old := "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n"
	new := "a\nb\nc\nd\nE\nf\ng\nh\ni\nj\nk\n"
	require.Equal(t, `--- a/hdfs-site.xml
+++ b/hdfs-site.xml
@@ -2,9 +2,10 @@
 b
 c
 d
-e
+E
 f
 g
 h
 i
 j
+k
`, UnifiedDiff("hdfs-site.xml", old, new))
	// Changes further apart than twice the context make two hunks.
	require.Equal(t, "--- a/x\n+++ b/x\n@@ -1,4 +1,4 @@\n-a\n+A\n b\n c\n d\n@@ -7,4 +7,4 @@\n g\n h\n i\n-j\n+J\n",
		UnifiedDiff("x", old, "A\nb\nc\nd\ne\nf\ng\nh\ni\nJ\n"))
	require.Equal(t, "", UnifiedDiff("x", old, old))
	require.Equal(t, "--- /dev/null\n+++ b/x\n@@ -0,0 +1,1 @@\n+a\n", UnifiedDiff("x", "", "a\n"))
	require.Equal(t, "--- a/x\n+++ b/x\n@@ -1,1 +1,1 @@\n-a\n\\ No newline at end of file\n+a\n", UnifiedDiff("x", "a", "a\n"))
}

// Random edits of random files: applying the diff to the old file must give
// the new one, whatever the edits.
func TestUnifiedDiffRoundTrip(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 9))
	for range 300 {
		n := rng.IntN(60)
		var old []string
		for range n {
			old = append(old, strconv.Itoa(rng.IntN(8)))
		}
		cur := append([]string(nil), old...)
		for range rng.IntN(10) {
			i := rng.IntN(len(cur) + 1)
			switch rng.IntN(3) {
			case 0:
				cur = append(cur[:i], append([]string{"new" + strconv.Itoa(rng.IntN(5))}, cur[i:]...)...)
			case 1:
				if i < len(cur) {
					cur = append(cur[:i], cur[i+1:]...)
				}
			case 2:
				if i < len(cur) {
					cur[i] = "chg"
				}
			}
		}
		join := func(ls []string, nl bool) string {
			if len(ls) == 0 {
				return ""
			}
			s := strings.Join(ls, "\n")
			if nl {
				s += "\n"
			}
			return s
		}
		a, b := join(old, rng.IntN(4) > 0), join(cur, rng.IntN(4) > 0)
		d := UnifiedDiff("f", a, b)
		require.Equal(t, b, applyUnified(t, a, d), "diff:\n%s", d)
	}
}

// Past maxEditDistance the diff stays correct (the middle removed and added
// whole).
func TestUnifiedDiffBeyondEditBound(t *testing.T) {
	t.Parallel()
	var a, b strings.Builder
	for i := range 3 * maxEditDistance {
		fmt.Fprintf(&a, "old %d\n", i)
		fmt.Fprintf(&b, "new %d\n", i)
	}
	d := UnifiedDiff("f", a.String(), b.String())
	require.Equal(t, b.String(), applyUnified(t, a.String(), d))
	// The same lines in reverse order: no line is forced, the search itself
	// runs into the bound.
	var r strings.Builder
	for i := 3*maxEditDistance - 1; i >= 0; i-- {
		fmt.Fprintf(&r, "old %d\n", i)
	}
	d = UnifiedDiff("f", a.String(), r.String())
	require.Equal(t, r.String(), applyUnified(t, a.String(), d))
}

// Two 1 MB files (about 20,000 property lines) differing in 40 scattered
// places: edits, insertions and removals.
func BenchmarkUnifiedDiff1MB(b *testing.B) {
	var a strings.Builder
	i := 0
	for a.Len() < 1<<20 {
		fmt.Fprintf(&a, "tesla.some.property.number.%06d=value-%d-%d\n", i, i*7, i%13)
		i++
	}
	lines, _ := splitLines(a.String())
	nb := append([]string(nil), lines...)
	for k := range 40 {
		j := (k*7919 + 11) % len(nb)
		switch k % 3 {
		case 0:
			nb[j] = nb[j] + "-changed"
		case 1:
			nb = append(nb[:j], append([]string{"inserted.line=" + strconv.Itoa(k)}, nb[j:]...)...)
		case 2:
			nb = append(nb[:j], nb[j+1:]...)
		}
	}
	old, new := a.String(), strings.Join(nb, "\n")+"\n"
	b.SetBytes(int64(len(old)))
	b.ReportAllocs()
	var d string
	for b.Loop() {
		d = UnifiedDiff("big.properties", old, new)
	}
	b.ReportMetric(float64(strings.Count(d, "\n@@")+1), "hunks")
}

// The worst case: two 1 MB files with no line in common, past the edit
// bound (the middle is shown removed and added whole).
func BenchmarkUnifiedDiff1MBNothingInCommon(b *testing.B) {
	var a, c strings.Builder
	for i := 0; a.Len() < 1<<20; i++ {
		fmt.Fprintf(&a, "old.property.%06d=value-%d\n", i, i)
		fmt.Fprintf(&c, "new.property.%06d=value-%d\n", i, i)
	}
	old, new := a.String(), c.String()
	b.SetBytes(int64(len(old)))
	b.ReportAllocs()
	for b.Loop() {
		_ = UnifiedDiff("big.properties", old, new)
	}
}
