package invfile

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"
)

// The YAML and CSV examples in docs/examples describe the same inventory.
func TestExamplesParseToTheSameInventory(t *testing.T) {
	t.Parallel()
	read := func(name string, f Format) *File {
		b, err := os.ReadFile("../../../docs/examples/" + name)
		require.NoError(t, err)
		file, err := Parse(f, b)
		require.NoError(t, err)
		return file
	}
	y, c := read("inventory.yaml", YAML), read("inventory.csv", CSV)
	require.Len(t, y.BUs, 4)
	require.Len(t, y.People, 4)
	require.Len(t, y.Clusters, 2)
	require.Len(t, y.Hosts, 4)
	strip := func(f *File) *File {
		for i := range f.BUs {
			f.BUs[i].Line = 0
		}
		for i := range f.People {
			f.People[i].Line = 0
		}
		for i := range f.Clusters {
			f.Clusters[i].Line = 0
		}
		for i := range f.Hosts {
			f.Hosts[i].Line = 0
		}
		return f
	}
	require.Equal(t, strip(y), strip(c))
	require.EqualValues(t, 256<<30, *y.Hosts[0].MemoryBytes)
	require.EqualValues(t, 4<<40, *y.Hosts[0].DiskBytes)
	require.EqualValues(t, 25_000_000_000, *y.Hosts[0].NICBps)
	require.Nil(t, y.Hosts[3].CPUCores, "a fact left out stays unstated")
}

// Each malformed entry is refused naming its line; duplicates name both lines.
func TestParseRefusesBadEntriesNamingTheLine(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		format  Format
		content string
		want    []string
	}{
		{"duplicate hostname", YAML, "hosts:\n  - {hostname: a, cluster: c}\n  - {hostname: a, cluster: c}\n",
			[]string{"line 3: duplicate hostname a (first on line 2)"}},
		{"duplicate login", YAML, "people:\n  - {login: x, name: X, bu: B}\n  - {login: x, name: Y, bu: B}\n",
			[]string{"line 3: duplicate login x (first on line 2)"}},
		{"duplicate code", YAML, "bus:\n  - {code: B, name: B}\n  - {code: B, name: C}\n", []string{"line 3: duplicate BU code B"}},
		{"unknown role", YAML, "people:\n  - {login: x, name: X, bu: B, role: ROOT}\n", []string{`line 2: unknown role "ROOT"`}},
		{"bad kind", YAML, "clusters:\n  - {name: c, region: r, kind: HPC}\n", []string{`line 2: unknown cluster kind "HPC"`}},
		{"bad number", YAML, "hosts:\n  - {hostname: a, cluster: c, cpu_cores: -4}\n", []string{"line 2: cpu_cores: -4 is not a valid cpu_cores"}},
		{"bad size", YAML, "hosts:\n  - {hostname: a, cluster: c, memory: 12 parsecs}\n", []string{"line 2: memory: 12 parsecs"}},
		{"unknown field", YAML, "hosts:\n  - {hostname: a, cluster: c, colour: red}\n", []string{"line 2: hosts entry:"}},
		{"unknown section", YAML, "servers:\n  - {hostname: a}\n", []string{`unknown section "servers"`}},
		{"not yaml", YAML, "bus: [\n", []string{"not valid YAML"}},
		{"csv bad kind", CSV, "kind,code,name\nteam,X,Y\n", []string{`line 2: unknown kind "team"`}},
		{"csv wrong column for kind", CSV, "kind,code,name,hostname\nbu,X,Y,h1\n", []string{"line 2: column hostname does not apply to a bu"}},
		{"csv unknown column", CSV, "kind,colour\nbu,red\n", []string{`unknown column "colour"`}},
		{"csv no kind", CSV, "code,name\nX,Y\n", []string{"needs a kind column"}},
		{"csv bad number", CSV, "kind,hostname,cluster,cpu_cores\nhost,a,c,many\n", []string{"line 2: cpu_cores: many"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.format, []byte(tc.content))
			require.Error(t, err)
			for _, w := range tc.want {
				require.Contains(t, err.Error(), w)
			}
		})
	}
}
