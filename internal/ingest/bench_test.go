package ingest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/fixture"
	"github.com/teslaops/tesla/internal/ingest"
	"github.com/teslaops/tesla/internal/telemetry"
)

// Benchmark sizes: 10,000 hosts (fixture.Bulk: 10 clusters × 1,000) and 200,000
// samples per request (20 per host, 10 s apart), the shape of a large fleet's
// agents flushing a few minutes of data through one collector.
const (
	benchClusters        = 10
	benchHostsPerCluster = 1000
	benchSamplesPerHost  = 20
)

type benchFleet struct {
	pool  *pgxpool.Pool
	hosts []benchHost
	t0    time.Time
}

type benchHost struct {
	id   int64
	name string
}

func newBenchFleet(b testing.TB) *benchFleet {
	b.Helper()
	pool := dbtest.New(b)
	fixture.Bulk(b, pool, benchClusters, benchHostsPerCluster)
	rows, err := pool.Query(context.Background(), `SELECT id, hostname FROM host ORDER BY id`)
	require.NoError(b, err)
	hosts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (benchHost, error) {
		var h benchHost
		err := r.Scan(&h.id, &h.name)
		return h, err
	})
	require.NoError(b, err)
	return &benchFleet{pool: pool, hosts: hosts, t0: time.Now().UTC().Truncate(time.Hour).Add(-2 * time.Hour)}
}

// sample returns the i-th benchmark sample: time-major, so consecutive lines name
// different hosts, as when many agents' data is merged.
func (f *benchFleet) sample(i int) (benchHost, int64, [6]float64) {
	h := f.hosts[i%len(f.hosts)]
	ts := f.t0.Unix() + int64(i/len(f.hosts))*10
	k := float64(i % 97)
	return h, ts, [6]float64{10 + k*0.5, 20 + k*0.3, k * 0.1, 1e9 + k*1e6, 5e8 + k*1e5, float64(i % 40)}
}

// appendLine appends the i-th sample as an NDJSON line.
func (f *benchFleet) appendLine(buf []byte, i int) []byte {
	h, ts, v := f.sample(i)
	buf = append(buf, `{"host":"`...)
	buf = append(buf, h.name...)
	buf = append(buf, `","ts":"`...)
	buf = time.Unix(ts, 0).UTC().AppendFormat(buf, time.RFC3339)
	buf = append(buf, `","cpu":`...)
	buf = strconv.AppendFloat(buf, v[0], 'f', 1, 64)
	buf = append(buf, `,"mem":`...)
	buf = strconv.AppendFloat(buf, v[1], 'f', 1, 64)
	buf = append(buf, `,"disk_io":`...)
	buf = strconv.AppendFloat(buf, v[2], 'f', 1, 64)
	buf = append(buf, `,"net_in":`...)
	buf = strconv.AppendFloat(buf, v[3], 'g', -1, 64)
	buf = append(buf, `,"net_out":`...)
	buf = strconv.AppendFloat(buf, v[4], 'g', -1, 64)
	buf = append(buf, `,"containers":`...)
	buf = strconv.AppendInt(buf, int64(v[5]), 10)
	return append(buf, "}\n"...)
}

func (f *benchFleet) ndjson(n int) []byte {
	var buf []byte
	for i := range n {
		buf = f.appendLine(buf, i)
	}
	return buf
}

func (f *benchFleet) reset(b *testing.B) {
	b.Helper()
	_, err := f.pool.Exec(context.Background(), `TRUNCATE host_metric, host_latest, rollup_dirty`)
	require.NoError(b, err)
	_, err = f.pool.Exec(context.Background(), `CHECKPOINT`)
	require.NoError(b, err)
}

// BenchmarkIngestHTTP measures ingestion end to end, through a real HTTP server
// and the handler into PostgreSQL, against the floor of a raw pgx CopyFrom of the
// same rows into host_metric. Each iteration stores the same 200k new samples
// into an emptied table, so iterations are comparable.
//
//	go test -run '^$' -bench BenchmarkIngestHTTP -benchtime 5x ./internal/ingest/
func BenchmarkIngestHTTP(b *testing.B) {
	f := newBenchFleet(b)
	n := len(f.hosts) * benchSamplesPerHost
	body := f.ndjson(n)
	var rawRate float64

	b.Run("raw_copyfrom", func(b *testing.B) {
		src := &sampleRows{f: f, n: n}
		var elapsed time.Duration
		for b.Loop() {
			b.StopTimer()
			f.reset(b)
			src.i = 0
			b.StartTimer()
			start := time.Now()
			copied, err := f.pool.CopyFrom(context.Background(), pgx.Identifier{"host_metric"},
				[]string{"host_id", "ts", "cpu_pct", "mem_pct", "disk_io_pct", "net_in_bps", "net_out_bps", "containers"}, src)
			elapsed += time.Since(start)
			require.NoError(b, err)
			require.EqualValues(b, n, copied)
		}
		rawRate = float64(n) * float64(b.N) / elapsed.Seconds()
		b.ReportMetric(rawRate, "samples/s")
		b.ReportMetric(0, "ns/op")
	})

	for _, c := range []struct {
		name string
		gzip bool
	}{{"http_ndjson", false}, {"http_ndjson_gzip", true}} {
		b.Run(c.name, func(b *testing.B) {
			payload := body
			if c.gzip {
				payload = gzipped(b, string(body))
			}
			srv := httptest.NewServer(withPrincipalFor(principals["agent"],
				ingest.NewHTTPHandler(f.pool, telemetry.NewWriter(f.pool), slog.New(slog.DiscardHandler), ingest.Config{})))
			defer srv.Close()
			var elapsed time.Duration
			b.SetBytes(int64(len(payload)))
			for b.Loop() {
				b.StopTimer()
				f.reset(b)
				b.StartTimer()
				start := time.Now()
				res := postBench(b, srv, payload, c.gzip)
				elapsed += time.Since(start)
				require.EqualValues(b, n, res.Accepted, "%+v", res)
			}
			rate := float64(n) * float64(b.N) / elapsed.Seconds()
			b.ReportMetric(rate, "samples/s")
			if rawRate > 0 {
				b.ReportMetric(rate/rawRate, "x_raw")
			}
			b.ReportMetric(0, "ns/op")
		})
	}
}

func postBench(b *testing.B, srv *httptest.Server, payload []byte, gz bool) ingest.Response {
	b.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(payload))
	require.NoError(b, err)
	req.Header.Set("Content-Type", "application/x-ndjson")
	if gz {
		req.Header.Set("Content-Encoding", "gzip")
	}
	res, err := srv.Client().Do(req)
	require.NoError(b, err)
	defer res.Body.Close()
	var out ingest.Response
	require.NoError(b, json.NewDecoder(res.Body).Decode(&out))
	require.Equal(b, http.StatusOK, res.StatusCode, "%+v", out)
	return out
}

func withPrincipalFor(p *auth.Principal, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(auth.WithPrincipal(r.Context(), p)))
	})
}

// sampleRows is a pgx.CopyFromSource over the benchmark samples whose values
// point at its own fields, the cheapest way to feed pgx's CopyFrom.
type sampleRows struct {
	f    *benchFleet
	n, i int
	id   int64
	ts   time.Time
	v4   [3]float32
	v8   [2]float64
	c    int32
	vals []any
}

func (s *sampleRows) Next() bool {
	if s.i >= s.n {
		return false
	}
	h, ts, v := s.f.sample(s.i)
	s.i++
	s.id, s.ts = h.id, time.Unix(ts, 0).UTC()
	s.v4 = [3]float32{float32(v[0]), float32(v[1]), float32(v[2])}
	s.v8 = [2]float64{v[3], v[4]}
	s.c = int32(v[5])
	return true
}

func (s *sampleRows) Values() ([]any, error) {
	if s.vals == nil {
		s.vals = []any{&s.id, &s.ts, &s.v4[0], &s.v4[1], &s.v4[2], &s.v8[0], &s.v8[1], &s.c}
	}
	return s.vals, nil
}

func (s *sampleRows) Err() error { return nil }
