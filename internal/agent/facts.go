package agent

import (
	"bufio"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Disk is one block device of the host.
type Disk struct {
	Name       string `json:"name"`
	Bytes      int64  `json:"bytes"`
	Rotational bool   `json:"rotational"`
}

// Facts are what the agent tells the server about its machine when it
// registers (the protocol's register body).
type Facts struct {
	Hostname     string `json:"hostname"`
	Serial       string `json:"serial"`
	Vendor       string `json:"vendor"`
	Model        string `json:"model"`
	CPUCores     int    `json:"cpu_cores"`
	MemoryBytes  int64  `json:"memory_bytes"`
	DiskBytes    int64  `json:"disk_bytes"`
	Disks        []Disk `json:"disks"`
	NICBps       int64  `json:"nic_bps"`
	IP           string `json:"ip"`
	OS           string `json:"os"`
	Kernel       string `json:"kernel"`
	AgentVersion string `json:"agent_version"`
}

// Disks lists the host's disks from /sys/block: devices backed by hardware
// (with a device link), not loop, RAM, optical or device-mapper devices, whose
// bytes would count the same disks twice.
func Disks(p Paths) []Disk {
	p = p.withDefaults()
	dir := filepath.Join(p.Sys, "block")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []Disk
	for _, e := range entries {
		name := e.Name()
		if slices.ContainsFunc([]string{"loop", "ram", "zram", "sr", "fd", "dm-", "md"}, func(p string) bool { return strings.HasPrefix(name, p) }) {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, name, "device")); err != nil {
			continue
		}
		// size is in 512-byte sectors whatever the device's block size.
		sectors, err := readInt(filepath.Join(dir, name, "size"))
		if err != nil || sectors <= 0 {
			continue
		}
		rot, _ := readInt(filepath.Join(dir, name, "queue", "rotational"))
		out = append(out, Disk{Name: name, Bytes: sectors * 512, Rotational: rot == 1})
	}
	return out
}

// placeholderDMI are the values firmware puts where it knows nothing. A
// placeholder serial must not be sent: the server takes the same serial for
// the same machine, and would merge every board that says "0123456789".
var placeholderDMI = []string{"", "to be filled by o.e.m.", "not specified", "default string", "system serial number",
	"0123456789", "none", "n/a", "na", "not applicable", "0", "00000000", "system manufacturer", "system product name",
	"chassis serial number", "unknown", "invalid"}

// ReadFacts reads the machine's facts; hostname names it (the caller's
// override or the kernel's), server is the URL the primary IP is the route to.
// What cannot be read stays empty and is told to warn once.
func ReadFacts(p Paths, hostname, server string, warn func(what string, err error)) Facts {
	p = p.withDefaults()
	if warn == nil {
		warn = func(string, error) {}
	}
	f := Facts{Hostname: hostname, AgentVersion: Version}
	f.CPUCores = cpuCores(p)
	if total, _, err := readMem(filepath.Join(p.Proc, "meminfo")); err == nil {
		f.MemoryBytes = total
	} else {
		warn("memory size", err)
	}
	f.Disks = Disks(p)
	for _, d := range f.Disks {
		f.DiskBytes += d.Bytes
	}
	f.NICBps = nicSpeed(p)
	dmi := filepath.Join(p.Sys, "class", "dmi", "id")
	var dmiErr error
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(dmi, name))
		if err != nil {
			dmiErr = err
			return ""
		}
		v := strings.TrimSpace(string(b))
		if slices.Contains(placeholderDMI, strings.ToLower(v)) {
			return ""
		}
		return v
	}
	f.Vendor, f.Model, f.Serial = read("sys_vendor"), read("product_name"), read("product_serial")
	if dmiErr != nil {
		warn("DMI (vendor, model, serial; product_serial is readable by root only)", dmiErr)
	}
	f.OS = osName(p)
	if b, err := os.ReadFile(filepath.Join(p.Proc, "sys", "kernel", "osrelease")); err == nil {
		f.Kernel = strings.TrimSpace(string(b))
	} else {
		warn("kernel release", err)
	}
	f.IP = primaryIP(server)
	return f
}

// cpuCores counts the cpuN lines of /proc/stat (logical CPUs online).
func cpuCores(p Paths) int {
	b, err := os.ReadFile(filepath.Join(p.Proc, "stat"))
	if err != nil {
		return 0
	}
	n := 0
	for line := range strings.Lines(string(b)) {
		if len(line) > 3 && strings.HasPrefix(line, "cpu") && line[3] >= '0' && line[3] <= '9' {
			n++
		}
	}
	return n
}

// nicSpeed is the fastest counted NIC's link speed in bits/s (the kernel
// gives Mb/s, -1 when the link is down).
func nicSpeed(p Paths) int64 {
	dir := filepath.Join(p.Sys, "class", "net")
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	var best int64
	for _, e := range entries {
		if !countedNIC(e.Name()) {
			continue
		}
		if mbps, err := readInt(filepath.Join(dir, e.Name(), "speed")); err == nil && mbps > 0 {
			best = max(best, mbps*1_000_000)
		}
	}
	return best
}

// osName is PRETTY_NAME of os-release (or NAME VERSION_ID).
func osName(p Paths) string {
	f, err := os.Open(filepath.Join(p.Etc, "os-release"))
	if err != nil {
		return ""
	}
	defer f.Close()
	vals := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), "=")
		if !ok {
			continue
		}
		if uq, err := strconv.Unquote(v); err == nil {
			v = uq
		} else {
			v = strings.Trim(v, `'"`)
		}
		vals[strings.TrimSpace(k)] = v
	}
	if v := vals["PRETTY_NAME"]; v != "" {
		return v
	}
	return strings.TrimSpace(vals["NAME"] + " " + vals["VERSION_ID"])
}

// primaryIP is the local address of the route to the server (no packet is
// sent: a UDP "connection" only picks the route), or, when that is loopback
// or unknown, the first global unicast address of the host.
func primaryIP(server string) string {
	if u, err := url.Parse(server); err == nil && u.Hostname() != "" {
		port := u.Port()
		if port == "" {
			port = "443"
		}
		if c, err := net.Dial("udp", net.JoinHostPort(u.Hostname(), port)); err == nil {
			ip := c.LocalAddr().(*net.UDPAddr).IP
			c.Close()
			if !ip.IsLoopback() {
				return ip.String()
			}
		}
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return ""
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.IsGlobalUnicast() {
			return n.IP.String()
		}
	}
	return ""
}

func readInt(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
}
