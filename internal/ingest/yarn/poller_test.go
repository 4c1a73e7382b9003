package yarn_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
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
	"github.com/teslaops/tesla/internal/ingest/yarn"
)

// realYarn returns ../shared/data/yarn beside the repository, or skips.
func realYarn(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	require.NoError(t, err)
	for {
		if mod, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil &&
			strings.Contains(string(mod), "module github.com/teslaops/tesla\n") {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("module root not found above the test directory: skipping the real-data test")
		}
		dir = parent
	}
	data := filepath.Join(filepath.Dir(dir), "shared", "data", "yarn")
	if _, err := os.Stat(filepath.Join(data, "docs-examples", "cluster_apps.json")); err != nil {
		t.Skipf("real YARN answers not available (%v): skipping; they live in ../shared/data/yarn next to the repository", err)
	}
	return data
}

// rm is a fake ResourceManager serving real answers: the metrics and apps of
// the REST docs, a scheduler chosen by the test, and testdata/apps_running.json
// as the unfinished applications. It records the finished-apps queries.
type rm struct {
	*httptest.Server
	mu        sync.Mutex
	scheduler string
	apps      string // body of the finished-apps answer, when set
	delay     time.Duration
	finished  []url.Values
}

func newRM(t *testing.T, data, scheduler string) *rm { return newRMB(t, data, scheduler) }

func newRMB(t testing.TB, data, scheduler string) *rm {
	t.Helper()
	f := &rm{scheduler: scheduler}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		delay, scheduler, apps := f.delay, f.scheduler, f.apps
		f.mu.Unlock()
		if delay > 0 {
			select {
			case <-r.Context().Done():
				return
			case <-time.After(delay):
			}
		}
		var file string
		switch r.URL.Path {
		case "/ws/v1/cluster/metrics":
			file = filepath.Join(data, "docs-examples/cluster_metrics.json")
		case "/ws/v1/cluster/scheduler":
			file = filepath.Join(data, scheduler)
		case "/ws/v1/cluster/apps":
			if strings.Contains(r.URL.Query().Get("states"), "RUNNING") {
				file = "testdata/apps_running.json"
				break
			}
			f.mu.Lock()
			f.finished = append(f.finished, r.URL.Query())
			f.mu.Unlock()
			if apps != "" {
				_, _ = w.Write([]byte(apps))
				return
			}
			file = filepath.Join(data, "docs-examples/cluster_apps.json")
		default:
			http.NotFound(w, r)
			return
		}
		body, err := os.ReadFile(file)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	t.Cleanup(f.Close)
	return f
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var t0 = time.Date(2026, 3, 2, 10, 0, 0, 250_000_000, time.UTC)

type env struct {
	pool   *pgxpool.Pool
	fleet  *fixture.Fleet
	clock  *clock
	poller *yarn.Poller
}

func newEnv(t *testing.T, timeout time.Duration) *env {
	pool := dbtest.New(t)
	e := &env{pool: pool, fleet: fixture.New(t, pool), clock: &clock{t: t0}}
	e.poller = yarn.New(pool, slog.New(slog.DiscardHandler), yarn.Config{Interval: time.Minute, Timeout: timeout,
		MaxBackoff: 10 * time.Minute, Now: e.clock.Now}, nil)
	return e
}

func (e *env) setTarget(t *testing.T, cluster, u string) {
	t.Helper()
	_, err := yarn.NewService(e.pool).SetTargetAsOperator(context.Background(), audit.New(e.pool, slog.New(slog.DiscardHandler)),
		yarn.TargetInput{Cluster: cluster, URL: u})
	require.NoError(t, err)
	// A new target is due at the database's now(); the test clock is earlier.
	_, err = e.pool.Exec(context.Background(), `UPDATE yarn_target SET next_attempt_at = $1`, t0)
	require.NoError(t, err)
}

func (e *env) count(t *testing.T, sql string, args ...any) int64 {
	t.Helper()
	var n int64
	require.NoError(t, e.pool.QueryRow(context.Background(), sql, args...).Scan(&n))
	return n
}

// runsSnapshot is every stored run field but updated_at, to compare polls.
func (e *env) runsSnapshot(t *testing.T) []map[string]any {
	t.Helper()
	rows, err := e.pool.Query(context.Background(), `SELECT r.*, j.name AS job_name, j.queue_id AS job_queue, j.cluster_id AS job_cluster
		FROM job_run r JOIN job j ON j.id = r.job_id ORDER BY r.id`)
	require.NoError(t, err)
	out, err := pgx.CollectRows(rows, pgx.RowToMap)
	require.NoError(t, err)
	for _, m := range out {
		delete(m, "updated_at")
	}
	return out
}

type run struct {
	State                        string
	StartedAt, EndedAt, QueuedAt *time.Time
	Attempts                     int32
	ReqCore, ReqMem, Wait        *float64
	Peak                         *int64
	QueuePath                    *string
}

func (e *env) run(t *testing.T, cluster, appID string) run {
	t.Helper()
	var r run
	require.NoError(t, e.pool.QueryRow(context.Background(), `
		SELECT r.state, r.started_at, r.ended_at, r.queued_at, r.attempts, r.requested_core_seconds,
		       r.requested_memory_byte_seconds, r.queue_wait_seconds, r.peak_memory_bytes, q.path
		FROM job_run r JOIN job j ON j.id = r.job_id LEFT JOIN queue q ON q.id = j.queue_id
		WHERE r.run_uuid = $1`, yarn.RunUUID(cluster, appID)).Scan(
		&r.State, &r.StartedAt, &r.EndedAt, &r.QueuedAt, &r.Attempts, &r.ReqCore, &r.ReqMem, &r.Wait, &r.Peak, &r.QueuePath))
	return r
}

func ms(v int64) time.Time { return time.UnixMilli(v).UTC() }

func TestPollStoresRealAnswersOnce(t *testing.T) {
	t.Parallel()
	data := realYarn(t)
	e := newEnv(t, 2*time.Second)
	ctx := context.Background()
	server := newRM(t, data, "test-resources/scheduler-response.json")
	e.setTarget(t, "batch-wh-1", server.URL+"/")

	res, err := e.poller.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, res.Succeeded)
	require.Equal(t, 4, res.Apps)
	require.Equal(t, 12, res.Queues)
	require.EqualValues(t, 12, res.Snapshots)
	require.Zero(t, res.Problems)
	// The first poll reads a day back.
	require.Len(t, server.finished, 1)
	require.Equal(t, "FINISHED,FAILED,KILLED", server.finished[0].Get("states"))
	require.Equal(t, "1772359200250", server.finished[0].Get("finishedTimeBegin"))

	// Two applications of one recurring job, two one-off ones.
	var names []string
	rows, err := e.pool.Query(ctx, `SELECT name FROM job WHERE namespace = 'yarn:batch-wh-1' ORDER BY name`)
	require.NoError(t, err)
	names, err = pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	require.Equal(t, []string{"etl/daily_clicks {date}", "user1/Sleep job", "user2/word count"}, names)
	require.EqualValues(t, 4, e.count(t, `SELECT count(*) FROM job_run`))
	require.EqualValues(t, 3, e.count(t, `SELECT count(*) FROM job WHERE cluster_id = $1`, e.fleet.Clusters["batch-wh-1"]))

	wc := e.run(t, "batch-wh-1", "application_1476912658570_0002")
	require.Equal(t, "COMPLETED", wc.State)
	require.True(t, ms(1476913457320).Equal(*wc.StartedAt), "%v", *wc.StartedAt)
	require.True(t, ms(1476913457320).Equal(*wc.QueuedAt), "%v", *wc.QueuedAt)
	require.True(t, ms(1476913761898).Equal(*wc.EndedAt), "%v", *wc.EndedAt)
	require.EqualValues(t, 2, wc.Attempts)
	require.Equal(t, 201.0, *wc.ReqCore)
	require.Equal(t, 206464.0*(1<<20), *wc.ReqMem)
	require.Nil(t, wc.Peak)
	require.Nil(t, wc.QueuePath, `queue "default" is not in this scheduler`)

	running := e.run(t, "batch-wh-1", "application_1476912658570_0003")
	require.Equal(t, "RUNNING", running.State)
	require.True(t, ms(1476913830000).Equal(*running.StartedAt), "%v", *running.StartedAt)
	require.Equal(t, 30.0, *running.Wait)
	require.EqualValues(t, 6144<<20, *running.Peak)
	require.EqualValues(t, 2, running.Attempts)
	require.Equal(t, "root.b.b1", *running.QueuePath, "leaf name b1 resolved to its path")

	waiting := e.run(t, "batch-wh-1", "application_1476912658570_0004")
	require.Equal(t, "OTHER", waiting.State)
	require.Nil(t, waiting.StartedAt)
	require.True(t, ms(1476913900000).Equal(*waiting.QueuedAt), "%v", *waiting.QueuedAt)

	var status, lastErr string
	var watermark time.Time
	require.NoError(t, e.pool.QueryRow(ctx, `SELECT status, last_error, finished_watermark FROM yarn_target`).Scan(&status, &lastErr, &watermark))
	require.Equal(t, "UP", status)
	require.Empty(t, lastErr)
	require.True(t, ms(1476913863175).Equal(watermark), "%v", watermark)
	require.EqualValues(t, 12, e.count(t, `SELECT count(*) FROM queue WHERE cluster_id = $1`, e.fleet.Clusters["batch-wh-1"]))

	// The same answers again, a minute later: nothing stored twice, only the
	// new minute's queue snapshots; the finished list is asked from the
	// watermark.
	before := e.runsSnapshot(t)
	e.clock.Add(time.Minute)
	res, err = e.poller.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, res.Succeeded)
	require.Zero(t, res.RunsChanged)
	require.EqualValues(t, 12, res.Snapshots)
	require.Equal(t, before, e.runsSnapshot(t))
	require.EqualValues(t, 3, e.count(t, `SELECT count(*) FROM job`))
	require.EqualValues(t, 24, e.count(t, `SELECT count(*) FROM queue_usage`))
	require.Len(t, server.finished, 2)
	require.Equal(t, "1476913863175", server.finished[1].Get("finishedTimeBegin"))

	// Not due again within the interval.
	res, err = e.poller.RunOnce(ctx)
	require.NoError(t, err)
	require.Zero(t, res.Polled)
	require.Equal(t, e.clock.Now().Add(time.Minute).Truncate(time.Microsecond), res.NextDue.UTC())
}

func TestPollFairAndFIFOSchedulers(t *testing.T) {
	t.Parallel()
	data := realYarn(t)
	e := newEnv(t, 2*time.Second)
	fair := newRM(t, data, "docs-examples/scheduler_fair.json")
	fifo := newRM(t, data, "docs-examples/scheduler_fifo.json")
	e.setTarget(t, "batch-wh-1", fair.URL)
	e.setTarget(t, "rt-ads-1", fifo.URL)
	res, err := e.poller.RunOnce(context.Background())
	require.NoError(t, err)
	require.Equal(t, 2, res.Succeeded)
	require.EqualValues(t, 4, e.count(t, `SELECT count(*) FROM queue WHERE cluster_id = $1 AND scheduler_type = 'FAIR'`, e.fleet.Clusters["batch-wh-1"]))
	require.EqualValues(t, 1, e.count(t, `SELECT count(*) FROM queue WHERE cluster_id = $1 AND scheduler_type = 'FIFO'`, e.fleet.Clusters["rt-ads-1"]))
	// Under FIFO every application runs in the one queue.
	require.Equal(t, "root", *e.run(t, "rt-ads-1", "application_1476912658570_0002").QueuePath)
	// The same application ids on two clusters are two runs of two jobs.
	require.EqualValues(t, 8, e.count(t, `SELECT count(*) FROM job_run`))
	require.EqualValues(t, 1, e.count(t, `SELECT count(*) FROM queue WHERE path = 'root.sample_queue.sample_sub_queue'
		AND parent_id = (SELECT id FROM queue WHERE path = 'root.sample_queue')`))
}

func TestSlowOrBrokenResourceManagerBacksOffAlone(t *testing.T) {
	t.Parallel()
	data := realYarn(t)
	e := newEnv(t, 300*time.Millisecond)
	ctx := context.Background()
	good := newRM(t, data, "docs-examples/scheduler_capacity.json")
	slow := newRM(t, data, "docs-examples/scheduler_capacity.json")
	slow.delay = 10 * time.Second
	broken := newRM(t, data, "docs-examples/scheduler_capacity.json")
	broken.apps = `{"apps":{"app":[{"id":"application_9_1","state":"FINISHED","vcoreSeconds":{"x":1}},` +
		`{"id":"application_9_2","state":"FINISHED","finalStatus":"FAILED","startedTime":1,"finishedTime":2}]}}`
	e.setTarget(t, "batch-wh-1", good.URL)
	e.setTarget(t, "rt-ads-1", slow.URL)
	e.setTarget(t, "online-1", broken.URL)

	res, err := e.poller.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, 3, res.Polled)
	require.Equal(t, 2, res.Succeeded)
	require.Equal(t, 1, res.Failed)
	require.Equal(t, 1, res.Problems)

	type state struct {
		Status, LastError string
		Failures          int
		Next              time.Time
	}
	load := func(cluster string) state {
		var s state
		require.NoError(t, e.pool.QueryRow(ctx, `SELECT t.status, t.last_error, t.failures, t.next_attempt_at
			FROM yarn_target t JOIN cluster c ON c.id = t.cluster_id WHERE c.name = $1`, cluster).Scan(&s.Status, &s.LastError, &s.Failures, &s.Next))
		return s
	}
	s := load("rt-ads-1")
	require.Equal(t, "FAILING", s.Status)
	require.Equal(t, "cluster metrics: timeout after 300ms", s.LastError)
	require.Equal(t, 1, s.Failures)
	// Back-off: 2 × interval less up to 10 % jitter.
	wait := s.Next.Sub(t0)
	require.True(t, wait > 107*time.Second && wait <= 2*time.Minute, "next attempt after %s", wait)
	require.Zero(t, e.count(t, `SELECT count(*) FROM queue WHERE cluster_id = $1`, e.fleet.Clusters["rt-ads-1"]))

	// The other clusters were stored; the unreadable application is named and
	// left out, the rest of its answer kept.
	require.Equal(t, "UP", load("batch-wh-1").Status)
	b := load("online-1")
	require.Equal(t, "UP", b.Status)
	require.Contains(t, b.LastError, "apps.app[0].vcoreSeconds (application_9_1): expected a number, got an object")
	require.Equal(t, "FAILED", e.run(t, "online-1", "application_9_2").State)

	// A minute later the failing cluster is not due yet; the others are.
	e.clock.Add(time.Minute)
	res, err = e.poller.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, res.Polled)

	// It recovers once it answers in time.
	slow.mu.Lock()
	slow.delay = 0
	slow.mu.Unlock()
	e.clock.Add(2 * time.Minute)
	res, err = e.poller.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, 3, res.Succeeded)
	s = load("rt-ads-1")
	require.Equal(t, "UP", s.Status)
	require.Zero(t, s.Failures)
}

func TestSetTargetIsCheckedAndAudited(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	fleet := fixture.New(t, pool)
	svc := yarn.NewService(pool)
	log := audit.New(pool, slog.New(slog.DiscardHandler))
	as := func(login string, role auth.Role) context.Context {
		return auth.WithPrincipal(context.Background(), &auth.Principal{PersonID: fleet.People[login], Login: login, Role: role})
	}
	in := yarn.TargetInput{Cluster: "batch-wh-1", URL: "http://rm.example.com:8088/"}

	_, err := svc.SetTarget(as(fixture.BULead, auth.BUAdmin), log, in)
	fe, ok := fault.As(err)
	require.True(t, ok, "%v", err)
	require.Equal(t, fault.Forbidden, fe.Kind)

	tgt, err := svc.SetTarget(as(fixture.Operator, auth.Operator), log, in)
	require.NoError(t, err)
	require.Equal(t, "http://rm.example.com:8088", tgt.URL)
	require.Equal(t, "PENDING", tgt.Status)

	for _, bad := range []yarn.TargetInput{
		{Cluster: "batch-wh-1", URL: "ftp://rm"},
		{Cluster: "batch-wh-1", URL: "http://user:secret@rm:8088"},
		{Cluster: "batch-wh-1", URL: "http://rm:8088/?x=1"},
		{Cluster: "nope", URL: "http://rm:8088"},
	} {
		_, err := svc.SetTarget(as(fixture.Admin, auth.Admin), log, bad)
		fe, ok := fault.As(err)
		require.True(t, ok, "%v", err)
		require.Equal(t, fault.Invalid, fe.Kind, "%+v: %v", bad, err)
	}
	ts, err := svc.Targets(as(fixture.Operator, auth.Operator))
	require.NoError(t, err)
	require.Len(t, ts, 1)
	_, err = svc.Targets(as(fixture.Viewer, auth.Viewer))
	require.Error(t, err)

	require.NoError(t, svc.RemoveTarget(as(fixture.Admin, auth.Admin), log, "batch-wh-1"))
	var ok2, denied, failed int
	require.NoError(t, pool.QueryRow(context.Background(), `SELECT
		count(*) FILTER (WHERE outcome = 'OK'), count(*) FILTER (WHERE outcome = 'DENIED'), count(*) FILTER (WHERE outcome = 'FAILED')
		FROM audit_log WHERE action IN ('setYarnTarget', 'removeYarnTarget')`).Scan(&ok2, &denied, &failed))
	require.Equal(t, []int{2, 1, 4}, []int{ok2, denied, failed})
}

func TestUnreachableAndErroringResourceManagersAreRecorded(t *testing.T) {
	t.Parallel()
	data := realYarn(t)
	e := newEnv(t, time.Second)
	ctx := context.Background()
	gone := httptest.NewServer(http.NotFoundHandler())
	goneURL := gone.URL
	gone.Close()
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "standby", http.StatusServiceUnavailable)
	}))
	t.Cleanup(failing.Close)
	good := newRM(t, data, "docs-examples/scheduler_fair.json")
	e.setTarget(t, "rt-ads-1", goneURL)
	e.setTarget(t, "online-1", failing.URL)
	e.setTarget(t, "batch-wh-1", good.URL)

	res, err := e.poller.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, res.Succeeded)
	require.Equal(t, 2, res.Failed)
	errs := map[string]string{}
	rows, err := e.pool.Query(ctx, `SELECT c.name, t.last_error FROM yarn_target t JOIN cluster c ON c.id = t.cluster_id WHERE t.status = 'FAILING'`)
	require.NoError(t, err)
	for rows.Next() {
		var c, msg string
		require.NoError(t, rows.Scan(&c, &msg))
		errs[c] = msg
	}
	require.NoError(t, rows.Err())
	require.Equal(t, "cluster metrics: HTTP 503", errs["online-1"])
	require.True(t, strings.HasPrefix(errs["rt-ads-1"], "cluster metrics: dial: "), errs["rt-ads-1"])
	require.NotContains(t, errs["rt-ads-1"], "127.0.0.1", "the URL is not repeated in the error")
}

// TestReplicasPollEachClusterOnce: two pollers on one database share the due
// clusters between them.
func TestReplicasPollEachClusterOnce(t *testing.T) {
	t.Parallel()
	data := realYarn(t)
	e := newEnv(t, 5*time.Second)
	for _, c := range []string{"rt-ads-1", "online-1", "batch-wh-1"} {
		server := newRM(t, data, "docs-examples/scheduler_capacity.json")
		server.delay = 100 * time.Millisecond
		e.setTarget(t, c, server.URL)
	}
	other := yarn.New(e.pool, slog.New(slog.DiscardHandler), yarn.Config{Interval: time.Minute, Timeout: 5 * time.Second, Now: e.clock.Now}, nil)
	var wg sync.WaitGroup
	results := make([]yarn.Result, 2)
	for i, p := range []*yarn.Poller{e.poller, other} {
		wg.Go(func() {
			var err error
			results[i], err = p.RunOnce(context.Background())
			require.NoError(t, err)
		})
	}
	wg.Wait()
	require.Equal(t, 3, results[0].Polled+results[1].Polled)
	require.Equal(t, 3, results[0].Succeeded+results[1].Succeeded)
	require.EqualValues(t, 3, e.count(t, `SELECT count(*) FROM yarn_target WHERE status = 'UP'`))
}
