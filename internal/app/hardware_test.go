package app

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/fixture"
)

// TestHardwareRepairThroughGraphQL takes a host through the repair workflow
// through the real handler: a fault reported, a ticket opened, repair started
// (the host REPAIRING), resolved (back ONLINE); a viewer reads everything and
// changes nothing.
func TestHardwareRepairThroughGraphQL(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	host := b64(fmt.Sprintf("Host:%d", e.fleet.Hosts["batch-wh-1-n01"]))
	ops, viewer := e.as(fixture.Operator), e.as(fixture.Viewer)

	const report = `mutation($h: ID!) { reportHardwareFault(input: {hostId: $h, component: DISK, kind: "SMART_REALLOCATED",
		severity: HIGH, sourceRef: "smart:sda:5", detail: "8 sectors"}) { fault { id status host { hostname } } duplicate userErrors { field message } } }`
	r := e.gql(t, viewer, report, map[string]any{"h": host})
	require.Equal(t, "FORBIDDEN", r.code(), r.Raw)
	r = e.gql(t, ops, report, map[string]any{"h": host})
	require.Empty(t, r.Errors, r.Raw)
	require.Equal(t, "batch-wh-1-n01", dig(r.Data, "reportHardwareFault", "fault", "host", "hostname"))
	r = e.gql(t, ops, report, map[string]any{"h": host})
	require.Equal(t, true, dig(r.Data, "reportHardwareFault", "duplicate"), r.Raw)

	r = e.gql(t, ops, `mutation($h: ID!) { openRepairTicket(input: {hostId: $h, note: "disk failing"}) {
		ticket { id state nextStates faults { kind } } userErrors { message } } }`, map[string]any{"h": host})
	require.Empty(t, r.Errors, r.Raw)
	ticket := dig(r.Data, "openRepairTicket", "ticket", "id").(string)
	require.Equal(t, []any{"IN_REPAIR", "REPLACED"}, dig(r.Data, "openRepairTicket", "ticket", "nextStates"))
	require.Equal(t, "SMART_REALLOCATED", dig(r.Data, "openRepairTicket", "ticket", "faults", 0, "kind"))

	const move = `mutation($t: ID!, $to: RepairState!, $note: String!) { transitionRepairTicket(input: {id: $t, to: $to, note: $note}) {
		ticket { state host { state } history { actor fromState toState note } } userErrors { field message code } } }`
	r = e.gql(t, ops, move, map[string]any{"t": ticket, "to": "RESOLVED", "note": "skip"})
	require.Empty(t, r.Errors, r.Raw)
	require.Equal(t, []any{"input", "to"}, dig(r.Data, "transitionRepairTicket", "userErrors", 0, "field"), "an illegal move is a user error: %s", r.Raw)
	r = e.gql(t, viewer, move, map[string]any{"t": ticket, "to": "IN_REPAIR", "note": "x"})
	require.Equal(t, "FORBIDDEN", r.code(), r.Raw)
	r = e.gql(t, ops, move, map[string]any{"t": ticket, "to": "IN_REPAIR", "note": "replacing sda"})
	require.Empty(t, r.Errors, r.Raw)
	require.Equal(t, "REPAIRING", dig(r.Data, "transitionRepairTicket", "ticket", "host", "state"))
	r = e.gql(t, ops, move, map[string]any{"t": ticket, "to": "RESOLVED", "note": "sda replaced, SMART clean"})
	require.Empty(t, r.Errors, r.Raw)
	require.Equal(t, "RESOLVED", dig(r.Data, "transitionRepairTicket", "ticket", "state"))
	require.Equal(t, "ONLINE", dig(r.Data, "transitionRepairTicket", "ticket", "host", "state"))
	require.Len(t, dig(r.Data, "transitionRepairTicket", "ticket", "history"), 3)

	r = e.gql(t, viewer, `query($h: ID!) {
		repairTickets(first: 10) { totalCount nodes { state } }
		hardwareFaults(filter: {hostId: $h}, first: 10) { totalCount nodes { status ticket { state } } }
		hardwareReliability(groupBy: MODEL) { label faults machineYears ratePer100MachineYears lower upper }
		hostsToReplace(first: 3) { host { hostname } score }
		node(id: $h) { ... on Host { faults { kind } lifecycle { generation } } } }`, map[string]any{"h": host})
	require.Empty(t, r.Errors, r.Raw)
	require.EqualValues(t, 1, dig(r.Data, "repairTickets", "totalCount"))
	require.Equal(t, "RESOLVED", dig(r.Data, "hardwareFaults", "nodes", 0, "status"))
	require.Len(t, dig(r.Data, "hostsToReplace"), 3)
	require.Equal(t, "SMART_REALLOCATED", dig(r.Data, "node", "faults", 0, "kind"))
	require.Nil(t, dig(r.Data, "node", "lifecycle"))
}

// TestHardwareFaultsEndpoint posts faults over HTTP with an ingest token and
// with a token bound to another host.
func TestHardwareFaultsEndpoint(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	_, ingest, err := auth.InsertToken(ctx, e.db.Pool, auth.TokenSpec{PersonID: e.fleet.People[fixture.Outsider], Role: auth.Viewer,
		Scopes: []string{auth.ScopeIngest}})
	require.NoError(t, err)
	post := func(token, body string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/api/v1/hardware/faults", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		r := e.do(t, req)
		return r.Status, r.Raw
	}
	body := `{"faults": [{"hostname": "online-1-n01", "component": "MEMORY", "kind": "EDAC_CE", "severity": "LOW",
		"detected_at": "2026-01-02T15:04:05Z", "source": "agent", "source_ref": "edac:mc0:ce:3"}]}`
	code, raw := post(ingest, body)
	require.Equal(t, http.StatusOK, code, raw)
	require.Contains(t, raw, `"accepted":1`)
	code, raw = post(ingest, body)
	require.Equal(t, http.StatusOK, code, raw)
	require.Contains(t, raw, `"duplicates":1`)
	code, _ = post("", body)
	require.Equal(t, http.StatusUnauthorized, code)
	code, _ = post(e.as(fixture.Viewer), body)
	require.Equal(t, http.StatusForbidden, code, "a viewer's full token is not an ingest credential")
}
