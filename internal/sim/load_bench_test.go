package sim

import (
	"testing"
	"time"
)

// BenchmarkHostSample measures the load model alone: one host's sample per
// call, as the seed's history generator and the Ticker compute it, over a
// default fleet's hosts at successive 5-minute steps.
//
//	go test ./internal/sim/ -run '^$' -bench HostSample
func BenchmarkHostSample(b *testing.B) {
	f := planFleet(Config{Now: testNow}.withDefaults())
	start := f.now.Add(-24 * time.Hour).Unix()
	b.ResetTimer()
	var sink float32
	for i := range b.N {
		h := &f.hosts[i%len(f.hosts)]
		s := h.load.at(start+int64(i/len(f.hosts))*300, modeNormal)
		sink += s.cpu
	}
	_ = sink
}

// BenchmarkTickSamples measures what a tick computes per host before it
// writes: deriving the host's load model from its row and one sample.
//
//	go test ./internal/sim/ -run '^$' -bench TickSamples
func BenchmarkTickSamples(b *testing.B) {
	f := planFleet(Config{Now: testNow}.withDefaults())
	hosts := make([]tickHost, len(f.hosts))
	for i, h := range f.hosts {
		c := &f.clusters[h.cluster]
		hosts[i] = tickHost{id: int64(i + 1), hostname: h.hostname, cores: h.cores, nicBps: h.nicBps, state: stateOnline,
			cluster: c.name, kind: c.kind, region: c.region, release: c.stack + "/" + c.version, clusterCreated: f.start}
	}
	t := &Ticker{cfg: TickerConfig{Seed: DefaultSeed}}
	b.ResetTimer()
	for range b.N {
		_ = t.samples(hosts, testNow, testNow)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(hosts)), "ns/host")
}

// BenchmarkHistorySource measures generating one day of the default fleet's
// history (the seed's samples, without the database).
//
//	go test ./internal/sim/ -run '^$' -bench HistorySource -benchtime 3x
func BenchmarkHistorySource(b *testing.B) {
	cfg := Config{Now: testNow}.withDefaults()
	f := planFleet(cfg)
	ids := make([]int64, len(f.hosts))
	for i := range ids {
		ids[i] = int64(i + 1)
	}
	last := f.now.Unix()
	first := last - 86400 + 300
	var rows int64
	for range b.N {
		src := newMetricSource(reportingHosts(f, ids), historyDays(first, last), first, last, 300)
		for src.Next() {
			_ = src.Sample()
		}
		rows += src.rows
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(rows), "ns/sample")
}
