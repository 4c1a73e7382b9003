package app

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/graph/model"
	"github.com/teslaops/tesla/internal/fixture"
)

// Configuration as code through the real handler: an invalid file is refused
// at proposal naming its line; the author sees no approve and cannot approve
// their own change; another operator's approval makes it APPROVED; applying it
// makes version 1 and a CONFIG_APPLY that a working engine runs to SUCCEEDED,
// after which no service is stale; a change on an old base is a CONFLICT
// naming the newer version; a rollback makes a new version with the old
// content; a viewer is refused the configuration alone; every mutation is
// audited.
func TestConfigurationThroughGraphQL(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	startWorkingEngine(t, e)
	// online-1 has no host out of service: a rollout's 10% share is free.
	cluster := model.GlobalID(model.KindCluster, e.fleet.Clusters["online-1"])
	const propose = `mutation($in: ProposeConfigChangeInput!) { proposeConfigChange(input: $in) {
		change { id state baseVersion approvals requiredApprovals canApprove files { service path content } diffs { path diff } }
		userErrors { field message code } } }`
	file := func(content string) map[string]any {
		return map[string]any{"cluster": cluster, "baseVersion": 0, "message": "more NodeManager memory",
			"files": []any{map[string]any{"service": "YARN", "path": "yarn-site.xml", "content": content}}}
	}
	const bad = "<configuration>\n  <property><name>yarn.nodemanager.resource.memory-mb</name><value>8192</value></property>\n  <property><name>yarn.nodemanager.no-such-key</name><value>1</value></property>\n</configuration>\n"
	r := e.gql(t, e.as(fixture.Operator), propose, map[string]any{"in": file(bad)})
	require.Empty(t, r.Errors, r.Raw)
	require.Equal(t, "BAD_USER_INPUT", dig(r.Data, "proposeConfigChange", "userErrors", 0, "code"), r.Raw)
	require.Contains(t, dig(r.Data, "proposeConfigChange", "userErrors", 0, "message"), "line 3", r.Raw)

	const good = "<configuration>\n  <property><name>yarn.nodemanager.resource.memory-mb</name><value>8192</value></property>\n</configuration>\n"
	r = e.gql(t, e.as(fixture.Operator), propose, map[string]any{"in": file(good)})
	require.Empty(t, r.Errors, r.Raw)
	require.Empty(t, dig(r.Data, "proposeConfigChange", "userErrors"), r.Raw)
	ch := dig(r.Data, "proposeConfigChange", "change")
	changeID := dig(ch, "id").(string)
	require.Equal(t, "PROPOSED", dig(ch, "state"))
	require.Equal(t, false, dig(ch, "canApprove"), "the author may not approve their own change")
	require.Contains(t, dig(ch, "diffs", 0, "diff"), "+  <property><name>yarn.nodemanager.resource.memory-mb</name>", r.Raw)

	const review = `mutation($in: ReviewConfigChangeInput!) { reviewConfigChange(input: $in) {
		change { state approvals reviews { reviewer approve comment } } userErrors { message code } } }`
	r = e.gql(t, e.as(fixture.Operator), review, map[string]any{"in": map[string]any{"id": changeID, "approve": true}})
	require.Equal(t, "FORBIDDEN", r.code(), r.Raw)
	r = e.gql(t, e.as(fixture.Viewer), review, map[string]any{"in": map[string]any{"id": changeID, "approve": true}})
	require.Equal(t, "FORBIDDEN", r.code(), r.Raw)

	// The review queue, as another operator sees it.
	const queue = `query($id: ID!) { node(id: $id) { ... on Cluster { config { version requiredApprovals
		changes(state: PROPOSED) { id author canApprove files { path } diffs { path } } } } } }`
	r = e.gql(t, e.as(fixture.Admin), queue, map[string]any{"id": cluster})
	require.Empty(t, r.Errors, r.Raw)
	require.Equal(t, changeID, dig(r.Data, "node", "config", "changes", 0, "id"))
	require.Equal(t, true, dig(r.Data, "node", "config", "changes", 0, "canApprove"))
	require.Equal(t, "yarn-site.xml", dig(r.Data, "node", "config", "changes", 0, "diffs", 0, "path"))
	require.EqualValues(t, 1, dig(r.Data, "node", "config", "requiredApprovals"))

	r = e.gql(t, e.as(fixture.Admin), review, map[string]any{"in": map[string]any{"id": changeID, "approve": true, "comment": "ok"}})
	require.Empty(t, r.Errors, r.Raw)
	require.Equal(t, "APPROVED", dig(r.Data, "reviewConfigChange", "change", "state"), r.Raw)

	const apply = `mutation($in: ApplyConfigChangeInput!) { applyConfigChange(input: $in) {
		version { version author message change { id } files { service path content } } operation { id kind } rolloutError
		userErrors { message code } } }`
	r = e.gql(t, e.as(fixture.Operator), apply, map[string]any{"in": map[string]any{"id": changeID}})
	require.Empty(t, r.Errors, r.Raw)
	require.Empty(t, dig(r.Data, "applyConfigChange", "userErrors"), r.Raw)
	require.EqualValues(t, 1, dig(r.Data, "applyConfigChange", "version", "version"))
	require.Equal(t, changeID, dig(r.Data, "applyConfigChange", "version", "change", "id"))
	require.Equal(t, "CONFIG_APPLY", dig(r.Data, "applyConfigChange", "operation", "kind"), r.Raw)
	opID := dig(r.Data, "applyConfigChange", "operation", "id").(string)

	// The rollout runs; then nothing is stale.
	deadline := time.Now().Add(60 * time.Second)
	for {
		r = e.gql(t, e.as(fixture.Viewer), `query($id: ID!) { operation(id: $id) { state } }`, map[string]any{"id": opID})
		require.Empty(t, r.Errors, r.Raw)
		if dig(r.Data, "operation", "state") == "SUCCEEDED" {
			break
		}
		require.True(t, time.Now().Before(deadline), "the CONFIG_APPLY did not succeed: %s", r.Raw)
		time.Sleep(100 * time.Millisecond)
	}
	const stale = `query($id: ID!) { node(id: $id) { ... on Cluster { config { version stale { current total components { hostname service } } } } } }`
	r = e.gql(t, e.as(fixture.Operator), stale, map[string]any{"id": cluster})
	require.Empty(t, r.Errors, r.Raw)
	require.EqualValues(t, 1, dig(r.Data, "node", "config", "stale", "current"))
	require.EqualValues(t, 0, dig(r.Data, "node", "config", "stale", "total"), r.Raw)

	// A change written against version 0 is a CONFLICT naming version 1.
	r = e.gql(t, e.as(fixture.Operator), propose, map[string]any{"in": file(good)})
	require.Equal(t, "CONFLICT", dig(r.Data, "proposeConfigChange", "userErrors", 0, "code"), r.Raw)
	require.Contains(t, dig(r.Data, "proposeConfigChange", "userErrors", 0, "message"), "1", r.Raw)

	// Version 2 doubles the memory; rolling back to version 1 makes version 3
	// with version 1's content.
	waitOp := func(id string) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			r := e.gql(t, e.as(fixture.Viewer), `query($id: ID!) { operation(id: $id) { state } }`, map[string]any{"id": id})
			require.Empty(t, r.Errors, r.Raw)
			if dig(r.Data, "operation", "state") == "SUCCEEDED" {
				return
			}
			require.True(t, time.Now().Before(deadline), "the CONFIG_APPLY did not succeed: %s", r.Raw)
			time.Sleep(100 * time.Millisecond)
		}
	}
	in2 := file(strings.Replace(good, "8192", "16384", 1))
	in2["baseVersion"] = 1
	r = e.gql(t, e.as(fixture.Operator), propose, map[string]any{"in": in2})
	require.Empty(t, dig(r.Data, "proposeConfigChange", "userErrors"), r.Raw)
	change2 := dig(r.Data, "proposeConfigChange", "change", "id").(string)
	r = e.gql(t, e.as(fixture.Admin), review, map[string]any{"in": map[string]any{"id": change2, "approve": true}})
	require.Equal(t, "APPROVED", dig(r.Data, "reviewConfigChange", "change", "state"), r.Raw)
	r = e.gql(t, e.as(fixture.Operator), apply, map[string]any{"in": map[string]any{"id": change2}})
	require.EqualValues(t, 2, dig(r.Data, "applyConfigChange", "version", "version"), r.Raw)
	waitOp(dig(r.Data, "applyConfigChange", "operation", "id").(string))

	const rollback = `mutation($in: RollbackConfigInput!) { rollbackConfig(input: $in) {
		version { version rollbackOf files { path content } } operation { kind } userErrors { message code } } }`
	r = e.gql(t, e.as(fixture.Viewer), rollback, map[string]any{"in": map[string]any{"cluster": cluster, "toVersion": 1, "reason": "slow"}})
	require.Equal(t, "FORBIDDEN", r.code(), r.Raw)
	r = e.gql(t, e.as(fixture.Operator), rollback, map[string]any{"in": map[string]any{"cluster": cluster, "toVersion": 1, "reason": "jobs slower"}})
	require.Empty(t, r.Errors, r.Raw)
	require.Empty(t, dig(r.Data, "rollbackConfig", "userErrors"), r.Raw)
	require.EqualValues(t, 3, dig(r.Data, "rollbackConfig", "version", "version"))
	require.EqualValues(t, 1, dig(r.Data, "rollbackConfig", "version", "rollbackOf"))
	require.Equal(t, good, dig(r.Data, "rollbackConfig", "version", "files", 0, "content"))
	require.Equal(t, "CONFIG_APPLY", dig(r.Data, "rollbackConfig", "operation", "kind"), r.Raw)

	const history = `query($id: ID!) { node(id: $id) { ... on Cluster { config { version
		versions { version author message rollbackOf } diff(from: 2, to: 3) { path diff } } } } }`
	r = e.gql(t, e.as(fixture.Operator), history, map[string]any{"id": cluster})
	require.Empty(t, r.Errors, r.Raw)
	require.EqualValues(t, 3, dig(r.Data, "node", "config", "version"))
	require.Len(t, dig(r.Data, "node", "config", "versions"), 3)
	require.Contains(t, dig(r.Data, "node", "config", "diff", 0, "diff"), "+  <property><name>yarn.nodemanager.resource.memory-mb</name><value>8192</value>", r.Raw)

	// A viewer reads the cluster, but its configuration alone is refused.
	r = e.gql(t, e.as(fixture.Viewer), `query($id: ID!) { node(id: $id) { ... on Cluster { name config { version } } } }`, map[string]any{"id": cluster})
	require.Equal(t, "FORBIDDEN", r.code(), r.Raw)
	require.Equal(t, "online-1", dig(r.Data, "node", "name"), r.Raw)

	// Groups and approvals are ADMIN's.
	const group = `mutation($in: SetConfigGroupInput!) { setConfigGroup(input: $in) { group { name rule hosts { hostname } } userErrors { field message code } } }`
	var host string
	require.NoError(t, e.db.Pool.QueryRow(context.Background(), `SELECT hostname FROM host WHERE cluster_id = $1 ORDER BY hostname LIMIT 1`,
		e.fleet.Clusters["online-1"]).Scan(&host))
	in := map[string]any{"cluster": cluster, "name": "big-memory", "position": 1, "rule": "LIST", "hosts": []any{host}}
	r = e.gql(t, e.as(fixture.Operator), group, map[string]any{"in": in})
	require.Equal(t, "FORBIDDEN", r.code(), r.Raw)
	r = e.gql(t, e.as(fixture.Admin), group, map[string]any{"in": map[string]any{"cluster": cluster, "name": "big-memory", "position": 1,
		"rule": "LIST", "hosts": []any{host, "no-such-host"}}})
	require.Equal(t, []any{"input", "hosts"}, dig(r.Data, "setConfigGroup", "userErrors", 0, "field"), r.Raw)
	require.Contains(t, dig(r.Data, "setConfigGroup", "userErrors", 0, "message"), "no-such-host", r.Raw)
	r = e.gql(t, e.as(fixture.Admin), group, map[string]any{"in": in})
	require.Empty(t, r.Errors, r.Raw)
	require.Equal(t, host, dig(r.Data, "setConfigGroup", "group", "hosts", 0, "hostname"), r.Raw)
	r = e.gql(t, e.as(fixture.Admin), `mutation($in: SetRequiredConfigApprovalsInput!) { setRequiredConfigApprovals(input: $in) {
		config { requiredApprovals } userErrors { message } } }`, map[string]any{"in": map[string]any{"cluster": cluster, "approvals": 2}})
	require.Empty(t, r.Errors, r.Raw)
	require.EqualValues(t, 2, dig(r.Data, "setRequiredConfigApprovals", "config", "requiredApprovals"))

	var audited int
	require.NoError(t, e.db.Pool.QueryRow(context.Background(), `SELECT count(DISTINCT action) FROM audit_log WHERE action IN
		('proposeConfigChange', 'reviewConfigChange', 'applyConfigChange', 'rollbackConfig', 'setConfigGroup', 'setRequiredConfigApprovals')`).Scan(&audited))
	require.Equal(t, 6, audited)
}

// Self-healing and keep-alive through the real handler: what was recorded
// reads back (attempts by state with their links, waiting hosts with the
// reason, the rate per day, a host's restarts and alerts); a cluster's
// healing policy is ADMIN's to set, its bad values refused by field.
func TestHealingThroughGraphQL(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	clusterID := e.fleet.Clusters["batch-wh-1"]
	cluster := model.GlobalID(model.KindCluster, clusterID)
	var hostID int64
	var hostname string
	require.NoError(t, e.db.Pool.QueryRow(ctx, `SELECT id, hostname FROM host WHERE cluster_id = $1 ORDER BY hostname LIMIT 1`, clusterID).Scan(&hostID, &hostname))
	for _, sql := range []string{
		`INSERT INTO healing_attempt (host_id, cluster_id, signals, detail, repair, state, reason, started_at, ended_at)
		 VALUES ($1, $2, '{HEARTBEAT}', 'no heartbeat for 5m', 'RESTART_SERVICES', 'HEALED', 'healed', now() - interval '2 hours', now() - interval '1 hour'),
		        ($1, $2, '{HARDWARE_FAULT}', 'disk failed', 'TICKET', 'HANDED_OVER', 'hardware fault', now() - interval '30 minutes', now() - interval '29 minutes')`,
		`INSERT INTO healing_wait (host_id, cluster_id, signals, reason, since, updated_at)
		 VALUES ($1, $2, '{ANOMALY}', 'healing budget: at most 1 host at once', now() - interval '10 minutes', now())`,
		`INSERT INTO component_restart (host_id, service, component, at, reason, outcome, detail)
		 VALUES ($1, 'YARN', 'NODEMANAGER', now(), 'STOPPED while desired STARTED', 'SUCCEEDED', '')`,
		`INSERT INTO keepalive_alert (host_id, cluster_id, service, component, raised_at, restarts, window_seconds, message)
		 VALUES ($1, $2, 'YARN', 'NODEMANAGER', now(), 3, 3600, 'YARN NODEMANAGER restarted 3 times within 1h; keep-alive stopped')`,
	} {
		args := []any{hostID}
		if strings.Contains(sql, "$2") {
			args = append(args, clusterID)
		}
		_, err := e.db.Pool.Exec(ctx, sql, args...)
		require.NoError(t, err, sql)
	}
	const read = `query($c: ID!) {
		healed: healingAttempts(state: HEALED, cluster: $c) { nodes { hostname host { hostname } cluster { name } signals repair state reason endedAt } }
		all: healingAttempts(first: 1) { nodes { state } pageInfo { hasNextPage endCursor } }
		healingWaiting(cluster: $c) { hostname signals reason }
		healingRate(days: 7) { healed handedOver rate }
		keepAliveAlerts { nodes { service component restarts window message host { hostname } } } }`
	r := e.gql(t, e.as(fixture.Viewer), read, map[string]any{"c": cluster})
	require.Empty(t, r.Errors, r.Raw)
	require.Equal(t, hostname, dig(r.Data, "healed", "nodes", 0, "host", "hostname"))
	require.Equal(t, []any{"HEARTBEAT"}, dig(r.Data, "healed", "nodes", 0, "signals"))
	require.Equal(t, "HANDED_OVER", dig(r.Data, "all", "nodes", 0, "state"), "newest first")
	require.Equal(t, true, dig(r.Data, "all", "pageInfo", "hasNextPage"))
	require.Contains(t, dig(r.Data, "healingWaiting", 0, "reason"), "healing budget")
	require.NotEmpty(t, dig(r.Data, "healingRate"))
	require.Equal(t, "1h0m0s", dig(r.Data, "keepAliveAlerts", "nodes", 0, "window"), r.Raw)

	after := dig(r.Data, "all", "pageInfo", "endCursor").(string)
	// Counts: over every page, with the list's filters.
	r = e.gql(t, e.as(fixture.Viewer), `query($c: ID!) {
		all: healingAttempts(first: 1) { totalCount nodes { state } }
		healed: healingAttempts(state: HEALED, cluster: $c, first: 1) { totalCount }
		failed: healingAttempts(state: FAILED, cluster: $c, first: 1) { totalCount } }`, map[string]any{"c": cluster})
	require.Empty(t, r.Errors, r.Raw)
	require.EqualValues(t, 2, dig(r.Data, "all", "totalCount"), "every page")
	require.Len(t, dig(r.Data, "all", "nodes"), 1)
	require.EqualValues(t, 1, dig(r.Data, "healed", "totalCount"))
	require.EqualValues(t, 0, dig(r.Data, "failed", "totalCount"))
	r = e.gql(t, "", `{ healingAttempts { totalCount } }`, nil)
	require.Equal(t, "UNAUTHENTICATED", r.code(), r.Raw)
	// Another cluster's rate and alerts hold none of these.
	other := model.GlobalID(model.KindCluster, e.fleet.Clusters["online-1"])
	r = e.gql(t, e.as(fixture.Viewer), `query($c: ID!) { healingRate(days: 7, cluster: $c) { healed } keepAliveAlerts(cluster: $c) { nodes { message } } }`,
		map[string]any{"c": other})
	require.Empty(t, r.Errors, r.Raw)
	require.Equal(t, []any{}, dig(r.Data, "healingRate"), r.Raw)
	require.Equal(t, []any{}, dig(r.Data, "keepAliveAlerts", "nodes"), r.Raw)

	r = e.gql(t, e.as(fixture.Viewer), `query($a: String) { healingAttempts(first: 5, after: $a) { nodes { state } pageInfo { hasNextPage } } }`,
		map[string]any{"a": after})
	require.Empty(t, r.Errors, r.Raw)
	require.Equal(t, []any{map[string]any{"state": "HEALED"}}, dig(r.Data, "healingAttempts", "nodes"), r.Raw)
	r = e.gql(t, e.as(fixture.Viewer), `{ healingAttempts(after: "bogus") { nodes { state } } }`, nil)
	require.Equal(t, "BAD_USER_INPUT", r.code(), r.Raw)

	r = e.gql(t, e.as(fixture.Viewer), `query($h: String!) { host(hostname: $h) { restarts { service component outcome reason } keepAliveAlerts(openOnly: true) { message } } }`,
		map[string]any{"h": hostname})
	require.Empty(t, r.Errors, r.Raw)
	require.Equal(t, "SUCCEEDED", dig(r.Data, "host", "restarts", 0, "outcome"))
	require.Contains(t, dig(r.Data, "host", "keepAliveAlerts", 0, "message"), "keep-alive stopped")

	const policy = `mutation($in: SetHealingPolicyInput!) { setHealingPolicy(input: $in) {
		policy { enabled maxAtOnce maxPerDay allowReboot own updatedBy cluster { name } } userErrors { field message code } } }`
	r = e.gql(t, e.as(fixture.Operator), policy, map[string]any{"in": map[string]any{"cluster": cluster, "maxAtOnce": 2}})
	require.Equal(t, "FORBIDDEN", r.code(), r.Raw)
	r = e.gql(t, e.as(fixture.Admin), policy, map[string]any{"in": map[string]any{"cluster": cluster, "maxAtOnce": 0}})
	require.Equal(t, []any{"input", "maxAtOnce"}, dig(r.Data, "setHealingPolicy", "userErrors", 0, "field"), r.Raw)
	r = e.gql(t, e.as(fixture.Admin), policy, map[string]any{"in": map[string]any{"cluster": cluster, "maxAtOnce": 2, "allowReboot": false}})
	require.Empty(t, r.Errors, r.Raw)
	require.EqualValues(t, 2, dig(r.Data, "setHealingPolicy", "policy", "maxAtOnce"))
	require.Equal(t, []any{"enabled", "maxAtOnce", "allowReboot"}, dig(r.Data, "setHealingPolicy", "policy", "own"))
	r = e.gql(t, e.as(fixture.Viewer), `query($id: ID!) { node(id: $id) { ... on Cluster { healingPolicy { maxAtOnce allowReboot own } } } }`,
		map[string]any{"id": cluster})
	require.Empty(t, r.Errors, r.Raw)
	require.EqualValues(t, 2, dig(r.Data, "node", "healingPolicy", "maxAtOnce"))
}

// Config groups through the real handler: a LIST group's hosts come a page
// at a time (first), hostCount counts them all and groups(name:) reads one;
// only ADMIN deletes a group, and a group with files in the current version
// is refused as a CONFLICT naming how many, until a change removes them.
func TestConfigGroupHostPagesAndDeleteThroughGraphQL(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	clusterID := e.fleet.Clusters["batch-wh-1"]
	cluster := model.GlobalID(model.KindCluster, clusterID)
	var hosts []string
	require.NoError(t, e.db.Pool.QueryRow(context.Background(), `SELECT array_agg(hostname ORDER BY id) FROM (SELECT id, hostname FROM host
		WHERE cluster_id = $1 ORDER BY id LIMIT 3) h`, clusterID).Scan(&hosts))
	r := e.gql(t, e.as(fixture.Admin), `mutation($in: SetConfigGroupInput!) { setConfigGroup(input: $in) { group { id } userErrors { message } } }`,
		map[string]any{"in": map[string]any{"cluster": cluster, "name": "pinned", "position": 1, "rule": "LIST", "hosts": []any{hosts[0], hosts[1], hosts[2]}}})
	require.Empty(t, r.Errors, r.Raw)
	groupID := dig(r.Data, "setConfigGroup", "group", "id").(string)

	const read = `query($id: ID!, $first: Int) { node(id: $id) { ... on Cluster { config {
		all: groups { name hostCount hosts(first: $first) { hostname } } one: groups(name: "pinned") { name } } } } }`
	r = e.gql(t, e.as(fixture.Operator), read, map[string]any{"id": cluster, "first": 2})
	require.Empty(t, r.Errors, r.Raw)
	require.EqualValues(t, 3, dig(r.Data, "node", "config", "all", 0, "hostCount"), r.Raw)
	require.Equal(t, []any{map[string]any{"hostname": hosts[0]}, map[string]any{"hostname": hosts[1]}}, dig(r.Data, "node", "config", "all", 0, "hosts"), r.Raw)
	require.Equal(t, "pinned", dig(r.Data, "node", "config", "one", 0, "name"), r.Raw)
	r = e.gql(t, e.as(fixture.Operator), read, map[string]any{"id": cluster, "first": 5001})
	require.Equal(t, "BAD_USER_INPUT", r.code(), r.Raw)

	const del = `mutation($in: DeleteConfigGroupInput!) { deleteConfigGroup(input: $in) { group { name } userErrors { message code } } }`
	r = e.gql(t, e.as(fixture.Operator), del, map[string]any{"in": map[string]any{"id": groupID}})
	require.Equal(t, "FORBIDDEN", r.code(), r.Raw)

	content := "x=1\n"
	r = e.gql(t, e.as(fixture.Operator), `mutation($in: ProposeConfigChangeInput!) { proposeConfigChange(input: $in) { change { id } userErrors { message } } }`,
		map[string]any{"in": map[string]any{"cluster": cluster, "baseVersion": 0, "message": "pin",
			"files": []any{map[string]any{"group": "pinned", "service": "YARN", "path": "pinned.properties", "content": content}}}})
	require.Empty(t, r.Errors, r.Raw)
	r = e.gql(t, e.as(fixture.Admin), del, map[string]any{"in": map[string]any{"id": groupID}})
	require.Empty(t, r.Errors, r.Raw)
	require.Equal(t, "CONFLICT", dig(r.Data, "deleteConfigGroup", "userErrors", 0, "code"), r.Raw)
	require.Contains(t, dig(r.Data, "deleteConfigGroup", "userErrors", 0, "message"), "1 file in 1 open", r.Raw)

	_, err := e.db.Pool.Exec(context.Background(), `UPDATE config_change SET state = 'REJECTED' WHERE cluster_id = $1`, clusterID)
	require.NoError(t, err)
	r = e.gql(t, e.as(fixture.Admin), del, map[string]any{"in": map[string]any{"id": groupID}})
	require.Empty(t, r.Errors, r.Raw)
	require.Empty(t, dig(r.Data, "deleteConfigGroup", "userErrors"), r.Raw)
	require.Equal(t, "pinned", dig(r.Data, "deleteConfigGroup", "group", "name"), r.Raw)
	var audited int
	require.NoError(t, e.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_log WHERE action = 'deleteConfigGroup'`).Scan(&audited))
	require.Equal(t, 3, audited, "the refusals are audited too")
}

// Configuration files may hold credentials and need OPERATOR, on every path:
// node(id) answers a ConfigChange id as configChange(id) does (an operator
// reads it, a viewer is refused); a proposal refused before the domain layer
// (a cluster id that does not parse) is audited without the files' content,
// as accepted ones are; and a CONFIG_APPLY's tasks, which anyone signed in
// reads, show a viewer no hash of the files' content.
func TestConfigurationContentStaysWithOperators(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	cluster := model.GlobalID(model.KindCluster, e.fleet.Clusters["online-1"])
	const propose = `mutation($in: ProposeConfigChangeInput!) { proposeConfigChange(input: $in) {
		change { id } userErrors { field message code } } }`
	file := func(cluster, content string) map[string]any {
		return map[string]any{"cluster": cluster, "baseVersion": 0, "message": "shuffle secret",
			"files": []any{map[string]any{"service": "YARN", "path": "yarn-site.xml", "content": content}}}
	}
	site := func(secret string) string {
		return "<configuration>\n  <property><name>yarn.nodemanager.aux-services.spark_shuffle.secret</name><value>" + secret +
			"</value></property>\n</configuration>\n"
	}
	leaks := func(marker string) int {
		var n int
		require.NoError(t, e.db.Pool.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE input::text LIKE '%' || $1 || '%'`, marker).Scan(&n))
		return n
	}

	// Refused before the domain layer: audited, without the content.
	r := e.gql(t, e.as(fixture.Operator), propose, map[string]any{"in": file("not-an-id", site("hunter2-refused"))})
	require.Equal(t, []any{"input", "cluster"}, dig(r.Data, "proposeConfigChange", "userErrors", 0, "field"), r.Raw)
	var audited int
	require.NoError(t, e.db.Pool.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE action = 'proposeConfigChange' AND outcome <> 'OK'
		AND input->'files'->0->>'path' = 'yarn-site.xml'`).Scan(&audited))
	require.Equal(t, 1, audited, "the refusal is audited, naming the file")
	require.Zero(t, leaks("hunter2-refused"), "no file content in the audit log")

	r = e.gql(t, e.as(fixture.Operator), propose, map[string]any{"in": file(cluster, site("hunter2-proposed"))})
	require.Empty(t, r.Errors, r.Raw)
	require.Empty(t, dig(r.Data, "proposeConfigChange", "userErrors"), r.Raw)
	changeID := dig(r.Data, "proposeConfigChange", "change", "id").(string)
	require.Zero(t, leaks("hunter2-proposed"))

	// node(id) with a ConfigChange id: the operator's content, the viewer's refusal.
	const node = `query($id: ID!) { node(id: $id) { id ... on ConfigChange { files { content } diffs { diff } } } }`
	r = e.gql(t, e.as(fixture.Operator), node, map[string]any{"id": changeID})
	require.Empty(t, r.Errors, r.Raw)
	require.Equal(t, changeID, dig(r.Data, "node", "id"), r.Raw)
	require.Contains(t, dig(r.Data, "node", "files", 0, "content"), "hunter2-proposed", r.Raw)
	for _, q := range []string{node, `query($id: ID!) { configChange(id: $id) { files { content } } }`,
		`query($id: ID!) { nodes(ids: [$id]) { ... on ConfigChange { files { content } } } }`} {
		r = e.gql(t, e.as(fixture.Viewer), q, map[string]any{"id": changeID})
		require.Equal(t, "FORBIDDEN", r.code(), r.Raw)
		require.NotContains(t, r.Raw, "hunter2", q)
	}
	// The audit log: a viewer reads their own entries only.
	r = e.gql(t, e.as(fixture.Viewer), `query($p: ID!) { auditLog(first: 50, filter: {personId: $p}) { nodes { action } } }`,
		map[string]any{"p": model.GlobalID(model.KindPerson, e.fleet.People[fixture.Operator])})
	require.Equal(t, "FORBIDDEN", r.code(), r.Raw)

	// Applied: the CONFIG_APPLY's WRITE_CONFIG tasks name the files; their
	// content hashes only for OPERATOR and ADMIN.
	r = e.gql(t, e.as(fixture.Admin), `mutation($id: ID!) { reviewConfigChange(input: {id: $id, approve: true}) { change { state } } }`,
		map[string]any{"id": changeID})
	require.Equal(t, "APPROVED", dig(r.Data, "reviewConfigChange", "change", "state"), r.Raw)
	r = e.gql(t, e.as(fixture.Operator), `mutation($id: ID!) { applyConfigChange(input: {id: $id}) { operation { id } rolloutError userErrors { message } } }`,
		map[string]any{"id": changeID})
	require.Empty(t, r.Errors, r.Raw)
	opID, ok := dig(r.Data, "applyConfigChange", "operation", "id").(string)
	require.True(t, ok, r.Raw)
	const tasks = `query($id: ID!) { operation(id: $id) { kind tasks(first: 100) { nodes { action params output } } } }`
	writeParams := func(token string) []map[string]any {
		t.Helper()
		r := e.gql(t, token, tasks, map[string]any{"id": opID})
		require.Empty(t, r.Errors, r.Raw)
		require.Equal(t, "CONFIG_APPLY", dig(r.Data, "operation", "kind"))
		var out []map[string]any
		for _, n := range dig(r.Data, "operation", "tasks", "nodes").([]any) {
			if dig(n, "action") == "WRITE_CONFIG" {
				p, _ := dig(n, "params").(map[string]any)
				out = append(out, p)
			}
		}
		require.NotEmpty(t, out, r.Raw)
		return out
	}
	for _, p := range writeParams(e.as(fixture.Operator)) {
		require.Len(t, dig(p, "files", 0, "sha256"), 64, "%v", p)
	}
	for _, p := range writeParams(e.as(fixture.Viewer)) {
		require.Equal(t, "yarn-site.xml", dig(p, "files", 0, "path"), "%v", p)
		require.Nil(t, dig(p, "files", 0, "sha256"), "a viewer gets no hash to test guesses against: %v", p)
	}
}
