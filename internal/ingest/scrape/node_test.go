package scrape

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func parseFixture(t *testing.T, name string) *nodeScrape {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	require.NoError(t, err)
	defer f.Close()
	n, err := parseNode(f)
	require.NoError(t, err)
	return n
}

func TestParseNodeReadsRecordedExposition(t *testing.T) {
	n := parseFixture(t, "node_exporter_scrape1.prom")
	require.Len(t, n.CPU, 4)
	// cpu0: idle 81234.56; all eight modes summed.
	require.InDelta(t, 81234.56, n.CPU["0"].Idle, 1e-9)
	require.InDelta(t, 81234.56+120.5+0+3.25+210.75+0+4520.25+15034.5, n.CPU["0"].Total, 1e-6)
	// Only the physical NIC counts: lo, docker0 and the veth are left out.
	require.Equal(t, map[string]float64{"eth0": 1_234_567_890_123}, n.NetRx)
	require.Equal(t, map[string]float64{"eth0": 987_654_321_000}, n.NetTx)
	require.Equal(t, map[string]float64{"sda": 12345.678, "nvme0n1": 2345.5}, n.DiskIO)
	require.NotNil(t, n.memTotal)
	require.InDelta(t, 67e9, *n.memTotal, 0)
	require.InDelta(t, 33.5e9, *n.memAvailable, 0)
	require.False(t, n.empty())
}

func TestParseNodeRejectsOtherBodies(t *testing.T) {
	_, err := parseNode(strings.NewReader("<html><body>login</body></html>\n"))
	require.Error(t, err)

	n, err := parseNode(strings.NewReader("# TYPE http_requests_total counter\nhttp_requests_total{code=\"200\"} 7\n"))
	require.NoError(t, err)
	require.True(t, n.empty(), "an exposition without node_exporter families is not a node")
}

func TestCountedNetDevice(t *testing.T) {
	for dev, want := range map[string]bool{
		"eth0": true, "eno1": true, "enp3s0f1": true, "ib0": true, "ens5": true,
		"lo": false, "docker0": false, "veth3f2a1b9": false, "br-5d2c": false, "virbr0": false,
		"cni0": false, "flannel.1": false, "cali8e1f": false, "bond0": false, "eth0.100": false,
		"ifb0": false, "tunl0": false, "": false,
	} {
		require.Equal(t, want, countedNetDevice(dev), dev)
	}
}

func f32(v float32) *float32 { return &v }
func f64(v float64) *float64 { return &v }

func TestComputeValues(t *testing.T) {
	prev := &counters{
		CPU:    map[string]cpuTimes{"0": {Idle: 100, Total: 200}, "1": {Idle: 100, Total: 200}},
		NetRx:  map[string]float64{"eth0": 1000, "eth1": 1000},
		NetTx:  map[string]float64{"eth0": 500},
		DiskIO: map[string]float64{"sda": 10, "sdb": 10},
	}
	mem := func(total, avail float64) (*float64, *float64) { return &total, &avail }
	cur := func(mut func(*nodeScrape)) *nodeScrape {
		n := &nodeScrape{counters: counters{
			CPU:    map[string]cpuTimes{"0": {Idle: 105, Total: 210}, "1": {Idle: 108, Total: 210}},
			NetRx:  map[string]float64{"eth0": 11000, "eth1": 6000},
			NetTx:  map[string]float64{"eth0": 3000},
			DiskIO: map[string]float64{"sda": 12, "sdb": 15},
		}}
		n.memTotal, n.memAvailable = mem(1000, 250)
		if mut != nil {
			mut(n)
		}
		return n
	}
	const dt = 10 * time.Second
	full := values{cpuPct: f32(35), memPct: f32(75), diskIOPct: f32(50), netInBps: f64(12000), netOutBps: f64(2000)}
	tests := []struct {
		name string
		cur  *nodeScrape
		prev *counters
		dt   time.Duration
		want values
	}{
		{"all rates", cur(nil), prev, dt, full},
		{"first scrape has memory only", cur(nil), nil, 0, values{memPct: f32(75)}},
		{"zero interval has memory only", cur(nil), prev, 0, values{memPct: f32(75)}},
		{"cpu counter reset skips cpu only", cur(func(n *nodeScrape) { n.CPU["1"] = cpuTimes{Idle: 1, Total: 2} }), prev, dt,
			values{memPct: f32(75), diskIOPct: f32(50), netInBps: f64(12000), netOutBps: f64(2000)}},
		{"disk reset on one device skips disk", cur(func(n *nodeScrape) { n.DiskIO["sdb"] = 1 }), prev, dt,
			values{cpuPct: f32(35), memPct: f32(75), netInBps: f64(12000), netOutBps: f64(2000)}},
		{"new device does not count until its second scrape", cur(func(n *nodeScrape) { n.NetRx["eth2"] = 9e9 }), prev, dt, full},
		{"vanished cpu is ignored", cur(func(n *nodeScrape) { delete(n.CPU, "1") }), prev, dt,
			values{cpuPct: f32(50), memPct: f32(75), diskIOPct: f32(50), netInBps: f64(12000), netOutBps: f64(2000)}},
		{"disk busier than the interval is clamped", cur(func(n *nodeScrape) { n.DiskIO["sda"] = 30 }), prev, dt,
			values{cpuPct: f32(35), memPct: f32(75), diskIOPct: f32(100), netInBps: f64(12000), netOutBps: f64(2000)}},
		{"missing memory gauge", cur(func(n *nodeScrape) { n.memAvailable = nil }), prev, dt,
			values{cpuPct: f32(35), diskIOPct: f32(50), netInBps: f64(12000), netOutBps: f64(2000)}},
		{"no common cpu", cur(func(n *nodeScrape) { n.CPU = map[string]cpuTimes{"7": {Idle: 1, Total: 9}} }), prev, dt,
			values{memPct: f32(75), diskIOPct: f32(50), netInBps: f64(12000), netOutBps: f64(2000)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := computeValues(tt.cur, tt.prev, tt.dt)
			requireValues(t, tt.want, got)
		})
	}
}

func requireValues(t *testing.T, want, got values) {
	t.Helper()
	p32 := func(name string, w, g *float32) {
		if w == nil {
			require.Nil(t, g, name)
			return
		}
		require.NotNil(t, g, name)
		require.InDelta(t, *w, *g, 1e-4, name)
	}
	p64 := func(name string, w, g *float64) {
		if w == nil {
			require.Nil(t, g, name)
			return
		}
		require.NotNil(t, g, name)
		require.InDelta(t, *w, *g, 1e-6, name)
	}
	p32("cpu", want.cpuPct, got.cpuPct)
	p32("mem", want.memPct, got.memPct)
	p32("disk", want.diskIOPct, got.diskIOPct)
	p64("net in", want.netInBps, got.netInBps)
	p64("net out", want.netOutBps, got.netOutBps)
}

func TestBackoffGrowsAndCaps(t *testing.T) {
	s := New(nil, nil, nil, Config{Interval: 10 * time.Second, MaxBackoff: 5 * time.Minute}, nil)
	for failures, nominal := range map[int]time.Duration{
		1: 20 * time.Second, 2: 40 * time.Second, 3: 80 * time.Second, 4: 160 * time.Second,
		5: 5 * time.Minute, 6: 5 * time.Minute, 40: 5 * time.Minute, 200: 5 * time.Minute,
	} {
		for range 20 {
			d := s.backoff(failures)
			require.LessOrEqual(t, d, nominal, "failures=%d", failures)
			require.GreaterOrEqual(t, d, nominal*9/10, "failures=%d", failures)
		}
	}
}
