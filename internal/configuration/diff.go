package configuration

import (
	"fmt"
	"strings"
)

// maxEditDistance bounds the Myers search: the trace it keeps for the
// backtrack grows with the square of the edit distance (2,000 edits keep
// about 16 MB). Past it the differing middle is shown as removed and added
// whole, still a correct diff, only not the shortest.
const maxEditDistance = 2000

// diffContext is the number of unchanged lines shown around a change, as in
// `diff -u`.
const diffContext = 3

// editOp is one line of an edit script.
type editOp struct {
	kind byte // ' ', '-', '+'
	a, b int  // line indexes in the old and new file (the one that applies)
}

// splitLines cuts text into lines without their newline and says whether
// the text ended with one.
func splitLines(s string) ([]string, bool) {
	if s == "" {
		return nil, true
	}
	nl := strings.HasSuffix(s, "\n")
	if nl {
		s = s[:len(s)-1]
	}
	return strings.Split(s, "\n"), nl
}

// UnifiedDiff returns the unified diff (`diff -u` format, 3 lines of
// context) turning old into new, labelled a/name and b/name; "" when they
// are equal. It is line based: lines are interned to integers and compared
// with Myers' O(ND) algorithm after the common prefix and suffix are cut,
// so two large files that differ in a few places cost little more than
// reading them.
func UnifiedDiff(name, old, new string) string {
	if old == new {
		return ""
	}
	al, anl := splitLines(old)
	bl, bnl := splitLines(new)
	ids := make(map[string]int32, len(al))
	intern := func(ls []string, nl bool) []int32 {
		out := make([]int32, len(ls))
		for i, l := range ls {
			if i == len(ls)-1 && !nl {
				// A last line without its newline differs from the same
				// text with one.
				l += "\x00"
			}
			id, ok := ids[l]
			if !ok {
				id = int32(len(ids))
				ids[l] = id
			}
			out[i] = id
		}
		return out
	}
	a, b := intern(al, anl), intern(bl, bnl)
	ops := editScript(a, b)
	var sb strings.Builder
	oldName, newName := "a/"+name, "b/"+name
	if old == "" {
		oldName = "/dev/null"
	}
	if new == "" {
		newName = "/dev/null"
	}
	fmt.Fprintf(&sb, "--- %s\n+++ %s\n", oldName, newName)
	writeHunks(&sb, ops, al, bl, anl, bnl)
	return sb.String()
}

// editScript returns the edit script from a to b.
func editScript(a, b []int32) []editOp {
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	ops := make([]editOp, 0, pre+suf+16)
	for i := range pre {
		ops = append(ops, editOp{' ', i, i})
	}
	ma, mb := a[pre:len(a)-suf], b[pre:len(b)-suf]
	var mid []editOp
	ok := false
	// Lines of one side that the other lacks must be removed or added: when
	// they alone pass the bound, the search would only run into it.
	if forcedEdits(ma, mb) <= maxEditDistance {
		mid, ok = myers(ma, mb)
	}
	if !ok {
		mid = mid[:0]
		for i := range ma {
			mid = append(mid, editOp{'-', i, 0})
		}
		for j := range mb {
			mid = append(mid, editOp{'+', len(ma), j})
		}
	}
	for _, o := range mid {
		o.a += pre
		o.b += pre
		ops = append(ops, o)
	}
	for i := range suf {
		ops = append(ops, editOp{' ', len(a) - suf + i, len(b) - suf + i})
	}
	return ops
}

// forcedEdits counts the lines of a absent from b and of b absent from a: a
// lower bound of the edit distance.
func forcedEdits(a, b []int32) int {
	top := int32(0)
	for _, x := range a {
		top = max(top, x)
	}
	for _, x := range b {
		top = max(top, x)
	}
	// seen[id]: 1 in a, 2 in b.
	seen := make([]byte, top+1)
	for _, x := range a {
		seen[x] |= 1
	}
	for _, x := range b {
		seen[x] |= 2
	}
	n := 0
	for _, x := range a {
		if seen[x] == 1 {
			n++
		}
	}
	for _, x := range b {
		if seen[x] == 2 {
			n++
		}
	}
	return n
}

// myers computes a shortest edit script from a to b, or reports false when
// it needs more than maxEditDistance edits.
func myers(a, b []int32) ([]editOp, bool) {
	n, m := len(a), len(b)
	if n == 0 || m == 0 {
		var ops []editOp
		for i := range n {
			ops = append(ops, editOp{'-', i, 0})
		}
		for j := range m {
			ops = append(ops, editOp{'+', n, j})
		}
		return ops, true
	}
	limit := min(n+m, maxEditDistance)
	off := limit + 1
	v := make([]int32, 2*limit+3)
	// trace[d] holds v[-d..d] after step d, for the backtrack.
	var trace [][]int32
	final := -1
search:
	for d := 0; d <= limit; d++ {
		for k := -d; k <= d; k += 2 {
			var x int
			if k == -d || (k != d && v[off+k-1] < v[off+k+1]) {
				x = int(v[off+k+1])
			} else {
				x = int(v[off+k-1]) + 1
			}
			y := x - k
			for x < n && y < m && a[x] == b[y] {
				x++
				y++
			}
			v[off+k] = int32(x)
			if x >= n && y >= m {
				trace = append(trace, append([]int32(nil), v[off-d:off+d+1]...))
				final = d
				break search
			}
		}
		trace = append(trace, append([]int32(nil), v[off-d:off+d+1]...))
	}
	if final < 0 {
		return nil, false
	}
	// Backtrack from (n, m), collecting the script in reverse.
	rev := make([]editOp, 0, n+m)
	x, y := n, m
	for d := final; d > 0; d-- {
		prev := trace[d-1] // v[-(d-1)..d-1], index k+d-1
		k := x - y
		var pk int
		if k == -d || (k != d && prev[k-1+d-1] < prev[k+1+d-1]) {
			pk = k + 1
		} else {
			pk = k - 1
		}
		px := int(prev[pk+d-1])
		py := px - pk
		for x > px && y > py {
			x--
			y--
			rev = append(rev, editOp{' ', x, y})
		}
		if pk == k+1 {
			y--
			rev = append(rev, editOp{'+', x, y})
		} else {
			x--
			rev = append(rev, editOp{'-', x, y})
		}
	}
	for x > 0 && y > 0 {
		x--
		y--
		rev = append(rev, editOp{' ', x, y})
	}
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	return rev, true
}

// writeHunks writes the script's changes with diffContext lines around them,
// merging changes whose contexts touch.
func writeHunks(sb *strings.Builder, ops []editOp, al, bl []string, anl, bnl bool) {
	for i := 0; i < len(ops); {
		if ops[i].kind == ' ' {
			i++
			continue
		}
		start := max(i-diffContext, 0)
		end := i
		// Extend through changes separated by at most 2×context equal lines.
		for end < len(ops) {
			if ops[end].kind != ' ' {
				end++
				continue
			}
			run := end
			for run < len(ops) && ops[run].kind == ' ' {
				run++
			}
			if run == len(ops) || run-end > 2*diffContext {
				end = min(end+diffContext, len(ops))
				break
			}
			end = run
		}
		var aStart, bStart, aCount, bCount int
		aStart, bStart = -1, -1
		for _, o := range ops[start:end] {
			switch o.kind {
			case ' ':
				aCount++
				bCount++
			case '-':
				aCount++
			case '+':
				bCount++
			}
		}
		aStart, bStart = ops[start].a, ops[start].b
		// Line numbers are 1-based; an empty range is numbered by the line before it.
		as, bs := aStart+1, bStart+1
		if aCount == 0 {
			as = aStart
		}
		if bCount == 0 {
			bs = bStart
		}
		fmt.Fprintf(sb, "@@ -%d,%d +%d,%d @@\n", as, aCount, bs, bCount)
		for _, o := range ops[start:end] {
			switch o.kind {
			case ' ':
				sb.WriteString(" " + al[o.a] + "\n")
				if o.a == len(al)-1 && !anl {
					sb.WriteString("\\ No newline at end of file\n")
				}
			case '-':
				sb.WriteString("-" + al[o.a] + "\n")
				if o.a == len(al)-1 && !anl {
					sb.WriteString("\\ No newline at end of file\n")
				}
			case '+':
				sb.WriteString("+" + bl[o.b] + "\n")
				if o.b == len(bl)-1 && !bnl {
					sb.WriteString("\\ No newline at end of file\n")
				}
			}
		}
		i = end
	}
}
