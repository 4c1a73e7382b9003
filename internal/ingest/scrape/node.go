package scrape

import (
	"errors"
	"io"
	"math"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// The node_exporter metric families a scrape reads; everything else in the
// exposition is ignored.
const (
	metricCPU          = "node_cpu_seconds_total"
	metricMemTotal     = "node_memory_MemTotal_bytes"
	metricMemAvailable = "node_memory_MemAvailable_bytes"
	metricNetRx        = "node_network_receive_bytes_total"
	metricNetTx        = "node_network_transmit_bytes_total"
	metricDiskIOTime   = "node_disk_io_time_seconds_total"
)

// counters is the part of a scrape that only means something as a difference:
// it is stored in scrape_target.counters (as JSON) so the next scrape, possibly
// on another replica, can turn it into rates. Everything is kept per cpu or per
// device so a cpu going offline or a device appearing between two scrapes does
// not masquerade as a counter reset or a burst.
type counters struct {
	CPU    map[string]cpuTimes `json:"cpu,omitempty"`
	NetRx  map[string]float64  `json:"net_rx,omitempty"`
	NetTx  map[string]float64  `json:"net_tx,omitempty"`
	DiskIO map[string]float64  `json:"disk_io,omitempty"`
}

// cpuTimes is one cpu's idle seconds and its seconds summed over all modes.
type cpuTimes struct {
	Idle  float64 `json:"idle"`
	Total float64 `json:"total"`
}

// nodeScrape is what one exposition yields: the counters plus the memory gauges,
// which are usable on their own.
type nodeScrape struct {
	counters
	memTotal, memAvailable *float64
}

// empty reports whether the exposition held none of the node_exporter families
// we read, which means the URL does not point at a node_exporter (or all its
// relevant collectors are off): treated as a failed scrape rather than a silent
// stream of empty samples.
func (n *nodeScrape) empty() bool {
	return len(n.CPU) == 0 && len(n.NetRx) == 0 && len(n.NetTx) == 0 && len(n.DiskIO) == 0 &&
		n.memTotal == nil && n.memAvailable == nil
}

// parseNode parses the Prometheus text exposition format (version 0.0.4, what
// node_exporter serves by default) and extracts the families we use.
func parseNode(r io.Reader) (*nodeScrape, error) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(r)
	if err != nil {
		return nil, err
	}
	n := &nodeScrape{counters: counters{
		CPU: map[string]cpuTimes{}, NetRx: map[string]float64{}, NetTx: map[string]float64{}, DiskIO: map[string]float64{},
	}}
	if mf := families[metricCPU]; mf != nil {
		for _, m := range mf.GetMetric() {
			cpu, mode := label(m, "cpu"), label(m, "mode")
			v, ok := value(m)
			if !ok {
				continue
			}
			t := n.CPU[cpu]
			t.Total += v
			if mode == "idle" {
				t.Idle += v
			}
			n.CPU[cpu] = t
		}
	}
	perDevice := func(name string, into map[string]float64, keep func(string) bool) {
		mf := families[name]
		if mf == nil {
			return
		}
		for _, m := range mf.GetMetric() {
			dev := label(m, "device")
			if v, ok := value(m); ok && keep(dev) {
				into[dev] += v
			}
		}
	}
	perDevice(metricNetRx, n.NetRx, countedNetDevice)
	perDevice(metricNetTx, n.NetTx, countedNetDevice)
	perDevice(metricDiskIOTime, n.DiskIO, func(string) bool { return true })
	n.memTotal = gauge(families[metricMemTotal])
	n.memAvailable = gauge(families[metricMemAvailable])
	return n, nil
}

// virtualNetPrefixes name the network devices left out of a host's traffic.
// Their bytes are also counted on a physical NIC (container veths and bridges
// forward through it, bonds and VLAN sub-interfaces aggregate it) or never leave
// the host (loopback, dummy, ifb), so counting them would double the host's
// traffic or report local chatter as network load.
var virtualNetPrefixes = []string{
	"lo", "veth", "docker", "br", "virbr", "cni", "flannel", "cali", "cilium", "vxlan",
	"tun", "tap", "kube", "weave", "ifb", "dummy", "lxc", "vnet", "genev", "bond", "team", "wg",
}

// countedNetDevice reports whether a device's traffic counts as the host's
// network traffic: physical NICs only (eth*, en*, ib*, …). VLAN sub-interfaces
// such as eth0.100 are left out for the same reason as bonds.
func countedNetDevice(dev string) bool {
	if dev == "" || strings.Contains(dev, ".") {
		return false
	}
	for _, p := range virtualNetPrefixes {
		if strings.HasPrefix(dev, p) {
			return false
		}
	}
	return true
}

func label(m *dto.Metric, name string) string {
	for _, lp := range m.GetLabel() {
		if lp.GetName() == name {
			return lp.GetValue()
		}
	}
	return ""
}

// value reads a sample whatever its declared type: an exposition without TYPE
// lines parses as untyped.
func value(m *dto.Metric) (float64, bool) {
	var v float64
	switch {
	case m.Counter != nil:
		v = m.Counter.GetValue()
	case m.Gauge != nil:
		v = m.Gauge.GetValue()
	case m.Untyped != nil:
		v = m.Untyped.GetValue()
	default:
		return 0, false
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false
	}
	return v, true
}

func gauge(mf *dto.MetricFamily) *float64 {
	if mf == nil || len(mf.GetMetric()) == 0 {
		return nil
	}
	v, ok := value(mf.GetMetric()[0])
	if !ok {
		return nil
	}
	return &v
}

// values are one sample's measurements; nil means not measured this time.
type values struct {
	cpuPct, memPct, diskIOPct *float32
	netInBps, netOutBps       *float64
}

// computeValues derives a sample from the current scrape and, when there is one,
// the previous scrape's counters taken dt earlier. Memory needs no history; every
// rate needs prev, a positive dt and counters that did not decrease. A decrease
// (reboot, driver reload, counter wrap) skips that one rate for this scrape: the
// new value becomes the baseline and the next scrape has the rate again.
func computeValues(cur *nodeScrape, prev *counters, dt time.Duration) values {
	var v values
	if cur.memTotal != nil && cur.memAvailable != nil && *cur.memTotal > 0 {
		v.memPct = pct32(100 * (1 - *cur.memAvailable / *cur.memTotal))
	}
	if prev == nil || dt <= 0 {
		return v
	}
	secs := dt.Seconds()
	if busy, ok := cpuBusy(prev.CPU, cur.CPU); ok {
		v.cpuPct = pct32(busy)
	}
	if d, ok := deltaSum(prev.NetRx, cur.NetRx); ok {
		bps := 8 * d / secs
		v.netInBps = &bps
	}
	if d, ok := deltaSum(prev.NetTx, cur.NetTx); ok {
		bps := 8 * d / secs
		v.netOutBps = &bps
	}
	if d, ok := deltaMax(prev.DiskIO, cur.DiskIO); ok {
		v.diskIOPct = pct32(100 * d / secs)
	}
	return v
}

// cpuBusy is 100 × (1 − Δidle/Δtotal) over the cpus present in both scrapes.
func cpuBusy(prev, cur map[string]cpuTimes) (float64, bool) {
	var dIdle, dTotal float64
	common := 0
	for cpu, c := range cur {
		p, ok := prev[cpu]
		if !ok {
			continue
		}
		if c.Total < p.Total || c.Idle < p.Idle {
			return 0, false
		}
		dIdle += c.Idle - p.Idle
		dTotal += c.Total - p.Total
		common++
	}
	if common == 0 || dTotal <= 0 {
		return 0, false
	}
	return 100 * (1 - dIdle/dTotal), true
}

// deltaSum is the summed increase over the devices present in both scrapes.
func deltaSum(prev, cur map[string]float64) (float64, bool) {
	var sum float64
	common := 0
	for dev, c := range cur {
		p, ok := prev[dev]
		if !ok {
			continue
		}
		if c < p {
			return 0, false
		}
		sum += c - p
		common++
	}
	return sum, common > 0
}

// deltaMax is the largest increase over the devices present in both scrapes: a
// host is as IO-bound as its busiest disk.
func deltaMax(prev, cur map[string]float64) (float64, bool) {
	var best float64
	common := 0
	for dev, c := range cur {
		p, ok := prev[dev]
		if !ok {
			continue
		}
		if c < p {
			return 0, false
		}
		best = max(best, c-p)
		common++
	}
	return best, common > 0
}

// pct32 clamps to 0..100: counters sampled a few milliseconds apart from the
// clock can overshoot slightly, and a percentage outside the range means nothing.
func pct32(p float64) *float32 {
	if math.IsNaN(p) {
		return nil
	}
	f := float32(min(100, max(0, p)))
	return &f
}

// errNotNode is the failure recorded when a target answers with a valid
// exposition that has none of the node_exporter families.
var errNotNode = errors.New("no node_exporter metrics in response")
