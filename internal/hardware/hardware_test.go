package hardware

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/audit"
	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/fixture"
	"github.com/teslaops/tesla/internal/inventory"
	"github.com/teslaops/tesla/internal/page"
)

func env(t *testing.T) (*Service, *pgxpool.Pool, *fixture.Fleet) {
	t.Helper()
	pool := dbtest.New(t)
	f := fixture.New(t, pool)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	return NewService(pool, audit.New(pool, logger), logger), pool, f
}

func as(f *fixture.Fleet, login string, role auth.Role) context.Context {
	return auth.WithPrincipal(context.Background(), &auth.Principal{PersonID: f.People[login], Login: login, Role: role})
}

func hostState(t *testing.T, pool *pgxpool.Pool, id int64) string {
	t.Helper()
	var s string
	require.NoError(t, pool.QueryRow(context.Background(), `SELECT state FROM host WHERE id = $1`, id).Scan(&s))
	return s
}

func report(host int64, ref string, at time.Time) Report {
	return Report{HostID: host, Component: "memory", Kind: "EDAC_UE", Severity: "critical", DetectedAt: at, SourceRef: ref,
		Detail: "mc0 uncorrectable"}
}

func TestRepairWorkflowMovesTicketAndHost(t *testing.T) {
	t.Parallel()
	s, pool, f := env(t)
	ops := as(f, fixture.Operator, auth.Operator)
	host := f.Hosts["batch-wh-1-n01"]
	now := time.Now().UTC()

	fl, dup, err := s.ReportFault(ops, report(host, "edac:mc0:ue:1", now.Add(-time.Hour)))
	require.NoError(t, err)
	require.False(t, dup)
	require.Equal(t, "MEMORY", fl.Component, "enums are normalised")
	require.Equal(t, StateOpen, fl.Status)

	tk, err := s.OpenTicket(ops, OpenTicketInput{HostID: host, Note: "ECC errors"})
	require.NoError(t, err)
	require.Equal(t, StateOpen, tk.State)
	_, err = s.OpenTicket(ops, OpenTicketInput{HostID: host})
	require.True(t, fault.Is(err, fault.Conflict), "a second unfinished ticket for the host: %v", err)

	faults, err := s.FaultsOfTickets(ops, []int64{tk.ID})
	require.NoError(t, err)
	require.Len(t, faults[tk.ID], 1, "the host's fault joined the ticket")

	// OPEN → RESOLVED skips the repair: refused, naming the legal moves.
	_, err = s.Transition(ops, TransitionInput{TicketID: tk.ID, To: StateResolved, Note: "done"})
	require.True(t, fault.Is(err, fault.Invalid), "%v", err)
	require.Contains(t, err.Error(), "IN_REPAIR or REPLACED")
	_, err = s.Transition(ops, TransitionInput{TicketID: tk.ID, To: StateInRepair})
	require.True(t, fault.Is(err, fault.Invalid), "the why is required: %v", err)

	// A viewer cannot move it.
	_, err = s.Transition(as(f, fixture.Viewer, auth.Viewer), TransitionInput{TicketID: tk.ID, To: StateInRepair, Note: "x"})
	require.True(t, fault.Is(err, fault.Forbidden), "%v", err)
	require.Equal(t, "ONLINE", hostState(t, pool, host))

	tk, err = s.Transition(ops, TransitionInput{TicketID: tk.ID, To: StateInRepair, Note: "swapping DIMM A3"})
	require.NoError(t, err)
	require.Equal(t, StateInRepair, tk.State)
	require.Equal(t, "ONLINE", tk.HostStateBefore)
	require.Equal(t, "REPAIRING", hostState(t, pool, host))
	faults, err = s.FaultsOfTickets(ops, []int64{tk.ID})
	require.NoError(t, err)
	require.Equal(t, StateInRepair, faults[tk.ID][0].Status, "faults follow their ticket")

	tk, err = s.Transition(ops, TransitionInput{TicketID: tk.ID, To: StateResolved, Note: "DIMM replaced, memtest clean"})
	require.NoError(t, err)
	require.Equal(t, StateResolved, tk.State)
	require.NotNil(t, tk.ClosedAt)
	require.Equal(t, "ONLINE", hostState(t, pool, host))
	_, err = s.Transition(ops, TransitionInput{TicketID: tk.ID, To: StateInRepair, Note: "again"})
	require.True(t, fault.Is(err, fault.Conflict), "a closed ticket stays closed: %v", err)

	history, err := s.EventsOfTickets(ops, []int64{tk.ID})
	require.NoError(t, err)
	var steps []string
	for _, e := range history[tk.ID] {
		require.Equal(t, fixture.Operator, e.Actor)
		steps = append(steps, e.FromState+">"+e.ToState+":"+e.Note)
	}
	require.Equal(t, []string{">OPEN:ECC errors", "OPEN>IN_REPAIR:swapping DIMM A3", "IN_REPAIR>RESOLVED:DIMM replaced, memtest clean"}, steps)

	// Every step audited, the host's moves too, refusals included.
	var n int
	require.NoError(t, pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_log
		WHERE action = 'transitionRepairTicket' AND outcome = 'OK'`).Scan(&n))
	require.Equal(t, 2, n)
	require.NoError(t, pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_log
		WHERE action = 'transitionRepairTicket' AND outcome = 'DENIED'`).Scan(&n))
	require.Equal(t, 1, n)
	require.NoError(t, pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_log
		WHERE action = 'setHostState' AND target = $1 AND outcome = 'OK'`, "host:"+itoa(host)).Scan(&n))
	require.Equal(t, 2, n, "REPAIRING and back ONLINE")
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

func TestResolveChecksForNewFaultsAndReplaceRetiresHost(t *testing.T) {
	t.Parallel()
	s, pool, f := env(t)
	ops := as(f, fixture.Operator, auth.Operator)
	host := f.Hosts["batch-wh-1-n02"]
	_, _, err := s.ReportFault(ops, Report{HostID: host, Component: "DISK", Kind: "SMART_REALLOCATED", Severity: "HIGH"})
	require.NoError(t, err)
	tk, err := s.OpenTicket(ops, OpenTicketInput{HostID: host})
	require.NoError(t, err)
	_, err = s.Transition(ops, TransitionInput{TicketID: tk.ID, To: StateInRepair, Note: "reseat disk"})
	require.NoError(t, err)

	// The host fails again during its repair: the fault joins the ticket, and
	// the check before returning to service refuses.
	again, _, err := s.ReportFault(ops, Report{HostID: host, Component: "DISK", Kind: "SMART_PENDING", Severity: "HIGH",
		DetectedAt: time.Now().Add(time.Second)})
	require.NoError(t, err)
	require.Equal(t, tk.ID, *again.TicketID)
	require.Equal(t, StateInRepair, again.Status)
	_, err = s.Transition(ops, TransitionInput{TicketID: tk.ID, To: StateResolved, Note: "looks fine"})
	require.True(t, fault.Is(err, fault.Conflict), "%v", err)
	require.Contains(t, err.Error(), "1 new fault")
	require.Equal(t, "REPAIRING", hostState(t, pool, host))

	tk, err = s.Transition(ops, TransitionInput{TicketID: tk.ID, To: StateReplaced, Note: "backplane dead, host retired"})
	require.NoError(t, err)
	require.Equal(t, StateReplaced, tk.State)
	require.Equal(t, "DECOMMISSIONED", hostState(t, pool, host))
	_, err = s.OpenTicket(ops, OpenTicketInput{HostID: host})
	require.True(t, fault.Is(err, fault.Conflict), "a retired host is not repaired: %v", err)

	// Someone else took the host out of REPAIRING meanwhile: resolving is a
	// conflict and changes nothing.
	other := f.Hosts["batch-wh-1-n03"]
	tk2, err := s.OpenTicket(ops, OpenTicketInput{HostID: other})
	require.NoError(t, err)
	_, err = s.Transition(ops, TransitionInput{TicketID: tk2.ID, To: StateInRepair, Note: "check PSU"})
	require.NoError(t, err)
	_, err = pool.Exec(context.Background(), `UPDATE host SET state = 'MAINTENANCE' WHERE id = $1`, other)
	require.NoError(t, err)
	_, err = s.Transition(ops, TransitionInput{TicketID: tk2.ID, To: StateResolved, Note: "PSU swapped"})
	require.True(t, fault.Is(err, fault.Conflict), "%v", err)
	got, err := s.TicketByID(ops, tk2.ID)
	require.NoError(t, err)
	require.Equal(t, StateInRepair, got.State, "nothing half-applied")
}

func TestReportFaultsIsIdempotentAndChecked(t *testing.T) {
	t.Parallel()
	s, _, f := env(t)
	ops := as(f, fixture.Operator, auth.Operator)
	host := f.Hosts["online-1-n01"]
	at := time.Now().Add(-time.Minute)

	first, dup, err := s.ReportFault(ops, report(host, "edac:mc0:ue:17", at))
	require.NoError(t, err)
	require.False(t, dup)
	second, dup, err := s.ReportFault(ops, report(host, "edac:mc0:ue:17", at))
	require.NoError(t, err)
	require.True(t, dup)
	require.Equal(t, first.ID, second.ID, "the duplicate answers with the fault stored first")

	_, _, err = s.ReportFault(as(f, fixture.Viewer, auth.Viewer), report(host, "x", at))
	require.True(t, fault.Is(err, fault.Forbidden), "viewers do not report faults: %v", err)

	_, _, err = s.ReportFault(ops, Report{HostID: host, Component: "GPU", Kind: "X", Severity: "LOW"})
	require.True(t, fault.Is(err, fault.Invalid), "%v", err)
	fe, _ := fault.As(err)
	require.Equal(t, "input.component", fe.Field)

	// A host's own credential speaks for its host only; the valid report of
	// the batch is stored.
	agent := auth.WithPrincipal(context.Background(), &auth.Principal{PersonID: f.People[fixture.Operator], Login: "agent",
		Role: auth.Operator, Scopes: []string{auth.ScopeIngest}, HostID: host})
	res, err := s.ReportFaults(agent, auth.SurfaceIngest, []Report{
		{Component: "NIC", Kind: "LINK_FLAP", Severity: "MEDIUM", DetectedAt: at, SourceRef: "nic:eth0:1"},
		{Hostname: "online-1-n02", Component: "NIC", Kind: "LINK_FLAP", Severity: "MEDIUM", DetectedAt: at, SourceRef: "nic:eth0:1"},
		{Component: "NIC", Kind: "LINK_FLAP", Severity: "MEDIUM", DetectedAt: at, SourceRef: "nic:eth0:1"},
	})
	require.NoError(t, err)
	require.Equal(t, 1, res.Accepted)
	require.Equal(t, 1, res.Duplicates, "the same key twice in one batch is stored once")
	require.Len(t, res.Errors, 1)
	require.Equal(t, 1, res.Errors[0].Index)
	require.Contains(t, res.Errors[0].Error, "own host only")
	require.Equal(t, SourceAgent, res.Faults[0].Source, "a host credential reports as its agent")

	pg, err := s.ListFaults(ops, FaultFilter{HostID: &host}, page.Args{})
	require.NoError(t, err)
	require.Len(t, pg.Items, 2)
	pg, err = s.ListFaults(ops, FaultFilter{HostID: &host, Components: []string{"NIC"}}, page.Args{})
	require.NoError(t, err)
	require.Len(t, pg.Items, 1)
}

func TestFaultsEndpoint(t *testing.T) {
	t.Parallel()
	s, _, f := env(t)
	host := f.Hosts["online-1-n01"]
	h := NewHTTPHandler(s, slog.New(slog.NewTextHandler(io.Discard, nil)))
	post := func(p *auth.Principal, body string) (int, Response) {
		req := httptest.NewRequest(http.MethodPost, "/api/v1/hardware/faults", bytes.NewBufferString(body))
		if p != nil {
			req = req.WithContext(auth.WithPrincipal(req.Context(), p))
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var resp Response
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &resp), rec.Body.String())
		return rec.Code, resp
	}
	agent := &auth.Principal{PersonID: f.People[fixture.Operator], Login: "agent", Role: auth.Operator,
		Scopes: []string{auth.ScopeIngest}, HostID: host}
	body := `{"faults": [{"component": "DISK", "kind": "SMART_REALLOCATED", "severity": "HIGH",
		"detected_at": "2026-01-02T15:04:05Z", "source": "agent", "source_ref": "smart:sda:5:8", "detail": "8 sectors"},
		{"hostname": "online-1-n02", "component": "DISK", "kind": "X", "severity": "HIGH", "detected_at": "2026-01-02T15:04:05Z"},
		{"component": "DISK", "kind": "X", "severity": "HIGH", "detected_at": "yesterday"}]}`
	code, resp := post(agent, body)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, 1, resp.Accepted)
	require.Len(t, resp.Errors, 2)
	require.Equal(t, "hostname", resp.Errors[0].Field, "another host's fault is refused")
	require.Equal(t, "detected_at", resp.Errors[1].Field)

	code, resp = post(agent, body)
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, 0, resp.Accepted)
	require.Equal(t, 1, resp.Duplicates, "a resent batch is not stored twice")

	code, _ = post(&auth.Principal{PersonID: f.People[fixture.Viewer], Role: auth.Viewer}, body)
	require.Equal(t, http.StatusForbidden, code, "an unrestricted viewer token may not report")
	code, _ = post(nil, body)
	require.Equal(t, http.StatusUnauthorized, code)
	code, resp = post(agent, `{"faults": 3}`)
	require.Equal(t, http.StatusBadRequest, code)
	require.Equal(t, "faults", resp.Field)
}

func TestSetLifecycle(t *testing.T) {
	t.Parallel()
	s, _, f := env(t)
	host := f.Hosts["online-1-n01"]
	in := time.Date(2021, 3, 1, 0, 0, 0, 0, time.UTC)
	wend := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	g := "g4-48c"
	_, err := s.SetLifecycle(as(f, fixture.Viewer, auth.Viewer), LifecycleInput{HostID: host, InServiceAt: &in})
	require.True(t, fault.Is(err, fault.Forbidden), "%v", err)
	l, err := s.SetLifecycle(as(f, fixture.Admin, auth.Admin), LifecycleInput{HostID: host, InServiceAt: &in, WarrantyEnd: &wend, Generation: &g})
	require.NoError(t, err)
	require.Equal(t, in, l.InServiceAt.UTC())
	require.Equal(t, "g4-48c", l.Generation)
	// Absent fields keep their values.
	l, err = s.SetLifecycle(as(f, fixture.Operator, auth.Operator), LifecycleInput{HostID: host, WarrantyEnd: &wend})
	require.NoError(t, err)
	require.NotNil(t, l.InServiceAt)
	require.Equal(t, "g4-48c", l.Generation)
	early := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	_, err = s.SetLifecycle(as(f, fixture.Operator, auth.Operator), LifecycleInput{HostID: host, WarrantyEnd: &early})
	require.True(t, fault.Is(err, fault.Invalid), "warranty before service: %v", err)
}

// TestRepairMovesAnnounceHostStateChanges checks the host's moves reach
// hostStateChanged: the inventory NOTIFYs its channel in the ticket's
// transaction, and only when that commits.
func TestRepairMovesAnnounceHostStateChanges(t *testing.T) {
	t.Parallel()
	s, pool, f := env(t)
	ctx := context.Background()
	conn, err := pool.Acquire(ctx)
	require.NoError(t, err)
	defer conn.Release()
	_, err = conn.Exec(ctx, `LISTEN `+inventory.HostStateChannel)
	require.NoError(t, err)

	ops := as(f, fixture.Operator, auth.Operator)
	host := f.Hosts["online-1-n04"]
	tk, err := s.OpenTicket(ops, OpenTicketInput{HostID: host})
	require.NoError(t, err)
	_, err = s.Transition(ops, TransitionInput{TicketID: tk.ID, To: StateResolved, Note: "refused: no repair yet"})
	require.Error(t, err)
	_, err = s.Transition(ops, TransitionInput{TicketID: tk.ID, To: StateInRepair, Note: "fan noise"})
	require.NoError(t, err)

	wait, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	n, err := conn.Conn().WaitForNotification(wait)
	require.NoError(t, err)
	require.Equal(t, itoa(host), n.Payload, "the first announcement is the committed move, not the refused one")
}
