package app

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/coder/websocket/wsjson"
	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/graph/model"
	"github.com/teslaops/tesla/internal/anomaly"
	"github.com/teslaops/tesla/internal/audit"
	"github.com/teslaops/tesla/internal/fixture"
)

func TestAnomaliesThroughGraphQL(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	episodes := anomaly.NewEpisodes(e.db.Pool, audit.New(e.db.Pool, slog.New(slog.NewTextHandler(io.Discard, nil))), anomaly.EpisodeConfig{})
	host := e.fleet.Hosts["batch-wh-1-n01"]
	now := time.Now().UTC().Truncate(time.Minute)

	// A viewer watches for severe anomalies as they open.
	conn := e.wsAck(t, ctx, map[string]any{"authToken": e.as(fixture.Viewer)})
	require.NoError(t, wsjson.Write(ctx, conn, subscribeMsg("raised",
		`subscription { anomalyRaised(minSeverity: HIGH) { metric severity host { hostname } } }`)))
	got := make(chan map[string]any, 1)
	go func() {
		for {
			var m map[string]any
			if err := wsjson.Read(ctx, conn, &m); err != nil {
				return
			}
			if m["type"] == "next" {
				got <- m
				return
			}
		}
	}()
	// The subscription must be registered before the episodes open: open a
	// mild one (filtered out) and a critical one on the host, then on more
	// hosts of the cluster until the event arrives (bounded), never sleeping.
	hosts := []int64{host, e.fleet.Hosts["batch-wh-1-n02"], e.fleet.Hosts["batch-wh-1-n03"]}
	opened := 0
	var m map[string]any
	for i := 0; m == nil; i++ {
		require.Less(t, i, len(hosts), "no subscription event")
		for _, a := range []anomaly.Alert{
			{HostID: hosts[i], Metric: "MEMORY", Kind: anomaly.KindPeer, At: now.Add(-time.Minute), Value: 70, Baseline: 40, Score: 0.45, Open: true},
			{HostID: hosts[i], Metric: "CPU", Kind: anomaly.KindSelf, At: now, Value: 99, Baseline: 30, Score: 0.97, Open: true},
		} {
			require.NoError(t, pgx.BeginFunc(ctx, e.db.Pool, func(tx pgx.Tx) error {
				_, err := episodes.Apply(ctx, tx, []anomaly.Alert{a})
				return err
			}))
			opened++
		}
		select {
		case m = <-got:
		case <-time.After(500 * time.Millisecond):
		case <-ctx.Done():
			t.Fatal("no subscription event before the deadline")
		}
	}
	require.Equal(t, "CPU", dig(m, "payload", "data", "anomalyRaised", "metric"), "%v", m)
	require.Equal(t, "CRITICAL", dig(m, "payload", "data", "anomalyRaised", "severity"))

	r := e.gql(t, e.as(fixture.Viewer), `{ anomalies(first: 10, filter: { statuses: [OPEN] }) { totalCount
		nodes { id metric kind severity status peakValue expected host { hostname } cluster { name } } } }`, nil)
	require.Empty(t, r.Errors, r.Raw)
	require.EqualValues(t, opened, dig(r.Data, "anomalies", "totalCount"))
	require.Equal(t, "CPU", dig(r.Data, "anomalies", "nodes", 0, "metric"), "newest first")
	r = e.gql(t, e.as(fixture.Viewer), `query($h: ID!) { anomalies(filter: { hostId: $h, metric: CPU }) { nodes { id } } }`,
		map[string]any{"h": model.GlobalID(model.KindHost, host)})
	require.Empty(t, r.Errors, r.Raw)
	id := dig(r.Data, "anomalies", "nodes", 0, "id").(string)

	r = e.gql(t, e.as(fixture.Viewer), `{ host(hostname: "batch-wh-1-n01") { anomalies { metric }
		analysis { findings { severity text } } } }`, nil)
	require.Empty(t, r.Errors, r.Raw)
	require.Len(t, dig(r.Data, "host", "anomalies").([]any), 2)
	require.Equal(t, "PROBLEM", dig(r.Data, "host", "analysis", "findings", 0, "severity"))
	require.Contains(t, dig(r.Data, "host", "analysis", "findings", 0, "text"), "CPU anomaly (CRITICAL)")

	r = e.gql(t, e.as(fixture.Viewer), `{ cluster(name: "batch-wh-1") { anomalyAnalysis { unresolvedCount hostCount
		metrics { metric hostCount worst } onsets { scope } } } }`, nil)
	require.Empty(t, r.Errors, r.Raw)
	require.EqualValues(t, opened, dig(r.Data, "cluster", "anomalyAnalysis", "unresolvedCount"))
	require.Equal(t, "CPU", dig(r.Data, "cluster", "anomalyAnalysis", "metrics", 0, "metric"))

	const ack = `mutation($id: ID!) { acknowledgeAnomaly(input: { id: $id, note: "on it" }) {
		anomaly { status note acknowledgedBy { login } } userErrors { message code } } }`
	r = e.gql(t, e.as(fixture.Viewer), ack, map[string]any{"id": id})
	require.Equal(t, "FORBIDDEN", r.code(), r.Raw)
	r = e.gql(t, e.as(fixture.Operator), ack, map[string]any{"id": id})
	require.Empty(t, r.Errors, r.Raw)
	require.Equal(t, "ACKNOWLEDGED", dig(r.Data, "acknowledgeAnomaly", "anomaly", "status"))
	require.Equal(t, fixture.Operator, dig(r.Data, "acknowledgeAnomaly", "anomaly", "acknowledgedBy", "login"))
	r = e.gql(t, e.as(fixture.Operator), ack, map[string]any{"id": id})
	require.Empty(t, r.Errors, r.Raw)
	require.Equal(t, "CONFLICT", dig(r.Data, "acknowledgeAnomaly", "userErrors", 0, "code"), r.Raw)
	r = e.gql(t, e.as(fixture.Operator), ack, map[string]any{"id": model.GlobalID(model.KindHost, host)})
	require.Equal(t, "BAD_USER_INPUT", dig(r.Data, "acknowledgeAnomaly", "userErrors", 0, "code"), r.Raw)

	// The anomaly is a node.
	r = e.gql(t, e.as(fixture.Viewer), `query($id: ID!) { node(id: $id) { ... on Anomaly { status } } }`, map[string]any{"id": id})
	require.Empty(t, r.Errors, r.Raw)
	require.Equal(t, "ACKNOWLEDGED", dig(r.Data, "node", "status"))
}
