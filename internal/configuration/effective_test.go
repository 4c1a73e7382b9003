package configuration

import (
	"crypto/sha256"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

func ref(scope int64, service, path, content string) FileRef {
	return FileRef{Scope: scope, Service: service, Path: path, SHA: sha256.Sum256([]byte(content))}
}

// The overlay order: the default first, then the host's groups by ascending
// position, the later group's file replacing the earlier one whole. Two
// groups setting the same file is the conflict: the higher position wins,
// whatever the rule kinds or the order the groups were given in.
func TestEffectiveOverlayOrderAndConflicts(t *testing.T) {
	t.Parallel()
	racks := Group{ID: 10, Name: "rack-r1", Position: 1, Rule: ByRack, Values: []string{"r1"}}
	models := Group{ID: 20, Name: "big-boxes", Position: 2, Rule: ByModel, Values: []string{"R750"}}
	pinned := Group{ID: 30, Name: "pinned", Position: 3, Rule: ByList, Hosts: []int64{4}}
	learned := Group{ID: 40, Name: "hot", Position: 4, Rule: ByMachineGroup, Values: []string{"2"}}
	files := []FileRef{
		ref(DefaultScope, "HDFS", "hdfs-site.xml", "default"),
		ref(DefaultScope, "HDFS", "core-site.xml", "default core"),
		ref(DefaultScope, "YARN", "yarn-site.xml", "default yarn"),
		ref(10, "HDFS", "hdfs-site.xml", "rack r1"),
		ref(20, "HDFS", "hdfs-site.xml", "R750"),
		ref(20, "YARN", "yarn-site.xml", "R750 yarn"),
		ref(30, "YARN", "yarn-site.xml", "pinned yarn"),
		ref(40, "HDFS", "extra.properties", "hot only"),
	}
	hosts := []HostAttrs{
		{ID: 1},                                // no group
		{ID: 2, Rack: "r1"},                    // rack only
		{ID: 3, Rack: "r1", Model: "R750"},     // rack and model: model wins (position 2)
		{ID: 4, Rack: "r1", Model: "R750"},     // and listed: yarn from the list (position 3)
		{ID: 5, Rack: "r2", MachineGroup: "2"}, // a file only the group has is added
		{ID: 6, Rack: "r1", Model: "R750", MachineGroup: "2"},
	}
	content := map[[32]byte]string{}
	for _, s := range []string{"default", "default core", "default yarn", "rack r1", "R750", "R750 yarn", "pinned yarn", "hot only"} {
		content[sha256.Sum256([]byte(s))] = s
	}
	view := func(e *Effective, h int64) map[string]string {
		out := map[string]string{}
		for _, f := range e.Files(h) {
			out[f.Service+"/"+f.Path] = content[f.SHA]
		}
		return out
	}
	// The order groups are passed in does not matter: position decides.
	for _, order := range [][]Group{{racks, models, pinned, learned}, {learned, pinned, models, racks}} {
		e := ComputeEffective(hosts, order, files)
		require.Equal(t, map[string]string{"HDFS/hdfs-site.xml": "default", "HDFS/core-site.xml": "default core", "YARN/yarn-site.xml": "default yarn"}, view(e, 1))
		require.Equal(t, "rack r1", view(e, 2)["HDFS/hdfs-site.xml"])
		require.Equal(t, "R750", view(e, 3)["HDFS/hdfs-site.xml"])
		require.Equal(t, "R750 yarn", view(e, 3)["YARN/yarn-site.xml"])
		require.Equal(t, map[string]string{"HDFS/hdfs-site.xml": "R750", "HDFS/core-site.xml": "default core", "YARN/yarn-site.xml": "pinned yarn"}, view(e, 4))
		require.Equal(t, "hot only", view(e, 5)["HDFS/extra.properties"])
		require.Equal(t, "default", view(e, 5)["HDFS/hdfs-site.xml"])
		require.Len(t, view(e, 6), 4)
		require.Equal(t, []int64{10, 20, 40}, e.Groups[e.HostProfile[6]])
		// Hosts 3 and 4 differ by the list group only: two profiles.
		require.NotEqual(t, e.HostProfile[3], e.HostProfile[4])
		require.Len(t, e.Profiles, 6)
	}
	// Swapping the positions of the rack and model groups swaps the winner.
	racks.Position, models.Position = 2, 1
	e := ComputeEffective(hosts, []Group{racks, models, pinned, learned}, files)
	require.Equal(t, "rack r1", view(e, 3)["HDFS/hdfs-site.xml"])
}

// benchCluster is a 20,000-host cluster with 50 groups of every rule kind
// (racks, models, machine groups, lists), a cluster default of 40 files and
// a few files per group.
func benchCluster() ([]HostAttrs, []Group, []FileRef) {
	const nHosts, nGroups = 20000, 50
	hosts := make([]HostAttrs, nHosts)
	for i := range hosts {
		hosts[i] = HostAttrs{ID: int64(i + 1), Rack: fmt.Sprintf("r%02d", i%40), Model: fmt.Sprintf("m%d", i%7), MachineGroup: fmt.Sprint(i % 5)}
	}
	var groups []Group
	var files []FileRef
	for s := range 4 {
		for f := range 10 {
			files = append(files, ref(DefaultScope, fmt.Sprintf("S%d", s), fmt.Sprintf("f%d.xml", f), fmt.Sprint(s, f)))
		}
	}
	for g := range nGroups {
		gr := Group{ID: int64(g + 1), Name: fmt.Sprint("g", g), Position: g + 1}
		switch g % 4 {
		case 0:
			gr.Rule, gr.Values = ByRack, []string{fmt.Sprintf("r%02d", g%40), fmt.Sprintf("r%02d", (g+1)%40)}
		case 1:
			gr.Rule, gr.Values = ByModel, []string{fmt.Sprintf("m%d", g%7)}
		case 2:
			gr.Rule, gr.Values = ByMachineGroup, []string{fmt.Sprint(g % 5)}
		case 3:
			gr.Rule = ByList
			for h := g; h < nHosts; h += 97 {
				gr.Hosts = append(gr.Hosts, int64(h+1))
			}
		}
		groups = append(groups, gr)
		for f := range 3 {
			files = append(files, ref(gr.ID, fmt.Sprintf("S%d", f), fmt.Sprintf("f%d.xml", g%10), fmt.Sprint("g", g, f)))
		}
	}
	return hosts, groups, files
}

func BenchmarkComputeEffective20kHosts50Groups(b *testing.B) {
	hosts, groups, files := benchCluster()
	b.ReportAllocs()
	var e *Effective
	for b.Loop() {
		e = ComputeEffective(hosts, groups, files)
	}
	b.ReportMetric(float64(len(e.Profiles)), "profiles")
}
