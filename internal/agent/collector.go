package agent

import (
	"bufio"
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Paths are the roots the agent reads the host from. Tests point them at
// fixture trees (testdata/host1); on a host they are /proc, /sys and /etc.
type Paths struct {
	Proc string
	Sys  string
	Etc  string
}

func (p Paths) withDefaults() Paths {
	if p.Proc == "" {
		p.Proc = "/proc"
	}
	if p.Sys == "" {
		p.Sys = "/sys"
	}
	if p.Etc == "" {
		p.Etc = "/etc"
	}
	return p
}

// Sample is one measurement of the host, the fields the ingestion endpoint
// takes (docs/telemetry.md). A nil pointer is "not measured".
type Sample struct {
	Hostname   string   `json:"hostname"`
	TS         string   `json:"ts"`
	CPU        *float64 `json:"cpu,omitempty"`
	Mem        *float64 `json:"mem,omitempty"`
	DiskIO     *float64 `json:"disk_io,omitempty"`
	NetIn      *float64 `json:"net_in,omitempty"`
	NetOut     *float64 `json:"net_out,omitempty"`
	Containers *int     `json:"containers,omitempty"`
}

// counters is one reading of the host's cumulative counters; rates are the
// difference of two readings over the time between them.
type counters struct {
	at       time.Time
	cpuIdle  uint64 // idle jiffies (iowait counts as busy, as in the scraper)
	cpuTotal uint64
	ioTicks  map[string]uint64 // per disk, milliseconds spent doing I/O
	netRx    uint64            // bytes over counted NICs
	netTx    uint64
	netDevs  int
	haveCPU  bool
	haveDisk bool
	haveNet  bool
}

// Collector reads samples from the host. It keeps the previous counter
// reading, so the first Collect after New only sets the baseline of the rates.
type Collector struct {
	paths Paths
	prev  *counters
	// warned remembers what was reported unreadable, to say it once.
	warned map[string]bool
	warn   func(what string, err error)
}

// NewCollector returns a collector over paths; warn is told once per source
// that cannot be read (nil: silent).
func NewCollector(paths Paths, warn func(what string, err error)) *Collector {
	if warn == nil {
		warn = func(string, error) {}
	}
	return &Collector{paths: paths.withDefaults(), warned: map[string]bool{}, warn: warn}
}

func (c *Collector) warnOnce(what string, err error) {
	if err == nil || c.warned[what] {
		return
	}
	c.warned[what] = true
	c.warn(what, err)
}

// Prime takes the baseline reading of the counters.
func (c *Collector) Prime(now time.Time) { c.prev = c.read(now) }

// Collect measures the host at now. Rates (CPU, disk IO, network) cover the
// time since the previous Collect or Prime; without one they are absent.
func (c *Collector) Collect(now time.Time) Sample {
	var s Sample
	cur := c.read(now)
	if p := c.prev; p != nil && cur.at.After(p.at) {
		secs := cur.at.Sub(p.at).Seconds()
		if cur.haveCPU && p.haveCPU && cur.cpuTotal > p.cpuTotal && cur.cpuIdle >= p.cpuIdle {
			v := clampPct(100 * (1 - float64(cur.cpuIdle-p.cpuIdle)/float64(cur.cpuTotal-p.cpuTotal)))
			s.CPU = &v
		}
		if cur.haveDisk && p.haveDisk {
			// The busiest disk's share of time spent doing I/O, as the
			// node_exporter scraper computes it.
			busiest, ok := 0.0, false
			for dev, t := range cur.ioTicks {
				if pt, seen := p.ioTicks[dev]; seen && t >= pt {
					busiest, ok = max(busiest, float64(t-pt)/1000/secs*100), true
				}
			}
			if ok {
				v := clampPct(busiest)
				s.DiskIO = &v
			}
		}
		if cur.haveNet && p.haveNet && cur.netDevs == p.netDevs && cur.netRx >= p.netRx && cur.netTx >= p.netTx {
			in, out := float64(cur.netRx-p.netRx)*8/secs, float64(cur.netTx-p.netTx)*8/secs
			s.NetIn, s.NetOut = &in, &out
		}
	}
	c.prev = cur
	if m, err := c.memPct(); err == nil {
		s.Mem = &m
	} else {
		c.warnOnce("memory", err)
	}
	if n, err := CountContainers(filepath.Join(c.paths.Sys, "fs", "cgroup")); err == nil {
		s.Containers = &n
	} else {
		c.warnOnce("containers", err)
	}
	return s
}

func clampPct(v float64) float64 { return min(max(v, 0), 100) }

func (c *Collector) read(now time.Time) *counters {
	k := &counters{at: now}
	if idle, total, err := readCPU(filepath.Join(c.paths.Proc, "stat")); err == nil {
		k.cpuIdle, k.cpuTotal, k.haveCPU = idle, total, true
	} else {
		c.warnOnce("cpu", err)
	}
	if ticks, err := readDiskTicks(filepath.Join(c.paths.Proc, "diskstats"), Disks(c.paths)); err == nil {
		k.ioTicks, k.haveDisk = ticks, true
	} else {
		c.warnOnce("disk io", err)
	}
	if rx, tx, n, err := readNet(c.paths); err == nil {
		k.netRx, k.netTx, k.netDevs, k.haveNet = rx, tx, n, true
	} else {
		c.warnOnce("network", err)
	}
	return k
}

// readCPU returns the idle and total jiffies of the "cpu" line of /proc/stat.
// iowait counts as busy (the CPU is held by work waiting on a disk), and
// guest time is already inside user and nice.
func readCPU(path string) (idle, total uint64, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, err
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 5 || f[0] != "cpu" {
		return 0, 0, fmt.Errorf("%s: first line is not the cpu total", path)
	}
	// user nice system idle iowait irq softirq steal [guest guest_nice]
	for i, v := range f[1:min(len(f), 9)] {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("%s: cpu field %d: %w", path, i+1, err)
		}
		total += n
		if i == 3 {
			idle = n
		}
	}
	return idle, total, nil
}

// memPct is 100 × (1 − MemAvailable / MemTotal), as the scraper computes it.
func (c *Collector) memPct() (float64, error) {
	total, avail, err := readMem(filepath.Join(c.paths.Proc, "meminfo"))
	if err != nil {
		return 0, err
	}
	return clampPct(100 * (1 - float64(avail)/float64(total))), nil
}

// readMem returns MemTotal and MemAvailable in bytes.
func readMem(path string) (total, avail int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	haveAvail := false
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			continue
		}
		n, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			continue
		}
		if len(fields) > 1 && fields[1] == "kB" {
			n *= 1024
		}
		switch name {
		case "MemTotal":
			total = n
		case "MemAvailable":
			avail, haveAvail = n, true
		}
	}
	if err := sc.Err(); err != nil {
		return 0, 0, err
	}
	if total <= 0 || !haveAvail {
		return 0, 0, fmt.Errorf("%s: no MemTotal or MemAvailable", path)
	}
	return total, avail, nil
}

// readDiskTicks returns the milliseconds spent doing I/O (the 13th column of
// /proc/diskstats) of each disk in disks.
func readDiskTicks(path string, disks []Disk) (map[string]uint64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, d := range disks {
		want[d.Name] = true
	}
	out := map[string]uint64{}
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		if len(f) < 13 || !want[f[2]] {
			continue
		}
		n, err := strconv.ParseUint(f[12], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: io_ticks %q: %w", path, f[2], f[12], err)
		}
		out[f[2]] = n
	}
	return out, nil
}

// virtualNetPrefixes name the network devices left out of the host's traffic,
// the same list the node_exporter scraper uses: their bytes are also counted
// on a physical NIC, or never leave the host.
var virtualNetPrefixes = []string{
	"lo", "veth", "docker", "br", "virbr", "cni", "flannel", "cali", "cilium", "vxlan",
	"tun", "tap", "kube", "weave", "ifb", "dummy", "lxc", "vnet", "genev", "bond", "team", "wg",
}

// countedNIC reports whether a device's traffic is the host's: physical NICs
// (eth*, en*, ib*, …), not VLAN sub-interfaces, bridges or container devices.
func countedNIC(dev string) bool {
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

// readNet sums the received and sent bytes of the counted NICs in
// /proc/net/dev and says how many there were.
func readNet(p Paths) (rx, tx uint64, n int, err error) {
	path := filepath.Join(p.Proc, "net", "dev")
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, 0, err
	}
	for line := range strings.Lines(string(b)) {
		name, rest, ok := strings.Cut(line, ":")
		name = strings.TrimSpace(name)
		if !ok || !countedNIC(name) {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 9 {
			return 0, 0, 0, fmt.Errorf("%s: %s: %d fields, want 16", path, name, len(f))
		}
		r, err1 := strconv.ParseUint(f[0], 10, 64)
		t, err2 := strconv.ParseUint(f[8], 10, 64)
		if err1 != nil || err2 != nil {
			return 0, 0, 0, fmt.Errorf("%s: %s: bad byte counters", path, name)
		}
		rx, tx, n = rx+r, tx+t, n+1
	}
	return rx, tx, n, nil
}

// containerScope matches the cgroup of one container as the runtimes name it:
// docker-<id>.scope, cri-containerd-<id>.scope, crio-<id>.scope,
// libpod-<id>.scope (systemd driver), or a bare 64-hex id under a docker,
// kubepods, containerd or libpod parent (cgroupfs driver, cgroup v1 or v2).
var containerScope = regexp.MustCompile(`^(?:(?:docker|cri-containerd|crio|libpod)-)?([0-9a-f]{64})(?:\.scope)?$`)

// containerParent says a bare id directory is a container's cgroup.
var containerParent = regexp.MustCompile(`docker|containerd|kubepods|libpod|crio|machine\.slice`)

// CountContainers counts the running containers whose cgroups lie under root
// (/sys/fs/cgroup): each container id once, although cgroup v1 repeats it
// under every controller. conmon and pause helpers of podman are not counted.
func CountContainers(root string) (int, error) {
	if _, err := os.Stat(root); err != nil {
		return 0, err
	}
	ids := map[string]bool{}
	rootDepth := strings.Count(filepath.Clean(root), string(filepath.Separator))
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path == root {
				return err
			}
			return nil // a cgroup removed while walking, or unreadable
		}
		if !d.IsDir() {
			return nil
		}
		if strings.Count(path, string(filepath.Separator))-rootDepth > 8 {
			return fs.SkipDir
		}
		m := containerScope.FindStringSubmatch(d.Name())
		if m == nil {
			return nil
		}
		prefixed := d.Name() != m[1] && d.Name() != m[1]+".scope"
		if prefixed || containerParent.MatchString(filepath.Dir(path)[len(root):]) {
			ids[m[1]] = true
			return fs.SkipDir // the container's own sub-cgroups are not containers
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return len(ids), nil
}
