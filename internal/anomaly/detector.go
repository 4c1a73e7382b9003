package anomaly

import (
	"math"
	"time"
)

// maxValue bounds the samples learnt: no metric comes near it, and beyond it
// the differences and squares the detector takes could overflow.
const maxValue = 1e100

// tailBins is the number of half-octave bins of a series' ratio histogram:
// ratios from 2^-4 to 2^12 of the typical deviation.
const tailBins = 32

// tailLow is the bin of a ratio of 1.
const tailLow = 8

// levelBins is the number of level bins; the outer ones take everything beyond.
const levelBins = 32

func (s *State) levelBin(v float64) int {
	b := int(math.Floor((v-s.Center)/s.Unit)) + levelBins/2
	return min(max(b, 0), levelBins-1)
}

// levelProb is the share of time spent at levels at most as common as v's
// (a highest-density p-value), with one pseudo-count of weight g.
func (s *State) levelProb(v, g float64) float64 {
	if s.Unit == 0 {
		return 1
	}
	c := s.Levels[s.levelBin(v)]
	mass := 0.0
	for _, w := range s.Levels {
		if w <= c {
			mass += float64(w)
		}
	}
	return (mass + g) / (s.LevelsTotal + g)
}

// Tail is a decayed histogram of a ratio (a distance over a typical deviation)
// in half-octave bins. It answers "how often has this series produced a ratio
// at least this large?", so every series is judged against its own history:
// a spiky CPU series and a smooth temperature series get comparable scores.
type Tail struct {
	Bins  [tailBins]float32
	Total float64
}

// fastLog2 is log2(x) for x > 0 to within 1e-4: the exponent from the float's
// bits and a polynomial for the mantissa. Bins are half octaves and scores
// are read to a few digits, so this is plenty, at a fraction of math.Log2.
func fastLog2(x float64) float64 {
	bits := math.Float64bits(x)
	e := int(bits>>52) & 0x7ff
	if e == 0 || e == 0x7ff { // zero, subnormal, Inf, NaN: the slow way
		return math.Log2(x)
	}
	// x = (1+m) × 2^(e-1023) with m in [0, 1)
	m := math.Float64frombits(bits&(1<<52-1)|1023<<52) - 1
	// minimax polynomial for log2(1+m) on [0, 1)
	p := m * (1.4425449 + m*(-0.7181452+m*(0.4575485+m*(-0.2779042+m*(0.1217970+m*(-0.0258411))))))
	return float64(e-1023) + p
}

// tailPos is z's position in bins (fractional); z ≤ 0 is 0.
func tailPos(z float64) float64 {
	if !(z > 0) {
		return 0
	}
	return 2*fastLog2(z) + tailLow
}

func tailBin(z float64) (int, float64) {
	if !(z > 0) {
		return 0, 0
	}
	b := tailPos(z)
	if !(b >= 0) {
		return 0, 0
	}
	if b >= tailBins {
		return tailBins - 1, 0.999
	}
	k := int(b)
	return k, b - float64(k)
}

// tailQ is the share of a series' largest ratios that form its tail: beyond
// them the probability is extrapolated, not counted.
const tailQ = 0.02

// prob is the probability of a ratio at least z in this series. Below the
// series' top 2 % it is the decayed share of past ratios at least z. Beyond, it
// follows the peaks-over-threshold rule of extreme value theory (Pickands;
// Siffer et al., "Anomaly detection in streams with extreme value theory", KDD
// 2017): excesses of log z over the tail threshold are exponential with the
// mean excess seen so far, i.e. the ratios have a Pareto tail whose index each
// series learns. So a ratio twice as far beyond anything seen is rarer still,
// where a plain count would stop at 1/N. One pseudo-count of weight g (the
// current sample's) keeps a young series from being very surprised.
func (t *Tail) prob(z, g float64) float64 {
	k, frac := tailBin(z)
	return t.probAt(z, k, frac, g)
}

// probAt is prob for a ratio z already placed in bin kz at fraction frac.
func (t *Tail) probAt(z float64, kz int, frac, g float64) float64 {
	total := t.Total + g
	// Walk down from the top bin to the tail threshold, summing the tail's
	// mass and its excesses (in half-octaves, from the bins' lower edges).
	need := tailQ * total
	mass, excess := 0.0, 0.0
	k := tailBins - 1
	for ; k > 0; k-- {
		w := float64(t.Bins[k])
		if mass+w >= need {
			break
		}
		mass += w
		excess += w * float64(k)
	}
	// k is the bin that holds the threshold: the tail starts at its lower edge
	// plus the fraction of it needed to make the tail mass tailQ.
	w := float64(t.Bins[k])
	th := float64(k)
	if w > 0 {
		part := need - mass
		th = float64(k) + 1 - part/w
		excess += part * (float64(k) + th) / 2
		mass = need
	}
	b := float64(kz) + frac
	if b <= th || mass <= 0 {
		m := (1 - frac) * float64(t.Bins[kz])
		for j := kz + 1; j < tailBins; j++ {
			m += float64(t.Bins[j])
		}
		return (m + g) / total
	}
	mean := excess/mass - th + 0.5
	p := (mass + g) / total * math.Exp(-(b-th)/mean)
	if z > 0 && b >= tailBins-1 {
		// beyond the last bin: keep falling with the true log ratio
		p *= math.Exp(-(tailPos(z) - b) / mean)
	}
	return p
}

func (t *Tail) add(k int, g float64) {
	t.Bins[k] += float32(g)
	t.Total += g
}

func (t *Tail) rescale(f float64) {
	for i := range t.Bins {
		t.Bins[i] = float32(float64(t.Bins[i]) * f)
	}
	t.Total *= f
}

// State is everything the detector keeps about one series: fixed-size (648
// bytes) plain data, so a server can hold one per series and persist it
// (MarshalBinary). The zero State is a new series.
type State struct {
	// N counts the samples learnt since the series (or its counter mode) began.
	N int64
	// Last is the previous sample's time (Unix nanoseconds) and Step the
	// series' usual step in nanoseconds, learnt from the data.
	Last int64
	Step float64
	// Prev is the previous raw value (counters are scored on increments).
	Prev float64
	// Fast, Short and Long are exponentially weighted levels.
	Fast, Short, Long float64
	// Dev1 and Dev2 are the typical deviations from Fast (spikes) and from
	// Long (level shifts).
	Dev1, Dev2 float64
	// Spike and Shift are the series' own histograms of the two ratios.
	Spike, Shift Tail
	// Levels is a decayed histogram of the smoothed level in bins of half the
	// typical deviation around Center, both fixed at the end of the warm-up:
	// a level this series has rarely been at is new behaviour, however slowly
	// it got there.
	Levels       [levelBins]float32
	LevelsTotal  float64
	Center, Unit float64
	// Heat is the recent average surprise -ln p of the spike ratios: a run of
	// moderately surprising samples (a burst of variance) is an anomaly even
	// when no single sample is (Fisher's method over a decaying window).
	Heat float64
	// G is the weight the next sample adds to the histograms: it grows by
	// 1/(1-a) a sample instead of every bin decaying by (1-a), so an update
	// touches one bin; all are rescaled when it gets large.
	G float64
	// Peaks remembers, for each hour of the day, how surprising that hour
	// usually gets (its largest -log10 p), and HourMax the largest surprise of
	// the current hour Hour: a backup at 03:00 every night is routine.
	Peaks   [24]float32
	HourMax float32
	Hour    int32
	// Hold counts the samples left in the quiet period after an alert.
	Hold int64
	// Run counts consecutive non-decreasing samples, Rises the increases among
	// them; Counter is 1 while the series is treated as a counter.
	Run, Rises int64
	Counter    int64
}

// Detector scores one series online. The zero value is not usable; build one
// with NewDetector, or a Model for many series sharing a configuration.
type Detector struct {
	m *Model
	State
}

// Model is a validated configuration with its constants computed once; it is
// read-only, so one Model serves any number of series and goroutines.
type Model struct {
	cfg                                  Config
	aFast, aShort, aLong, aScale, growth float64
	// kShort is the number of independent samples an average with the short
	// half-life is worth: (2-a)/a.
	kShort float64
}

// NewModel validates cfg and precomputes its constants.
func NewModel(cfg Config) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	a := func(h float64) float64 { return 1 - math.Exp2(-1/h) }
	as := a(cfg.ShortHalfLife)
	return &Model{
		kShort: (2 - as) / as,
		cfg:    cfg,
		aFast:  a(cfg.FastHalfLife),
		aShort: a(cfg.ShortHalfLife),
		aLong:  a(cfg.LongHalfLife),
		aScale: a(cfg.ScaleHalfLife),
		growth: 1 / (1 - a(cfg.TailHalfLife)),
	}, nil
}

// Config returns the model's configuration.
func (m *Model) Config() Config { return m.cfg }

// NewDetector returns a detector for one new series.
func NewDetector(cfg Config) (*Detector, error) {
	m, err := NewModel(cfg)
	if err != nil {
		return nil, err
	}
	return &Detector{m: m}, nil
}

// Update scores one sample and learns from it. See Model.Update.
func (d *Detector) Update(t time.Time, v float64) (score float64, alert bool) {
	return d.m.Update(&d.State, t.UnixNano(), v)
}

// Update scores sample v at time t (Unix nanoseconds) of the series whose state
// is s, then learns from it. The score is in [0, 1] and never NaN; alert is true
// when it reaches the threshold outside the quiet period after an earlier
// alert. A NaN, infinite or absurdly large (beyond ±1e100) v scores 0 and is
// not learnt. Samples should come in
// time order; one that does not is scored as if it followed the previous one.
func (m *Model) Update(s *State, t int64, v float64) (score float64, alert bool) {
	score, alert, _ = m.Observe(s, t, v)
	return score, alert
}

// Observe is Update that also returns the raw score: the surprise of the
// sample before the quiet period after an alert damps it. The portal's scorer
// uses it to extend or open episodes during the quiet period (a fault soon
// after a false alarm must still show); the alert and score are Update's.
func (m *Model) Observe(s *State, t int64, v float64) (score float64, alert bool, raw float64) {
	if !(math.Abs(v) <= maxValue) { // NaN, ±Inf and absurd magnitudes
		return 0, false, 0
	}
	// Steps since the previous sample: more than one after a gap.
	steps := 1.0
	if s.Last != 0 {
		dt := float64(t - s.Last)
		switch {
		case dt <= 0:
		case s.Step == 0:
			s.Step = dt
		default:
			steps = math.Max(1, math.Round(dt/s.Step))
			if steps == 1 {
				s.Step += 0.05 * (dt - s.Step)
			}
		}
	}
	s.Last = t
	x, ok := m.counter(s, v, steps)
	if !ok {
		return 0, false, 0
	}
	if s.N == 0 {
		s.Fast, s.Short, s.Long = x, x, x
		s.Dev1, s.Dev2 = 0, 0
		if s.G == 0 {
			s.G = 1
		}
		s.N = 1
		return 0, false, 0
	}
	cfg := &m.cfg
	// A gap leaves the levels as they were (the same weights as for one
	// step): the missing samples carry no information, and decaying the levels
	// over them would make the first sample after the gap the whole recent
	// history.
	aFast, aShort, aLong := m.aFast, m.aShort, m.aLong
	floor := 1e-9 * (math.Abs(s.Long) + 1e-3)
	r1 := math.Abs(x - s.Fast)
	z1 := r1 / math.Max(s.Dev1, floor)
	short := s.Short + aShort*(x-s.Short)
	r2 := math.Abs(short - s.Long)
	z2 := r2 / math.Max(s.Dev2, floor)

	k1, f1 := tailBin(z1)
	k2, f2 := tailBin(z2)
	p1 := s.Spike.probAt(z1, k1, f1, s.G)
	u := math.Min(-fastLog2(p1)*math.Ln2, 10)
	heat := s.Heat + m.aShort*(u-s.Heat)
	// At or below its mean of 1, Heat's probability is above 0.4, which can
	// never make an alert: skip the special functions then.
	p3 := 1.0
	if heat > 1 {
		p3 = gammaSurvival(m.kShort, m.kShort*heat)
	}
	p4 := s.levelProb(short, s.G)
	p := 4 * min(p1, s.Shift.probAt(z2, k2, f2, s.G), p3, p4)
	// Beyond twice the score's range all surprises are alike; capping them
	// keeps the routine below comparable with them.
	surprise := math.Min(math.Max(0, -fastLog2(p)*math.Log10E/math.Log2E), 2*cfg.Decades)
	hour := int32((t / int64(time.Hour)) % 24)
	if hour < 0 {
		hour += 24
	}
	if hour != s.Hour {
		// Fold the finished hour into its usual peak: a larger peak is taken
		// at once (a daily job is routine from its second day), a smaller one
		// halves the memory each day.
		if s.HourMax > s.Peaks[s.Hour] {
			s.Peaks[s.Hour] = s.HourMax
		} else {
			s.Peaks[s.Hour] = 0.5*s.Peaks[s.Hour] + 0.5*s.HourMax
		}
		s.Hour, s.HourMax = hour, 0
	}
	s.HourMax = max(s.HourMax, float32(surprise))
	// Only what this hour's surprises exceed the other hours' by is routine.
	var mean float32
	for _, pk := range s.Peaks {
		mean += pk
	}
	mean /= 24
	if usual := max(s.Peaks[hour], s.Peaks[(hour+23)%24], s.Peaks[(hour+1)%24]) - mean; usual > 0 {
		surprise = math.Max(0, surprise-float64(usual))
	}
	score = math.Min(1, surprise/cfg.Decades)
	if s.N < int64(cfg.Warmup) {
		score = 0
	}

	// Learn: the ratio histograms first (they describe what came before), then
	// the levels and deviations.
	s.Spike.add(k1, s.G)
	s.Shift.add(k2, s.G)
	s.Heat = heat
	if s.Unit == 0 && s.N >= int64(cfg.Warmup) {
		s.Center, s.Unit = s.Long, math.Max(s.Dev2, floor)/2
	}
	if s.Unit != 0 {
		s.Levels[s.levelBin(short)] += float32(s.G)
		s.LevelsTotal += s.G
	}
	s.G *= m.growth
	if s.G > 1e20 {
		s.Spike.rescale(1 / s.G)
		s.Shift.rescale(1 / s.G)
		for i := range s.Levels {
			s.Levels[i] = float32(float64(s.Levels[i]) / s.G)
		}
		s.LevelsTotal /= s.G
		s.G = 1
	}
	s.Fast += aFast * (x - s.Fast)
	s.Short = short
	s.Long += aLong * (x - s.Long)
	if s.N < int64(cfg.Warmup) {
		s.Dev1 += (r1 - s.Dev1) / float64(s.N)
		s.Dev2 += (math.Abs(x-s.Long) - s.Dev2) / float64(s.N)
	} else {
		s.Dev1 += m.aScale * (r1 - s.Dev1)
		s.Dev2 += m.aScale * (math.Abs(x-s.Long) - s.Dev2)
	}
	s.N++

	if s.Hold > 0 {
		s.Hold -= int64(steps)
		return score * 0.25, false, score
	}
	if score >= cfg.Threshold {
		s.Hold = int64(cfg.Hold)
		return score, true, score
	}
	return score, false, score
}

// counter turns a counter's raw value into its increment per step and says
// whether there is anything to score: the first sample of a counter and a
// reset have none.
func (m *Model) counter(s *State, v float64, steps float64) (float64, bool) {
	if m.cfg.CounterRun == 0 {
		s.Prev = v
		return v, true
	}
	first := s.N == 0 && s.Counter == 0
	prev := s.Prev
	s.Prev = v
	if first {
		return v, true
	}
	if v >= prev {
		s.Run++
		if v > prev {
			s.Rises++
		}
	}
	if s.Counter != 0 {
		if v < prev {
			// A counter only goes down when it restarts. Two restarts close
			// together mean it was a gauge after all.
			if s.Run < int64(m.cfg.CounterRun) {
				s.Counter = 0
				s.N = 0
				s.Run, s.Rises = 0, 0
				return v, true
			}
			s.Run, s.Rises = 0, 0
			return 0, false
		}
		return (v - prev) / steps, true
	}
	if v < prev {
		s.Run, s.Rises = 0, 0
		return v, true
	}
	if s.Run >= int64(m.cfg.CounterRun) && s.Rises*2 >= s.Run {
		// It has only gone up: from now on its increments are the signal.
		s.Counter = 1
		s.N = 0
		return 0, false
	}
	return v, true
}

// gammaSurvival is P(X ≥ x) for X ~ Gamma(k, 1), by the Wilson–Hilferty cube
// root approximation, which is accurate to a few percent for k ≥ 5 and cheap.
// A sum of k independent -ln p of uniform p values is Gamma(k, 1).
func gammaSurvival(k, x float64) float64 {
	if x <= 0 {
		return 1
	}
	v := 1 / (9 * k)
	z := (math.Cbrt(x/k) - (1 - v)) / math.Sqrt(v)
	return 0.5 * math.Erfc(z/math.Sqrt2)
}
