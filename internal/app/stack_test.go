package app

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/fixture"
)

// Stacks through the real handler: an operator registers typed packages and
// a stack version; the version reads back with its dependency graph and start
// order; a cycle and a bad checksum are user errors naming what is wrong; a
// viewer is refused; every attempt is audited.
func TestStackRegistrationThroughGraphQL(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const register = `mutation($in: RegisterServicePackageInput!) { registerServicePackage(input: $in) {
		package { id service version build checksum source { kind uri ref } dependencies { service constraint }
			startOrder healthCheck { kind target timeout } restartPolicy maxRestarts registeredAt }
		userErrors { field message code } } }`
	sum := "sha256:" + strings.Repeat("ab", 32)
	pkg := func(service, version string, deps ...map[string]any) map[string]any {
		return map[string]any{"service": service,
			"info": map[string]any{"version": version, "checksum": sum, "source": map[string]any{"kind": "TAR", "uri": "https://repo.example.com/" + strings.ToLower(service) + "-" + version + ".tar.gz"}},
			"ops":  map[string]any{"dependsOn": deps, "health": map[string]any{"kind": "HTTP", "target": "http://localhost:9870/", "timeout": "5s"}}}
	}
	r := e.gql(t, e.as(fixture.Operator), register, map[string]any{"in": pkg("zk", "3.8.4")})
	require.Empty(t, r.Errors, r.Raw)
	require.Empty(t, dig(r.Data, "registerServicePackage", "userErrors"), r.Raw)
	require.Equal(t, "ZK", dig(r.Data, "registerServicePackage", "package", "service"))
	require.Equal(t, "5s", dig(r.Data, "registerServicePackage", "package", "healthCheck", "timeout"))
	require.Equal(t, "ON_FAILURE", dig(r.Data, "registerServicePackage", "package", "restartPolicy"))
	r = e.gql(t, e.as(fixture.Operator), register, map[string]any{"in": pkg("hdfs", "3.3.6", map[string]any{"service": "ZK", "constraint": ">=3.8, <4"})})
	require.Empty(t, dig(r.Data, "registerServicePackage", "userErrors"), r.Raw)
	require.Equal(t, ">=3.8, <4", dig(r.Data, "registerServicePackage", "package", "dependencies", 0, "constraint"))

	bad := pkg("yarn", "3.3.6")
	bad["info"].(map[string]any)["checksum"] = "md5:1234"
	r = e.gql(t, e.as(fixture.Operator), register, map[string]any{"in": bad})
	require.Equal(t, []any{"input", "info", "checksum"}, dig(r.Data, "registerServicePackage", "userErrors", 0, "field"), r.Raw)
	r = e.gql(t, e.as(fixture.Operator), register, map[string]any{"in": pkg("zk", "3.8.4")})
	require.Equal(t, "CONFLICT", dig(r.Data, "registerServicePackage", "userErrors", 0, "code"), r.Raw)
	r = e.gql(t, e.as(fixture.Viewer), register, map[string]any{"in": pkg("kafka", "3.7.0")})
	require.Equal(t, "FORBIDDEN", r.code(), r.Raw)

	const create = `mutation($in: CreateStackVersionInput!) { createStackVersion(input: $in) {
		stackVersion { id version partial startOrder
			dependencyGraph { nodes { service version position package { id checksum } } edges { from to constraint missing satisfied } } }
		userErrors { field message code } } }`
	r = e.gql(t, e.as(fixture.Operator), create, map[string]any{"in": map[string]any{"stack": "test-stack", "version": "1.0",
		"packages": []any{map[string]any{"service": "HDFS", "version": "3.3.6"}, map[string]any{"service": "ZK", "version": "3.8.4"}}}})
	require.Empty(t, r.Errors, r.Raw)
	require.Empty(t, dig(r.Data, "createStackVersion", "userErrors"), r.Raw)
	v := dig(r.Data, "createStackVersion", "stackVersion")
	require.Equal(t, []any{"ZK", "HDFS"}, dig(v, "startOrder"), "ZooKeeper first: HDFS depends on it")
	require.Equal(t, false, dig(v, "partial"))
	require.Equal(t, "HDFS", dig(v, "dependencyGraph", "edges", 0, "from"))
	require.Equal(t, true, dig(v, "dependencyGraph", "edges", 0, "satisfied"))
	require.Equal(t, sum, dig(v, "dependencyGraph", "nodes", 0, "package", "checksum"))

	// ZK 3.9 depends on HDFS, which depends on ZK: a cycle, named.
	r = e.gql(t, e.as(fixture.Operator), register, map[string]any{"in": pkg("zk", "3.9.0", map[string]any{"service": "HDFS"})})
	require.Empty(t, dig(r.Data, "registerServicePackage", "userErrors"), r.Raw)
	r = e.gql(t, e.as(fixture.Operator), create, map[string]any{"in": map[string]any{"stack": "test-stack", "version": "2.0",
		"packages": []any{map[string]any{"service": "HDFS", "version": "3.3.6"}, map[string]any{"service": "ZK", "version": "3.9.0"}}}})
	ue := dig(r.Data, "createStackVersion", "userErrors", 0)
	require.NotNil(t, ue, r.Raw)
	require.Contains(t, dig(ue, "message"), "→", r.Raw)

	r = e.gql(t, e.as(fixture.Admin), `{ servicePackages(service: "zk", first: 10) { totalCount nodes { version } } }`, nil)
	require.Empty(t, r.Errors, r.Raw)
	require.Equal(t, float64(2), dig(r.Data, "servicePackages", "totalCount"))

	var audited int
	require.NoError(t, e.db.Pool.QueryRow(t.Context(), `SELECT count(*) FROM audit_log WHERE action IN ('registerServicePackage', 'createStackVersion')`).Scan(&audited))
	require.GreaterOrEqual(t, audited, 7, "every attempt, refusals included")
}
