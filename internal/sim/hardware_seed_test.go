package sim

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSeedHardwareHistory checks the demo's hardware history is consistent with
// its hosts: every host has a lifecycle; every host the plan put in REPAIRING
// has an IN_REPAIR ticket and every retired one a REPLACED ticket; no host has
// two unfinished tickets; faults follow their tickets; and older generations
// fail more often.
func TestSeedHardwareHistory(t *testing.T) {
	t.Parallel()
	pool, st := seed(t, Config{Clusters: 6, Hosts: 600, People: 12, Days: 1, Now: testNow})
	require.Positive(t, st.HardwareFaults)
	require.Positive(t, st.RepairTickets)
	ctx := context.Background()
	q := func(sql string) int {
		t.Helper()
		var n int
		require.NoError(t, pool.QueryRow(ctx, sql).Scan(&n))
		return n
	}
	require.Equal(t, q(`SELECT count(*) FROM host`), q(`SELECT count(*) FROM host_lifecycle WHERE source = 'sim'`))
	require.Zero(t, q(`SELECT count(*) FROM hardware_fault WHERE source <> 'sim'`))
	require.Zero(t, q(`SELECT count(*) FROM repair_ticket WHERE origin <> 'sim'`))
	require.Zero(t, q(`SELECT count(*) FROM host h WHERE h.state = 'REPAIRING'
		AND NOT EXISTS (SELECT 1 FROM repair_ticket t WHERE t.host_id = h.id AND t.state = 'IN_REPAIR')`), "REPAIRING hosts are in repair")
	require.Zero(t, q(`SELECT count(*) FROM host h WHERE h.state = 'DECOMMISSIONED'
		AND NOT EXISTS (SELECT 1 FROM repair_ticket t WHERE t.host_id = h.id AND t.state = 'REPLACED')`), "retired hosts were replaced")
	require.Zero(t, q(`SELECT count(*) FROM repair_ticket t JOIN host h ON h.id = t.host_id
		WHERE t.state = 'IN_REPAIR' AND h.state <> 'REPAIRING'`), "a host in repair is REPAIRING")
	require.Zero(t, q(`SELECT count(*) FROM hardware_fault f JOIN repair_ticket t ON t.id = f.ticket_id WHERE f.status <> t.state`))
	require.Positive(t, q(`SELECT count(*) FROM repair_ticket WHERE state = 'OPEN'`), "some tickets wait for an operator")
	require.Positive(t, q(`SELECT count(*) FROM repair_ticket WHERE state = 'RESOLVED'`))
	require.Zero(t, count(t, pool, `SELECT count(*) FROM repair_ticket_event WHERE at > $1`, testNow), "no step after the seed's now")

	// Faults per host-year by generation: the oldest fail most.
	var newest, oldest float64
	require.NoError(t, pool.QueryRow(ctx, `SELECT
		count(*) FILTER (WHERE l.generation LIKE 'g6%')::float8 / nullif(count(DISTINCT l.host_id) FILTER (WHERE l.generation LIKE 'g6%'), 0),
		count(*) FILTER (WHERE l.generation IN ('g3-32c', 'g4-48c'))::float8 / nullif(count(DISTINCT l.host_id) FILTER (WHERE l.generation IN ('g3-32c', 'g4-48c')), 0)
		FROM host_lifecycle l JOIN hardware_fault f ON f.host_id = l.host_id`).Scan(&newest, &oldest))
	require.Greater(t, oldest, newest)
}
