package ingest_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/fixture"
	"github.com/teslaops/tesla/internal/ingest"
	"github.com/teslaops/tesla/internal/telemetry"
)

// principals stand in for the authentication middleware: the test header names
// the caller.
var principals = map[string]*auth.Principal{
	"ops":       {Login: "ops", Role: auth.Operator, Method: auth.MethodToken},
	"admin":     {Login: "admin", Role: auth.Admin, Method: auth.MethodSession},
	"alice":     {Login: "alice", Role: auth.Viewer, Method: auth.MethodToken},
	"agent":     {Login: "agent", Role: auth.Viewer, Method: auth.MethodToken, Scopes: []string{"ingest"}},
	"ops-gql":   {Login: "ops-gql", Role: auth.Operator, Method: auth.MethodToken, Scopes: []string{"graphql"}},
	"lead-both": {Login: "lead-both", Role: auth.BUAdmin, Method: auth.MethodToken, Scopes: []string{"graphql", "ingest"}},
}

const loginHeader = "X-Test-Login"

func withTestPrincipal(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p := principals[r.Header.Get(loginHeader)]; p != nil {
			r = r.WithContext(auth.WithPrincipal(r.Context(), p))
		}
		next.ServeHTTP(w, r)
	})
}

type env struct {
	pool  *pgxpool.Pool
	fleet *fixture.Fleet
	srv   *httptest.Server
	logs  *syncBuffer
	// t0 is a minute boundary half an hour ago, clear of the fixture's samples.
	t0 time.Time
}

func newEnv(t *testing.T, cfg ingest.Config) *env {
	t.Helper()
	return newEnvOn(t, dbtest.New(t), cfg)
}

func newEnvOn(t *testing.T, pool *pgxpool.Pool, cfg ingest.Config) *env {
	t.Helper()
	e := &env{pool: pool, fleet: fixture.New(t, pool), logs: &syncBuffer{}}
	logger := slog.New(slog.NewTextHandler(e.logs, nil))
	h := ingest.NewHTTPHandler(pool, telemetry.NewWriter(pool), logger, cfg)
	e.srv = httptest.NewServer(withTestPrincipal(h))
	t.Cleanup(e.srv.Close)
	e.t0 = time.Now().UTC().Truncate(time.Minute).Add(-30 * time.Minute)
	return e
}

type request struct {
	login, contentType, encoding string
	body                         io.Reader
}

func (e *env) do(t *testing.T, rq request) (int, ingest.Response) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+"/api/v1/metrics/hosts", rq.body)
	require.NoError(t, err)
	req.Header.Set(loginHeader, cmpOr(rq.login, "ops"))
	req.Header.Set("Content-Type", cmpOr(rq.contentType, "application/x-ndjson"))
	if rq.encoding != "" {
		req.Header.Set("Content-Encoding", rq.encoding)
	}
	res, err := e.srv.Client().Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, "application/json", res.Header.Get("Content-Type"))
	var out ingest.Response
	require.NoError(t, json.NewDecoder(res.Body).Decode(&out))
	return res.StatusCode, out
}

func (e *env) ndjson(t *testing.T, body string) (int, ingest.Response) {
	t.Helper()
	return e.do(t, request{body: strings.NewReader(body)})
}

func (e *env) count(t *testing.T, sql string, args ...any) int64 {
	t.Helper()
	var n int64
	require.NoError(t, e.pool.QueryRow(context.Background(), sql, args...).Scan(&n))
	return n
}

// stored counts the samples at or after t0, that is those the test sent.
func (e *env) stored(t *testing.T) int64 {
	return e.count(t, `SELECT count(*) FROM host_metric WHERE ts >= $1 AND ts < $2`, e.t0.Add(-time.Minute), e.t0.Add(25*time.Minute))
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func rfc(t time.Time) string { return t.Format(time.RFC3339Nano) }

// goodLines returns n valid NDJSON lines for the fixture's host rt-ads-1-n01, one
// second apart from start.
func goodLines(start time.Time, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf(`{"host":"rt-ads-1-n01","ts":"%s","cpu":%d,"mem":40}`, rfc(start.Add(time.Duration(i)*time.Second)), i%100)
	}
	return out
}

func TestIngestNDJSONStoresEverySpellingOfTheFields(t *testing.T) {
	t.Parallel()
	e := newEnv(t, ingest.Config{})
	n01, n02, n03 := e.fleet.Hosts["rt-ads-1-n01"], e.fleet.Hosts["rt-ads-1-n02"], e.fleet.Hosts["batch-wh-1-n01"]
	t0 := e.t0
	body := strings.Join([]string{
		fmt.Sprintf(`{"host": "rt-ads-1-n01", "ts": "%s", "cpu": 12.5, "mem": 40, "disk_io": 3, "net_in": 1e9, "net_out": 5e8, "containers": 12}`, rfc(t0)),
		fmt.Sprintf(`{"hostname":"rt-ads-1-n02","timestamp":%d.25,"cpu_pct":100.3,"mem_pct":null,"disk_io_pct":0,"net_in_bps":0,"net_out_bps":1,"containers":12.0}`, t0.Unix()),
		fmt.Sprintf(`{"host_id": %d, "ts": %d}`, n03, t0.Unix()),
		fmt.Sprintf(`{"host": %d, "ts": "%s"}`, n01, t0.In(time.FixedZone("CST", 8*3600)).Add(time.Minute).Format(time.RFC3339)),
		fmt.Sprintf(`  {"host": "%d", "ts": "%s", "cpu": 1}  `, n02, rfc(t0.Add(2*time.Minute))), // a host id as a string
		``,
	}, "\n")
	status, res := e.ndjson(t, body)
	require.Equal(t, http.StatusOK, status, "%+v", res)
	require.Equal(t, ingest.Response{Accepted: 5, Lines: 5, Errors: []ingest.LineError{}}, res)

	var (
		cpu, mem, disk *float32
		netIn, netOut  *float64
		containers     *int32
		ctx            = context.Background()
		scan           = func(host int64, ts time.Time) {
			t.Helper()
			require.NoError(t, e.pool.QueryRow(ctx, `SELECT cpu_pct, mem_pct, disk_io_pct, net_in_bps, net_out_bps, containers
				FROM host_metric WHERE host_id = $1 AND ts = $2`, host, ts).Scan(&cpu, &mem, &disk, &netIn, &netOut, &containers))
		}
	)
	scan(n01, t0)
	require.Equal(t, float32(12.5), *cpu)
	require.Equal(t, float32(40), *mem)
	require.Equal(t, float32(3), *disk)
	require.Equal(t, 1e9, *netIn)
	require.Equal(t, 5e8, *netOut)
	require.Equal(t, int32(12), *containers)

	scan(n02, t0.Add(250*time.Millisecond))
	require.Equal(t, float32(100), *cpu, "100.3 is within the tolerance and taken as 100")
	require.Nil(t, mem)
	require.Equal(t, float32(0), *disk)
	require.Equal(t, int32(12), *containers)

	scan(n03, t0)
	require.Nil(t, cpu)
	require.Nil(t, containers)
	require.EqualValues(t, 1, e.count(t, `SELECT count(*) FROM host_metric WHERE host_id = $1 AND ts = $2`, n01, t0.Add(time.Minute)))
	require.EqualValues(t, 1, e.count(t, `SELECT count(*) FROM host_metric WHERE host_id = $1 AND ts = $2`, n02, t0.Add(2*time.Minute)))

	// The rollup learns about the three minutes touched.
	require.EqualValues(t, 3, e.count(t, `SELECT count(*) FROM rollup_dirty WHERE minute IN ($1, $2, $3)`,
		t0, t0.Add(time.Minute), t0.Add(2*time.Minute)))

	// One summary line per request.
	require.Equal(t, 1, strings.Count(e.logs.String(), "ingest request"))
	require.Contains(t, e.logs.String(), "accepted=5")
}

func TestIngestCSV(t *testing.T) {
	t.Parallel()
	e := newEnv(t, ingest.Config{})
	t0 := e.t0
	body := "\xef\xbb\xbfHost, TS ,cpu,mem,disk_io,net_in,net_out,containers\r\n" +
		fmt.Sprintf("rt-ads-1-n01,%s,12.5,40,3,1e9,5e8,12\r\n", rfc(t0)) +
		fmt.Sprintf("\"rt-ads-1-n02\",%d,,,,,,\r\n", t0.Unix()) +
		"\r\n" +
		fmt.Sprintf(" rt-ads-1-n03 , \"%s\" , 7 ,,,,,0", rfc(t0)) // no final line ending
	status, res := e.do(t, request{contentType: "text/csv; charset=utf-8", body: strings.NewReader(body)})
	require.Equal(t, http.StatusOK, status, "%+v", res)
	require.Equal(t, ingest.Response{Accepted: 3, Lines: 5, Errors: []ingest.LineError{}}, res)

	var cpu, mem *float32
	var containers *int32
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT cpu_pct, mem_pct, containers FROM host_metric WHERE host_id = $1 AND ts = $2`,
		e.fleet.Hosts["rt-ads-1-n02"], t0).Scan(&cpu, &mem, &containers))
	require.Nil(t, cpu, "an empty cell is not measured")
	require.Nil(t, mem)
	require.Nil(t, containers)
	require.EqualValues(t, 0, e.count(t, `SELECT containers FROM host_metric WHERE host_id = $1 AND ts = $2`, e.fleet.Hosts["rt-ads-1-n03"], t0))
	require.EqualValues(t, 7, e.count(t, `SELECT cpu_pct::bigint FROM host_metric WHERE host_id = $1 AND ts = $2`, e.fleet.Hosts["rt-ads-1-n03"], t0))
}

func TestIngestGzipAndIdempotency(t *testing.T) {
	t.Parallel()
	e := newEnv(t, ingest.Config{BatchRows: 100})
	lines := goodLines(e.t0, 1000)
	lines = append(lines, lines[10], lines[20]) // repeated within the body
	body := gzipped(t, strings.Join(lines, "\n")+"\n")

	status, res := e.do(t, request{encoding: "gzip", body: bytes.NewReader(body)})
	require.Equal(t, http.StatusOK, status, "%+v", res)
	require.Equal(t, ingest.Response{Accepted: 1000, Duplicates: 2, Lines: 1002, Errors: []ingest.LineError{}}, res)
	require.EqualValues(t, 1000, e.stored(t))

	// Sending the same body again stores nothing and says so.
	status, res = e.do(t, request{encoding: "gzip", body: bytes.NewReader(body)})
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, ingest.Response{Duplicates: 1002, Lines: 1002, Errors: []ingest.LineError{}}, res)
	require.EqualValues(t, 1000, e.stored(t))
}

func TestIngestRejectsBadLinesWithTheirReasonAndKeepsTheGoodOnes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, ingest.Config{})
	t0 := e.t0
	ts := rfc(t0.Add(time.Hour / 2)) // a valid time no good line uses
	now := time.Now()
	cases := []struct {
		line   string
		field  string
		reason string
	}{
		{`{"host":"no-such-host","ts":"` + ts + `","cpu":1}`, "host", `unknown host "no-such-host"`},
		{`{"hostname":"no-such-host","ts":"` + ts + `"}`, "hostname", `unknown host "no-such-host"`},
		{`{"host_id":987654,"ts":"` + ts + `"}`, "host_id", "unknown host id 987654"},
		{`{"host_id":1.5,"ts":"` + ts + `"}`, "host_id", "not a valid host id"},
		{`{"ts":"` + ts + `","cpu":1}`, "host", "missing host"},
		{`{"host":"rt-ads-1-n01","cpu":1}`, "ts", "missing timestamp"},
		{`{"host":"rt-ads-1-n01","ts":"yesterday"}`, "ts", `bad timestamp "yesterday"`},
		{`{"host":"rt-ads-1-n01","ts":"2026-02-30T00:00:00Z"}`, "ts", "bad timestamp"},
		{`{"host":"rt-ads-1-n01","ts":true}`, "ts", "must be an RFC 3339 string or unix seconds, not a boolean"},
		{`{"host":"rt-ads-1-n01","ts":"` + rfc(now.Add(time.Hour)) + `"}`, "ts", "in the future; at most 10m0s is allowed"},
		{`{"host":"rt-ads-1-n01","timestamp":` + fmt.Sprint(now.Add(-15*24*time.Hour).Unix()) + `}`, "timestamp", "older than the maximum age of 14 days"},
		{`{"host":"rt-ads-1-n01","ts":` + fmt.Sprint(now.UnixMilli()) + `}`, "ts", "looks like milliseconds"},
		{`{"host":"rt-ads-1-n01","ts":"` + ts + `","cpu":NaN}`, "cpu", "not a finite number"},
		{`{"host":"rt-ads-1-n01","ts":"` + ts + `","net_in":Infinity}`, "net_in", "not a finite number"},
		{`{"host":"rt-ads-1-n01","ts":"` + ts + `","net_out":-Infinity}`, "net_out", "not a finite number"},
		{`{"host":"rt-ads-1-n01","ts":"` + ts + `","mem":1e999}`, "mem", "not a finite number"},
		{`{"host":"rt-ads-1-n01","ts":"` + ts + `","disk_io":-1}`, "disk_io", "negative value -1"},
		{`{"host":"rt-ads-1-n01","ts":"` + ts + `","cpu_pct":100.6}`, "cpu_pct", "percent over 100: 100.6"},
		{`{"host":"rt-ads-1-n01","ts":"` + ts + `","net_in":2e15}`, "net_in", "over 1e15 bits/s"},
		{`{"host":"rt-ads-1-n01","ts":"` + ts + `","containers":2.5}`, "containers", "not an integer count: 2.5"},
		{`{"host":"rt-ads-1-n01","ts":"` + ts + `","containers":-3}`, "containers", "negative value -3"},
		{`{"host":"rt-ads-1-n01","ts":"` + ts + `","gpu":3}`, "gpu", "unknown field"},
		{`{"host":"rt-ads-1-n01","ts":"` + ts + `","cpu":"12"}`, "cpu", "must be a number, not a string"},
		{`{"host":"rt-ads-1-n01","ts":"` + ts + `","cpu":{"avg":1}}`, "cpu", "must be a number, not an object or array"},
		{`{"host":true,"ts":"` + ts + `"}`, "host", "must be a hostname string, not a boolean"},
		{`{"host":"rt-ads-1-n01","ts":"` + ts + `","cpu":1,"cpu":2}`, "cpu", "field given twice"},
		{`{"host":"rt-ads-1-n01","host_id":1,"ts":"` + ts + `"}`, "host_id", "host given twice"},
		{`{"host":"rt-ads-1-n01","ts":"` + ts + `",}`, "", "invalid JSON"},
		{`{"host":"rt-ads-1-n01","ts":"` + ts + `"} trailing`, "", "invalid JSON: text after the object"},
		{`{"host":"rt-ads-1-n01","ts":"` + ts + `","cpu":01}`, "", "invalid JSON"},
		{`["rt-ads-1-n01"]`, "", "not a JSON object"},
		{`not json at all`, "", "not a JSON object"},
	}
	good := goodLines(t0, len(cases)+1)
	var body strings.Builder
	for i, c := range cases {
		fmt.Fprintf(&body, "%s\n\n%s\n", good[i], c.line) // good, blank, bad
	}
	body.WriteString(good[len(cases)] + "\n")

	status, res := e.ndjson(t, body.String())
	require.Equal(t, http.StatusOK, status, "%+v", res)
	require.EqualValues(t, len(cases)+1, res.Accepted)
	require.EqualValues(t, len(cases), res.Rejected)
	require.EqualValues(t, 3*len(cases)+1, res.Lines)
	require.False(t, res.ErrorsTruncated)
	require.Len(t, res.Errors, len(cases))
	for i, c := range cases {
		got := res.Errors[i]
		require.EqualValues(t, 3*i+3, got.Line, "case %d: %s", i, c.line)
		require.Equal(t, c.field, got.Field, "case %d: %s", i, c.line)
		require.Contains(t, got.Reason, c.reason, "case %d: %s", i, c.line)
	}
	require.EqualValues(t, len(cases)+1, e.stored(t))
}

func TestIngestCSVRejectsBadRowsAndBadHeaders(t *testing.T) {
	t.Parallel()
	e := newEnv(t, ingest.Config{})
	ts := rfc(e.t0)
	body := "hostname,ts,cpu,containers\n" +
		"rt-ads-1-n01," + ts + ",1,2\n" +
		"rt-ads-1-n02," + ts + ",1\n" +
		"rt-ads-1-n03," + ts + ",nan,2\n" +
		"rt-ads-1-n04," + ts + ",abc,2\n" +
		"rt-ads-1-n05," + ts + ",\"1,5\",2\n" +
		"rt-ads-1-n06,\"" + ts + ",1,2\n" +
		"rt-ads-1-n06," + ts + ",1,2\n"
	status, res := e.do(t, request{contentType: "text/csv", body: strings.NewReader(body)})
	require.Equal(t, http.StatusOK, status, "%+v", res)
	require.EqualValues(t, 2, res.Accepted)
	require.Equal(t, []ingest.LineError{
		{Line: 3, Reason: "3 cells where the header has 4"},
		{Line: 4, Field: "cpu", Reason: "not a finite number"},
		{Line: 5, Field: "cpu", Reason: `not a number: "abc"`},
		{Line: 6, Field: "cpu", Reason: `not a number: "1,5"`},
		{Line: 7, Reason: "unterminated quoted cell (cells may not span lines)"},
	}, res.Errors)

	for header, want := range map[string]string{
		"host,cpu\n":              "must name a host column",
		"ts,cpu\n":                "must name a host column",
		"host,ts,gpu\n":           `unknown CSV column "gpu"`,
		"host,hostname,ts\n":      `CSV column "hostname" repeats a column`,
		"host,ts,cpu,cpu_pct\n":   `CSV column "cpu_pct" repeats a column`,
		"host,\"ts,cpu\n":         "bad CSV header",
		"host,ts,timestamp,cpu\n": `CSV column "timestamp" repeats`,
	} {
		status, res := e.do(t, request{contentType: "text/csv", body: strings.NewReader(header + "rt-ads-1-n01," + ts + ",1\n")})
		require.Equal(t, http.StatusBadRequest, status, header)
		require.Contains(t, res.Error, want, header)
		require.Zero(t, res.Accepted)
	}
}

func TestIngestLenientModeIgnoresUnknownFields(t *testing.T) {
	t.Parallel()
	e := newEnv(t, ingest.Config{AllowUnknownFields: true})
	status, res := e.ndjson(t, `{"host":"rt-ads-1-n01","ts":"`+rfc(e.t0)+`","gpu":3,"tags":{"rack":"r1","list":[1,"]"]},"cpu":5}`)
	require.Equal(t, http.StatusOK, status)
	require.EqualValues(t, 1, res.Accepted, "%+v", res)
	status, res = e.do(t, request{contentType: "text/csv", body: strings.NewReader("host,ts,gpu,cpu\nrt-ads-1-n02," + rfc(e.t0) + ",x,5\n")})
	require.Equal(t, http.StatusOK, status)
	require.EqualValues(t, 1, res.Accepted, "%+v", res)
}

func TestIngestListsTheFirstErrorsAndCountsTheRest(t *testing.T) {
	t.Parallel()
	e := newEnv(t, ingest.Config{MaxErrors: 3})
	status, res := e.ndjson(t, strings.Repeat("{\"host\":\"nope\",\"ts\":\""+rfc(e.t0)+"\"}\n", 10)+goodLines(e.t0, 1)[0])
	require.Equal(t, http.StatusOK, status)
	require.EqualValues(t, 10, res.Rejected)
	require.EqualValues(t, 1, res.Accepted)
	require.Len(t, res.Errors, 3)
	require.True(t, res.ErrorsTruncated)
}

func TestIngestTruncatedGzipStoresTheLinesBeforeTheCut(t *testing.T) {
	t.Parallel()
	e := newEnv(t, ingest.Config{BatchRows: 500})
	full := gzipped(t, strings.Join(goodLines(e.t0, 1200), "\n")+"\n")
	cut := full[:len(full)*2/3]

	status, res := e.do(t, request{encoding: "gzip", body: bytes.NewReader(cut)})
	require.Equal(t, http.StatusBadRequest, status, "%+v", res)
	require.Contains(t, res.Error, "gzip stream is truncated or corrupt")
	require.Contains(t, res.Error, "the lines before the fault were processed")
	require.Positive(t, res.Accepted)
	require.Less(t, res.Accepted, int64(1200))
	require.Equal(t, res.Accepted, e.stored(t), "what the response counts is what is stored")
	// The line the cut went through (unless it fell on a line end) is reported,
	// not stored half-read.
	require.LessOrEqual(t, len(res.Errors), 1)
	for _, le := range res.Errors {
		require.Equal(t, res.Lines, le.Line)
		require.Contains(t, le.Reason, "cut off")
	}
	require.Equal(t, res.Lines-int64(len(res.Errors)), res.Accepted)

	// The sender then sends everything again: only the rest is new.
	status, res2 := e.do(t, request{encoding: "gzip", body: bytes.NewReader(full)})
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, int64(1200)-res.Accepted, res2.Accepted)
	require.Equal(t, res.Accepted, res2.Duplicates)

	// Corrupt data (not only cut) and a body that is not gzip at all.
	bad := bytes.Clone(full)
	bad[len(bad)/2] ^= 0xff
	status, res = e.do(t, request{encoding: "gzip", body: bytes.NewReader(bad)})
	require.Equal(t, http.StatusBadRequest, status)
	require.Contains(t, res.Error, "gzip")
	status, res = e.do(t, request{encoding: "gzip", body: strings.NewReader(goodLines(e.t0, 1)[0])})
	require.Equal(t, http.StatusBadRequest, status)
	require.Contains(t, res.Error, "not gzip data")
}

func TestIngestSkipsAnOverlongLine(t *testing.T) {
	t.Parallel()
	e := newEnv(t, ingest.Config{MaxLineBytes: 200})
	good := goodLines(e.t0, 4)
	long := `{"host":"rt-ads-1-n01","ts":"` + rfc(e.t0.Add(time.Hour/2)) + `","pad":"` + strings.Repeat("x", 5000) + `"}`
	// A line of exactly the limit is fine; the last long line has no line ending.
	exact := good[3] + strings.Repeat(" ", 200-len(good[3]))
	body := good[0] + "\n" + long + "\n" + good[1] + "\r\n" + long + "\r\n" + good[2] + "\n" + exact + "\n" + long
	status, res := e.ndjson(t, body)
	require.Equal(t, http.StatusOK, status, "%+v", res)
	require.EqualValues(t, 4, res.Accepted)
	require.EqualValues(t, 3, res.Rejected)
	require.EqualValues(t, 7, res.Lines)
	for i, line := range []int64{2, 4, 7} {
		require.Equal(t, ingest.LineError{Line: line, Reason: "line longer than 200 bytes"}, res.Errors[i])
	}
}

func TestIngestRefusesBodiesOverTheLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, ingest.Config{MaxBodyBytes: 10_000, BatchRows: 20})
	lines := strings.Join(goodLines(e.t0, 300), "\n") + "\n" // ~24 KB

	// Announced by Content-Length: refused before reading.
	status, res := e.ndjson(t, lines)
	require.Equal(t, http.StatusRequestEntityTooLarge, status)
	require.Contains(t, res.Error, "over the limit of 10000 bytes")
	require.Zero(t, res.Lines)
	require.Zero(t, e.stored(t))

	// Streamed without a length: the lines before the limit are stored.
	status, res = e.do(t, request{body: io.MultiReader(strings.NewReader(lines))})
	require.Equal(t, http.StatusRequestEntityTooLarge, status, "%+v", res)
	require.Positive(t, res.Accepted)
	require.Less(t, res.Accepted, int64(300))
	require.Equal(t, res.Accepted, e.stored(t))

	// A small gzip body that inflates past the limit.
	bomb := gzipped(t, lines+strings.Repeat(" ", 1<<20))
	require.Less(t, len(bomb), 10_000)
	status, res = e.do(t, request{encoding: "gzip", body: bytes.NewReader(bomb)})
	require.Equal(t, http.StatusRequestEntityTooLarge, status, "%+v", res)
	require.Contains(t, res.Error, "decompressed")
}

func TestIngestRequiresOperatorOrTheIngestScope(t *testing.T) {
	t.Parallel()
	e := newEnv(t, ingest.Config{})
	for _, c := range []struct {
		login  string
		status int
	}{
		{"", http.StatusUnauthorized},
		{"alice", http.StatusForbidden},   // a viewer
		{"ops-gql", http.StatusForbidden}, // an operator token limited to other surfaces
		{"ops", http.StatusOK},
		{"admin", http.StatusOK},
		{"agent", http.StatusOK},     // a viewer token with scope "ingest"
		{"lead-both", http.StatusOK}, // scopes including "ingest"
	} {
		req, err := http.NewRequest(http.MethodPost, e.srv.URL, strings.NewReader(goodLines(e.t0, 1)[0]))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-ndjson")
		if c.login != "" {
			req.Header.Set(loginHeader, c.login)
		}
		res, err := e.srv.Client().Do(req)
		require.NoError(t, err)
		var body map[string]any
		require.NoError(t, json.NewDecoder(res.Body).Decode(&body))
		res.Body.Close()
		require.Equal(t, c.status, res.StatusCode, "%s: %v", c.login, body)
		if c.status != http.StatusOK {
			require.NotEmpty(t, body["error"])
			require.NotContains(t, body, "accepted", "a refused caller learns nothing but why")
		}
		if c.status == http.StatusUnauthorized {
			require.Equal(t, `Bearer realm="tesla"`, res.Header.Get("WWW-Authenticate"))
		}
	}
	require.EqualValues(t, 1, e.stored(t), "the same sample from four callers is stored once")
}

func TestIngestRejectsUnsupportedRequests(t *testing.T) {
	t.Parallel()
	e := newEnv(t, ingest.Config{})
	for _, c := range []struct {
		rq   request
		want string
	}{
		{request{contentType: "application/xml", body: strings.NewReader("<x/>")}, `unsupported Content-Type "application/xml"`},
		{request{contentType: "text/csv;;;", body: strings.NewReader("x")}, "bad Content-Type"},
		{request{encoding: "br", body: strings.NewReader("x")}, `unsupported Content-Encoding "br"`},
	} {
		status, res := e.do(t, c.rq)
		require.Equal(t, http.StatusBadRequest, status)
		require.Contains(t, res.Error, c.want)
	}
	res, err := e.srv.Client().Get(e.srv.URL)
	require.NoError(t, err)
	res.Body.Close()
	require.Equal(t, http.StatusMethodNotAllowed, res.StatusCode)
	require.Equal(t, http.MethodPost, res.Header.Get("Allow"))

	// An empty body is a valid, empty upload.
	status, out := e.ndjson(t, "")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, ingest.Response{Errors: []ingest.LineError{}}, out)
}

func TestIngestFindsNewHostsWithoutAQueryPerLine(t *testing.T) {
	t.Parallel()
	counter := &db.QueryCounter{}
	d := dbtest.NewDatabase(t, db.Options{Tracer: counter})
	e := newEnvOn(t, d.Pool, ingest.Config{HostRefreshInterval: time.Hour})
	ctx := context.Background()

	// The first request loads the inventory.
	status, _ := e.ndjson(t, goodLines(e.t0, 1)[0])
	require.Equal(t, http.StatusOK, status)

	// A host registered since is found on the first miss...
	_, err := e.pool.Exec(ctx, `INSERT INTO host (cluster_id, hostname, cpu_cores, memory_bytes, disk_bytes, nic_bps)
		VALUES ($1, 'fresh-n01', 8, 1, 1, 1)`, e.fleet.Clusters["online-1"])
	require.NoError(t, err)
	counter.Reset()
	var body strings.Builder
	for i := range 500 {
		fmt.Fprintf(&body, `{"host":"fresh-n01","ts":%d}`+"\n", e.t0.Unix()+int64(i))
		fmt.Fprintf(&body, `{"host":"ghost-%d","ts":%d}`+"\n", i, e.t0.Unix())
	}
	status, res := e.ndjson(t, body.String())
	require.Equal(t, http.StatusOK, status)
	require.EqualValues(t, 500, res.Accepted)
	require.EqualValues(t, 500, res.Rejected)
	// ...and a thousand lines, half of them unknown hosts, cost one refresh, the
	// writer's few statements and one moving the hosts' heartbeats, not a query
	// per line.
	require.LessOrEqual(t, counter.Count(), int64(9), "%q", counter.Statements())
}

func TestIngestConcurrentUploadsOfOverlappingSamples(t *testing.T) {
	t.Parallel()
	e := newEnv(t, ingest.Config{BatchRows: 200, MaxConcurrent: 2})
	body := strings.Join(goodLines(e.t0, 1000), "\n")
	var wg sync.WaitGroup
	results := make([]ingest.Response, 4)
	statuses := make([]int, 4)
	for i := range results {
		wg.Go(func() { statuses[i], results[i] = e.ndjson(t, body) })
	}
	wg.Wait()
	var accepted, dup int64
	for i, r := range results {
		require.Equal(t, http.StatusOK, statuses[i], "%+v", r)
		accepted += r.Accepted
		dup += r.Duplicates
	}
	require.EqualValues(t, 1000, accepted)
	require.EqualValues(t, 3000, dup)
	require.EqualValues(t, 1000, e.stored(t))
}

func gzipped(t testing.TB, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	_, err := zw.Write([]byte(s))
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return b.Bytes()
}

// syncBuffer is a bytes.Buffer safe for the logger and the test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
