package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fixtureHost copies testdata/host (a host's /proc, /sys and /etc as the
// kernel shows them) to a temporary directory, so a test can move its
// counters on.
func fixtureHost(t *testing.T) Paths {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.CopyFS(dir, os.DirFS("testdata/host")))
	return Paths{Proc: filepath.Join(dir, "proc"), Sys: filepath.Join(dir, "sys"), Etc: filepath.Join(dir, "etc")}
}

// advance overwrites the counters with testdata/host-60s: a minute later.
func advance(t *testing.T, p Paths) {
	t.Helper()
	later := t.TempDir()
	require.NoError(t, os.CopyFS(later, os.DirFS("testdata/host-60s")))
	for _, f := range []string{"stat", "diskstats", "net/dev"} {
		b, err := os.ReadFile(filepath.Join(later, "proc", f))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(p.Proc, f), b, 0o644))
	}
}

func TestCollectorRatesFromTwoReadings(t *testing.T) {
	p := fixtureHost(t)
	var warned []string
	c := NewCollector(p, func(what string, err error) { warned = append(warned, what) })
	t0 := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	c.Prime(t0)
	advance(t, p)
	s := c.Collect(t0.Add(time.Minute))
	require.Empty(t, warned)
	// cpu: Δtotal 1800 jiffies, Δidle 800 (iowait counts as busy).
	require.InDelta(t, 100*(1-800.0/1800), *s.CPU, 1e-9)
	// memory: 1 − 4096000/16384000.
	require.InDelta(t, 75.0, *s.Mem, 1e-9)
	// disk: sda busy 6 s of 60 (10 %), nvme 3 s (5 %): the busiest; the
	// partition, loop and device-mapper devices are not disks.
	require.InDelta(t, 10.0, *s.DiskIO, 1e-9)
	// network: eth0 only (lo, docker0 and veths are not the host's traffic).
	require.InDelta(t, 75e6*8/60, *s.NetIn, 1e-6)
	require.InDelta(t, 15e6*8/60, *s.NetOut, 1e-6)
	require.Equal(t, 4, *s.Containers)
}

func TestCollectorFirstReadingHasNoRates(t *testing.T) {
	p := fixtureHost(t)
	s := NewCollector(p, nil).Collect(time.Now())
	require.Nil(t, s.CPU)
	require.Nil(t, s.DiskIO)
	require.Nil(t, s.NetIn)
	require.NotNil(t, s.Mem, "memory is a level, not a rate")
}

func TestCollectorSaysOnceWhatItCannotRead(t *testing.T) {
	p := Paths{Proc: t.TempDir(), Sys: t.TempDir(), Etc: t.TempDir()}
	var warned []string
	c := NewCollector(p, func(what string, err error) { warned = append(warned, what) })
	c.Prime(time.Now())
	for range 3 {
		s := c.Collect(time.Now())
		require.Nil(t, s.CPU)
		require.Nil(t, s.Mem)
	}
	require.ElementsMatch(t, []string{"cpu", "disk io", "network", "memory", "containers"}, warned)
}

func TestCounterResetGivesNoRate(t *testing.T) {
	p := fixtureHost(t)
	c := NewCollector(p, nil)
	t0 := time.Now()
	advance(t, p)
	c.Prime(t0)
	// Back to the earlier counters: as after a wrap or a driver reload.
	require.NoError(t, os.WriteFile(filepath.Join(p.Proc, "net", "dev"), must(os.ReadFile("testdata/host/proc/net/dev")), 0o644))
	s := c.Collect(t0.Add(time.Minute))
	require.Nil(t, s.NetIn)
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func TestFactsFromFixtureHost(t *testing.T) {
	p := fixtureHost(t)
	f := ReadFacts(p, "web-01", "http://127.0.0.1:1", nil)
	require.Equal(t, "web-01", f.Hostname)
	require.Equal(t, 4, f.CPUCores)
	require.Equal(t, int64(16384000*1024), f.MemoryBytes)
	require.Equal(t, []Disk{{Name: "nvme0n1", Bytes: 1953525168 * 512}, {Name: "sda", Bytes: 3907029168 * 512, Rotational: true}}, f.Disks)
	require.Equal(t, int64((1953525168+3907029168)*512), f.DiskBytes)
	require.Equal(t, int64(10_000_000_000), f.NICBps)
	require.Equal(t, "Dell Inc.", f.Vendor)
	require.Equal(t, "PowerEdge R740", f.Model)
	require.Equal(t, "ABC1234", f.Serial)
	require.Equal(t, "Debian GNU/Linux 12 (bookworm)", f.OS)
	require.Equal(t, "6.1.0-18-amd64", f.Kernel)
	require.Equal(t, Version, f.AgentVersion)
}

func TestFactsLeavePlaceholderSerialsOut(t *testing.T) {
	p := fixtureHost(t)
	require.NoError(t, os.WriteFile(filepath.Join(p.Sys, "class/dmi/id/product_serial"), []byte("To Be Filled By O.E.M.\n"), 0o644))
	require.NoError(t, os.Remove(filepath.Join(p.Sys, "class/dmi/id/sys_vendor")))
	var warned []string
	f := ReadFacts(p, "h", "", func(what string, err error) { warned = append(warned, what) })
	require.Empty(t, f.Serial, "a placeholder serial would merge every such board into one host")
	require.Empty(t, f.Vendor)
	require.Equal(t, "PowerEdge R740", f.Model)
	require.Len(t, warned, 1)
	require.True(t, strings.HasPrefix(warned[0], "DMI"))
}

func TestCountContainersCgroupV1(t *testing.T) {
	root := t.TempDir()
	id := strings.Repeat("f", 64)
	// cgroupfs driver: the same container under every controller.
	for _, ctl := range []string{"memory", "cpu,cpuacct", "pids"} {
		require.NoError(t, os.MkdirAll(filepath.Join(root, ctl, "docker", id), 0o755))
		require.NoError(t, os.MkdirAll(filepath.Join(root, ctl, "kubepods", "burstable", "pod1", strings.Repeat("1", 64)), 0o755))
		require.NoError(t, os.MkdirAll(filepath.Join(root, ctl, "system.slice", "cron.service"), 0o755))
	}
	n, err := CountContainers(root)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	_, err = CountContainers(filepath.Join(root, "absent"))
	require.Error(t, err)
}
