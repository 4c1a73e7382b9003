package stack

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/fault"
)

// pkg builds a package; deps alternate service and constraint.
func pkg(service, version string, deps ...string) *Package {
	p := &Package{Service: service, Info: VersionInfo{Version: version}}
	for i := 0; i+1 < len(deps); i += 2 {
		p.Ops.DependsOn = append(p.Ops.DependsOn, Dependency{Service: deps[i], Constraint: deps[i+1]})
	}
	return p
}

func services(pkgs []*Package) []string {
	out := make([]string, len(pkgs))
	for i, p := range pkgs {
		out[i] = p.Service
	}
	return out
}

func labels(pkgs []*Package) []string {
	out := make([]string, len(pkgs))
	for i, p := range pkgs {
		out[i] = p.Label()
	}
	return out
}

// tdp is a Hadoop-family stack: ZooKeeper under HDFS under YARN, Hive and
// HBase; Spark on YARN and Hive.
func tdp() []*Package {
	return []*Package{
		pkg("SPARK", "3.5.1", "YARN", ">=3.2", "HIVE", ">=3.1"),
		pkg("HBASE", "2.5.8", "HDFS", ">=3.2", "ZOOKEEPER", ">=3.5"),
		pkg("HIVE", "4.0.0", "HDFS", ">=3.2", "YARN", ">=3.2"),
		pkg("YARN", "3.3.6", "HDFS", "=3.3.6", "ZOOKEEPER", ">=3.5"),
		pkg("HDFS", "3.3.6", "ZOOKEEPER", ">=3.5"),
		pkg("ZOOKEEPER", "3.8.3"),
	}
}

func TestStartAndStopOrder(t *testing.T) {
	t.Parallel()
	start, err := StartOrder(tdp())
	require.NoError(t, err)
	// HBASE and YARN are both ready after HDFS: by name.
	require.Equal(t, []string{"ZOOKEEPER", "HDFS", "HBASE", "YARN", "HIVE", "SPARK"}, services(start))
	stop, err := StopOrder(tdp())
	require.NoError(t, err)
	// Dependents stop first: SPARK and HBASE are depended on by nobody.
	require.Equal(t, []string{"HBASE", "SPARK", "HIVE", "YARN", "HDFS", "ZOOKEEPER"}, services(stop))

	// Declared orders break ties before names.
	pkgs := tdp()
	for _, p := range pkgs {
		switch p.Service {
		case "YARN":
			p.Ops.StartOrder = -1 // not reachable by validation; order only compares
		case "HBASE":
			p.Ops.StopOrder = 5
		}
	}
	start, err = StartOrder(pkgs)
	require.NoError(t, err)
	require.Equal(t, []string{"ZOOKEEPER", "HDFS", "YARN", "HBASE", "HIVE", "SPARK"}, services(start))
	stop, err = StopOrder(pkgs)
	require.NoError(t, err)
	require.Equal(t, []string{"SPARK", "HIVE", "YARN", "HBASE", "HDFS", "ZOOKEEPER"}, services(stop))

	// Dependencies outside the set do not order it.
	start, err = StartOrder([]*Package{pkg("B", "1", "Z", "*"), pkg("A", "1", "Z", "*")})
	require.NoError(t, err)
	require.Equal(t, []string{"A", "B"}, services(start))
}

func TestCyclesAreRefusedNamed(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		pkgs  []*Package
		cycle string
	}{
		{[]*Package{pkg("HDFS", "1", "ZOOKEEPER", "*"), pkg("ZOOKEEPER", "1", "HDFS", "*")}, "HDFS → ZOOKEEPER → HDFS"},
		{[]*Package{pkg("A", "1", "B", "*"), pkg("B", "1", "C", "*"), pkg("C", "1", "A", "*"), pkg("D", "1", "A", "*")}, "A → B → C → A"},
		// The cycle is found past the nodes that merely lead into it.
		{[]*Package{pkg("A", "1", "X", "*"), pkg("X", "1", "Y", "*"), pkg("Y", "1", "X", "*")}, "X → Y → X"},
		// ... and past the nodes the cycle leads to, which stop after it.
		{[]*Package{pkg("X", "1", "Y", "*"), pkg("Y", "1", "X", "*", "A", "*"), pkg("A", "1")}, "X → Y → X"},
	} {
		for _, f := range []func([]*Package) ([]*Package, error){StartOrder, StopOrder} {
			_, err := f(tc.pkgs)
			require.ErrorContains(t, err, "dependency cycle: "+tc.cycle)
			require.True(t, fault.Is(err, fault.Invalid))
		}
		require.ErrorContains(t, CheckSet(tc.pkgs), tc.cycle)
	}
}

func TestCheckSetNamesTheUnmetConstraint(t *testing.T) {
	t.Parallel()
	pkgs := tdp()
	pkgs[3] = pkg("YARN", "3.3.6", "HDFS", "=3.3.4", "ZOOKEEPER", ">=3.5")
	err := CheckSet(pkgs)
	require.ErrorContains(t, err, "YARN 3.3.6 needs HDFS =3.3.4, which HDFS 3.3.6 does not satisfy")
	fe, _ := fault.As(err)
	require.Equal(t, "input.packages", fe.Field)

	err = CheckSet(tdp()[:5])
	require.ErrorContains(t, err, "HBASE 2.5.8 depends on ZOOKEEPER >=3.5, which the stack version does not contain")
	require.NoError(t, CheckSet(tdp()))
}

func TestResolveFullAndPartial(t *testing.T) {
	t.Parallel()
	base := []*Package{pkg("ZOOKEEPER", "3.6.4"), pkg("HDFS", "3.3.4", "ZOOKEEPER", ">=3.5"),
		pkg("YARN", "3.3.4", "HDFS", "=3.3.4"), pkg("SPARK", "3.3.2", "YARN", ">=3.2")}

	// A partial version upgrading Spark only: the rest stays.
	r, err := Resolve(base, &Version{Partial: true, Packages: []*Package{pkg("SPARK", "3.5.1", "YARN", ">=3.3")}})
	require.NoError(t, err)
	require.Equal(t, []string{"HDFS 3.3.4", "SPARK 3.5.1", "YARN 3.3.4", "ZOOKEEPER 3.6.4"}, labels(r.Packages))
	require.Equal(t, []Change{{Service: "SPARK", From: "3.3.2", To: "3.5.1"}}, r.Changes)

	// A partial version adding a service.
	r, err = Resolve(base, &Version{Partial: true, Packages: []*Package{pkg("HIVE", "4.0.0", "HDFS", ">=3.2")}})
	require.NoError(t, err)
	require.Equal(t, []Change{{Service: "HIVE", To: "4.0.0"}}, r.Changes)

	// A partial HDFS upgrade breaks YARN's pin: refused, naming it.
	_, err = Resolve(base, &Version{Partial: true, Packages: []*Package{pkg("HDFS", "3.3.6", "ZOOKEEPER", ">=3.5")}})
	require.ErrorContains(t, err, "YARN 3.3.4 needs HDFS =3.3.4, which HDFS 3.3.6 does not satisfy")

	// A partial version whose own dependency the base does not meet.
	_, err = Resolve(base, &Version{Partial: true, Packages: []*Package{pkg("SPARK", "3.5.1", "YARN", ">=3.4")}})
	require.ErrorContains(t, err, "SPARK 3.5.1 needs YARN >=3.4, which YARN 3.3.4 does not satisfy")

	// A full version replaces everything: services it lacks are removed.
	r, err = Resolve(base, &Version{Packages: []*Package{pkg("ZOOKEEPER", "3.8.3"), pkg("HDFS", "3.3.4", "ZOOKEEPER", ">=3.5")}})
	require.NoError(t, err)
	require.Equal(t, []Change{{Service: "SPARK", From: "3.3.2"}, {Service: "YARN", From: "3.3.4"},
		{Service: "ZOOKEEPER", From: "3.6.4", To: "3.8.3"}}, r.Changes)

	// The resolved set orders.
	start, err := StartOrder(r.Packages)
	require.NoError(t, err)
	require.Equal(t, []string{"ZOOKEEPER", "HDFS"}, services(start))
}

func TestBuildGraph(t *testing.T) {
	t.Parallel()
	g := BuildGraph([]*Package{pkg("HDFS", "3.3.6", "ZOOKEEPER", ">=3.9"), pkg("YARN", "3.3.6", "HDFS", "=3.3.6", "KAFKA", "*")})
	require.Len(t, g.Nodes, 2)
	require.Equal(t, []GraphEdge{
		{From: "HDFS", To: "ZOOKEEPER", Constraint: ">=3.9", Missing: true},
		{From: "YARN", To: "HDFS", Constraint: "=3.3.6", Satisfied: true},
		{From: "YARN", To: "KAFKA", Constraint: "*", Missing: true},
	}, g.Edges)
	require.Equal(t, 0, g.Nodes[0].Position)
	require.Equal(t, 1, g.Nodes[1].Position)
}

// graph200 is a layered graph of n services, each depending on up to three
// services of lower layers, as a large stack would; every service has its own
// version and every dependency its own constraint, so no parse is shared.
// The target is a partial version upgrading every fourth service.
func graph200(n int) (base []*Package, target *Version) {
	for i := range n {
		p := pkg(fmt.Sprintf("SVC%03d", i), fmt.Sprintf("1.%d.0", i))
		seen := map[int]bool{}
		for _, d := range []int{i - 1, i / 2, i / 3} {
			if d >= 0 && d < i && !seen[d] {
				seen[d] = true
				p.Ops.DependsOn = append(p.Ops.DependsOn,
					Dependency{Service: fmt.Sprintf("SVC%03d", d), Constraint: fmt.Sprintf(">=1.%d, <2", d)})
			}
		}
		base = append(base, p)
	}
	target = &Version{Partial: true}
	for i := 0; i < n; i += 4 {
		p := *base[i]
		p.Info.Version = fmt.Sprintf("1.%d.1", i)
		target.Packages = append(target.Packages, &p)
	}
	return base, target
}

// BenchmarkResolveAndStartOrder200 resolves a partial version over a
// 200-service base and orders the result: the planner's work per cluster.
func BenchmarkResolveAndStartOrder200(b *testing.B) {
	base, target := graph200(200)
	b.ReportAllocs()
	for b.Loop() {
		r, err := Resolve(base, target)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := StartOrder(r.Packages); err != nil {
			b.Fatal(err)
		}
		if len(r.Changes) != 50 {
			b.Fatalf("%d changes, want 50", len(r.Changes))
		}
	}
}
