package anomaly

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// This file is the Numenta Anomaly Benchmark's scorer (NAB v1.1, nab/sweeper.py,
// nab/optimizer.py and the normalisation in nab/runner.py), rewritten so the
// detector can be measured inside this repository. It follows the Python code
// rule for rule, quirks included, because a score is only comparable with the
// published scoreboard when it is computed the same way; TestPublishedScores
// checks it against the published per-file scores.

// Profile is a NAB cost matrix. The standard profile is the one the scoreboard
// leads with.
type Profile struct {
	Name     string
	TPWeight float64
	FPWeight float64
	FNWeight float64
}

// StandardProfile is NAB's "standard" profile (config/profiles.json).
var StandardProfile = Profile{Name: "standard", TPWeight: 1, FPWeight: 0.11, FNWeight: 1}

// NABTimeLayout is how NAB data files write timestamps; label files add
// ".000000" microseconds, which ParseTimestamp accepts too.
const NABTimeLayout = "2006-01-02 15:04:05"

// probationPercent is NAB's probationary share of each file: the rows a detector
// may use to learn, which are not scored.
const probationPercent = 0.15

// Window is one labelled anomaly window, inclusive at both ends.
type Window struct {
	Start, End time.Time
}

// ThresholdScore is a file's (or a corpus's) NAB score when every row whose
// anomaly score is at least Threshold counts as a detection.
type ThresholdScore struct {
	Threshold      float64
	Score          float64
	TP, TN, FP, FN int
	Total          int
}

// sweepPoint is one scorable row: its anomaly score, its weighted NAB value if
// it were a detection, and the window it lies in (-1 for none).
type sweepPoint struct {
	score  float64
	sweep  float64
	window int
}

// scaledSigmoid is NAB's scoring function of a relative position: -1 is a
// window's left edge (≈ +0.987), 0 its right edge (0), and positive positions lie
// after the window, falling towards -1.
func scaledSigmoid(rel float64) float64 {
	if rel > 3 {
		return -1
	}
	return 2/(1+math.Exp(5*rel)) - 1
}

// ProbationaryLength is the number of leading rows NAB does not score.
func ProbationaryLength(rows int) int {
	return int(math.Min(math.Floor(probationPercent*float64(rows)), probationPercent*5000))
}

// sweepFile computes each scorable row's weighted value exactly as NAB's
// Sweeper.calcSweepScore does. Window ids are offset by firstWindow so that
// several files can be swept together. It returns the points and the number of
// windows that have at least one scorable row (only those count as misses).
func sweepFile(ts []time.Time, scores []float64, windows []Window, p Profile, firstWindow int) ([]sweepPoint, int, error) {
	index := make(map[int64]int, len(ts))
	for i, t := range ts {
		// the first row of a repeated timestamp, as Python's list.index finds
		if _, ok := index[t.UnixNano()]; !ok {
			index[t.UnixNano()] = i
		}
	}
	type span struct{ left, right int }
	spans := make([]span, len(windows))
	for k, w := range windows {
		l, okL := index[w.Start.UnixNano()]
		r, okR := index[w.End.UnixNano()]
		if !okL || !okR {
			return nil, 0, fmt.Errorf("window %s..%s: its ends must be timestamps of the file", w.Start.Format(NABTimeLayout), w.End.Format(NABTimeLayout))
		}
		spans[k] = span{l, r}
	}
	maxTP := scaledSigmoid(-1)
	prob := ProbationaryLength(len(ts))
	points := make([]sweepPoint, 0, len(ts)-prob)
	seen := map[int]bool{}
	next := 0
	cur := -1
	prevRight, prevWidth := -1, 0.0
	var width float64
	for i := range ts {
		if cur < 0 && next < len(spans) && i == spans[next].left {
			cur = next
			next++
			width = float64(spans[cur].right - spans[cur].left + 1)
		}
		var weighted float64
		if cur >= 0 {
			pos := -float64(spans[cur].right-i+1) / width
			weighted = scaledSigmoid(pos) * p.TPWeight / maxTP
		} else {
			u := -1.0
			if prevRight >= 0 {
				u = scaledSigmoid(math.Abs(float64(prevRight-i)) / (prevWidth - 1))
			}
			weighted = u * p.FPWeight
		}
		if i >= prob {
			w := -1
			if cur >= 0 {
				w = firstWindow + cur
				seen[cur] = true
			}
			points = append(points, sweepPoint{score: scores[i], sweep: weighted, window: w})
		}
		if cur >= 0 && i == spans[cur].right {
			prevRight, prevWidth = i, width
			cur = -1
		}
	}
	return points, len(seen), nil
}

// scoreAt is NAB's score of swept points at one threshold: each window scores
// its best (earliest) detection or -FNWeight when it has none; detections
// outside windows add their (negative) weighted values.
func scoreAt(points []sweepPoint, threshold float64, p Profile) ThresholdScore {
	best := map[int]float64{}
	ts := ThresholdScore{Threshold: threshold}
	fp := 0.0
	for _, pt := range points {
		if pt.window >= 0 {
			if _, ok := best[pt.window]; !ok {
				best[pt.window] = -p.FNWeight
			}
		}
		detected := pt.score >= threshold
		switch {
		case detected && pt.window >= 0:
			ts.TP++
			best[pt.window] = math.Max(best[pt.window], pt.sweep)
		case detected:
			ts.FP++
			fp += pt.sweep
		case pt.window >= 0:
			ts.FN++
		default:
			ts.TN++
		}
	}
	ts.Score = fp
	for _, v := range best {
		ts.Score += v
	}
	ts.Total = ts.TP + ts.TN + ts.FP + ts.FN
	return ts
}

// optimizeThreshold is NAB's threshold optimiser: it sweeps every distinct
// anomaly score from the highest down and returns the threshold with the
// highest corpus score (the first such, as Python's stable sort does).
func optimizeThreshold(points []sweepPoint, p Profile) ThresholdScore {
	sorted := make([]sweepPoint, len(points))
	copy(sorted, points)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].score > sorted[j].score })
	best := map[int]float64{}
	var tn, fn int
	for _, pt := range sorted {
		if pt.window >= 0 {
			best[pt.window] = -p.FNWeight
			fn++
		} else {
			tn++
		}
	}
	fpSum := 0.0
	winSum := -p.FNWeight * float64(len(best))
	tp, fp := 0, 0
	cur := 1.1
	top := ThresholdScore{Threshold: cur, Score: winSum, TN: tn, FN: fn, Total: tn + fn}
	record := func() {
		s := fpSum + winSum
		if s > top.Score {
			top = ThresholdScore{Threshold: cur, Score: s, TP: tp, TN: tn, FP: fp, FN: fn, Total: tp + tn + fp + fn}
		}
	}
	for _, pt := range sorted {
		if pt.score != cur {
			record()
			cur = pt.score
		}
		if pt.window >= 0 {
			tp++
			fn--
			if pt.sweep > best[pt.window] {
				winSum += pt.sweep - best[pt.window]
				best[pt.window] = pt.sweep
			}
		} else {
			fp++
			tn--
			fpSum += pt.sweep
		}
	}
	record()
	return top
}

// Corpus is a set of NAB series with their labelled windows.
type Corpus struct {
	Files []CorpusFile
}

// CorpusFile is one series of a corpus; Name is its path relative to the data
// directory, e.g. "realKnownCause/nyc_taxi.csv", as in the label file.
type CorpusFile struct {
	Name       string
	Timestamps []time.Time
	Values     []float64
	Windows    []Window
}

// LoadNAB reads a NAB directory: labels/combined_windows.json and, for every
// series it names that exists under data/, the series itself. Series named in
// the labels but absent are skipped so a partial copy of NAB can be scored.
func LoadNAB(dir string) (*Corpus, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "labels", "combined_windows.json"))
	if err != nil {
		return nil, fmt.Errorf("error reading NAB labels: %w", err)
	}
	var labels map[string][][]string
	if err := json.Unmarshal(raw, &labels); err != nil {
		return nil, fmt.Errorf("labels/combined_windows.json: %w", err)
	}
	names := make([]string, 0, len(labels))
	for name := range labels {
		names = append(names, name)
	}
	sort.Strings(names)
	c := &Corpus{}
	for _, name := range names {
		path := filepath.Join(dir, "data", filepath.FromSlash(name))
		f, err := os.Open(path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("error opening %s: %w", name, err)
		}
		s, err := ReadSeries(f, ReadOptions{AllowGaps: true, KeepOrder: true, MinRows: 1})
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		cf := CorpusFile{Name: name, Timestamps: s.Timestamps, Values: s.Values}
		for k, pair := range labels[name] {
			if len(pair) != 2 {
				return nil, fmt.Errorf("labels/combined_windows.json: %s window %d: want [start, end]", name, k+1)
			}
			a, err1 := ParseTimestamp(pair[0])
			b, err2 := ParseTimestamp(pair[1])
			if err := errors.Join(err1, err2); err != nil {
				return nil, fmt.Errorf("labels/combined_windows.json: %s window %d: %w", name, k+1, err)
			}
			cf.Windows = append(cf.Windows, Window{Start: a, End: b})
		}
		c.Files = append(c.Files, cf)
	}
	if len(c.Files) == 0 {
		return nil, fmt.Errorf("no series of labels/combined_windows.json found under %s", filepath.Join(dir, "data"))
	}
	return c, nil
}

// ParseTimestamp reads the timestamp forms NAB files use (with or without
// fractional seconds) and RFC 3339.
func ParseTimestamp(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{NABTimeLayout, "2006-01-02 15:04:05.999999999", time.RFC3339Nano, "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("timestamp %q is neither \"YYYY-MM-DD hh:mm:ss\" nor RFC 3339", s)
}

// FileResult is one detector's NAB result on one file.
type FileResult struct {
	File string
	ThresholdScore
}

// Evaluation is a detector's NAB result on a corpus.
type Evaluation struct {
	Profile Profile
	// Threshold is the threshold the per-file scores were computed at.
	Threshold float64
	Files     []FileResult
	// Raw is the sum of the per-file scores.
	Raw float64
	// Null and Perfect are the raw scores of a detector that never detects and
	// of one that detects every window at its left edge and nothing else.
	Null, Perfect float64
	// Normalized is 100 × (Raw − Null) / (Perfect − Null), NAB's reported score.
	Normalized float64
}

// Score evaluates one anomaly score per row of every corpus file (scores[i]
// belongs to c.Files[i]). With optimize, the threshold is NAB's optimised one
// over the whole corpus; otherwise it is the given threshold.
func (c *Corpus) Score(scores [][]float64, p Profile, threshold float64, optimize bool) (Evaluation, error) {
	if len(scores) != len(c.Files) {
		return Evaluation{}, fmt.Errorf("%d score series for %d files", len(scores), len(c.Files))
	}
	ev := Evaluation{Profile: p}
	perFile := make([][]sweepPoint, len(c.Files))
	var all []sweepPoint
	windows, scorable := 0, 0
	for i, f := range c.Files {
		if len(scores[i]) != len(f.Timestamps) {
			return Evaluation{}, fmt.Errorf("%s: %d scores for %d rows", f.Name, len(scores[i]), len(f.Timestamps))
		}
		pts, seen, err := sweepFile(f.Timestamps, scores[i], f.Windows, p, windows)
		if err != nil {
			return Evaluation{}, fmt.Errorf("%s: %w", f.Name, err)
		}
		windows += len(f.Windows)
		scorable += seen
		perFile[i] = pts
		all = append(all, pts...)
	}
	if optimize {
		threshold = optimizeThreshold(all, p).Threshold
	}
	ev.Threshold = threshold
	for i, f := range c.Files {
		ts := scoreAt(perFile[i], threshold, p)
		ev.Files = append(ev.Files, FileResult{File: f.Name, ThresholdScore: ts})
		ev.Raw += ts.Score
	}
	// NAB takes the baseline from its null detector's run (every scorable window
	// missed) and "perfect" as every labelled window caught with full weight.
	ev.Null = -p.FNWeight * float64(scorable)
	ev.Perfect = p.TPWeight * float64(windows)
	if ev.Perfect == ev.Null {
		return ev, errors.New("no labelled window to score against")
	}
	ev.Normalized = 100 * (ev.Raw - ev.Null) / (ev.Perfect - ev.Null)
	return ev, nil
}

// LoadPublished reads NAB's published per-file standard-profile results,
// results/<detector>_standard_scores.csv, for every detector found in dir. The
// map is detector → file → result.
func LoadPublished(dir string) (map[string]map[string]FileResult, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "results", "*_standard_scores.csv"))
	if err != nil {
		return nil, err
	}
	out := map[string]map[string]FileResult{}
	for _, p := range paths {
		det := strings.TrimSuffix(filepath.Base(p), "_standard_scores.csv")
		f, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("error opening %s: %w", p, err)
		}
		recs, err := csv.NewReader(f).ReadAll()
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		files := map[string]FileResult{}
		for i, r := range recs {
			if i == 0 || len(r) < 9 || r[2] == "" || r[2] == "Totals" {
				continue
			}
			var fr FileResult
			fr.File = r[2]
			var errs []error
			num := func(s string) float64 {
				v, err := strconv.ParseFloat(s, 64)
				errs = append(errs, err)
				return v
			}
			fr.Threshold = num(r[3])
			fr.Score = num(r[4])
			fr.TP, fr.TN, fr.FP, fr.FN = int(num(r[5])), int(num(r[6])), int(num(r[7])), int(num(r[8]))
			if err := errors.Join(errs...); err != nil {
				return nil, fmt.Errorf("%s line %d: %w", p, i+1, err)
			}
			files[fr.File] = fr
		}
		out[det] = files
	}
	return out, nil
}
