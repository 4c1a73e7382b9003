package yarn

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse: no answer, however malformed, makes the decoders panic.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"apps":{"app":[{"id":"application_1_1","state":"RUNNING","startedTime":"5","allocatedMB":-1}]}}`))
	f.Add([]byte(`{"scheduler":{"schedulerInfo":{"type":"capacityScheduler","queueName":"root","queues":{"queue":{"queueName":"a","usedResources":"<memory:1, vCores:1>"}}}}}`))
	f.Add([]byte(`{"scheduler":{"schedulerInfo":{"type":"fairScheduler","rootQueue":{"queueName":"root","childQueues":[{"queueName":"root.x"}]}}}}`))
	f.Add([]byte(`{"clusterMetrics":{"appsPending":"NaN"}}`))
	f.Add(mustReadFuzz(f, "testdata/apps_running.json"))
	if dir := realDirForFuzz(); dir != "" {
		for _, p := range []string{"docs-examples/cluster_apps.json", "docs-examples/scheduler_fair.json", "docs-examples/scheduler_capacity.json"} {
			if b, err := os.ReadFile(filepath.Join(dir, p)); err == nil {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		m, _ := ParseMetrics(body)
		_, _ = ParseScheduler(body, m)
		apps, _, _ := ParseApps(body)
		for i := range apps {
			_ = runEvent(&apps[i], 1, RunUUID("c", apps[i].ID), apps[i].Submitted)
			_ = runStats(&apps[i], 1, 1)
			_ = JobName(apps[i].User, apps[i].Name)
		}
	})
}

func mustReadFuzz(f *testing.F, path string) []byte {
	b, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	return b
}

// realDirForFuzz is ../shared/data/yarn beside the module, or "".
func realDirForFuzz() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for range 10 {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(filepath.Dir(dir), "shared", "data", "yarn")
		}
		dir = filepath.Dir(dir)
	}
	return ""
}
