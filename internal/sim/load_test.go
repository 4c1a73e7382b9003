package sim

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestShapesPeakWhereTheyShould(t *testing.T) {
	t.Parallel()
	argmax := func(s *[24]float64) (hi, lo int) {
		for i := range s {
			if s[i] > s[hi] {
				hi = i
			}
			if s[i] < s[lo] {
				lo = i
			}
		}
		return hi, lo
	}
	hi, _ := argmax(&batchShape)
	require.GreaterOrEqual(t, hi, 1)
	require.LessOrEqual(t, hi, 7, "batch peaks at night")
	hi, lo := argmax(&trafficShape)
	require.Equal(t, 20, hi, "traffic peaks about 20:00")
	require.Equal(t, 4, lo, "traffic is lowest about 04:00")
	require.InDelta(t, (trafficShape[23]+trafficShape[0])/2, shapeAt(&trafficShape, 23.5), 1e-9, "interpolation between hours")
}

func TestNoiseIsDeterministicAndBounded(t *testing.T) {
	t.Parallel()
	for ts := int64(1_700_000_000); ts < 1_700_000_000+86400; ts += 37 {
		v := valueNoise(42, chCPU, ts, 1800)
		require.Equal(t, v, valueNoise(42, chCPU, ts, 1800))
		require.GreaterOrEqual(t, v, -1.0)
		require.LessOrEqual(t, v, 1.0)
		w := white(42, chCPU, ts)
		require.GreaterOrEqual(t, w, -1.0)
		require.Less(t, w, 1.0)
	}
	require.NotEqual(t, valueNoise(42, chCPU, 1_700_000_000, 1800), valueNoise(43, chCPU, 1_700_000_000, 1800))
	require.Equal(t, int64(-2), floorDiv(-7, 4))
	require.Equal(t, int64(1), floorDiv(7, 4))
}

// TestSamplesStayInRange walks every host of a mid-sized plan through two days
// in every mode and checks the physical limits a dashboard relies on.
func TestSamplesStayInRange(t *testing.T) {
	t.Parallel()
	f := planFleet(Config{Clusters: 6, Hosts: 200, Days: 2, Now: testNow}.withDefaults())
	start := f.start.Unix()
	for i := range f.hosts {
		h := &f.hosts[i]
		for ts := start; ts <= f.now.Unix(); ts += 17 * 60 {
			for _, mode := range []loadMode{modeNormal, modeDegraded, modeDrained} {
				s := h.load.at(ts, mode)
				for name, v := range map[string]float32{"cpu": s.cpu, "mem": s.mem, "io": s.io} {
					require.True(t, v >= 0 && v <= 100, "%s %s=%v out of 0..100", h.hostname, name, v)
				}
				require.GreaterOrEqual(t, s.netIn, 0.0)
				require.Less(t, s.netIn, float64(h.nicBps), "%s net_in below NIC speed", h.hostname)
				require.Less(t, s.netOut, float64(h.nicBps), "%s net_out below NIC speed", h.hostname)
				require.GreaterOrEqual(t, s.containers, int32(0))
				if mode == modeDrained {
					require.Zero(t, s.containers, "a drained host runs nothing")
					require.Less(t, s.cpu, float32(5))
				}
			}
		}
	}
}

// TestAnomaliesShowUp finds anomaly-prone hosts and checks that their windows
// really bend the series: stuck hosts pin CPU at exactly 100, spiking hosts jump.
func TestAnomaliesShowUp(t *testing.T) {
	t.Parallel()
	cl := newClusterLoad(1, "online-search-01", kindOnline, "cn-east", "", testNow.Add(-7*24*time.Hour))
	found := map[uint8]bool{}
	for i := 0; len(found) < 2 && i < 20000; i++ {
		h := newHostLoad(1, fmt.Sprintf("online-search-01-r01-n%05d", i), 96, 25_000_000_000, cl)
		if h.anomaly == anomalyNone || found[h.anomaly] {
			continue
		}
		windows := 0
		for ts := testNow.Add(-7 * 24 * time.Hour).Unix(); ts < testNow.Unix(); ts += 60 {
			if !h.inAnomaly(ts) {
				continue
			}
			windows++
			s := h.at(ts, modeNormal)
			if h.anomaly == anomalyStuck {
				require.Equal(t, float32(100), s.cpu)
			} else {
				normal := h
				normal.anomaly = anomalyNone
				require.Greater(t, s.cpu, normal.at(ts, modeNormal).cpu, "a spike raises CPU")
			}
		}
		require.Positive(t, windows, "an anomaly-prone host misbehaves within a week")
		found[h.anomaly] = true
	}
	require.Len(t, found, 2, "both anomaly kinds occur")
}

func TestTrendGrowsAndIsCapped(t *testing.T) {
	t.Parallel()
	created := testNow.Add(-7 * 24 * time.Hour)
	cl := newClusterLoad(1, "rt-ads-01", kindStreaming, "cn-north", "", created)
	require.Positive(t, cl.trendPerDay)
	require.Zero(t, cl.trend(created.Unix()-86400))
	require.InDelta(t, 7*cl.trendPerDay, cl.trend(testNow.Unix()), 1e-9)
	require.InDelta(t, trendMaxDays*cl.trendPerDay, cl.trend(created.Add(100*24*time.Hour).Unix()), 1e-9)
	flat := newClusterLoad(1, "rt-search-01", kindStreaming, "cn-east", "", created)
	require.Zero(t, flat.trend(testNow.Unix()))
}

func TestHotClusterRunsNearFull(t *testing.T) {
	t.Parallel()
	hot := newClusterLoad(1, "batch-wh-01", kindBatch, "cn-north", "", testNow)
	other := newClusterLoad(1, "batch-wh-02", kindBatch, "cn-east", "", testNow)
	require.Greater(t, hot.cpuHigh, 95.0)
	require.Greater(t, hot.cpuHigh, other.cpuHigh)
	require.Greater(t, hot.cpuLow, other.cpuLow)
}
