package workload_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/audit"
	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/fixture"
	"github.com/teslaops/tesla/internal/workload"
)

// TestNewJobsTakeTheirNamespacesOwner: OpenLineage names no owner, so a new
// job takes the person and BU its namespace maps to, or none; an existing
// job keeps its owner, and a kind or description given updates it.
func TestNewJobsTakeTheirNamespacesOwner(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	fleet := fixture.New(t, pool)
	ctx := context.Background()
	_, err := pool.Exec(ctx, `INSERT INTO job_namespace_owner (namespace, owner_id) VALUES ('ads-etl', $1)`, fleet.People[fixture.Viewer])
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `INSERT INTO job_namespace_owner (namespace, bu_id) VALUES ('platform', $1)`, fleet.BUs["PLATFORM"])
	require.NoError(t, err)

	streaming := "STREAMING"
	ids, err := workload.UpsertJobs(ctx, pool, []workload.JobKey{
		{Namespace: "ads-etl", Name: "clicks"},
		{Namespace: "platform", Name: "gc", Kind: streaming},
		{Namespace: "elsewhere", Name: "x"},
		{Namespace: "ads-etl", Name: "clicks", Description: "daily clicks"}, // the same job twice: merged
	})
	require.NoError(t, err)
	require.Len(t, ids, 3)

	jobs, err := workload.LoadJobs(ctx, pool, []int64{ids[[2]string{"ads-etl", "clicks"}], ids[[2]string{"platform", "gc"}], ids[[2]string{"elsewhere", "x"}]})
	require.NoError(t, err)
	clicks, gc, x := jobs[ids[[2]string{"ads-etl", "clicks"}]], jobs[ids[[2]string{"platform", "gc"}]], jobs[ids[[2]string{"elsewhere", "x"}]]
	require.Equal(t, fleet.People[fixture.Viewer], *clicks.OwnerID)
	require.Equal(t, fleet.BUs["ADS-SEARCH"], *clicks.BUID, "the BU comes from the owner")
	require.Equal(t, "daily clicks", clicks.Description)
	require.Nil(t, gc.OwnerID)
	require.Equal(t, fleet.BUs["PLATFORM"], *gc.BUID)
	require.Equal(t, "STREAMING", gc.Kind)
	require.Nil(t, x.OwnerID)
	require.Nil(t, x.BUID)
	require.Equal(t, "BATCH", x.Kind)

	// Mapping a namespace later does not reassign existing jobs.
	_, err = pool.Exec(ctx, `INSERT INTO job_namespace_owner (namespace, owner_id) VALUES ('elsewhere', $1)`, fleet.People[fixture.Outsider])
	require.NoError(t, err)
	again, err := workload.UpsertJobs(ctx, pool, []workload.JobKey{{Namespace: "elsewhere", Name: "x"}})
	require.NoError(t, err)
	require.Equal(t, ids[[2]string{"elsewhere", "x"}], again[[2]string{"elsewhere", "x"}])
	jobs, err = workload.LoadJobs(ctx, pool, []int64{x.ID})
	require.NoError(t, err)
	require.Nil(t, jobs[x.ID].OwnerID)
}

func TestCanSeeRuns(t *testing.T) {
	t.Parallel()
	owner, bu := int64(7), int64(3)
	own := &workload.Job{OwnerID: &owner, BUID: &bu}
	orphan := &workload.Job{}
	for _, c := range []struct {
		name string
		p    auth.Principal
		job  *workload.Job
		want bool
	}{
		{"owner", auth.Principal{PersonID: 7, Role: auth.Viewer}, own, true},
		{"other viewer", auth.Principal{PersonID: 8, Role: auth.Viewer}, own, false},
		{"viewer in the BU", auth.Principal{PersonID: 8, Role: auth.Viewer, BUSubtree: []int64{3}}, own, false},
		{"BU admin of the subtree", auth.Principal{PersonID: 8, Role: auth.BUAdmin, BUSubtree: []int64{1, 3}}, own, true},
		{"BU admin elsewhere", auth.Principal{PersonID: 8, Role: auth.BUAdmin, BUSubtree: []int64{4}}, own, false},
		{"operator", auth.Principal{PersonID: 8, Role: auth.Operator}, own, true},
		{"BU admin, ownerless job", auth.Principal{PersonID: 8, Role: auth.BUAdmin, BUSubtree: []int64{3}}, orphan, false},
		{"admin, ownerless job", auth.Principal{PersonID: 8, Role: auth.Admin}, orphan, true},
	} {
		require.Equal(t, c.want, workload.CanSeeRuns(&c.p, c.job), c.name)
	}
}

// TestQueuesUsageAndHourlyRows: a queue tree is upserted by path and linked to
// parents; snapshots are stored once; hourly rows are replaced, not added to.
func TestQueuesUsageAndHourlyRows(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	fleet := fixture.New(t, pool)
	ctx := context.Background()
	var cluster int64
	for _, id := range fleet.Clusters {
		cluster = id
		break
	}
	spec := func(path string, g, m float64) workload.QueueSpec {
		return workload.QueueSpec{Path: path, SchedulerType: workload.SchedulerCapacity, GuaranteedVcores: g, MaxVcores: m,
			GuaranteedMemory: g, MaxMemory: m, Weight: 1}
	}
	ids, err := workload.UpsertQueues(ctx, pool, cluster, []workload.QueueSpec{
		spec("root.etl.daily", 0.2, 0.5), spec("root", 1, 1), spec("root.etl", 0.6, 1), spec("root.adhoc", 0.4, 1)})
	require.NoError(t, err)
	require.Len(t, ids, 4)
	parent := func(path string) *int64 {
		var p *int64
		require.NoError(t, pool.QueryRow(ctx, `SELECT parent_id FROM queue WHERE id = $1`, ids[path]).Scan(&p))
		return p
	}
	require.Nil(t, parent("root"))
	require.Equal(t, ids["root"], *parent("root.etl"))
	require.Equal(t, ids["root.etl"], *parent("root.etl.daily"))

	// Again with new shares: the same rows, updated.
	again, err := workload.UpsertQueues(ctx, pool, cluster, []workload.QueueSpec{spec("root.etl.daily", 0.3, 0.6)})
	require.NoError(t, err)
	require.Equal(t, ids["root.etl.daily"], again["root.etl.daily"])
	var g float64
	require.NoError(t, pool.QueryRow(ctx, `SELECT guaranteed_vcores FROM queue WHERE id = $1`, ids["root.etl.daily"]).Scan(&g))
	require.Equal(t, 0.3, g)

	// Bad specs are refused by field, storing nothing.
	for _, bad := range []workload.QueueSpec{spec("root..x", 0, 1), spec("root.x", 0.7, 0.5), spec("root.x", -1, 1),
		{Path: "root.x", SchedulerType: "LIFO", MaxVcores: 1, MaxMemory: 1}} {
		_, err := workload.UpsertQueues(ctx, pool, cluster, []workload.QueueSpec{bad})
		require.True(t, fault.Is(err, fault.Invalid), "%+v: %v", bad, err)
	}
	var n int
	require.NoError(t, pool.QueryRow(ctx, `SELECT count(*) FROM queue`).Scan(&n))
	require.Equal(t, 4, n)

	ts := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	samples := []workload.QueueSample{{QueueID: ids["root.etl"], TS: ts, UsedVcores: 12, PendingApps: 3}, {QueueID: ids["root.adhoc"], TS: ts}}
	stored, err := workload.RecordQueueUsage(ctx, pool, samples)
	require.NoError(t, err)
	require.EqualValues(t, 2, stored)
	stored, err = workload.RecordQueueUsage(ctx, pool, samples)
	require.NoError(t, err)
	require.EqualValues(t, 0, stored, "a snapshot is stored once")

	jobs, err := workload.UpsertJobs(ctx, pool, []workload.JobKey{{Namespace: "n", Name: "stream"}})
	require.NoError(t, err)
	job := jobs[[2]string{"n", "stream"}]
	row := workload.UsageHour{JobID: job, Hour: ts.Add(25 * time.Minute), Runs: 1, UsedCoreSeconds: 3600, RequestedCoreSeconds: 7200}
	require.NoError(t, workload.UpsertJobUsage(ctx, pool, []workload.UsageHour{row}))
	row.UsedCoreSeconds = 1800
	require.NoError(t, workload.UpsertJobUsage(ctx, pool, []workload.UsageHour{row}))
	var used float64
	var hour time.Time
	require.NoError(t, pool.QueryRow(ctx, `SELECT used_core_seconds, hour FROM job_usage_1h WHERE job_id = $1`, job).Scan(&used, &hour))
	require.Equal(t, 1800.0, used, "an hour is replaced, not added to")
	require.True(t, ts.Equal(hour), "the hour is truncated: %v", hour)
	require.True(t, fault.Is(workload.UpsertJobUsage(ctx, pool, []workload.UsageHour{row, row}), fault.Invalid))

	// Usage is run detail: the job has no owner, so only operators read it.
	svc := workload.NewService(pool, audit.New(pool, slog.New(slog.DiscardHandler)), workload.Config{})
	j, err := workload.LoadJobs(ctx, pool, []int64{job})
	require.NoError(t, err)
	_, err = svc.Usage(auth.WithPrincipal(ctx, &auth.Principal{PersonID: 1, Role: auth.Viewer}), j[job], ts, ts.Add(time.Hour))
	require.True(t, fault.Is(err, fault.Forbidden), "%v", err)
	rows, err := svc.Usage(auth.WithPrincipal(ctx, &auth.Principal{PersonID: 1, Role: auth.Operator}), j[job], ts, ts.Add(time.Hour))
	require.NoError(t, err)
	require.Len(t, rows, 1)
}
