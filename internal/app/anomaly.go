package app

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"text/tabwriter"

	"github.com/teslaops/tesla/internal/anomaly"
)

// cmdAnomaly runs the online anomaly detector outside the server: on one CSV
// series, or over the Numenta Anomaly Benchmark to measure it.
func cmdAnomaly(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("anomaly: the subcommands are: score, evaluate")
	}
	switch args[0] {
	case "score":
		return cmdAnomalyScore(args[1:], stdout, stderr)
	case "evaluate":
		return cmdAnomalyEvaluate(args[1:], stdout)
	}
	return fmt.Errorf("anomaly: unknown subcommand %q (score, evaluate)", args[0])
}

// cmdAnomalyScore replays a `timestamp,value` CSV through the online detector,
// sample by sample as the server would see it, and writes each sample's score
// and whether it raised an alert.
func cmdAnomalyScore(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("anomaly score")
	in := fs.String("in", "", "input CSV with a header and columns timestamp,value (NAB format); - for stdin")
	out := fs.String("out", "", "output CSV: timestamp,value,anomaly_score,label; - for stdout")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *in == "" || *out == "" {
		return errors.New("anomaly score: give --in FILE.csv and --out FILE.csv")
	}
	m, err := anomaly.NewModel(anomaly.DefaultConfig())
	if err != nil {
		return err
	}
	r := io.Reader(os.Stdin)
	if *in != "-" {
		f, err := os.Open(*in)
		if err != nil {
			return fmt.Errorf("anomaly score: %w", err)
		}
		defer f.Close()
		r = f
	}
	minRows := m.Config().Warmup + 1
	s, err := anomaly.ReadSeries(bufio.NewReader(r), anomaly.ReadOptions{MinRows: minRows})
	if s != nil {
		for _, w := range s.Warnings {
			fmt.Fprintf(stderr, "%s: %s\n", *in, w)
		}
	}
	if errors.Is(err, anomaly.ErrShortSeries) {
		return fmt.Errorf("anomaly score: %s: %w; the detector learns from the first %d samples before it scores", *in, err, m.Config().Warmup)
	}
	if err != nil {
		return fmt.Errorf("anomaly score: %s: %w", *in, err)
	}
	scores, alerts := anomaly.Replay(m, s.Timestamps, s.Values)

	w := io.Writer(stdout)
	var file *os.File
	if *out != "-" {
		file, err = os.Create(*out)
		if err != nil {
			return fmt.Errorf("anomaly score: %w", err)
		}
		defer file.Close()
		w = file
	}
	bw := bufio.NewWriter(w)
	bw.WriteString("timestamp,value,anomaly_score,label\n")
	n := 0
	for i, t := range s.Timestamps {
		label := "0"
		if alerts[i] {
			label = "1"
			n++
		}
		bw.WriteString(t.UTC().Format(anomaly.NABTimeLayout))
		bw.WriteByte(',')
		bw.WriteString(strconv.FormatFloat(s.Values[i], 'g', -1, 64))
		bw.WriteByte(',')
		bw.WriteString(strconv.FormatFloat(scores[i], 'f', 6, 64))
		bw.WriteByte(',')
		bw.WriteString(label)
		bw.WriteByte('\n')
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("anomaly score: error writing %s: %w", *out, err)
	}
	if file != nil {
		if err := file.Close(); err != nil {
			return fmt.Errorf("anomaly score: error writing %s: %w", *out, err)
		}
	}
	fmt.Fprintf(stderr, "%s: %d samples scored, %d alerts, %d warnings\n", *in, len(s.Values), n, len(s.Warnings))
	return nil
}

// cmdAnomalyEvaluate scores the detector on a NAB directory with NAB's rules
// and prints it beside the published detectors' scores on the same files.
func cmdAnomalyEvaluate(args []string, stdout io.Writer) error {
	fs := newFlags("anomaly evaluate")
	dir := fs.String("nab", "", "NAB directory (data/, labels/combined_windows.json, optionally results/)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *dir == "" {
		return errors.New("anomaly evaluate: give --nab DIR")
	}
	c, err := anomaly.LoadNAB(*dir)
	if err != nil {
		return fmt.Errorf("anomaly evaluate: %w", err)
	}
	m, err := anomaly.NewModel(anomaly.DefaultConfig())
	if err != nil {
		return err
	}
	scores, alerts := c.Detect(m)
	opt, err := c.Score(scores, anomaly.StandardProfile, 0, true)
	if err != nil {
		return fmt.Errorf("anomaly evaluate: %w", err)
	}
	al, err := c.Score(anomaly.AlertScores(alerts), anomaly.StandardProfile, 0.5, false)
	if err != nil {
		return fmt.Errorf("anomaly evaluate: %w", err)
	}
	published, err := anomaly.LoadPublished(*dir)
	if err != nil {
		return fmt.Errorf("anomaly evaluate: %w", err)
	}
	// Published detectors are compared only when they scored every file here.
	var dets []string
	for det, files := range published {
		complete := true
		for _, f := range c.Files {
			if _, ok := files[f.Name]; !ok {
				complete = false
			}
		}
		if complete && det != "null" {
			dets = append(dets, det)
		}
	}
	norm := func(raw float64) float64 { return 100 * (raw - opt.Null) / (opt.Perfect - opt.Null) }
	pubRaw := map[string]float64{}
	for _, det := range dets {
		for _, f := range c.Files {
			pubRaw[det] += published[det][f.Name].Score
		}
	}
	sort.Slice(dets, func(i, j int) bool { return pubRaw[dets[i]] > pubRaw[dets[j]] })
	shown := dets
	if len(shown) > 4 {
		shown = shown[:4]
	}

	fmt.Fprintf(stdout, "NAB %s profile, %d files, %d windows; threshold optimised over these files as NAB does: %.4f\n\n",
		opt.Profile.Name, len(c.Files), int(opt.Perfect), opt.Threshold)
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "file\twindows\ttesla\tTP\tFP\ttesla alerts\tTP\tFP\t")
	for _, det := range shown {
		fmt.Fprintf(tw, "%s\t", det)
	}
	fmt.Fprintln(tw)
	for i, f := range c.Files {
		o, a := opt.Files[i], al.Files[i]
		fmt.Fprintf(tw, "%s\t%d\t%.3f\t%d\t%d\t%.3f\t%d\t%d\t", f.Name, len(f.Windows), o.Score, o.TP, o.FP, a.Score, a.TP, a.FP)
		for _, det := range shown {
			fmt.Fprintf(tw, "%.3f\t", published[det][f.Name].Score)
		}
		fmt.Fprintln(tw)
	}
	fmt.Fprintf(tw, "raw total\t\t%.3f\t\t\t%.3f\t\t\t", opt.Raw, al.Raw)
	for _, det := range shown {
		fmt.Fprintf(tw, "%.3f\t", pubRaw[det])
	}
	fmt.Fprintln(tw)
	if err := tw.Flush(); err != nil {
		return err
	}

	type row struct {
		name  string
		score float64
	}
	rows := []row{
		{"tesla (NAB-optimised threshold)", opt.Normalized},
		{fmt.Sprintf("tesla alerts (threshold %.2f)", m.Config().Threshold), al.Normalized},
	}
	for _, det := range dets {
		rows = append(rows, row{det, norm(pubRaw[det])})
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].score > rows[j].score })
	fmt.Fprintf(stdout, "\nnormalised standard score on these files (null %.0f, perfect %.0f):\n", opt.Null, opt.Perfect)
	tw = tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	for _, r := range rows {
		fmt.Fprintf(tw, "  %s\t%6.1f\n", r.name, r.score)
	}
	return tw.Flush()
}
