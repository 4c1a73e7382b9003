package configuration_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/audit"
	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/configuration"
	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/fixture"
)

type env struct {
	pool    *pgxpool.Pool
	f       *fixture.Fleet
	svc     *configuration.Service
	cluster int64
	admin   context.Context
	ops     context.Context
	ops2    context.Context
	viewer  context.Context
}

func as(id int64, login string, role auth.Role) context.Context {
	return auth.WithPrincipal(context.Background(), &auth.Principal{PersonID: id, Login: login, Role: role})
}

func setup(t *testing.T) *env {
	t.Helper()
	pool := dbtest.New(t)
	f := fixture.New(t, pool)
	var ops2 int64
	require.NoError(t, pool.QueryRow(context.Background(), `INSERT INTO person (login, name, email, bu_id, role)
		VALUES ('olga', 'Olga Operator', 'olga@example.com', $1, 'OPERATOR') RETURNING id`, f.BUs["PLATFORM"]).Scan(&ops2))
	return &env{
		pool: pool, f: f, cluster: f.Clusters["batch-wh-1"],
		svc:    configuration.NewService(pool, audit.New(pool, slog.New(slog.DiscardHandler)), nil),
		admin:  as(f.People[fixture.Admin], fixture.Admin, auth.Admin),
		ops:    as(f.People[fixture.Operator], fixture.Operator, auth.Operator),
		ops2:   as(ops2, "olga", auth.Operator),
		viewer: as(f.People[fixture.Viewer], fixture.Viewer, auth.Viewer),
	}
}

func ptr[T any](v T) *T { return &v }

func hdfsSite(props ...string) string {
	var b strings.Builder
	b.WriteString("<?xml version=\"1.0\"?>\n<configuration>\n")
	for i := 0; i+1 < len(props); i += 2 {
		b.WriteString("  <property>\n    <name>" + props[i] + "</name>\n    <value>" + props[i+1] + "</value>\n  </property>\n")
	}
	b.WriteString("</configuration>\n")
	return b.String()
}

// propose, approve (by admin) and apply a change of files on the current
// version; returns the applied outcome.
func (e *env) ship(t *testing.T, base int64, files ...configuration.FileChange) *configuration.Applied {
	t.Helper()
	ch, err := e.svc.Propose(e.ops, configuration.ProposeInput{ClusterID: e.cluster, BaseVersion: base, Message: "tune", Files: files})
	require.NoError(t, err)
	_, err = e.svc.Review(e.admin, configuration.ReviewInput{ChangeID: ch.ID, Approve: true})
	require.NoError(t, err)
	a, err := e.svc.Apply(e.ops, ch.ID)
	require.NoError(t, err)
	return a
}

func requireKind(t *testing.T, err error, kind fault.Kind, contains ...string) {
	t.Helper()
	require.Error(t, err)
	require.True(t, fault.Is(err, kind), "want %s, got %v", kind, err)
	for _, c := range contains {
		require.Contains(t, err.Error(), c)
	}
}

// The whole workflow: a proposal shows its diff; its author cannot approve
// it; another operator's approval makes it APPROVED; applying makes version
// 1, whose rollout targets exactly the live hosts running HDFS while YARN
// components (unchanged files) are current at once; the HDFS components are
// listed stale until marked applied; a rollback makes a new version with the
// old content.
func TestWorkflowProposeReviewApplyRollback(t *testing.T) {
	t.Parallel()
	e := setup(t)
	v1 := hdfsSite("dfs.replication", "3")
	ch, err := e.svc.Propose(e.ops, configuration.ProposeInput{ClusterID: e.cluster, Message: "HDFS defaults",
		Files: []configuration.FileChange{{Service: "HDFS", Path: "hdfs-site.xml", Content: &v1}}})
	require.NoError(t, err)
	require.Equal(t, configuration.ChangeProposed, ch.State)
	require.Equal(t, 1, ch.RequiredApprovals)
	require.Len(t, ch.Diffs, 1)
	require.Contains(t, ch.Diffs[0].Diff, "--- /dev/null\n+++ b/default/HDFS/hdfs-site.xml\n@@ -0,0 +1,7 @@\n")
	require.Contains(t, ch.Diffs[0].Diff, "+    <name>dfs.replication</name>\n")

	_, err = e.svc.Review(e.ops, configuration.ReviewInput{ChangeID: ch.ID, Approve: true})
	requireKind(t, err, fault.Forbidden, "author")
	_, err = e.svc.Review(e.viewer, configuration.ReviewInput{ChangeID: ch.ID, Approve: true})
	requireKind(t, err, fault.Forbidden, "OPERATOR")
	_, err = e.svc.Apply(e.ops, ch.ID)
	requireKind(t, err, fault.Conflict, "needs 1 approvals and has 0")

	ch, err = e.svc.Review(e.ops2, configuration.ReviewInput{ChangeID: ch.ID, Approve: true, Comment: "lgtm"})
	require.NoError(t, err)
	require.Equal(t, configuration.ChangeApproved, ch.State)
	require.Equal(t, 1, ch.Approvals)

	a, err := e.svc.Apply(e.ops, ch.ID)
	require.NoError(t, err)
	require.EqualValues(t, 1, a.Version)
	// batch-wh-1 has 8 hosts, one DECOMMISSIONED: 7 live hosts run HDFS.
	require.Len(t, a.Rollout.Targets, 7)
	for _, tg := range a.Rollout.Targets {
		require.Equal(t, "HDFS", tg.Service)
		require.Len(t, tg.Files, 1)
	}
	require.EqualValues(t, 7, a.Rollout.Current, "the YARN components are current at once")
	_, err = e.svc.Apply(e.ops, ch.ID)
	requireKind(t, err, fault.Conflict, "applied already, as version 1")

	stale, err := e.svc.StaleHosts(e.ops, e.cluster, 0)
	require.NoError(t, err)
	require.EqualValues(t, 1, stale.Current)
	require.Equal(t, 7, stale.Total)
	for _, s := range stale.Items {
		require.Equal(t, "HDFS", s.Service)
		require.EqualValues(t, 0, s.ConfigVersion)
	}
	files, err := configuration.HostFiles(context.Background(), e.pool, e.f.Hosts["batch-wh-1-n01"], "HDFS", 1)
	require.NoError(t, err)
	require.Equal(t, []configuration.HostFile{{Service: "HDFS", Path: "hdfs-site.xml", Content: v1}}, files)

	n, err := configuration.MarkApplied(context.Background(), e.pool, a.Version, a.Rollout.Targets)
	require.NoError(t, err)
	require.EqualValues(t, 7, n)
	stale, err = e.svc.StaleHosts(e.ops, e.cluster, 0)
	require.NoError(t, err)
	require.Zero(t, stale.Total)

	// Version 2 changes the replication; a rollback to 1 makes version 3
	// with version 1's content, and only HDFS is rolled out again.
	v2 := hdfsSite("dfs.replication", "2")
	a2 := e.ship(t, 1, configuration.FileChange{Service: "HDFS", Path: "hdfs-site.xml", Content: &v2})
	require.EqualValues(t, 2, a2.Version)
	_, err = e.svc.Rollback(e.viewer, configuration.RollbackInput{ClusterID: e.cluster, ToVersion: 1, Reason: "x"})
	requireKind(t, err, fault.Forbidden)
	_, err = e.svc.Rollback(e.ops, configuration.RollbackInput{ClusterID: e.cluster, ToVersion: 2, Reason: "x"})
	requireKind(t, err, fault.Invalid, "current version already")
	_, err = e.svc.Rollback(e.ops, configuration.RollbackInput{ClusterID: e.cluster, ToVersion: 9, Reason: "x"})
	requireKind(t, err, fault.Invalid, "no version 9")
	rb, err := e.svc.Rollback(e.ops, configuration.RollbackInput{ClusterID: e.cluster, ToVersion: 1, Reason: "replication 2 lost blocks"})
	require.NoError(t, err)
	require.EqualValues(t, 3, rb.Version)
	require.Len(t, rb.Rollout.Targets, 7)
	f1, err := e.svc.Files(e.ops, e.cluster, 1)
	require.NoError(t, err)
	f3, err := e.svc.Files(e.ops, e.cluster, 3)
	require.NoError(t, err)
	require.Equal(t, f1, f3)
	vs, err := e.svc.Versions(e.ops, e.cluster, 10)
	require.NoError(t, err)
	require.Len(t, vs, 3)
	require.EqualValues(t, 1, *vs[0].RollbackOf)
	diffs, err := e.svc.DiffVersions(e.ops, e.cluster, 2, 3)
	require.NoError(t, err)
	require.Len(t, diffs, 1)
	require.Contains(t, diffs[0].Diff, "-    <value>2</value>\n+    <value>3</value>\n")
	changes, err := e.svc.Changes(e.ops, e.cluster, configuration.ChangeApplied, 10)
	require.NoError(t, err)
	require.Len(t, changes, 2)
	require.Equal(t, "tune", changes[0].Message)
	require.Equal(t, 1, changes[0].Approvals)
	_, err = e.svc.Changes(e.viewer, e.cluster, "", 10)
	requireKind(t, err, fault.Forbidden)
	require.Contains(t, vs[0].Message, "Roll back to version 1\n\nreplication 2 lost blocks")

	// Every step was audited, refusals as DENIED.
	var ok, denied int
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT count(*) FILTER (WHERE outcome = 'OK'), count(*) FILTER (WHERE outcome = 'DENIED')
		FROM audit_log WHERE action IN ('proposeConfigChange', 'reviewConfigChange', 'applyConfigChange', 'rollbackConfig')`).Scan(&ok, &denied))
	require.Equal(t, 2+2+2+1, ok)
	require.Equal(t, 3, denied)
}

// A change written against a version that is not current any more is a
// CONFLICT naming the newer version: at proposal, at review and at apply.
func TestStaleBaseIsConflictNamingNewerVersion(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c1 := hdfsSite("dfs.replication", "3")
	e.ship(t, 0, configuration.FileChange{Service: "HDFS", Path: "hdfs-site.xml", Content: &c1})

	a, b := hdfsSite("dfs.replication", "2"), hdfsSite("dfs.blocksize", "256m")
	chA, err := e.svc.Propose(e.ops, configuration.ProposeInput{ClusterID: e.cluster, BaseVersion: 1, Message: "a",
		Files: []configuration.FileChange{{Service: "HDFS", Path: "hdfs-site.xml", Content: &a}}})
	require.NoError(t, err)
	chB, err := e.svc.Propose(e.ops, configuration.ProposeInput{ClusterID: e.cluster, BaseVersion: 1, Message: "b",
		Files: []configuration.FileChange{{Service: "HDFS", Path: "hdfs-site.xml", Content: &b}}})
	require.NoError(t, err)
	_, err = e.svc.Review(e.admin, configuration.ReviewInput{ChangeID: chB.ID, Approve: true})
	require.NoError(t, err)
	_, err = e.svc.Review(e.admin, configuration.ReviewInput{ChangeID: chA.ID, Approve: true})
	require.NoError(t, err)
	_, err = e.svc.Apply(e.ops, chA.ID)
	require.NoError(t, err)

	_, err = e.svc.Apply(e.ops, chB.ID)
	requireKind(t, err, fault.Conflict, "a newer version (2)", "against version 2")
	_, err = e.svc.Review(e.ops2, configuration.ReviewInput{ChangeID: chB.ID, Approve: true})
	requireKind(t, err, fault.Conflict, "a newer version (2)")
	_, err = e.svc.Propose(e.ops, configuration.ProposeInput{ClusterID: e.cluster, BaseVersion: 1, Message: "b again",
		Files: []configuration.FileChange{{Service: "HDFS", Path: "hdfs-site.xml", Content: &b}}})
	requireKind(t, err, fault.Conflict, "at version 2, not 1")
	_, err = e.svc.Propose(e.ops, configuration.ProposeInput{ClusterID: e.cluster, BaseVersion: 7, Message: "b again",
		Files: []configuration.FileChange{{Service: "HDFS", Path: "hdfs-site.xml", Content: &b}}})
	requireKind(t, err, fault.Invalid, "no configuration version 7; the current one is 2")
	// The current version is untouched by the refused apply.
	vs, err := e.svc.Versions(e.ops, e.cluster, 10)
	require.NoError(t, err)
	require.Len(t, vs, 2)
}

// Invalid files are refused at proposal, naming the file, the field and the
// line; nothing is stored, and the refusal is audited.
func TestInvalidFileRefusedAtProposal(t *testing.T) {
	t.Parallel()
	e := setup(t)
	cases := []struct {
		name, service, path, content, field, want string
	}{
		{"unknown key", "HDFS", "hdfs-site.xml", hdfsSite("dfs.replication", "3", "dfs.replicaton", "2"), "input.files[0].content",
			`line 8: unknown key "dfs.replicaton"`},
		{"xml syntax", "HDFS", "hdfs-site.xml", "<configuration>\n<property>\n<name>x</value>\n", "input.files[0].content", "line 3: XML syntax"},
		{"yaml syntax", "FLINK", "flink-conf.yaml", "parallelism.default: 2\nrest.port: a: b\n", "input.files[0].content", "line 2: YAML syntax"},
		{"json syntax", "SPARK", "x.json", "{\n\"a\": 1,\n}", "input.files[0].content", "line 3: JSON syntax"},
		{"escaping path", "HDFS", "../../etc/passwd", "x", "input.files[0].path", "relative and clean"},
		{"bad service", "hdfs", "a.xml", "<a/>", "input.files[0].service", "not a service name"},
	}
	for _, c := range cases {
		_, err := e.svc.Propose(e.ops, configuration.ProposeInput{ClusterID: e.cluster, Message: c.name,
			Files: []configuration.FileChange{{Service: c.service, Path: c.path, Content: &c.content}}})
		requireKind(t, err, fault.Invalid, c.want)
		fe, _ := fault.As(err)
		require.Equal(t, c.field, fe.Field, c.name)
	}
	_, err := e.svc.Propose(e.ops, configuration.ProposeInput{ClusterID: e.cluster, Message: "m",
		Files: []configuration.FileChange{{Group: "nope", Service: "HDFS", Path: "hdfs-site.xml", Content: ptr("<configuration/>")}}})
	requireKind(t, err, fault.Invalid, `no config group "nope"`)
	var changes, failed int
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT (SELECT count(*) FROM config_change),
		(SELECT count(*) FROM audit_log WHERE action = 'proposeConfigChange' AND outcome = 'FAILED')`).Scan(&changes, &failed))
	require.Zero(t, changes)
	require.Equal(t, len(cases)+1, failed)
}

// A cluster can require N approvals (set by an ADMIN only); a rejection
// rejects the change for good.
func TestRequiredApprovalsAndRejection(t *testing.T) {
	t.Parallel()
	e := setup(t)
	requireKind(t, e.svc.SetRequiredApprovals(e.ops, e.cluster, 2), fault.Forbidden)
	requireKind(t, e.svc.SetRequiredApprovals(e.admin, e.cluster, 0), fault.Invalid)
	require.NoError(t, e.svc.SetRequiredApprovals(e.admin, e.cluster, 2))
	c := hdfsSite("dfs.replication", "3")
	ch, err := e.svc.Propose(e.ops, configuration.ProposeInput{ClusterID: e.cluster, Message: "m",
		Files: []configuration.FileChange{{Service: "HDFS", Path: "hdfs-site.xml", Content: &c}}})
	require.NoError(t, err)
	require.Equal(t, 2, ch.RequiredApprovals)
	ch, err = e.svc.Review(e.admin, configuration.ReviewInput{ChangeID: ch.ID, Approve: true})
	require.NoError(t, err)
	require.Equal(t, configuration.ChangeProposed, ch.State)
	// Approving twice is one approval.
	ch, err = e.svc.Review(e.admin, configuration.ReviewInput{ChangeID: ch.ID, Approve: true, Comment: "again"})
	require.NoError(t, err)
	require.Equal(t, 1, ch.Approvals)
	_, err = e.svc.Apply(e.ops, ch.ID)
	requireKind(t, err, fault.Conflict, "needs 2 approvals and has 1")
	ch, err = e.svc.Review(e.ops2, configuration.ReviewInput{ChangeID: ch.ID, Approve: true})
	require.NoError(t, err)
	require.Equal(t, configuration.ChangeApproved, ch.State)

	ch2, err := e.svc.Propose(e.ops, configuration.ProposeInput{ClusterID: e.cluster, Message: "m2",
		Files: []configuration.FileChange{{Service: "YARN", Path: "yarn-site.xml", Content: ptr("<configuration/>")}}})
	require.NoError(t, err)
	_, err = e.svc.Review(e.ops2, configuration.ReviewInput{ChangeID: ch2.ID, Approve: false})
	requireKind(t, err, fault.Invalid, "why")
	ch2, err = e.svc.Review(e.ops2, configuration.ReviewInput{ChangeID: ch2.ID, Approve: false, Comment: "no ResourceManager address"})
	require.NoError(t, err)
	require.Equal(t, configuration.ChangeRejected, ch2.State)
	_, err = e.svc.Review(e.admin, configuration.ReviewInput{ChangeID: ch2.ID, Approve: true})
	requireKind(t, err, fault.Conflict, "REJECTED")
	_, err = e.svc.Apply(e.ops, ch2.ID)
	requireKind(t, err, fault.Conflict, "rejected")
}

// Group files overlay the default on the group's hosts only, and a later
// group wins; the rollout of a group-only change targets the group's hosts.
func TestGroupsOverlayInPositionOrder(t *testing.T) {
	t.Parallel()
	e := setup(t)
	n1, n2, n3 := e.f.Hosts["batch-wh-1-n01"], e.f.Hosts["batch-wh-1-n02"], e.f.Hosts["batch-wh-1-n03"]
	_, err := e.svc.SetGroup(e.ops, configuration.GroupInput{ClusterID: e.cluster, Name: "r01", Position: 1, Rule: configuration.ByRack, Values: []string{"r01"}})
	requireKind(t, err, fault.Forbidden)
	_, err = e.svc.SetGroup(e.admin, configuration.GroupInput{ClusterID: e.cluster, Name: "r01", Position: 1, Rule: configuration.ByRack, Values: []string{"r01"}})
	require.NoError(t, err)
	_, err = e.svc.SetGroup(e.admin, configuration.GroupInput{ClusterID: e.cluster, Name: "pinned", Position: 1, Rule: configuration.ByList, Hosts: []int64{n1}})
	requireKind(t, err, fault.Invalid, "position 1")
	_, err = e.svc.SetGroup(e.admin, configuration.GroupInput{ClusterID: e.cluster, Name: "pinned", Position: 2, Rule: configuration.ByList, Hosts: []int64{e.f.Hosts["online-1-n01"]}})
	requireKind(t, err, fault.Invalid, "not in cluster")
	_, err = e.svc.SetGroup(e.admin, configuration.GroupInput{ClusterID: e.cluster, Name: "pinned", Position: 2, Rule: configuration.ByList, Hosts: []int64{n1}})
	require.NoError(t, err)

	def, rack, pin := hdfsSite("dfs.replication", "3"), hdfsSite("dfs.replication", "2"), hdfsSite("dfs.replication", "1")
	a := e.ship(t, 0,
		configuration.FileChange{Service: "HDFS", Path: "hdfs-site.xml", Content: &def},
		configuration.FileChange{Group: "r01", Service: "HDFS", Path: "hdfs-site.xml", Content: &rack},
		configuration.FileChange{Group: "pinned", Service: "HDFS", Path: "hdfs-site.xml", Content: &pin})
	got := func(h int64) string {
		fs, err := configuration.HostFiles(context.Background(), e.pool, h, "HDFS", a.Version)
		require.NoError(t, err)
		require.Len(t, fs, 1)
		return fs[0].Group + ":" + fs[0].Content
	}
	// Fixture racks alternate r01, r02: n01 is r01 and pinned, n02 r02, n03 r01.
	require.Equal(t, "pinned:"+pin, got(n1))
	require.Equal(t, ":"+def, got(n2))
	require.Equal(t, "r01:"+rack, got(n3))
	_, err = configuration.MarkApplied(context.Background(), e.pool, a.Version, a.Rollout.Targets)
	require.NoError(t, err)

	// Changing only the rack group's file targets the r01 hosts the pinned
	// group does not override.
	rack2 := hdfsSite("dfs.replication", "4")
	a2 := e.ship(t, 1, configuration.FileChange{Group: "r01", Service: "HDFS", Path: "hdfs-site.xml", Content: &rack2})
	var hosts []int64
	for _, tg := range a2.Rollout.Targets {
		hosts = append(hosts, tg.HostID)
	}
	var want []int64
	require.NoError(t, e.pool.QueryRow(context.Background(), `SELECT array_agg(id ORDER BY id) FROM host
		WHERE cluster_id = $1 AND rack = 'r01' AND state <> 'DECOMMISSIONED' AND id <> $2`, e.cluster, n1).Scan(&want))
	require.Equal(t, want, hosts)
}

// Two approved changes on the same base applied at once: one becomes
// version 2, the other is a CONFLICT naming it; never two versions 2 nor a
// version built on a stale base.
func TestConcurrentAppliesMakeOneVersion(t *testing.T) {
	t.Parallel()
	e := setup(t)
	c1 := hdfsSite("dfs.replication", "3")
	e.ship(t, 0, configuration.FileChange{Service: "HDFS", Path: "hdfs-site.xml", Content: &c1})
	var ids []int64
	for _, v := range []string{"1", "2"} {
		c := hdfsSite("dfs.replication", v)
		ch, err := e.svc.Propose(e.ops, configuration.ProposeInput{ClusterID: e.cluster, BaseVersion: 1, Message: v,
			Files: []configuration.FileChange{{Service: "HDFS", Path: "hdfs-site.xml", Content: &c}}})
		require.NoError(t, err)
		_, err = e.svc.Review(e.admin, configuration.ReviewInput{ChangeID: ch.ID, Approve: true})
		require.NoError(t, err)
		ids = append(ids, ch.ID)
	}
	errs := make(chan error, 2)
	for _, id := range ids {
		go func() {
			_, err := e.svc.Apply(e.ops, id)
			errs <- err
		}()
	}
	var ok, conflicts int
	for range 2 {
		err := <-errs
		switch {
		case err == nil:
			ok++
		case fault.Is(err, fault.Conflict):
			require.Contains(t, err.Error(), "a newer version (2)")
			conflicts++
		default:
			t.Fatalf("unexpected error: %v", err)
		}
	}
	require.Equal(t, 1, ok)
	require.Equal(t, 1, conflicts)
	cur, err := configuration.CurrentVersion(context.Background(), e.pool, e.cluster)
	require.NoError(t, err)
	require.EqualValues(t, 2, cur)
}

// Moving a host into a group changes its effective files without a new
// version: the host's affected service is listed stale, and Reapply rolls
// the current version out to exactly the components behind it.
func TestRegroupedHostIsStaleUntilReapplied(t *testing.T) {
	t.Parallel()
	e := setup(t)
	n1, n2 := e.f.Hosts["batch-wh-1-n01"], e.f.Hosts["batch-wh-1-n02"]
	_, err := e.svc.SetGroup(e.admin, configuration.GroupInput{ClusterID: e.cluster, Name: "pinned", Position: 1, Rule: configuration.ByList, Hosts: []int64{n1}})
	require.NoError(t, err)
	def, pin := hdfsSite("dfs.replication", "3"), hdfsSite("dfs.replication", "1")
	a := e.ship(t, 0,
		configuration.FileChange{Service: "HDFS", Path: "hdfs-site.xml", Content: &def},
		configuration.FileChange{Group: "pinned", Service: "HDFS", Path: "hdfs-site.xml", Content: &pin})
	_, err = configuration.MarkApplied(context.Background(), e.pool, a.Version, a.Rollout.Targets)
	require.NoError(t, err)
	_, err = e.svc.Reapply(e.ops, e.cluster)
	requireKind(t, err, fault.Invalid, "runs configuration version 1 already")

	_, err = e.svc.SetGroup(e.admin, configuration.GroupInput{ClusterID: e.cluster, Name: "pinned", Position: 1, Rule: configuration.ByList, Hosts: []int64{n1, n2}})
	require.NoError(t, err)
	stale, err := e.svc.StaleHosts(e.ops, e.cluster, 0)
	require.NoError(t, err)
	require.Equal(t, []configuration.StaleComponent{{HostID: n2, Hostname: "batch-wh-1-n02", Service: "HDFS", ConfigVersion: 0}}, stale.Items)

	r, err := e.svc.Reapply(e.ops, e.cluster)
	require.NoError(t, err)
	require.EqualValues(t, 1, r.Version)
	require.Len(t, r.Rollout.Targets, 1)
	require.Equal(t, n2, r.Rollout.Targets[0].HostID)
	files, err := configuration.HostFiles(context.Background(), e.pool, n2, "HDFS", 1)
	require.NoError(t, err)
	require.Equal(t, pin, files[0].Content)
	_, err = configuration.MarkApplied(context.Background(), e.pool, r.Version, r.Rollout.Targets)
	require.NoError(t, err)
	stale, err = e.svc.StaleHosts(e.ops, e.cluster, 0)
	require.NoError(t, err)
	require.Zero(t, stale.Total)
}

// Deleting a config group: ADMIN only; refused (CONFLICT, naming how many
// files) while the current version or an open change has files in it; once
// a change removed them it goes, its hosts' files unchanged, and a rollback
// to a version with its files is refused. Every attempt is audited.
func TestDeleteConfigGroup(t *testing.T) {
	t.Parallel()
	e := setup(t)
	bg := context.Background()
	n1 := e.f.Hosts["batch-wh-1-n01"]
	unused, err := e.svc.SetGroup(e.admin, configuration.GroupInput{ClusterID: e.cluster, Name: "unused", Position: 1, Rule: configuration.ByRack, Values: []string{"r02"}})
	require.NoError(t, err)
	pinned, err := e.svc.SetGroup(e.admin, configuration.GroupInput{ClusterID: e.cluster, Name: "pinned", Position: 2, Rule: configuration.ByList, Hosts: []int64{n1}})
	require.NoError(t, err)

	_, err = e.svc.DeleteGroup(e.ops, unused.ID)
	requireKind(t, err, fault.Forbidden)
	_, err = e.svc.DeleteGroup(e.admin, 999999)
	requireKind(t, err, fault.NotFound)
	g, err := e.svc.DeleteGroup(e.admin, unused.ID)
	require.NoError(t, err)
	require.Equal(t, "unused", g.Name)
	gs, err := e.svc.Groups(e.admin, e.cluster)
	require.NoError(t, err)
	require.Len(t, gs, 1)

	def, pin := hdfsSite("dfs.replication", "3"), hdfsSite("dfs.replication", "1")
	a := e.ship(t, 0,
		configuration.FileChange{Service: "HDFS", Path: "hdfs-site.xml", Content: &def},
		configuration.FileChange{Group: "pinned", Service: "HDFS", Path: "hdfs-site.xml", Content: &pin})
	_, err = e.svc.DeleteGroup(e.admin, pinned.ID)
	requireKind(t, err, fault.Conflict, `config group "pinned" still has 1 file in the current configuration version 1`, "remove them by a change first")

	// The change removing the file, while open, still holds the group.
	ch, err := e.svc.Propose(e.ops, configuration.ProposeInput{ClusterID: e.cluster, BaseVersion: a.Version, Message: "unpin",
		Files: []configuration.FileChange{{Group: "pinned", Service: "HDFS", Path: "hdfs-site.xml"}}})
	require.NoError(t, err)
	_, err = e.svc.Review(e.admin, configuration.ReviewInput{ChangeID: ch.ID, Approve: true})
	require.NoError(t, err)
	_, err = e.svc.DeleteGroup(e.admin, pinned.ID)
	requireKind(t, err, fault.Conflict, "still has 1 file")
	applied, err := e.svc.Apply(e.ops, ch.ID)
	require.NoError(t, err)
	_, err = e.svc.DeleteGroup(e.admin, pinned.ID)
	require.NoError(t, err)
	fs, err := configuration.HostFiles(bg, e.pool, n1, "HDFS", applied.Version)
	require.NoError(t, err)
	require.Len(t, fs, 1)
	require.Equal(t, def, fs[0].Content)

	_, err = e.svc.Rollback(e.ops, configuration.RollbackInput{ClusterID: e.cluster, ToVersion: a.Version, Reason: "back"})
	requireKind(t, err, fault.Conflict, "version 1 has 1 files of config groups deleted since")

	// An open change adding a file to a group holds it too.
	g3, err := e.svc.SetGroup(e.admin, configuration.GroupInput{ClusterID: e.cluster, Name: "later", Position: 3, Rule: configuration.ByRack, Values: []string{"r01"}})
	require.NoError(t, err)
	_, err = e.svc.Propose(e.ops, configuration.ProposeInput{ClusterID: e.cluster, BaseVersion: applied.Version, Message: "later",
		Files: []configuration.FileChange{{Group: "later", Service: "HDFS", Path: "hdfs-site.xml", Content: &pin}}})
	require.NoError(t, err)
	_, err = e.svc.DeleteGroup(e.admin, g3.ID)
	requireKind(t, err, fault.Conflict, `config group "later" has 1 file in 1 open (proposed or approved) change`)

	var ok, denied, failed int
	require.NoError(t, e.pool.QueryRow(bg, `SELECT count(*) FILTER (WHERE outcome = 'OK'), count(*) FILTER (WHERE outcome = 'DENIED'),
		count(*) FILTER (WHERE outcome = 'FAILED') FROM audit_log WHERE action = 'deleteConfigGroup'`).Scan(&ok, &denied, &failed))
	require.Equal(t, 2, ok)
	require.Equal(t, 1, denied)
	require.Equal(t, 4, failed, "not found, two in use by the version, one by an open change")
	var target string
	require.NoError(t, e.pool.QueryRow(bg, `SELECT target FROM audit_log WHERE action = 'deleteConfigGroup' AND outcome = 'OK' ORDER BY id LIMIT 1`).Scan(&target))
	require.Equal(t, fmt.Sprintf("configGroup:%d", unused.ID), target)
}

// A target's removals are the files of the version its components last
// applied that the new version lacks: components at the previous version
// lose what it removed; a component stale at an older version loses what
// that older version had too; components never configured lose nothing.
func TestRolloutRemovesWhatTheAppliedVersionHad(t *testing.T) {
	t.Parallel()
	e := setup(t)
	bg := context.Background()
	n1, n2 := e.f.Hosts["batch-wh-1-n01"], e.f.Hosts["batch-wh-1-n02"]
	site, core := hdfsSite("dfs.replication", "3"), "<configuration>\n</configuration>\n"
	extra := "a=1\n"
	a1 := e.ship(t, 0,
		configuration.FileChange{Service: "HDFS", Path: "hdfs-site.xml", Content: &site},
		configuration.FileChange{Service: "HDFS", Path: "core-site.xml", Content: &core},
		configuration.FileChange{Service: "HDFS", Path: "extra.properties", Content: &extra})
	for _, tg := range a1.Rollout.Targets {
		require.Empty(t, tg.Remove, "components never configured through Tesla lose nothing")
	}
	// Every host but n02 applied version 1; n02 stays at 0.
	var applied []configuration.Target
	for _, tg := range a1.Rollout.Targets {
		if tg.HostID != n2 {
			applied = append(applied, tg)
		}
	}
	_, err := configuration.MarkApplied(bg, e.pool, a1.Version, applied)
	require.NoError(t, err)

	// Version 2 removes extra.properties; only n01 applies it.
	a2 := e.ship(t, a1.Version, configuration.FileChange{Service: "HDFS", Path: "extra.properties"})
	for _, tg := range a2.Rollout.Targets {
		if tg.HostID == n2 {
			require.Empty(t, tg.Remove)
			continue
		}
		require.Equal(t, []string{"extra.properties"}, tg.Remove, "host %d", tg.HostID)
	}
	for _, tg := range a2.Rollout.Targets {
		if tg.HostID == n1 {
			_, err = configuration.MarkApplied(bg, e.pool, a2.Version, []configuration.Target{tg})
			require.NoError(t, err)
		}
	}

	// Version 3 removes core-site.xml: n01 (at 2) loses it alone; the
	// hosts still at 1 lose extra.properties as well.
	a3 := e.ship(t, a2.Version, configuration.FileChange{Service: "HDFS", Path: "core-site.xml"})
	require.NotEmpty(t, a3.Rollout.Targets)
	for _, tg := range a3.Rollout.Targets {
		switch tg.HostID {
		case n1:
			require.Equal(t, []string{"core-site.xml"}, tg.Remove)
		case n2:
			require.Empty(t, tg.Remove)
		default:
			require.Equal(t, []string{"core-site.xml", "extra.properties"}, tg.Remove, "host %d", tg.HostID)
		}
		require.Len(t, tg.Files, 1)
	}
}
