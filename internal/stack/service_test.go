package stack_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/audit"
	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/fixture"
	"github.com/teslaops/tesla/internal/page"
	"github.com/teslaops/tesla/internal/stack"
)

type roles struct{ admin, ops, viewer context.Context }

func as(f *fixture.Fleet, login string, role auth.Role) context.Context {
	return auth.WithPrincipal(context.Background(), &auth.Principal{PersonID: f.People[login], Login: login, Role: role})
}

func setup(t *testing.T) (*pgxpool.Pool, *stack.Service, roles) {
	t.Helper()
	pool := dbtest.New(t)
	f := fixture.New(t, pool)
	svc := stack.NewService(pool, audit.New(pool, slog.New(slog.DiscardHandler)))
	return pool, svc, roles{
		admin:  as(f, fixture.Admin, auth.Admin),
		ops:    as(f, fixture.Operator, auth.Operator),
		viewer: as(f, fixture.Viewer, auth.Viewer),
	}
}

func sum(s string) string { return "sha256:" + strings.Repeat(s, 64) }

// input is a valid RPM package of service at version; deps alternate service
// and constraint.
func input(service, version string, deps ...string) stack.PackageInput {
	in := stack.PackageInput{
		Service: service,
		Info: stack.VersionInfo{Version: version, Build: "1.el7", Checksum: sum("a"),
			Source: stack.Source{Kind: stack.SourceRPM, URI: fmt.Sprintf("https://repo.example/el7/%s-%s.rpm", strings.ToLower(service), version)}},
		Ops: stack.Operation{
			Health:  &stack.HealthCheck{Kind: stack.HealthTCP, Target: ":2181", Timeout: 5 * time.Second},
			Restart: stack.Restart{Policy: stack.RestartAlways, MaxRestarts: 5},
		},
	}
	for i := 0; i+1 < len(deps); i += 2 {
		in.Ops.DependsOn = append(in.Ops.DependsOn, stack.Dependency{Service: deps[i], Constraint: deps[i+1]})
	}
	return in
}

func register(t *testing.T, svc *stack.Service, ctx context.Context, ins ...stack.PackageInput) {
	t.Helper()
	for _, in := range ins {
		_, err := svc.RegisterServicePackage(ctx, in)
		require.NoError(t, err, in.Service)
	}
}

func requireField(t *testing.T, err error, field string) {
	t.Helper()
	fe, ok := fault.As(err)
	require.True(t, ok, "a domain error: %v", err)
	require.Equal(t, fault.Invalid, fe.Kind, fe.Message)
	require.Equal(t, field, fe.Field, fe.Message)
}

func TestRegisterServicePackageStoresTypedMetadata(t *testing.T) {
	t.Parallel()
	_, svc, r := setup(t)
	in := input("hdfs", "v3.3.6", "zookeeper", ">=3.5, <4", "KERBEROS", "")
	in.Ops.StartOrder, in.Ops.StopOrder = 10, 20
	in.Ops.Health = &stack.HealthCheck{Kind: stack.HealthHTTP, Target: ":9870/jmx", Timeout: 30 * time.Second}
	p, err := svc.RegisterServicePackage(r.ops, in)
	require.NoError(t, err)
	require.Equal(t, "HDFS", p.Service, "service names are upper-cased as the inventory spells them")
	require.Equal(t, "3.3.6", p.Info.Version)
	require.Equal(t, "1.el7", p.Info.Build)
	require.Equal(t, stack.Source{Kind: stack.SourceRPM, URI: "https://repo.example/el7/hdfs-v3.3.6.rpm"}, p.Info.Source)
	require.Equal(t, []stack.Dependency{{Service: "ZOOKEEPER", Constraint: ">=3.5, <4"}, {Service: "KERBEROS", Constraint: "*"}}, p.Ops.DependsOn)
	require.Equal(t, &stack.HealthCheck{Kind: stack.HealthHTTP, Target: ":9870/jmx", Timeout: 30 * time.Second}, p.Ops.Health)
	require.Equal(t, stack.Restart{Policy: stack.RestartAlways, MaxRestarts: 5}, p.Ops.Restart)
	require.Equal(t, 10, p.Ops.StartOrder)
	require.Equal(t, 20, p.Ops.StopOrder)

	// GIT with a ref, no health check, default restart policy.
	git := input("PRESTO", "0.286")
	git.Info.Source = stack.Source{Kind: stack.SourceGit, URI: "git+https://git.example/presto.git", Ref: "release-0.286"}
	git.Ops.Health, git.Ops.Restart = nil, stack.Restart{}
	p, err = svc.RegisterServicePackage(r.admin, git)
	require.NoError(t, err)
	require.Nil(t, p.Ops.Health)
	require.Equal(t, stack.Restart{Policy: stack.RestartOnFailure, MaxRestarts: 3}, p.Ops.Restart)
	require.Empty(t, p.Ops.DependsOn)

	got, err := svc.PackagesByIDs(r.viewer, []int64{p.ID})
	require.NoError(t, err)
	require.Equal(t, "release-0.286", got[p.ID].Info.Source.Ref)

	// The same (service, version) again is a conflict naming it.
	_, err = svc.RegisterServicePackage(r.ops, git)
	require.True(t, fault.Is(err, fault.Conflict), "%v", err)
	require.ErrorContains(t, err, "PRESTO 0.286 is already registered")

	list, err := svc.ListPackages(r.viewer, "", page.Args{First: ptr(10)})
	require.NoError(t, err)
	require.Equal(t, 2, list.Info.Total-countFixture(t, svc, r.viewer))
}

func ptr[T any](v T) *T { return &v }

// countFixture counts the fixture's own packages (HDFS, YARN and FLINK of
// TDP 3.1.0 and 3.2.0).
func countFixture(t *testing.T, svc *stack.Service, ctx context.Context) int {
	n := 0
	for _, s := range []string{"YARN", "FLINK"} {
		l, err := svc.ListPackages(ctx, s, page.Args{First: ptr(10)})
		require.NoError(t, err)
		n += l.Info.Total
	}
	return n + 2 // HDFS 3.1.0, 3.2.0
}

func TestRegisterServicePackageNamesEveryBadField(t *testing.T) {
	t.Parallel()
	_, svc, r := setup(t)
	for _, tc := range []struct {
		field string
		edit  func(in *stack.PackageInput)
	}{
		{"input.service", func(in *stack.PackageInput) { in.Service = "hdfs server" }},
		{"input.service", func(in *stack.PackageInput) { in.Service = "" }},
		{"input.info.version", func(in *stack.PackageInput) { in.Info.Version = "latest" }},
		{"input.info.version", func(in *stack.PackageInput) { in.Info.Version = "1.2.3.4" }},
		{"input.info.build", func(in *stack.PackageInput) { in.Info.Build = "a b" }},
		{"input.info.checksum", func(in *stack.PackageInput) { in.Info.Checksum = "" }},
		{"input.info.checksum", func(in *stack.PackageInput) { in.Info.Checksum = "md5:" + strings.Repeat("a", 32) }},
		{"input.info.checksum", func(in *stack.PackageInput) { in.Info.Checksum = "sha256:" + strings.Repeat("g", 64) }},
		{"input.info.source.kind", func(in *stack.PackageInput) { in.Info.Source.Kind = "DEB" }},
		{"input.info.source.uri", func(in *stack.PackageInput) { in.Info.Source.URI = "/tmp/hdfs.rpm" }},
		{"input.info.source.uri", func(in *stack.PackageInput) { in.Info.Source.URI = "https://repo.example/hdfs.tgz" }},
		{"input.info.source.ref", func(in *stack.PackageInput) { in.Info.Source.Ref = "main" }},
		{"input.info.source.uri", func(in *stack.PackageInput) {
			in.Info.Source = stack.Source{Kind: stack.SourceTar, URI: "https://repo.example/hdfs.zip"}
		}},
		{"input.info.source.uri", func(in *stack.PackageInput) {
			in.Info.Source = stack.Source{Kind: stack.SourceObjectStore, URI: "ftp://bucket/key.tgz"}
		}},
		{"input.info.source.uri", func(in *stack.PackageInput) {
			in.Info.Source = stack.Source{Kind: stack.SourceObjectStore, URI: "s3://bucket"}
		}},
		{"input.info.source.ref", func(in *stack.PackageInput) {
			in.Info.Source = stack.Source{Kind: stack.SourceGit, URI: "https://git.example/hdfs.git"}
		}},
		{"input.info.source.ref", func(in *stack.PackageInput) {
			in.Info.Source = stack.Source{Kind: stack.SourceGit, URI: "https://git.example/hdfs.git", Ref: "../../etc"}
		}},
		{"input.info.source.uri", func(in *stack.PackageInput) {
			in.Info.Source = stack.Source{Kind: stack.SourceGit, URI: "https://git.example/hdfs.git#main", Ref: "main"}
		}},
		{"input.ops.dependsOn[1].service", func(in *stack.PackageInput) {
			in.Ops.DependsOn = []stack.Dependency{{Service: "ZOOKEEPER"}, {Service: "zoo keeper"}}
		}},
		{"input.ops.dependsOn[0].service", func(in *stack.PackageInput) { in.Ops.DependsOn = []stack.Dependency{{Service: "HDFS"}} }},
		{"input.ops.dependsOn[1].service", func(in *stack.PackageInput) {
			in.Ops.DependsOn = []stack.Dependency{{Service: "ZOOKEEPER"}, {Service: "zookeeper"}}
		}},
		{"input.ops.dependsOn[0].constraint", func(in *stack.PackageInput) {
			in.Ops.DependsOn = []stack.Dependency{{Service: "ZOOKEEPER", Constraint: ">=3.x"}}
		}},
		{"input.ops.startOrder", func(in *stack.PackageInput) { in.Ops.StartOrder = -1 }},
		{"input.ops.stopOrder", func(in *stack.PackageInput) { in.Ops.StopOrder = 1 << 20 }},
		{"input.ops.health.kind", func(in *stack.PackageInput) { in.Ops.Health.Kind = "PING" }},
		{"input.ops.health.target", func(in *stack.PackageInput) { in.Ops.Health.Target = "2181" }},
		{"input.ops.health.target", func(in *stack.PackageInput) {
			in.Ops.Health = &stack.HealthCheck{Kind: stack.HealthHTTP, Target: "ftp://x/", Timeout: time.Second}
		}},
		{"input.ops.health.target", func(in *stack.PackageInput) {
			in.Ops.Health = &stack.HealthCheck{Kind: stack.HealthCommand, Target: "check\nrm -rf /", Timeout: time.Second}
		}},
		{"input.ops.health.timeout", func(in *stack.PackageInput) { in.Ops.Health.Timeout = time.Millisecond }},
		{"input.ops.restart.policy", func(in *stack.PackageInput) { in.Ops.Restart.Policy = "SOMETIMES" }},
		{"input.ops.restart.maxRestarts", func(in *stack.PackageInput) { in.Ops.Restart.MaxRestarts = -1 }},
		{"input.ops.restart.maxRestarts", func(in *stack.PackageInput) {
			in.Ops.Restart = stack.Restart{Policy: stack.RestartNever, MaxRestarts: 2}
		}},
	} {
		in := input("HDFS", "3.3.6", "ZOOKEEPER", ">=3.5")
		tc.edit(&in)
		_, err := svc.RegisterServicePackage(r.ops, in)
		requireField(t, err, tc.field)
	}
	// Nothing was stored.
	l, err := svc.ListPackages(r.viewer, "HDFS", page.Args{First: ptr(10)})
	require.NoError(t, err)
	require.Equal(t, 2, l.Info.Total, "the fixture's HDFS packages only")
}

func TestMutationsNeedOperatorAndAreAudited(t *testing.T) {
	t.Parallel()
	pool, svc, r := setup(t)
	_, err := svc.RegisterServicePackage(r.viewer, input("ZOOKEEPER", "3.8.3"))
	require.True(t, fault.Is(err, fault.Forbidden), "%v", err)
	_, err = svc.CreateStackVersion(r.viewer, stack.VersionInput{Stack: "ODP", Version: "1.0",
		Packages: []stack.PackageRef{{Service: "ZOOKEEPER", Version: "3.8.3"}}})
	require.True(t, fault.Is(err, fault.Forbidden), "%v", err)
	_, err = svc.RegisterServicePackage(context.Background(), input("ZOOKEEPER", "3.8.3"))
	require.True(t, fault.Is(err, fault.Unauthenticated), "%v", err)

	register(t, svc, r.ops, input("ZOOKEEPER", "3.8.3"))
	_, err = svc.RegisterServicePackage(r.ops, input("ZOOKEEPER", "3.8.3"))
	require.True(t, fault.Is(err, fault.Conflict))
	_, err = svc.CreateStackVersion(r.admin, stack.VersionInput{Stack: "ODP", Version: "1.0",
		Packages: []stack.PackageRef{{Service: "ZOOKEEPER", Version: "3.8.3"}}})
	require.NoError(t, err)

	rows, err := pool.Query(context.Background(), `SELECT action, target, outcome, coalesce(p.login, '')
		FROM audit_log a LEFT JOIN person p ON p.id = a.person_id ORDER BY a.id`)
	require.NoError(t, err)
	var got []string
	for rows.Next() {
		var action, target, outcome, login string
		require.NoError(t, rows.Scan(&action, &target, &outcome, &login))
		got = append(got, strings.Join([]string{action, target, outcome, login}, " | "))
	}
	require.NoError(t, rows.Err())
	require.Equal(t, []string{
		"registerServicePackage | service package ZOOKEEPER 3.8.3 | DENIED | alice",
		"createStackVersion | stack version ODP 1.0 | DENIED | alice",
		"registerServicePackage | service package ZOOKEEPER 3.8.3 | DENIED | ",
		"registerServicePackage | service package ZOOKEEPER 3.8.3 | OK | ops",
		"registerServicePackage | service package ZOOKEEPER 3.8.3 | FAILED | ops",
		"createStackVersion | stack version ODP 1.0 | OK | admin",
	}, got)
}

// odp registers a small Hadoop family: ZooKeeper 3.6/3.8, HDFS 3.3.4/3.3.6
// (YARN pins its HDFS), Spark 3.3/3.5.
func odp(t *testing.T, svc *stack.Service, ctx context.Context) {
	register(t, svc, ctx,
		input("ZOOKEEPER", "3.6.4"), input("ZOOKEEPER", "3.8.3"),
		input("HDFS", "3.3.4", "ZOOKEEPER", ">=3.5"), input("HDFS", "3.3.6", "ZOOKEEPER", "^3.8"),
		input("YARN", "3.3.4", "HDFS", "=3.3.4", "ZOOKEEPER", ">=3.5"), input("YARN", "3.3.6", "HDFS", "=3.3.6", "ZOOKEEPER", ">=3.5"),
		input("SPARK", "3.3.2", "YARN", ">=3.2"), input("SPARK", "3.5.1", "YARN", "~3.3.4"),
	)
}

func refs(pairs ...string) []stack.PackageRef {
	var out []stack.PackageRef
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, stack.PackageRef{Service: pairs[i], Version: pairs[i+1]})
	}
	return out
}

func TestCreateStackVersionChecksDependencies(t *testing.T) {
	t.Parallel()
	_, svc, r := setup(t)
	odp(t, svc, r.ops)

	full, err := svc.CreateStackVersion(r.ops, stack.VersionInput{Stack: "ODP", Version: "1.0", Notes: "first",
		Packages: refs("ZOOKEEPER", "3.6.4", "HDFS", "3.3.4", "YARN", "3.3.4", "SPARK", "3.3.2")})
	require.NoError(t, err)
	require.False(t, full.Partial)

	// Unsatisfiable: YARN 3.3.4 pins HDFS 3.3.4.
	_, err = svc.CreateStackVersion(r.ops, stack.VersionInput{Stack: "ODP", Version: "1.1",
		Packages: refs("ZOOKEEPER", "3.8.3", "HDFS", "3.3.6", "YARN", "3.3.4", "SPARK", "3.3.2")})
	requireField(t, err, "input.packages")
	require.ErrorContains(t, err, "YARN 3.3.4 needs HDFS =3.3.4, which HDFS 3.3.6 does not satisfy")
	// Missing dependency.
	_, err = svc.CreateStackVersion(r.ops, stack.VersionInput{Stack: "ODP", Version: "1.1", Packages: refs("HDFS", "3.3.6")})
	require.ErrorContains(t, err, "HDFS 3.3.6 depends on ZOOKEEPER ^3.8, which the stack version does not contain")
	// Unknown package, two packages of one service, bad version, base misuse.
	_, err = svc.CreateStackVersion(r.ops, stack.VersionInput{Stack: "ODP", Version: "1.1", Packages: refs("ZOOKEEPER", "9.9")})
	requireField(t, err, "input.packages[0]")
	_, err = svc.CreateStackVersion(r.ops, stack.VersionInput{Stack: "ODP", Version: "1.1",
		Packages: refs("ZOOKEEPER", "3.6.4", "zookeeper", "3.8.3")})
	requireField(t, err, "input.packages[1].service")
	_, err = svc.CreateStackVersion(r.ops, stack.VersionInput{Stack: "ODP", Version: "next", Packages: refs("ZOOKEEPER", "3.6.4")})
	requireField(t, err, "input.version")
	_, err = svc.CreateStackVersion(r.ops, stack.VersionInput{Stack: "ODP", Version: "1.1", Partial: true, Packages: refs("ZOOKEEPER", "3.8.3")})
	requireField(t, err, "input.base")
	_, err = svc.CreateStackVersion(r.ops, stack.VersionInput{Stack: "ODP", Version: "1.1", Base: &full.ID, Packages: refs("ZOOKEEPER", "3.8.3")})
	requireField(t, err, "input.base")
	// The same version twice.
	_, err = svc.CreateStackVersion(r.ops, stack.VersionInput{Stack: "ODP", Version: "1.0", Packages: refs("ZOOKEEPER", "3.6.4")})
	require.True(t, fault.Is(err, fault.Conflict), "%v", err)
	require.ErrorContains(t, err, "stack ODP already has a version 1.0")

	// Partial: Spark 3.5.1 alone needs YARN ~3.3.4, which the base has.
	part, err := svc.CreateStackVersion(r.ops, stack.VersionInput{Stack: "ODP", Version: "1.0.1", Partial: true,
		Base: &full.ID, Packages: refs("SPARK", "3.5.1")})
	require.NoError(t, err)
	require.True(t, part.Partial)
	// Partial HDFS 3.3.6 breaks the base's YARN pin and needs ZooKeeper 3.8.
	_, err = svc.CreateStackVersion(r.ops, stack.VersionInput{Stack: "ODP", Version: "1.0.2", Partial: true,
		Base: &full.ID, Packages: refs("HDFS", "3.3.6", "ZOOKEEPER", "3.8.3")})
	require.ErrorContains(t, err, "YARN 3.3.4 needs HDFS =3.3.4, which HDFS 3.3.6 does not satisfy")
	_, err = svc.CreateStackVersion(r.ops, stack.VersionInput{Stack: "ODP", Version: "1.0.2", Partial: true,
		Base: &full.ID, Packages: refs("HDFS", "3.3.6", "ZOOKEEPER", "3.8.3", "YARN", "3.3.6")})
	require.NoError(t, err)
	// A partial base is refused.
	_, err = svc.CreateStackVersion(r.ops, stack.VersionInput{Stack: "ODP", Version: "1.0.3", Partial: true,
		Base: &part.ID, Packages: refs("SPARK", "3.3.2")})
	requireField(t, err, "input.base")

	// Reads: the stack's versions with their packages, and what a planner does.
	vs, err := svc.VersionsOfStack(r.viewer, "ODP")
	require.NoError(t, err)
	require.Len(t, vs, 3)
	require.Len(t, vs[0].Packages, 4)
	res, err := stack.Resolve(vs[0].Packages, vs[2])
	require.NoError(t, err)
	require.Equal(t, []stack.Change{{Service: "HDFS", From: "3.3.4", To: "3.3.6"}, {Service: "YARN", From: "3.3.4", To: "3.3.6"},
		{Service: "ZOOKEEPER", From: "3.6.4", To: "3.8.3"}}, res.Changes)
	order, err := stack.StartOrder(res.Packages)
	require.NoError(t, err)
	var names []string
	for _, p := range order {
		names = append(names, p.Label())
	}
	require.Equal(t, []string{"ZOOKEEPER 3.8.3", "HDFS 3.3.6", "YARN 3.3.6", "SPARK 3.3.2"}, names)

	// The planner's base from what a cluster runs, by (service, version).
	cur, err := svc.PackagesByKey(r.viewer, refs("hdfs", "3.3.4", "ZOOKEEPER", "9.9", "ZOOKEEPER", "3.6.4"))
	require.NoError(t, err)
	require.Equal(t, "HDFS 3.3.4", cur[0].Label())
	require.Nil(t, cur[1])
	require.Equal(t, "ZOOKEEPER 3.6.4", cur[2].Label())

	g, err := svc.VersionGraph(r.viewer, full.ID)
	require.NoError(t, err)
	require.Len(t, g.Nodes, 4)
	require.Len(t, g.Edges, 4)
	_, err = svc.VersionGraph(r.viewer, 1<<40)
	require.True(t, fault.Is(err, fault.NotFound))
}

func TestCreateStackVersionNamesTheCycle(t *testing.T) {
	t.Parallel()
	_, svc, r := setup(t)
	register(t, svc, r.ops, input("HDFS", "3.3.6", "ZOOKEEPER", "*"), input("ZOOKEEPER", "3.8.3", "HDFS", ">=3"))
	_, err := svc.CreateStackVersion(r.ops, stack.VersionInput{Stack: "ODP", Version: "2.0", Packages: refs("ZOOKEEPER", "3.8.3", "HDFS", "3.3.6")})
	requireField(t, err, "input.packages")
	require.ErrorContains(t, err, "dependency cycle: HDFS → ZOOKEEPER → HDFS")
}

func TestLoadValidatesWhatItWrites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool, svc, r := setup(t)
	at := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	good := []stack.BulkPackage{
		{PackageInput: input("ZOOKEEPER", "3.8.3"), Operations: []byte(`{"unit": "zookeeper.service"}`)},
		{PackageInput: input("HDFS", "3.3.6", "ZOOKEEPER", ">=3.5")},
	}
	load := func(stacks []stack.BulkStack, pkgs []stack.BulkPackage) (stack.LoadResult, error) {
		tx, err := pool.Begin(ctx)
		require.NoError(t, err)
		res, err := stack.Load(ctx, tx, at, stacks, pkgs)
		if err != nil {
			require.NoError(t, tx.Rollback(ctx))
			return res, err
		}
		return res, tx.Commit(ctx)
	}

	bad := append([]stack.BulkPackage{}, good...)
	bad[1].Info.Checksum = "md5:x"
	_, err := load(nil, bad)
	require.ErrorContains(t, err, "package 1 (HDFS 3.3.6)")
	requireField(t, err, "input.info.checksum")

	_, err = load([]stack.BulkStack{{Name: "ODP", Versions: []stack.BulkVersion{{Version: "1.0", Released: at,
		Packages: refs("HDFS", "3.3.6")}}}}, good)
	require.ErrorContains(t, err, "stack ODP 1.0: HDFS 3.3.6 depends on ZOOKEEPER >=3.5")

	res, err := load([]stack.BulkStack{{Name: "ODP", Versions: []stack.BulkVersion{{Version: "1.0", Released: at,
		Packages: refs("HDFS", "3.3.6", "ZOOKEEPER", "3.8.3")}}}}, good)
	require.NoError(t, err)
	require.Equal(t, stack.LoadResult{Stacks: 1, Versions: 1, Packages: 2}, res)
	vs, err := svc.VersionsOfStack(r.viewer, "ODP")
	require.NoError(t, err)
	require.Len(t, vs, 1)
	require.Len(t, vs[0].Packages, 2)
	require.True(t, vs[0].ReleasedAt.Equal(at))
	require.True(t, vs[0].Packages[0].RegisteredAt.Equal(at), "registered at the load's time")
	var unit string
	require.NoError(t, pool.QueryRow(ctx, `SELECT operations->>'unit' FROM service_package WHERE service = 'ZOOKEEPER'`).Scan(&unit))
	require.Equal(t, "zookeeper.service", unit)
}

func TestReadsNeedAPrincipal(t *testing.T) {
	t.Parallel()
	_, svc, _ := setup(t)
	ctx := context.Background()
	_, err := svc.PackagesByIDs(ctx, []int64{1})
	require.True(t, fault.Is(err, fault.Unauthenticated))
	_, err = svc.ListPackages(ctx, "", page.Args{})
	require.True(t, fault.Is(err, fault.Unauthenticated))
	_, err = svc.VersionsOfStack(ctx, "TDP")
	require.True(t, fault.Is(err, fault.Unauthenticated))
	_, err = svc.VersionGraph(ctx, 1)
	require.True(t, fault.Is(err, fault.Unauthenticated))
}
