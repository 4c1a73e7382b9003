package anomaly

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/audit"
	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/fixture"
	"github.com/teslaops/tesla/internal/page"
)

var epoch = time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)

func episodesEnv(t *testing.T) (*Episodes, *pgxpool.Pool, *fixture.Fleet) {
	t.Helper()
	pool := dbtest.New(t)
	f := fixture.New(t, pool)
	return NewEpisodes(pool, audit.New(pool, slog.New(slog.NewTextHandler(io.Discard, nil))), EpisodeConfig{}), pool, f
}

func apply(t *testing.T, s *Episodes, pool *pgxpool.Pool, alerts ...Alert) []int64 {
	t.Helper()
	var ids []int64
	require.NoError(t, pgx.BeginFunc(context.Background(), pool, func(tx pgx.Tx) error {
		var err error
		ids, err = s.Apply(context.Background(), tx, alerts)
		return err
	}))
	return ids
}

func TestAlertsBecomeEpisodes(t *testing.T) {
	t.Parallel()
	s, pool, f := episodesEnv(t)
	ctx := context.Background()
	h1, h2 := f.Hosts["batch-wh-1-n01"], f.Hosts["batch-wh-1-n02"]
	viewer := auth.WithPrincipal(ctx, &auth.Principal{PersonID: f.People[fixture.Viewer], Role: auth.Viewer})

	// Two points of one host's CPU and one of another's memory: two episodes.
	opened := apply(t, s, pool,
		Alert{HostID: h1, Metric: "CPU", Kind: KindSelf, Open: true, At: epoch, Value: 91, Baseline: 30, Score: 0.85},
		Alert{HostID: h1, Metric: "CPU", Kind: KindSelf, Open: true, At: epoch.Add(time.Minute), Value: 99, Baseline: 30, Score: 0.9},
		Alert{HostID: h2, Metric: "MEMORY", Kind: KindPeer, Open: true, At: epoch, Value: 80, Baseline: 40, Score: 0.5})
	require.Len(t, opened, 2)

	// A later point extends the open episode, opening nothing.
	require.Empty(t, apply(t, s, pool, Alert{HostID: h1, Metric: "CPU", Kind: KindSelf, Open: true, At: epoch.Add(4 * time.Minute), Value: 95, Score: 0.85}))
	got, err := s.Unresolved(viewer, []int64{h1, h2})
	require.NoError(t, err)
	cpu := got[h1][0]
	require.Equal(t, epoch, cpu.StartedAt)
	require.Equal(t, epoch.Add(4*time.Minute), cpu.LastSeenAt)
	require.Equal(t, 3, cpu.Points)
	require.InDelta(t, 0.9, cpu.PeakScore, 1e-6)
	require.Equal(t, "HIGH", cpu.Severity)
	require.Equal(t, "LOW", got[h2][0].Severity)

	// Quiet for ten minutes after its last point: resolved; the other too.
	n, err := s.ResolveQuiet(ctx, pool, epoch.Add(13*time.Minute))
	require.NoError(t, err)
	require.EqualValues(t, 1, n, "memory's last point was 13 minutes ago, CPU's 9")
	n, err = s.ResolveQuiet(ctx, pool, epoch.Add(14*time.Minute))
	require.NoError(t, err)
	require.EqualValues(t, 1, n)

	// A new point after resolution opens a new episode.
	require.Len(t, apply(t, s, pool, Alert{HostID: h1, Metric: "CPU", Kind: KindSelf, Open: true, At: epoch.Add(time.Hour), Value: 99, Score: 0.995}), 1)

	// The listing: newest first, filters, keyset paging to the end.
	p, err := s.List(viewer, Filter{}, page.Args{First: ptr(2)})
	require.NoError(t, err)
	require.Equal(t, 3, p.Info.Total)
	require.Len(t, p.Items, 2)
	require.Equal(t, "CRITICAL", p.Items[0].Severity)
	require.True(t, p.Info.HasNextPage)
	p2, err := s.List(viewer, Filter{}, page.Args{First: ptr(2), After: &p.Info.Cursors[1]})
	require.NoError(t, err)
	require.Len(t, p2.Items, 1)
	require.False(t, p2.Info.HasNextPage)
	open, err := s.List(viewer, Filter{Statuses: []string{StatusOpen}, MinSeverity: "HIGH", HostID: &h1}, page.Args{})
	require.NoError(t, err)
	require.Len(t, open.Items, 1)
	_, err = s.List(viewer, Filter{MinSeverity: "DIRE"}, page.Args{})
	require.True(t, fault.Is(err, fault.Invalid), "%v", err)

	// Bad alerts are the scorer's bug: refused whole.
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		_, err := s.Apply(ctx, tx, []Alert{{HostID: h1, Metric: "CPU", Kind: KindSelf, Open: true, At: epoch, Score: 2}})
		return err
	})
	require.Error(t, err)
}

func TestAcknowledgeIsForOperatorsAndAudited(t *testing.T) {
	t.Parallel()
	s, pool, f := episodesEnv(t)
	ctx := context.Background()
	ids := apply(t, s, pool, Alert{HostID: f.Hosts["batch-wh-1-n01"], Metric: "DISK_IO", Kind: KindSelf, Open: true, At: epoch, Value: 99, Score: 0.9})
	viewer := auth.WithPrincipal(ctx, &auth.Principal{PersonID: f.People[fixture.Viewer], Login: fixture.Viewer, Role: auth.Viewer})
	ops := auth.WithPrincipal(ctx, &auth.Principal{PersonID: f.People[fixture.Operator], Login: fixture.Operator, Role: auth.Operator})

	_, err := s.Acknowledge(viewer, ids[0], "")
	require.True(t, fault.Is(err, fault.Forbidden), "%v", err)
	e, err := s.Acknowledge(ops, ids[0], "disk swap booked")
	require.NoError(t, err)
	require.Equal(t, StatusAcknowledged, e.Status)
	require.Equal(t, "disk swap booked", e.Note)
	_, err = s.Acknowledge(ops, ids[0], "")
	require.True(t, fault.Is(err, fault.Conflict), "%v", err)
	_, err = s.Acknowledge(ops, 999999, "")
	require.True(t, fault.Is(err, fault.NotFound), "%v", err)

	// Acknowledged episodes still resolve when the metric calms down.
	_, err = s.ResolveQuiet(ctx, pool, epoch.Add(time.Hour))
	require.NoError(t, err)
	_, err = s.Acknowledge(ops, ids[0], "")
	require.True(t, fault.Is(err, fault.Conflict), "%v", err)

	var denied, ok int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE outcome = 'DENIED'), count(*) FILTER (WHERE outcome = 'OK')
		FROM audit_log WHERE action = 'acknowledgeAnomaly'`).Scan(&denied, &ok))
	require.Equal(t, 1, denied)
	require.Equal(t, 1, ok)
}

func TestClusterAnalysisFindsCorrelatedOnsets(t *testing.T) {
	t.Parallel()
	s, pool, _ := episodesEnv(t)
	ctx := context.Background()
	clusters := fixture.Bulk(t, pool, 1, 80)
	rows, err := pool.Query(ctx, `SELECT id, rack FROM host WHERE cluster_id = $1 ORDER BY id`, clusters[0])
	require.NoError(t, err)
	var ids []int64
	racks := map[int64]string{}
	for rows.Next() {
		var id int64
		var rack string
		require.NoError(t, rows.Scan(&id, &rack))
		ids = append(ids, id)
		racks[id] = rack
	}
	require.NoError(t, rows.Err())
	// The four hosts of one rack overheat within two minutes; four hosts running
	// a new agent version lose network together an hour later; one host alone
	// has memory trouble.
	var rackHosts []int64
	for _, id := range ids {
		if racks[id] == "r3" {
			rackHosts = append(rackHosts, id)
		}
	}
	require.Len(t, rackHosts, 4)
	var alerts []Alert
	for i, h := range rackHosts {
		alerts = append(alerts, Alert{HostID: h, Metric: "CPU", Kind: KindSelf, Open: true, At: epoch.Add(time.Duration(i) * 30 * time.Second), Value: 99, Score: 0.85})
	}
	rollout := ids[10:14]
	_, err = pool.Exec(ctx, `UPDATE host_component SET version = '3.3.0' WHERE host_id = ANY($1)`, rollout)
	require.NoError(t, err)
	for i, h := range rollout {
		alerts = append(alerts, Alert{HostID: h, Metric: "NET_IN", Kind: KindPeer, Open: true, At: epoch.Add(time.Hour + time.Duration(i)*time.Minute), Value: 0, Score: 0.99})
	}
	alerts = append(alerts, Alert{HostID: ids[50], Metric: "MEMORY", Kind: KindSelf, Open: true, At: epoch.Add(2 * time.Hour), Value: 97, Score: 0.82})
	apply(t, s, pool, alerts...)

	viewer := auth.WithPrincipal(ctx, &auth.Principal{PersonID: 1, Role: auth.Viewer})
	a, err := s.Cluster(viewer, clusters[0], 24*time.Hour, epoch.Add(3*time.Hour))
	require.NoError(t, err)
	require.Equal(t, len(rackHosts)+len(rollout)+1, a.Unresolved)
	require.Equal(t, 80, a.ClusterHosts)
	require.Equal(t, "NET_IN", a.Metrics[0].Metric, "the most severe metric first")
	require.Equal(t, "CRITICAL", a.Metrics[0].Worst)
	require.Len(t, a.Onsets, 2, "%+v", a.Onsets)
	require.Equal(t, "VERSION", a.Onsets[0].Scope)
	require.Equal(t, "3.3.0", a.Onsets[0].Version)
	require.Len(t, a.Onsets[0].Hosts, 4)
	require.Equal(t, "RACK", a.Onsets[1].Scope)
	require.Equal(t, "r3", a.Onsets[1].Rack)
}

func ptr[T any](v T) *T { return &v }
