package telemetry_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/telemetry"
)

// BenchmarkWriteSmall measures what an agent-sized write (100 samples, one
// transaction) costs with and without WriterConfig.AsyncCommit: with a commit per
// hundred rows the WAL flush is most of the cost, which is what AsyncCommit trades
// away.
//
//	go test -run '^$' -bench BenchmarkWriteSmall ./internal/telemetry/
func BenchmarkWriteSmall(b *testing.B) {
	pool := dbtest.New(b)
	ctx := context.Background()
	for j, async := range []bool{false, true} {
		name := "sync_commit"
		if async {
			name = "async_commit"
		}
		b.Run(name, func(b *testing.B) {
			w := telemetry.NewWriterWithConfig(pool, telemetry.WriterConfig{AsyncCommit: async})
			t0 := time.Now().UTC().Truncate(time.Minute).Add(-time.Duration(j+1) * time.Hour)
			batch := samples(t0, 100, 100)
			i := 0
			for b.Loop() {
				for k := range batch {
					batch[k].TS = t0.Add(time.Duration(i) * time.Millisecond)
				}
				i++
				res, err := w.Write(ctx, &telemetry.SliceSource{Samples: batch})
				require.NoError(b, err)
				require.EqualValues(b, 100, res.Accepted)
			}
			b.ReportMetric(float64(100*b.N)/b.Elapsed().Seconds(), "samples/s")
		})
	}
}
