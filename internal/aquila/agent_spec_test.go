package aquila

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/agenttask"
)

func TestAgentSpecFromPackageTemplate(t *testing.T) {
	t.Parallel()
	kind, target, timeout := "HTTP", ":9870/jmx", 3000
	p := &agentPackage{service: "HDFS", version: "3.3.6", checksum: testChecksum, kind: "TAR", uri: "https://repo.example/hdfs.tgz",
		healthKind: &kind, healthTarget: &target, healthTimeoutMS: &timeout,
		template: json.RawMessage(`{"process": {"command": ["bin/hdfs", "--host", "{hostname}"], "env": {"V": "{version}"}},
			"config": [{"path": "conf/addr", "content": "{ip}:9870\n"}]}`)}
	s, err := p.spec(agenttask.ActionDeploy, "dn-01", "10.0.0.7")
	require.NoError(t, err)
	require.NoError(t, s.Validate())
	require.Equal(t, []string{"bin/hdfs", "--host", "dn-01"}, s.Process.Command)
	require.Equal(t, "3.3.6", s.Process.Env["V"])
	require.Equal(t, "10.0.0.7:9870\n", s.Config[0].Content)
	require.Equal(t, &agenttask.Source{Kind: "TAR", Location: "https://repo.example/hdfs.tgz", Checksum: testChecksum}, s.Source)
	// No health in the template: the package's typed check, on the host's address.
	require.Equal(t, &agenttask.HealthCheck{Kind: "HTTP", URL: "http://10.0.0.7:9870/jmx", TimeoutMS: 3000}, s.Health)

	stop, err := p.spec(agenttask.ActionStop, "dn-01", "10.0.0.7")
	require.NoError(t, err)
	require.NoError(t, stop.Validate())
	require.Nil(t, stop.Source)

	p.kind = "RPM"
	_, err = p.spec(agenttask.ActionDeploy, "dn-01", "10.0.0.7")
	require.ErrorContains(t, err, "TAR and GIT")
	// A hostname with a quote cannot break the template's JSON.
	p.kind = "TAR"
	s, err = p.spec(agenttask.ActionDeploy, `we"ird`, "10.0.0.7")
	require.NoError(t, err)
	require.Equal(t, `we"ird`, s.Process.Command[2])
}

const testChecksum = "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
