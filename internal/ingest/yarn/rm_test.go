package yarn

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/workload"
)

// realData returns the folder of the real ResourceManager answers, which live
// beside the repository in ../shared/data/yarn (never copied into it). It walks
// up to the module root and skips when the folder is absent (a fresh clone).
func realData(t testing.TB) string {
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

func readReal(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(realData(t), rel))
	require.NoError(t, err)
	return b
}

func queueByPath(t *testing.T, s *Scheduler, path string) Queue {
	t.Helper()
	for _, q := range s.Queues {
		if q.Spec.Path == path {
			return q
		}
	}
	t.Fatalf("queue %s not in %d queues", path, len(s.Queues))
	return Queue{}
}

func TestParseRealCapacityScheduler(t *testing.T) {
	s, err := ParseScheduler(readReal(t, "docs-examples/scheduler_capacity.json"), nil)
	require.NoError(t, err)
	require.Equal(t, workload.SchedulerCapacity, s.Type)
	require.Len(t, s.Queues, 10)
	// The docs example has no queuePath: paths are built from the names.
	a1a := queueByPath(t, s, "root.a.a1.a1a")
	require.InDelta(t, 0.026775, a1a.Spec.GuaranteedVcores, 1e-9)
	require.InDelta(t, 0.25, a1a.Spec.MaxVcores, 1e-9)
	require.Equal(t, a1a.Spec.GuaranteedVcores, a1a.Spec.GuaranteedMemory)
	b1 := queueByPath(t, s, "root.b.b1")
	require.EqualValues(t, 1, b1.PendingApps)
	require.EqualValues(t, 1, b1.RunningApps)
	// Parents report no app counts: they get their children's sums.
	require.EqualValues(t, 1, queueByPath(t, s, "root.b").PendingApps)
	require.EqualValues(t, 1, queueByPath(t, s, "root").PendingApps)
	root := queueByPath(t, s, "root")
	require.Equal(t, 1.0, root.Spec.GuaranteedVcores)
}

func TestParseRealHadoopTestSchedulers(t *testing.T) {
	for _, f := range []string{"scheduler-response.json", "scheduler-response-AbsoluteMode.json",
		"scheduler-response-PercentageMode.json", "scheduler-response-WeightMode.json"} {
		t.Run(f, func(t *testing.T) {
			s, err := ParseScheduler(readReal(t, "test-resources/"+f), nil)
			require.NoError(t, err)
			require.Equal(t, workload.SchedulerCapacity, s.Type)
			require.Equal(t, "root", s.Queues[0].Spec.Path)
			if f == "scheduler-response-WeightMode.json" {
				require.Equal(t, 20.0, queueByPath(t, s, "root.parent").Spec.Weight)
				require.InDelta(t, 0.44444447, queueByPath(t, s, "root.parent").Spec.GuaranteedVcores, 1e-6)
			}
			if f == "scheduler-response.json" {
				require.Len(t, s.Queues, 12)
				require.InDelta(t, 0.020475001, queueByPath(t, s, "root.a.a1.a1a").Spec.GuaranteedVcores, 1e-9)
			}
		})
	}
}

func TestParseRealFairAndFIFOSchedulers(t *testing.T) {
	s, err := ParseScheduler(readReal(t, "docs-examples/scheduler_fair.json"), nil)
	require.NoError(t, err)
	require.Equal(t, workload.SchedulerFair, s.Type)
	require.Len(t, s.Queues, 4)
	sub := queueByPath(t, s, "root.sample_queue.sample_sub_queue")
	require.Equal(t, workload.SchedulerFair, sub.Spec.SchedulerType)

	m, err := ParseMetrics(readReal(t, "docs-examples/cluster_metrics.json"))
	require.NoError(t, err)
	require.Equal(t, 8.0, m.TotalVcores)
	// "usedCapacity": "NaN" in the FIFO answer is read as absent.
	s, err = ParseScheduler(readReal(t, "docs-examples/scheduler_fifo.json"), m)
	require.NoError(t, err)
	require.Equal(t, workload.SchedulerFIFO, s.Type)
	require.Len(t, s.Queues, 1)
	require.Equal(t, "root", s.Queues[0].Spec.Path)
}

func TestParseRealApps(t *testing.T) {
	apps, problems, err := ParseApps(readReal(t, "docs-examples/cluster_apps.json"))
	require.NoError(t, err)
	require.Empty(t, problems)
	require.Len(t, apps, 2)
	a := apps[0]
	require.Equal(t, "application_1476912658570_0002", a.ID)
	require.Equal(t, "FINISHED", a.State)
	require.Equal(t, "SUCCEEDED", a.FinalStatus)
	require.Equal(t, time.UnixMilli(1476913457320).UTC(), a.Submitted)
	require.Equal(t, time.UnixMilli(1476913761898).UTC(), a.Finished)
	require.Equal(t, 206464.0, a.MemorySeconds)
	require.Equal(t, 201.0, a.VcoreSeconds)
	require.EqualValues(t, 2, a.Attempts, "from container_1476912658570_0002_02_000001")

	// Numbers as strings, NaN, allocatedMB -1, an epoch in the container id.
	apps, problems, err = ParseApps(mustRead(t, "testdata/apps_running.json"))
	require.NoError(t, err)
	require.Empty(t, problems)
	require.Len(t, apps, 2)
	require.Equal(t, 6144.0, apps[0].AllocatedMB)
	require.Equal(t, 122880.0, apps[0].MemorySeconds)
	require.EqualValues(t, 2, apps[0].Attempts)
	require.Equal(t, 30*time.Second, apps[0].Launched.Sub(apps[0].Submitted))
	require.Zero(t, apps[1].AllocatedMB, "allocatedMB -1 is none")
}

func mustRead(t *testing.T, path string) []byte {
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}

func TestParseLooseShapes(t *testing.T) {
	// No applications: the RM answers {"apps": null}; one application may come
	// as an object rather than a list.
	apps, _, err := ParseApps([]byte(`{"apps":null}`))
	require.NoError(t, err)
	require.Empty(t, apps)
	apps, _, err = ParseApps([]byte(`{"apps":{"app":{"id":"application_1_1","state":"RUNNING","startedTime":"5"}}}`))
	require.NoError(t, err)
	require.Len(t, apps, 1)

	// users: null, {} and {"user": [...]} all parse; a child queue list of one
	// may be an object.
	for _, users := range []string{`null`, `{}`, `{"user":[{"username":"u"}]}`, `{"user":{"username":"u"}}`} {
		body := `{"scheduler":{"schedulerInfo":{"type":"capacityScheduler","capacity":100,"maxCapacity":"100","queueName":"root",
			"queues":{"queue":{"queueName":"default","absoluteCapacity":"NaN","absoluteMaxCapacity":100,"usedResources":"<memory:2048, vCores:2>",
			"numPendingApplications":"3","numActiveApplications":1,"users":` + users + `}}}}}`
		s, err := ParseScheduler([]byte(body), nil)
		require.NoError(t, err, users)
		d := queueByPath(t, s, "root.default")
		require.Zero(t, d.Spec.GuaranteedVcores)
		require.Equal(t, 2048.0, d.UsedMemoryMB)
		require.EqualValues(t, 3, d.PendingApps)
	}
}

func TestParseBadAnswersNameTheField(t *testing.T) {
	// One application with a wrong field is left out and named; the others stay.
	apps, problems, err := ParseApps([]byte(`{"apps":{"app":[
		{"id":"application_1_1","state":"RUNNING"},
		{"id":"application_1_2","state":"FINISHED","memorySeconds":{"oops":1}},
		{"id":"application_1_3","state":"FINISHED","vcoreSeconds":"lots"}]}}`))
	require.NoError(t, err)
	require.Len(t, apps, 1)
	require.Len(t, problems, 2)
	require.Equal(t, "apps.app[1].memorySeconds", problems[0].Path)
	require.Equal(t, "application_1_2", problems[0].AppID)
	require.Contains(t, problems[0].Message, "expected a number, got an object")
	require.Equal(t, "apps.app[2].vcoreSeconds", problems[1].Path)
	require.Contains(t, problems[1].Message, `got "lots"`)

	_, _, err = ParseApps([]byte("{\"apps\":\n{\"app\": [1,}"))
	require.ErrorContains(t, err, "invalid JSON at line 2")
	_, _, err = ParseApps([]byte(`{"apps":{"app":[`))
	require.ErrorContains(t, err, "truncated JSON")
	_, _, err = ParseApps([]byte(`{"apps":42}`))
	require.ErrorContains(t, err, `apps: expected an object holding "app", got 42`)
	_, err = ParseScheduler([]byte(`{"scheduler":{"schedulerInfo":{"type":"capacityScheduler","queueName":"root","queues":{"queue":[{"queueName":"a","absoluteCapacity":true}]}}}}`), nil)
	require.ErrorContains(t, err, "scheduler.schedulerInfo.queues.queue[0].absoluteCapacity: expected a number, got true")
	_, err = ParseScheduler([]byte(`{"scheduler":{"schedulerInfo":{"type":"magicScheduler"}}}`), nil)
	require.ErrorContains(t, err, "scheduler.schedulerInfo.type")
	_, err = ParseMetrics([]byte(`{"clusterMetrics":[]}`))
	require.ErrorContains(t, err, "clusterMetrics: expected an object, got a list")
}

func TestJobName(t *testing.T) {
	for in, want := range map[string]string{
		"word count":                                 "u/word count",
		"daily_clicks 2024-05-01":                    "u/daily_clicks {date}",
		"daily_clicks_20240502":                      "u/daily_clicks_{date}",
		"hourly 2024-05-01T10:00:00Z":                "u/hourly {date}",
		"retry of application_1476912658570_0002":    "u/retry of {app}",
		"spark-3f2b1c4e-1a2b-4c3d-8e9f-0123456789ab": "u/spark-{uuid}",
		"export 1714557600000":                       "u/export {n}",
		"session a1b2c3d4e5f6a7b8":                   "u/session {id}",
		"   ":                                        "u/(unnamed)",
		"etl_v2":                                     "u/etl_v2",
	} {
		require.Equal(t, want, JobName("u", in), in)
	}
	require.Len(t, JobName("u", strings.Repeat("x", 500)), maxName)
	require.Equal(t, RunUUID("c", "application_1_1"), RunUUID("c", "application_1_1"))
	require.NotEqual(t, RunUUID("c", "application_1_1"), RunUUID("d", "application_1_1"))
}

func TestRunEventsFollowYarnStates(t *testing.T) {
	sub := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	now := sub.Add(time.Hour)
	states := func(a App) []string {
		ev := runEvent(&a, 1, RunUUID("c", "x"), now)
		out := []string{ev.State + "@" + ev.Time.Sub(sub).String()}
		if ev.StartedAt != nil {
			out = append(out, "started@"+ev.StartedAt.Sub(sub).String())
		}
		return out
	}
	require.Equal(t, []string{"@0s"}, states(App{State: "ACCEPTED", Submitted: sub}))
	require.Equal(t, []string{"RUNNING@30s"}, states(App{State: "RUNNING", Submitted: sub, Launched: sub.Add(30 * time.Second)}))
	require.Equal(t, []string{"COMPLETED@10m0s", "started@0s"}, states(App{State: "FINISHED", FinalStatus: "SUCCEEDED",
		Submitted: sub, Finished: sub.Add(10 * time.Minute), VcoreSeconds: 5, HaveSeconds: true}))
	require.Equal(t, []string{"FAILED@10m0s", "started@0s"}, states(App{State: "FINISHED", FinalStatus: "FAILED",
		Submitted: sub, Finished: sub.Add(10 * time.Minute), VcoreSeconds: 5}))
	// Killed while waiting: it never ran, so no start.
	require.Equal(t, []string{"ABORTED@1m0s"}, states(App{State: "KILLED", FinalStatus: "KILLED",
		Submitted: sub, Finished: sub.Add(time.Minute)}))
}
