package sim

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/anomaly"
	"github.com/teslaops/tesla/internal/audit"
)

func TestInjectedAnomaliesShowInTheLoad(t *testing.T) {
	t.Parallel()
	cfg := Config{Clusters: 6, Hosts: 400, Days: 3, Now: testNow}
	from, to := testNow.Add(-72*time.Hour), testNow
	events, err := InjectedAnomalies(cfg, from, to)
	require.NoError(t, err)
	again, err := InjectedAnomalies(cfg, from, to)
	require.NoError(t, err)
	require.Equal(t, events, again, "deterministic")
	f := planFleet(cfg.withDefaults())
	byName := map[string]*hostPlan{}
	for i := range f.hosts {
		byName[f.hosts[i].hostname] = &f.hosts[i]
	}
	shapes := map[string]int{}
	racks := map[string]map[string]bool{} // rack event start → hosts
	for _, e := range events {
		shapes[e.Shape]++
		require.True(t, e.Start.Before(e.End), "%+v", e)
		require.True(t, e.End.After(from) && e.Start.Before(to), "%+v overlaps the window", e)
		h := byName[e.Host]
		require.NotNil(t, h, e.Host)
		require.NotEqual(t, stateDecommissioned, h.state)
		mid := e.Start.Add(e.End.Sub(e.Start) / 2).Unix()
		l := h.load
		mode := modeNormal
		if !h.sickSince.IsZero() && mid >= h.sickSince.Unix() {
			mode = modeFor(h.state)
		}
		got := l.at(mid, mode)
		calm := l
		calm.anomaly = anomalyNone
		var none activeEvents
		want := calm.base(mid, mode, &none)
		switch e.Shape {
		case ShapeMemoryLeak:
			late := e.End.Add(-time.Minute).Unix()
			require.Greater(t, l.at(late, mode).mem, calm.base(late, mode, &none).mem+5, "%+v: memory has grown", e)
		case ShapeRack:
			if e.Metric == "NET_IN" && want.netIn > 0.01*float64(h.nicBps) { // above the floor of 0.1% of the NIC
				require.Less(t, got.netIn, want.netIn*0.5, "%+v: the rack's network drops", e)
				rk := rackOf(e.Host) + e.Start.String()
				if racks[rk] == nil {
					racks[rk] = map[string]bool{}
				}
				racks[rk][e.Host] = true
			}
		case ShapeRollout:
			if e.Metric == "CPU" && want.cpu < 70 {
				require.Greater(t, got.cpu, want.cpu+10, "%+v: the rollout costs CPU", e)
			}
		case ShapeFlatline:
			later := e.End.Add(-time.Minute).Unix()
			a, b := l.at(mid, mode), l.at(later, mode)
			switch e.Metric {
			case "CPU":
				require.Equal(t, a.cpu, b.cpu, "%+v: CPU frozen", e)
			case "DISK_IO":
				require.Equal(t, a.io, b.io, "%+v: IO frozen", e)
			default:
				require.Equal(t, a.netIn, b.netIn, "%+v: network frozen", e)
			}
		case ShapeLevelShift:
			switch e.Metric {
			case "CPU":
				if want.cpu < 65 {
					require.Greater(t, got.cpu, want.cpu+20, "%+v", e)
				}
			case "DISK_IO":
				if want.io < 60 {
					require.Greater(t, got.io, want.io+20, "%+v", e)
				}
			case "NET_IN":
				require.Greater(t, got.netIn, want.netIn, "%+v", e)
			}
		}
	}
	t.Logf("%d events over 3 days of %d hosts: %v", len(events), len(f.hosts), shapes)
	for _, s := range []string{ShapeSpike, ShapeStuck, ShapeLevelShift, ShapeMemoryLeak, ShapeFlatline, ShapeRack, ShapeRollout} {
		require.Positive(t, shapes[s], "%s occurs", s)
	}
	for rk, hosts := range racks {
		require.Greater(t, len(hosts), 1, "%s: a rack event takes the whole rack", rk)
	}
}

// TestScorerPrecisionAndRecall measures the anomaly detector on the demo
// fleet's injected anomalies. Every ONLINE host of a small fleet is replayed
// minute by minute, as the live scorer sees it, through the scorer's model
// (anomaly.Model.Observe), a point counting when it raises an alert or scores
// at least the threshold, as anomaly.Scorer does; points of a host's metric
// form one episode while less than EpisodeConfig.QuietFor (10 minutes) apart,
// as the scorer's episodes do. The first day teaches the detectors; events and
// episodes of the two days after it are compared. An event is found when an
// episode of its host and metric starts between its start and 10 minutes after
// its end; an episode is right when it overlaps an event of its host and
// metric (the same 10 minutes of grace). Only the SELF comparison is replayed:
// the PEER one needs the fleet's clustering and the database.
func TestScorerPrecisionAndRecall(t *testing.T) {
	t.Parallel()
	cfg := Config{Clusters: 6, Hosts: 500, Days: 3, Now: testNow}
	f := planFleet(cfg.withDefaults())
	const grace = 600
	start := f.now.Add(-72 * time.Hour).Unix()
	evalFrom := start + 86400
	end := f.now.Unix()
	events, err := InjectedAnomalies(cfg, time.Unix(evalFrom, 0), f.now)
	require.NoError(t, err)

	m, err := anomaly.NewModel(anomaly.DefaultConfig())
	require.NoError(t, err)
	threshold := m.Config().Threshold
	type episode struct {
		host        string
		metric      int
		first, last int64
		peak        float64
	}
	var hosts []*hostPlan
	for i := range f.hosts {
		if f.hosts[i].state == stateOnline {
			hosts = append(hosts, &f.hosts[i])
		}
	}
	// Two workers: the series are independent.
	var mu sync.Mutex
	var episodes []episode
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			var mine []episode
			vals := make([][6]float64, (end-start)/60+1)
			for i := w; i < len(hosts); i += 2 {
				h := hosts[i]
				for k := range vals {
					s := h.load.at(start+int64(k)*60, modeNormal)
					vals[k] = [6]float64{float64(s.cpu), float64(s.mem), float64(s.io), s.netIn, s.netOut, float64(s.containers)}
				}
				for metric := range 6 {
					var st anomaly.State
					var open *episode
					for k := range vals {
						ts := start + int64(k)*60
						_, alert, raw := m.Observe(&st, ts*1e9, vals[k][metric])
						if !alert && raw < threshold {
							continue
						}
						if open != nil && ts-open.last <= int64(10*60) {
							open.last, open.peak = ts, max(open.peak, raw)
							continue
						}
						if open != nil {
							mine = append(mine, *open)
						}
						open = &episode{host: h.hostname, metric: metric, first: ts, last: ts, peak: raw}
					}
					if open != nil {
						mine = append(mine, *open)
					}
				}
			}
			mu.Lock()
			episodes = append(episodes, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()

	online := map[string]bool{}
	for _, h := range hosts {
		online[h.hostname] = true
	}
	type key struct {
		host, metric string
	}
	byKey := map[key][]Event{}
	var truth []Event
	for _, e := range events {
		if online[e.Host] && e.Start.Unix() >= evalFrom {
			truth = append(truth, e)
			byKey[key{e.Host, e.Metric}] = append(byKey[key{e.Host, e.Metric}], e)
		}
	}
	metrics := anomaly.Metrics
	// measure compares the episodes peaking at or above minPeak with the
	// events: recall per shape, then over all events and as the mean over
	// shapes (rollouts and rack events move many hosts at once and would
	// otherwise outweigh the rest), and precision.
	measure := func(minPeak float64) (micro, macro, precision float64, line string) {
		epByKey := map[key][]episode{}
		var scored []episode
		for _, ep := range episodes {
			if ep.first < evalFrom || ep.peak < minPeak {
				continue
			}
			scored = append(scored, ep)
			k := key{ep.host, metrics[ep.metric]}
			epByKey[k] = append(epByKey[k], ep)
		}
		found := map[string][2]int{} // shape → found, total
		for _, e := range truth {
			c := found[e.Shape]
			c[1]++
			for _, ep := range epByKey[key{e.Host, e.Metric}] {
				if ep.first >= e.Start.Unix() && ep.first <= e.End.Unix()+grace {
					c[0]++
					break
				}
			}
			found[e.Shape] = c
		}
		right := 0
		falseBy := map[string]int{}
		for _, ep := range scored {
			ok := false
			for _, e := range byKey[key{ep.host, metrics[ep.metric]}] {
				if ep.first <= e.End.Unix()+grace && ep.last >= e.Start.Unix() {
					ok = true
					break
				}
			}
			if ok {
				right++
			} else {
				falseBy[metrics[ep.metric]]++
			}
		}
		var hit, total int
		var b strings.Builder
		for _, s := range slices.Sorted(maps.Keys(found)) {
			c := found[s]
			hit, total = hit+c[0], total+c[1]
			macro += float64(c[0]) / float64(c[1]) / float64(len(found))
			fmt.Fprintf(&b, " %s %d/%d", s, c[0], c[1])
		}
		require.Positive(t, total)
		require.Positive(t, len(scored))
		micro, precision = float64(hit)/float64(total), float64(right)/float64(len(scored))
		return micro, macro, precision, fmt.Sprintf("peak ≥ %.1f: recall %.2f over events (%d/%d:%s), %.2f over shapes; precision %.2f (%d/%d episodes, %.1f per host-day; false by metric %v)",
			minPeak, micro, hit, total, b.String(), macro, precision, right, len(scored),
			float64(len(scored))/float64(len(hosts))/2, falseBy)
	}
	_, macro, precision, line := measure(threshold)
	t.Logf("%d ONLINE hosts, 2 days scored after 1 of learning; %s", len(hosts), line)
	_, highMacro, highPrecision, line := measure(0.8)
	t.Logf("HIGH and CRITICAL episodes only: %s", line)
	require.GreaterOrEqual(t, macro, 0.7)
	require.GreaterOrEqual(t, precision, 0.05)
	require.GreaterOrEqual(t, highMacro, 0.5)
	require.GreaterOrEqual(t, highPrecision, precision, "the higher the peak, the likelier a real event")
}

// The Ticker keys bad rollouts by the stack version it reads from the database;
// it must be the one the seed keyed them by, or live rollouts would hit other
// hosts than the seeded ones.
func TestTickerSeesTheSeededReleases(t *testing.T) {
	t.Parallel()
	pool, _ := seed(t, smallConfig)
	f := planFleet(smallConfig.withDefaults())
	tx, err := pool.Begin(context.Background())
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(context.Background()) }()
	hosts, err := loadTickHosts(context.Background(), tx)
	require.NoError(t, err)
	want := map[string]string{}
	for _, c := range f.clusters {
		want[c.name] = c.stack + "/" + c.version
	}
	require.Len(t, hosts, len(f.hosts))
	for _, h := range hosts {
		require.Equal(t, want[h.cluster], h.release, h.hostname)
	}
}

// TestLiveScorerFindsALiveInjectedEvent runs the real path once: a seeded
// fleet, the Ticker writing a sample a minute, the anomaly Scorer scoring each
// minute from host_latest, and an injected step (a level shift, a spike or a
// bad rollout) that starts once the detectors are warm. The seed's end is
// chosen so that such an event starts 150–170 minutes into the live run.
func TestLiveScorerFindsALiveInjectedEvent(t *testing.T) {
	t.Parallel()
	cfg := Config{Clusters: 3, Hosts: 60, People: 12, Days: 1}
	var ev *Event
	for h := range 24 * 30 {
		cfg.Now = testNow.Add(time.Duration(h) * time.Hour)
		events, err := InjectedAnomalies(cfg, cfg.Now.Add(150*time.Minute), cfg.Now.Add(170*time.Minute))
		require.NoError(t, err)
		for _, e := range events {
			if (e.Shape == ShapeLevelShift || e.Shape == ShapeSpike || e.Shape == ShapeRollout) && e.Metric != "MEMORY" &&
				!e.Start.Before(cfg.Now.Add(150*time.Minute)) && e.End.Sub(e.Start) >= 20*time.Minute {
				ev = &e
				break
			}
		}
		if ev != nil {
			break
		}
	}
	require.NotNil(t, ev, "an event to catch")
	pool, _ := seed(t, cfg)
	ctx := context.Background()
	var hostID int64
	var state string
	require.NoError(t, pool.QueryRow(ctx, `SELECT id, state FROM host WHERE hostname = $1`, ev.Host).Scan(&hostID, &state))

	logger := slog.New(slog.DiscardHandler)
	tk := NewTicker(pool, TickerConfig{Seed: DefaultSeed, WorkloadEvery: 24 * time.Hour}, logger)
	tk.sickChance, tk.healChance = 0, 0
	clock := cfg.Now
	sc, err := anomaly.NewScorer(pool, anomaly.NewEpisodes(pool, audit.New(pool, logger), anomaly.EpisodeConfig{}), logger,
		anomaly.ScorerConfig{Now: func() time.Time { return clock }})
	require.NoError(t, err)
	for clock.Before(ev.Start.Add(12 * time.Minute)) {
		clock = clock.Add(time.Minute)
		_, err := tk.Tick(ctx, clock.Add(30*time.Second))
		require.NoError(t, err)
		_, err = sc.PassOnce(ctx)
		require.NoError(t, err)
	}
	var started time.Time
	var kind string
	err = pool.QueryRow(ctx, `
		SELECT started_at, kind FROM anomaly_episode
		WHERE host_id = $1 AND metric = $2 AND started_at >= $3 ORDER BY started_at LIMIT 1`,
		hostID, ev.Metric, ev.Start.Truncate(time.Minute)).Scan(&started, &kind)
	require.NoError(t, err, "an episode for %+v (host %s)", *ev, state)
	t.Logf("%s %s of %s at %s: %s episode from %s", ev.Shape, ev.Metric, ev.Host, ev.Start.Format("15:04:05"), kind, started.Format("15:04"))
	require.True(t, started.Before(ev.Start.Add(10*time.Minute)), "found within 10 minutes: %v", started)
}
