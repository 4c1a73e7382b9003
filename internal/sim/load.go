package sim

import (
	"hash/fnv"
	"math"
	"math/rand/v2"
	"strings"
	"time"
)

// The load model. Every metric value is a pure function of (seed, cluster, host,
// time, health mode): no state is carried from one sample to the next. That is
// what lets the live Ticker, which only sees the database, continue the seeded
// history without a seam, and lets history be generated in any order (or in
// parallel) with identical results.
//
// Randomness that belongs to an object (a cluster's base levels, a host's skew)
// comes from a math/rand/v2 PCG seeded with (seed, name); randomness that belongs
// to a point in time (sample noise, anomaly windows) comes from a stateless hash
// of (host, time), because a sequential generator would tie each value to all the
// values drawn before it.

// loadMode is how a host's health bends its load.
type loadMode uint8

const (
	modeNormal   loadMode = iota
	modeDegraded          // sick but serving: erratic CPU, disk trouble
	modeDrained           // maintenance or repair: workloads moved away
)

// modeFor maps a host state to the load it produces while in that state.
func modeFor(state string) loadMode {
	switch state {
	case stateDegraded:
		return modeDegraded
	case stateMaintenance, stateRepairing:
		return modeDrained
	default:
		return modeNormal
	}
}

// reports tells whether a host in this state sends samples and heartbeats.
func reports(state string) bool {
	return state != stateOffline && state != stateDecommissioned
}

// Hourly load shapes in local time, as a fraction of the daily peak; values
// between hours are interpolated linearly.
var (
	// batchShape: ETL and reporting pipelines run overnight (01:00–07:00), with
	// ad-hoc queries keeping the day at about half. The Alibaba 2018 machine_usage
	// sample shows the same swing (mean CPU ~28% off-peak, ~53% at the peak hour).
	batchShape = [24]float64{
		0.55, 0.85, 0.95, 1.00, 1.00, 0.98, 0.95, 0.85, 0.62, 0.48, 0.46, 0.50,
		0.46, 0.45, 0.50, 0.50, 0.46, 0.42, 0.38, 0.36, 0.36, 0.40, 0.45, 0.50,
	}
	// trafficShape: user-facing traffic, trough about 04:00, peak about 20:00.
	trafficShape = [24]float64{
		0.55, 0.42, 0.32, 0.26, 0.24, 0.26, 0.33, 0.45, 0.58, 0.68, 0.74, 0.78,
		0.80, 0.76, 0.76, 0.77, 0.78, 0.80, 0.84, 0.92, 1.00, 0.97, 0.86, 0.70,
	}
)

func shapeAt(shape *[24]float64, hour float64) float64 {
	i := int(hour)
	f := hour - float64(i)
	return shape[i%24] + (shape[(i+1)%24]-shape[i%24])*f
}

// Hash channels keep the noise of different metrics independent.
const (
	chCPU uint64 = iota + 1
	chCPUJitter
	chMem
	chMemJitter
	chIO
	chNet
	chNetJitter
	chAnomaly
	chDrained
	chContainers
	chDegraded
	chProfile
	chEvent
	chRack
	chRollout
	chIOJitter
	chNetInJitter
	chContainerJitter
)

// mix is the splitmix64 finalizer: a cheap, well-spread 64-bit hash step.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

func hash2(a, b uint64) uint64 { return mix(a ^ mix(b+0x9e3779b97f4a7c15)) }

// channelKey derives a host's key for one noise channel.
func channelKey(key, channel uint64) uint64 { return key ^ (channel * 0x9e3779b97f4a7c15) }

// unit maps a hash to [0, 1).
func unit(h uint64) float64 { return float64(h>>11) / (1 << 53) }

// signed maps a hash to [-1, 1).
func signed(h uint64) float64 { return 2*unit(h) - 1 }

// stringKey hashes a name (cluster, host) into a key for seeding and noise.
func stringKey(s string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(s))
	return h.Sum64()
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// valueNoise is smooth noise in [-1, 1]: random values on a grid of period
// seconds, eased between grid points, so a host wanders rather than jitters.
func valueNoise(key, channel uint64, ts, period int64) float64 {
	g := floorDiv(ts, period)
	f := float64(ts-g*period) / float64(period)
	k := channelKey(key, channel)
	a := signed(hash2(k, uint64(g)))
	b := signed(hash2(k, uint64(g+1)))
	s := f * f * (3 - 2*f)
	return a + (b-a)*s
}

// white is per-sample noise in [-1, 1).
func white(key, channel uint64, ts int64) float64 {
	return signed(hash2(channelKey(key, channel), uint64(ts)))
}

// clusterLoad is what makes one cluster's load unlike another's: when in the
// day it swings (its kind and time zone), how noisy it is, its growth, and the
// CPU range of its compute hosts. What each host does within the cluster is its
// machine profile (profile.go).
type clusterLoad struct {
	kind             string
	offsetSec        int64   // local time = UTC + offset
	cpuLow, cpuHigh  float64 // CPU % of the cluster's compute hosts at the trough and peak
	outRatio         float64 // net_out / net_in
	wander, jitter   float64 // smooth and per-sample noise, percentage points
	trendPerDay      float64 // growth in percentage points per day
	trendFrom        int64   // unix seconds the growth starts from
	trendCapDays     float64
	weekendDampening float64
	release          uint64 // key of the stack version the cluster runs (0: none), for bad rollouts
	hot              bool
}

// trendMaxDays caps the growth so a ticker left running for weeks does not push a
// trending cluster through the roof.
const trendMaxDays = 30

// newClusterLoad derives a cluster's load model from the seed and the cluster's
// identity, never from its position in the fleet, so the Ticker derives the same
// model from the database. release names the stack version the cluster runs
// ("stack/version", empty for none); createdAt anchors the slow trend.
func newClusterLoad(seed uint64, name, kind, region, release string, createdAt time.Time) *clusterLoad {
	r := rand.New(rand.NewPCG(seed, stringKey(name)))
	c := &clusterLoad{
		kind:         kind,
		offsetSec:    int64(RegionUTCOffset(region) / time.Second),
		trendPerDay:  trendingClusters[name],
		trendFrom:    createdAt.Unix(),
		trendCapDays: trendMaxDays,
		hot:          hotClusters[name],
	}
	if release != "" {
		c.release = hash2(seed, stringKey(release))
	}
	c.cpuLow, c.cpuHigh = 22+6*r.Float64(), 80+6*r.Float64()
	switch kind {
	case kindBatch:
		c.outRatio = 0.9 + 0.2*r.Float64()
		c.wander, c.jitter = 5, 3
		if c.hot {
			c.cpuLow, c.cpuHigh = 40+5*r.Float64(), 97+3*r.Float64()
		}
	case kindStreaming:
		c.outRatio = 1.3 + 0.3*r.Float64()
		c.wander, c.jitter = 1.5, 0.7
		c.weekendDampening = 0.03
	default: // kindOnline
		c.outRatio = 1.5 + 0.4*r.Float64()
		c.wander, c.jitter = 2.5, 1.2
		c.weekendDampening = 0.08
	}
	return c
}

// trend is the growth, in percentage points, reached at ts.
func (c *clusterLoad) trend(ts int64) float64 {
	if c.trendPerDay == 0 {
		return 0
	}
	days := float64(ts-c.trendFrom) / 86400
	return c.trendPerDay * min(max(days, 0), c.trendCapDays)
}

// swing is where in its daily swing the cluster is at ts: 0 at the trough of
// the kind's shape, 1 at its peak. Streaming jobs run all day and traffic only
// nudges them, so they stay in the upper part of the range.
func (c *clusterLoad) swing(ts int64) float64 {
	local := ts + c.offsetSec
	hour := float64(local-floorDiv(local, 86400)*86400) / 3600
	if c.kind == kindBatch {
		return (shapeAt(&batchShape, hour) - 0.36) / 0.64
	}
	s := shapeAt(&trafficShape, hour)
	// 1970-01-01 was a Thursday: day 2 and 3 of each week are Saturday and Sunday.
	if wd := floorDiv(local, 86400) % 7; wd == 2 || wd == 3 {
		s *= 1 - c.weekendDampening
	}
	u := max(s-0.24, 0) / 0.76
	if c.kind == kindStreaming {
		u = 0.5 + 0.35*u
	}
	return u
}

// Anomaly kinds of anomaly-prone hosts.
const (
	anomalyNone uint8 = iota
	anomalySpike
	anomalyStuck
)

// anomalyShare is the fraction of hosts that now and then misbehave; each has a
// 30% chance per 6-hour slot of a 20–120 minute anomaly window.
const anomalyShare = 0.015

// hostLoad is one host's load model.
type hostLoad struct {
	cl        *clusterLoad
	key       uint64
	rack      uint64 // key of the host's rack, for rack-wide events
	prof      uint8  // machine profile (profile.go)
	spec      *profileSpec
	scale     float64 // placement skew: some hosts always run hotter
	memBias   float64
	ctScale   float64
	cores     float64
	nicBps    float64
	anomaly   uint8
	ckptPhase int64     // streaming checkpoints are staggered over hosts
	day       dayEvents // the events of the day last sampled (events.go)
}

func newHostLoad(seed uint64, hostname string, cores int, nicBps int64, cl *clusterLoad) hostLoad {
	k := stringKey(hostname)
	r := rand.New(rand.NewPCG(seed^0x5a17_f1ee7, k))
	h := hostLoad{
		cl:      cl,
		key:     hash2(seed, k),
		rack:    hash2(seed, stringKey(rackOf(hostname))),
		scale:   0.9 + 0.2*r.Float64(),
		memBias: -4 + 8*r.Float64(),
		ctScale: 0.85 + 0.3*r.Float64(),
		cores:   float64(cores),
		nicBps:  float64(nicBps),
	}
	h.prof = profileOf(h.key, cl.kind, cl.hot)
	h.spec = &profileSpecs[h.prof]
	if r.Float64() < anomalyShare {
		h.anomaly = anomalySpike + uint8(r.IntN(2))
	}
	h.ckptPhase = int64(r.IntN(600))
	return h
}

// rackOf is a demo host's rack within its cluster, from its name
// ("<cluster>-r<rack>-n<node>"): the Ticker knows hosts by name, and the rack
// label of the inventory maps one to one onto it.
func rackOf(hostname string) string {
	if i := strings.LastIndex(hostname, "-n"); i > 0 {
		return hostname[:i]
	}
	return hostname
}

// sample is one row of host_metric without its keys.
type sample struct {
	cpu, mem, io  float32
	netIn, netOut float64
	containers    int32
}

func clamp(v, lo, hi float64) float64 { return min(max(v, lo), hi) }

// round2 keeps two decimals: finer digits are noise nobody reads.
func round2(v float64) float32 { return float32(math.Round(v*100) / 100) }

// anomalyWindow is the anomaly window of the 6-hour slot e of an anomaly-prone
// host, if it has one.
func (h *hostLoad) anomalyWindow(e int64) (start, end int64, ok bool) {
	const slot = 6 * 3600
	r := hash2(channelKey(h.key, chAnomaly), uint64(e))
	if unit(r) >= 0.3 {
		return 0, 0, false
	}
	start = e*slot + int64(mix(r)%(slot-2*3600))
	return start, start + 1200 + int64(mix(r+1)%6000), true
}

// inAnomaly tells whether ts falls in one of the host's anomaly windows.
func (h *hostLoad) inAnomaly(ts int64) bool {
	if h.anomaly == anomalyNone {
		return false
	}
	start, end, ok := h.anomalyWindow(floorDiv(ts, 6*3600))
	return ok && ts >= start && ts < end
}

// at computes the host's sample at ts (unix seconds) in the given mode,
// injected events (events.go) included.
func (h *hostLoad) at(ts int64, mode loadMode) sample {
	if mode == modeDrained {
		return h.base(ts, mode, nil)
	}
	var ev activeEvents
	h.events(ts, &ev)
	s := h.base(ts, mode, &ev)
	if w, ok := ev.flat(); ok {
		// A frozen collector repeats the reading it took when it froze.
		f := h.base(w.start, mode, nil)
		switch w.metric {
		case metricCPU:
			s.cpu = f.cpu
		case metricIO:
			s.io = f.io
		default:
			s.netIn, s.netOut = f.netIn, f.netOut
		}
	}
	return s
}

// base computes the sample at ts with the events in ev applied (none when nil),
// except a flat line, which at applies on top.
func (h *hostLoad) base(ts int64, mode loadMode, ev *activeEvents) sample {
	c := h.cl
	if mode == modeDrained {
		u := unit(hash2(channelKey(h.key, chDrained), uint64(ts)))
		frac := 0.0005 + 0.001*u
		return sample{
			cpu: round2(1.5 + 2.5*u), mem: round2(8 + 4*u), io: round2(1 + 2*u),
			netIn: math.Round(frac * h.nicBps), netOut: math.Round(frac * h.nicBps * 0.8),
		}
	}
	p := h.spec
	u := c.swing(ts)
	trend := c.trend(ts)
	cpuLo, cpuHi := p.cpuLo, p.cpuHi
	if h.prof == profCompute {
		cpuLo, cpuHi = c.cpuLow, c.cpuHigh
	}
	// Noise in proportion to the level: an idle host does not wander by five
	// points.
	quiet := min(1, cpuHi/40)
	cpu := (cpuLo+(cpuHi-cpuLo)*u)*h.scale + trend +
		quiet*(c.wander*valueNoise(h.key, chCPU, ts, 1800)+c.jitter*white(h.key, chCPUJitter, ts))
	mem := p.memLo + (p.memHi-p.memLo)*u + h.memBias + 0.5*trend +
		0.5*c.wander*valueNoise(h.key, chMem, ts, 3600) + 0.3*c.jitter*white(h.key, chMemJitter, ts)
	// Besides the smooth wander, every metric jitters from sample to sample as
	// real ones do: a series smooth to the last digit is one no detector sees in
	// production.
	io := (p.ioLo+(p.ioHi-p.ioLo)*u)*h.scale + 0.1*p.ioHi*valueNoise(h.key, chIO, ts, 1200) +
		0.04*p.ioHi*white(h.key, chIOJitter, ts)
	switch c.kind {
	case kindStreaming:
		if h.prof != profIdle && (ts+h.ckptPhase)%600 < 120 { // checkpoints every 10 minutes
			io += 10
		}
	case kindOnline:
		if hour := (ts + c.offsetSec) % 86400; h.prof == profStorage && hour >= 2*3600 && hour < 3*3600+1800 {
			io += 15 // nightly major compaction
		}
	}
	frac := (p.netLo+(p.netHi-p.netLo)*u)*h.scale + 0.1*p.netHi*valueNoise(h.key, chNet, ts, 1800) +
		0.04*p.netHi*white(h.key, chNetInJitter, ts)

	if mode == modeDegraded {
		io += 30
		cpu += 3 * c.jitter * white(h.key, chDegraded, ts)
	}
	if ev != nil {
		ev.apply(&cpu, &mem, &io, &frac)
	}
	stuck := false
	if h.inAnomaly(ts) {
		if h.anomaly == anomalyStuck {
			stuck = true
		} else {
			cpu += 45
			io += 40
			frac *= 2.5
		}
	}

	cpu = clamp(cpu, 0.5, 100)
	if stuck {
		cpu = 100
	}
	frac = clamp(frac, 0.001, 0.95)
	netIn := frac * h.nicBps
	netOut := min(netIn*c.outRatio*(1+0.05*white(h.key, chNetJitter, ts)), 0.95*h.nicBps)

	// Executors' containers follow the load; elsewhere long-running slots
	// change only when a job is redeployed (12-hour slots).
	containers := (p.ctLo + (p.ctHi-p.ctLo)*u) * h.ctScale
	if p.ctHi > p.ctLo {
		containers += 1.5 * white(h.key, chContainerJitter, ts) // tasks start and finish
	} else if p.ctHi > 0 {
		containers += float64(hash2(channelKey(h.key, chContainers), uint64(floorDiv(ts, 12*3600))) % 2)
	}
	return sample{
		cpu:        round2(cpu),
		mem:        round2(clamp(mem, 1, 100)),
		io:         round2(clamp(io, 0, 100)),
		netIn:      math.Round(netIn),
		netOut:     math.Round(netOut),
		containers: int32(max(math.Round(containers), 0)),
	}
}
