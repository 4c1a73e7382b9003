// Package anomaly scores metric series online for anomalies: each new sample of
// a series gets a score in [0, 1] from a small fixed-size state, in constant
// time, so a server can keep one state per (host, metric) and score a whole
// fleet every minute. It also holds a scorer for the Numenta Anomaly Benchmark
// (NAB) that measures the detector on labelled real series. docs/anomaly.md
// explains the method and its parameters.
package anomaly

import (
	"errors"
	"fmt"
)

// Config is the detector's one configuration, shared by every series: the
// method is meant to work on series it has never seen, so nothing here is tuned
// per series. Lengths are in samples of the series' own step, because the
// detector learns what "usual" means in samples, whatever the step is.
type Config struct {
	// FastHalfLife is the half-life of the level that predicts the next sample;
	// a sample far from it is a spike.
	FastHalfLife float64
	// ShortHalfLife and LongHalfLife are the half-lives of the recent and the
	// long-run level; their difference reveals a level shift.
	ShortHalfLife float64
	LongHalfLife  float64
	// ScaleHalfLife is the half-life of the typical deviations that turn
	// distances into z-like ratios.
	ScaleHalfLife float64
	// TailHalfLife is the memory of each series' own distribution of those
	// ratios, from which the score is the surprise of the current one.
	TailHalfLife float64
	// Warmup is how many samples a series must have before it is scored.
	Warmup int
	// Decades maps a tail probability p to the score: score = -log10(p)/Decades,
	// capped at 1.
	Decades float64
	// Threshold is the score at which an alert is raised.
	Threshold float64
	// Hold is how many samples after an alert the series stays quiet: the
	// alert already told the operator, and one event is one alert.
	Hold int
	// CounterRun is how many consecutive non-decreasing samples (with some
	// increase) make a series a counter, scored on its increments; a decrease
	// of a counter is a reset, not an anomaly.
	CounterRun int
}

// DefaultConfig is the configuration every series is scored with.
func DefaultConfig() Config {
	return Config{
		FastHalfLife:  2,
		ShortHalfLife: 6,
		LongHalfLife:  288,
		ScaleHalfLife: 576,
		TailHalfLife:  8640,
		Warmup:        144,
		Decades:       4,
		Threshold:     0.4,
		Hold:          288,
		CounterRun:    64,
	}
}

// Validate reports the first unusable field.
func (c Config) Validate() error {
	var errs []error
	pos := func(name string, v float64) {
		if !(v > 0) {
			errs = append(errs, fmt.Errorf("anomaly config: %s must be positive, got %v", name, v))
		}
	}
	pos("FastHalfLife", c.FastHalfLife)
	pos("ShortHalfLife", c.ShortHalfLife)
	pos("LongHalfLife", c.LongHalfLife)
	pos("ScaleHalfLife", c.ScaleHalfLife)
	pos("TailHalfLife", c.TailHalfLife)
	pos("Decades", c.Decades)
	if !(c.Threshold > 0 && c.Threshold <= 1) {
		errs = append(errs, fmt.Errorf("anomaly config: Threshold must be in (0, 1], got %v", c.Threshold))
	}
	if c.Warmup < 0 || c.Hold < 0 || c.CounterRun < 0 {
		errs = append(errs, errors.New("anomaly config: Warmup, Hold and CounterRun must not be negative"))
	}
	return errors.Join(errs...)
}
