package anomaly

import (
	"math/rand/v2"
	"syscall"
	"testing"
	"time"
)

// BenchmarkUpdate scores one sample of each of many series in turn, as a
// server scoring a fleet every minute does: states do not stay in cache. The
// target is 1,000,000 samples/s on one core (200,000 hosts × 6 metrics a
// minute in about a second).
func BenchmarkUpdate(b *testing.B) {
	for _, series := range []int{1, 100_000} {
		b.Run(fmtSeries(series), func(b *testing.B) {
			m, err := NewModel(DefaultConfig())
			if err != nil {
				b.Fatal(err)
			}
			states := make([]State, series)
			r := rand.New(rand.NewPCG(1, 2))
			const nv = 4096
			values := make([]float64, nv)
			for i := range values {
				values[i] = 50 + 5*r.NormFloat64()
			}
			// warm every state past its warm-up so the measured path is the
			// steady one
			t := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
			step := int64(time.Minute)
			warm := DefaultConfig().Warmup + 10
			for k := 0; k < warm; k++ {
				for i := range states {
					m.Update(&states[i], t, values[(i+k)%nv])
				}
				t += step
			}
			b.ResetTimer()
			cpu0 := cpuTime()
			n := 0
			for b.Loop() {
				i := n % series
				if i == 0 {
					t += step
				}
				m.Update(&states[i], t, values[n%nv])
				n++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "samples/s")
			// The machine is shared: CPU time used says what one core does
			// when it is not waiting for others.
			if cpu := (cpuTime() - cpu0).Seconds(); cpu > 0 {
				b.ReportMetric(float64(b.N)/cpu, "samples/cpu-s")
			}
		})
	}
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func fmtSeries(n int) string {
	if n == 1 {
		return "series=1"
	}
	return "series=100000"
}
