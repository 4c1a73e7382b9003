package sim

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// TestSeededLoadLooksReal checks the seeded telemetry the way a dashboard sees
// it, through SQL: the daily rhythm of each kind in local time, hot and trending
// clusters, and the physical limits.
func TestSeededLoadLooksReal(t *testing.T) {
	t.Parallel()
	pool, _ := seed(t, Config{Clusters: 6, Hosts: 150, People: 10, Days: 3, Now: testNow})
	ctx := context.Background()

	// Mean CPU per cluster and local hour, over healthy hosts.
	rows, err := pool.Query(ctx, `
		SELECT c.name, c.kind, c.region, extract(hour FROM m.ts)::int AS utc_hour, avg(m.cpu_pct)::float8
		FROM host_metric m JOIN host h ON h.id = m.host_id JOIN cluster c ON c.id = h.cluster_id
		WHERE h.state = 'ONLINE'
		GROUP BY 1, 2, 3, 4`)
	require.NoError(t, err)
	type clusterHours struct {
		kind string
		cpu  [24]float64
	}
	byCluster := map[string]*clusterHours{}
	var name, kind, region string
	var utcHour int
	var cpu float64
	_, err = pgx.ForEachRow(rows, []any{&name, &kind, &region, &utcHour, &cpu}, func() error {
		ch := byCluster[name]
		if ch == nil {
			ch = &clusterHours{kind: kind}
			byCluster[name] = ch
		}
		local := (utcHour + int(RegionUTCOffset(region)/time.Hour) + 24) % 24
		ch.cpu[local] = cpu
		return nil
	})
	require.NoError(t, err)
	require.Len(t, byCluster, 6)

	mean := func(xs []float64) float64 {
		var s float64
		for _, x := range xs {
			s += x
		}
		return s / float64(len(xs))
	}
	for name, ch := range byCluster {
		night, day := mean(ch.cpu[1:7]), mean(ch.cpu[10:18])
		peak, trough := 0, 0
		for h := range ch.cpu {
			if ch.cpu[h] > ch.cpu[peak] {
				peak = h
			}
			if ch.cpu[h] < ch.cpu[trough] {
				trough = h
			}
		}
		t.Logf("%-18s %-9s night %5.1f day %5.1f peak %02d:00 %5.1f trough %02d:00 %5.1f",
			name, ch.kind, night, day, peak, ch.cpu[peak], trough, ch.cpu[trough])
		switch ch.kind {
		case kindBatch:
			require.Greater(t, night, day+15, "%s: batch is busy at night (night %.1f, day %.1f)", name, night, day)
		case kindOnline:
			require.GreaterOrEqual(t, peak, 18, "%s: online peaks in the evening, got %02d:00", name, peak)
			require.LessOrEqual(t, peak, 22, "%s: online peaks in the evening, got %02d:00", name, peak)
			require.GreaterOrEqual(t, trough, 2, "%s: online is quietest before dawn, got %02d:00", name, trough)
			require.LessOrEqual(t, trough, 6, "%s: online is quietest before dawn, got %02d:00", name, trough)
		case kindStreaming:
			require.Less(t, ch.cpu[peak]-ch.cpu[trough], 15.0, "%s: streaming is steady", name)
			require.Greater(t, ch.cpu[trough], 25.0, "%s: streaming never idles", name)
		}
	}
	hot := byCluster["batch-wh-01"]
	require.NotNil(t, hot)
	require.Greater(t, mean(hot.cpu[2:6]), 85.0, "the hot cluster runs near full at night")

	// Trending clusters grow day over day; the others do not. Two full UTC days
	// (a Monday and a Tuesday) are compared, each a whole diurnal cycle.
	day1 := testNow.Add(-48 * time.Hour).Truncate(24 * time.Hour)
	dailyCPU := func(cluster string, day time.Time) float64 {
		var v float64
		require.NoError(t, pool.QueryRow(ctx, `
			SELECT avg(m.cpu_pct)::float8
			FROM host_metric m JOIN host h ON h.id = m.host_id JOIN cluster c ON c.id = h.cluster_id
			WHERE c.name = $1 AND h.state = 'ONLINE' AND m.ts >= $2 AND m.ts < $2 + interval '1 day'`,
			cluster, day).Scan(&v))
		return v
	}
	growth := dailyCPU("rt-ads-01", day1.Add(24*time.Hour)) - dailyCPU("rt-ads-01", day1)
	flat := dailyCPU("rt-search-01", day1.Add(24*time.Hour)) - dailyCPU("rt-search-01", day1)
	t.Logf("day-over-day CPU: rt-ads-01 %+.2f, rt-search-01 %+.2f", growth, flat)
	require.InDelta(t, trendingClusters["rt-ads-01"], growth, 0.8, "rt-ads-01 trends up")
	require.InDelta(t, 0, flat, 0.8, "rt-search-01 is flat from day to day")

	// Physical limits.
	require.Zero(t, count(t, pool, `
		SELECT count(*) FROM host_metric
		WHERE cpu_pct NOT BETWEEN 0 AND 100 OR mem_pct NOT BETWEEN 0 AND 100 OR disk_io_pct NOT BETWEEN 0 AND 100
		   OR containers < 0 OR net_in_bps < 0 OR net_out_bps < 0
		   OR cpu_pct IS NULL OR mem_pct IS NULL OR disk_io_pct IS NULL OR containers IS NULL`))
	require.Zero(t, count(t, pool, `
		SELECT count(*) FROM host_metric m JOIN host h ON h.id = m.host_id
		WHERE m.net_in_bps >= h.nic_bps OR m.net_out_bps >= h.nic_bps`))
	// Drained hosts run nothing since their maintenance began.
	require.Positive(t, count(t, pool, `
		SELECT count(*) FROM host_metric m JOIN host h ON h.id = m.host_id
		WHERE h.state IN ('MAINTENANCE', 'REPAIRING') AND m.ts = $1 AND m.containers = 0`, testNow))
}
