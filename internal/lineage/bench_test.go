package lineage_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// BenchmarkIngestEvents posts OpenLineage RunEvents end to end through the HTTP
// handler into PostgreSQL: each operation is one event (a START or COMPLETE of
// one of 1,000 jobs, reading two datasets and writing one, a COMPLETE with
// the output's outputStatistics), sent by 4 ×
// GOMAXPROCS clients at once, in NDJSON batches of 50 and one event a request
// (as the OpenLineage clients send them to Marquez). It reports events/s.
func BenchmarkIngestEvents(b *testing.B) {
	e := newEnv(b)
	var seq atomic.Int64
	for _, batch := range []int{50, 1} {
		name := fmt.Sprintf("ndjson-%d", batch)
		if batch == 1 {
			name = "single-json"
		}
		b.Run(name, func(b *testing.B) { benchIngest(b, e, &seq, batch) })
	}
}

func benchIngest(b *testing.B, e *env, seq *atomic.Int64, batch int) {
	next := func() string {
		n := seq.Add(1)
		job := n % 1000
		typ := "START"
		if n%2 == 0 {
			typ = "COMPLETE"
		}
		ev := runEvent(fmt.Sprintf("00000000-0000-4000-8000-%012d", n/2), typ,
			fmt.Sprintf("2024-05-01T10:%02d:%02dZ", (n/60)%60, n%60), fmt.Sprintf("bench/job%d", job),
			[]string{fmt.Sprintf("db/in%d", job), fmt.Sprintf("db/in%d", job+1)}, []string{fmt.Sprintf("db/out%d", job)})
		if typ == "COMPLETE" { // the output's size, as Spark and Airflow integrations report it
			ev = strings.Replace(ev, fmt.Sprintf(`"name":"out%d"}`, job), fmt.Sprintf(
				`"name":"out%d","outputFacets":{"outputStatistics":{"_producer":"p","_schemaURL":"s","size":%d,"rowCount":%d}}}`, job, n*1000, n), 1)
		}
		return ev
	}
	b.SetParallelism(4) // × GOMAXPROCS clients
	b.ResetTimer()
	var sent atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		lines := make([]string, 0, batch)
		flush := func() {
			if len(lines) == 0 {
				return
			}
			ct, want := "application/x-ndjson", http.StatusOK
			if batch == 1 {
				ct, want = "application/json", http.StatusCreated
			}
			status, resp := e.post(b, "agent", ct, strings.Join(lines, "\n"))
			require.Equal(b, want, status, "%+v", resp)
			require.Equal(b, len(lines), resp.Accepted+resp.Duplicates)
			sent.Add(int64(len(lines)))
			lines = lines[:0]
		}
		for pb.Next() {
			lines = append(lines, next())
			if len(lines) == batch {
				flush()
			}
		}
		flush()
	})
	b.ReportMetric(float64(sent.Load())/b.Elapsed().Seconds(), "events/s")
}
