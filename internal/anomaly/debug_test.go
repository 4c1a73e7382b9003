package anomaly

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The tests in this file print what the detector does on the NAB files, to
// study it; they run only with ANOMALY_DEBUG set.

func debugOnly(t *testing.T) {
	if os.Getenv("ANOMALY_DEBUG") == "" {
		t.Skip("ANOMALY_DEBUG unset")
	}
}

func TestDebugNAB(t *testing.T) {
	debugOnly(t)
	c := loadNABOrSkip(t)
	m, err := NewModel(DefaultConfig())
	require.NoError(t, err)
	scores, alerts := c.Detect(m)
	for i, f := range c.Files {
		prob := ProbationaryLength(len(f.Timestamps))
		in := make([]int, len(f.Timestamps))
		for k := range in {
			in[k] = -1
		}
		line := fmt.Sprintf("%s n=%d prob=%d\n", f.Name, len(in), prob)
		for w, win := range f.Windows {
			best, at, l, r := 0.0, -1, -1, -1
			for k, ts := range f.Timestamps {
				if !ts.Before(win.Start) && !ts.After(win.End) {
					in[k] = w
					if l < 0 {
						l = k
					}
					r = k
					if scores[i][k] > best {
						best, at = scores[i][k], k
					}
				}
			}
			line += fmt.Sprintf("  win %d [%d..%d] best %.3f at %d (rel %.2f)\n", w, l, r, best, at, float64(at-l)/float64(r-l+1))
		}
		type p struct {
			k int
			s float64
		}
		var out []p
		for k := prob; k < len(in); k++ {
			if in[k] < 0 {
				out = append(out, p{k, scores[i][k]})
			}
		}
		sort.Slice(out, func(a, b int) bool { return out[a].s > out[b].s })
		line += "  alerts:"
		for k, a := range alerts[i] {
			if a {
				line += fmt.Sprintf(" %d(w%d,%.2f)", k, in[k], scores[i][k])
			}
		}
		line += "\n  top outside:"
		for _, o := range out[:8] {
			line += fmt.Sprintf(" %d:%.3f", o.k, o.s)
		}
		t.Log(line)
	}
}

func TestSweepThreshold(t *testing.T) {
	debugOnly(t)
	c := loadNABOrSkip(t)
	for _, th := range []float64{0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 1} {
		cfg := DefaultConfig()
		cfg.Threshold = th
		m, err := NewModel(cfg)
		require.NoError(t, err)
		scores, alerts := c.Detect(m)
		al, err := c.Score(AlertScores(alerts), StandardProfile, 0.5, false)
		require.NoError(t, err)
		opt, err := c.Score(scores, StandardProfile, 0.5, true)
		require.NoError(t, err)
		tp, fp := 0, 0
		for _, f := range al.Files {
			tp += f.TP
			fp += f.FP
		}
		t.Logf("threshold %.2f: alerts %.2f (TP %d FP %d)  optimised %.2f at %.3f", th, al.Normalized, tp, fp, opt.Normalized, opt.Threshold)
	}
}

// TestSweepParam prints the NAB scores as one Config field takes each of the
// given values: ANOMALY_DEBUG=1 PARAM=Hold VALUES=144,288,576.
func TestSweepParam(t *testing.T) {
	debugOnly(t)
	name := os.Getenv("PARAM")
	if name == "" {
		t.Skip("PARAM unset")
	}
	c := loadNABOrSkip(t)
	for _, vs := range strings.Split(os.Getenv("VALUES"), ",") {
		var v float64
		fmt.Sscan(vs, &v)
		cfg := DefaultConfig()
		switch name {
		case "Hold":
			cfg.Hold = int(v)
		case "Fast":
			cfg.FastHalfLife = v
		case "Short":
			cfg.ShortHalfLife = v
		case "Long":
			cfg.LongHalfLife = v
		case "Scale":
			cfg.ScaleHalfLife = v
		case "Tail":
			cfg.TailHalfLife = v
		case "Decades":
			cfg.Decades = v
		case "Threshold":
			cfg.Threshold = v
		case "Warmup":
			cfg.Warmup = int(v)
		}
		m, err := NewModel(cfg)
		require.NoError(t, err)
		scores, alerts := c.Detect(m)
		al, _ := c.Score(AlertScores(alerts), StandardProfile, 0.5, false)
		opt, _ := c.Score(scores, StandardProfile, 0.5, true)
		// halves: even and odd files, each with its own optimised threshold
		var h [2]*Corpus
		var hs [2][][]float64
		for i := range h {
			h[i] = &Corpus{}
		}
		for i, f := range c.Files {
			h[i%2].Files = append(h[i%2].Files, f)
			hs[i%2] = append(hs[i%2], scores[i])
		}
		e0, _ := h[0].Score(hs[0], StandardProfile, 0, true)
		e1, _ := h[1].Score(hs[1], StandardProfile, 0, true)
		x0, _ := h[0].Score(hs[0], StandardProfile, e1.Threshold, false)
		x1, _ := h[1].Score(hs[1], StandardProfile, e0.Threshold, false)
		tp, fp := 0, 0
		for _, f := range al.Files {
			tp += f.TP
			fp += f.FP
		}
		t.Logf("%s=%v: alerts %.2f (TP %d FP %d)  optimised %.2f at %.3f; cross-half %.2f / %.2f", name, v, al.Normalized, tp, fp, opt.Normalized, opt.Threshold, x0.Normalized, x1.Normalized)
	}
}
