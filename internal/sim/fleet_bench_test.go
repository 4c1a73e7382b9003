package sim

import (
	"context"
	"log/slog"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/internal/db/dbtest"
)

// BenchmarkTickFleet measures one live tick (load hosts, compute one sample per
// reporting host, COPY them into host_metric, upsert host_latest, mark the minute
// dirty, move every heartbeat) on a fleet of TESLA_FLEET_HOSTS hosts in 200
// clusters with one of 8%, at one sample per host every 15 s, and, in the same
// run, a raw binary COPY of the same rows into host_metric: the gap is what the
// tick costs on top of PostgreSQL's own COPY. Once a minute of its clock (every
// fourth tick) the tick also moves the demo workload, reported apart. Skipped unless TESLA_FLEET_HOSTS is
// set, because seeding 250,000 hosts takes about a minute:
//
//	TESLA_FLEET_HOSTS=250000 go test ./internal/sim/ -run '^$' -bench TickFleet -benchtime 5x
func BenchmarkTickFleet(b *testing.B) {
	hosts, _ := strconv.Atoi(os.Getenv("TESLA_FLEET_HOSTS"))
	if hosts <= 0 {
		b.Skip("set TESLA_FLEET_HOSTS (e.g. 250000) to run the fleet tick benchmark")
	}
	ctx := context.Background()
	pool := dbtest.New(b)
	clusters := min(200, hosts)
	cfg := Config{Clusters: clusters, Hosts: hosts, Largest: max(1, hosts*8/100), Days: 1, Step: 24 * time.Hour}
	if cfg.Largest > hosts-(clusters-1) {
		cfg.Largest = 0
	}
	st, err := Seed(ctx, pool, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %s (workload %s)", st, st.WorkloadElapsed.Round(time.Millisecond))
	const interval = 15 * time.Second
	tk := NewTicker(pool, TickerConfig{Interval: interval, Resolution: interval, HeartbeatEvery: time.Minute}, slog.New(slog.DiscardHandler))
	start := time.Now().UTC().Truncate(interval).Add(interval)
	// Runs of a sub-benchmark repeat (b.N = 1, then more): step counts on across
	// them so every tick and every raw COPY writes new keys.
	step := 0

	b.Run("tick", func(b *testing.B) {
		var load, store, beats, wl time.Duration
		var steps, runs int64
		for range b.N {
			step++
			st, err := tk.Tick(ctx, start.Add(time.Duration(step)*interval))
			if err != nil {
				b.Fatal(err)
			}
			load, store, beats = load+st.LoadTime, store+st.SampleTime, beats+st.BeatTime
			b.ReportMetric(float64(st.Samples), "samples/op")
			if st.WorkloadTime > 0 {
				steps, runs, wl = steps+1, runs+st.Runs, wl+st.WorkloadTime
			}
		}
		// The workload moves once a minute, every fourth tick here; its time
		// is in ns/op too, and reported apart per step.
		if steps > 0 {
			b.ReportMetric(float64(wl.Milliseconds())/float64(steps), "workload-ms/step")
			b.ReportMetric(float64(runs)/float64(steps), "runs/step")
		}
		b.ReportMetric(float64(load.Milliseconds())/float64(b.N), "load-ms/op")
		b.ReportMetric(float64(store.Milliseconds())/float64(b.N), "store-ms/op")
		b.ReportMetric(float64(beats.Milliseconds())/float64(b.N), "heartbeat-ms/op")
	})

	b.Run("raw_copy", func(b *testing.B) {
		b.StopTimer()
		var rows []rawRow
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			hs, err := loadTickHosts(ctx, tx)
			if err != nil {
				return err
			}
			for _, s := range tk.samples(hs, start, start) {
				rows = append(rows, rawRow{s.HostID, s.TS, sample{*s.CPUPct, *s.MemPct, *s.DiskIOPct, *s.NetInBps, *s.NetOutBps, *s.Containers}})
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		for range b.N {
			// A second of offset keeps the keys apart from the ticks'.
			step++
			for j := range rows {
				rows[j].at = start.Add(time.Duration(step)*interval + time.Second)
			}
			b.StartTimer()
			err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
				_, err := tx.CopyFrom(ctx, pgx.Identifier{"host_metric"}, metricColumns, newRawSource(rows))
				return err
			})
			b.StopTimer()
			if err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(rows)), "samples/op")
	})
}
