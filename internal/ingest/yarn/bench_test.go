package yarn_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/audit"
	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/fixture"
	"github.com/teslaops/tesla/internal/ingest/yarn"
)

// benchApps is a finished-apps answer of n applications copied from the first
// real one of cluster_apps.json, with their own ids, 50 recurring job names
// (dated, as daily jobs are) and finish times.
func benchApps(b *testing.B, data string, n int) string {
	raw, err := os.ReadFile(filepath.Join(data, "docs-examples/cluster_apps.json"))
	require.NoError(b, err)
	var doc struct {
		Apps struct {
			App []map[string]any `json:"app"`
		} `json:"apps"`
	}
	require.NoError(b, json.Unmarshal(raw, &doc))
	tmpl := doc.Apps.App[0]
	apps := make([]map[string]any, n)
	for i := range apps {
		a := make(map[string]any, len(tmpl))
		for k, v := range tmpl {
			a[k] = v
		}
		a["id"] = fmt.Sprintf("application_1476912658570_%06d", i)
		a["name"] = fmt.Sprintf("etl_job_%02d 2024-05-%02d", i%50, 1+i%28)
		a["finishedTime"] = 1476913761898 + int64(i)*1000
		apps[i] = a
	}
	out, err := json.Marshal(map[string]any{"apps": map[string]any{"app": apps}})
	require.NoError(b, err)
	return string(out)
}

// BenchmarkPoll measures one poll of a cluster whose ResourceManager reports
// 5,000 finished applications (and the capacity scheduler of Hadoop's tests):
// "new" stores them into an empty database, "again" reads the same answers a
// minute later (nothing new to store but the queue snapshots).
func BenchmarkPoll(b *testing.B) {
	data := realYarn(b)
	const n = 5000
	body := benchApps(b, data, n)
	for _, again := range []bool{false, true} {
		name := map[bool]string{false: "new", true: "again"}[again]
		b.Run(name, func(b *testing.B) {
			server := newRMB(b, data, "test-resources/scheduler-response.json")
			server.apps = body
			var apps int
			var elapsed time.Duration
			setup := func() (*yarn.Poller, *clock) {
				pool := dbtest.New(b)
				fixture.New(b, pool)
				_, err := yarn.NewService(pool).SetTargetAsOperator(context.Background(), audit.New(pool, slog.New(slog.DiscardHandler)),
					yarn.TargetInput{Cluster: "batch-wh-1", URL: server.URL})
				require.NoError(b, err)
				_, err = pool.Exec(context.Background(), `UPDATE yarn_target SET next_attempt_at = $1`, t0)
				require.NoError(b, err)
				c := &clock{t: t0}
				return yarn.New(pool, slog.New(slog.DiscardHandler), yarn.Config{Interval: time.Minute, Timeout: time.Minute, Now: c.Now}, nil), c
			}
			var p *yarn.Poller
			var c *clock
			if again {
				p, c = setup()
				_, err := p.RunOnce(context.Background())
				require.NoError(b, err)
			}
			for b.Loop() {
				if !again {
					b.StopTimer()
					p, c = setup()
					b.StartTimer()
				} else {
					c.Add(time.Minute)
				}
				res, err := p.RunOnce(context.Background())
				require.NoError(b, err)
				require.Equal(b, 1, res.Succeeded)
				apps += res.Apps
				elapsed += res.Elapsed
			}
			b.ReportMetric(float64(apps)/elapsed.Seconds(), "apps/s")
		})
	}
}
