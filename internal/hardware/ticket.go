package hardware

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/hardware/dbsqlc"
	"github.com/teslaops/tesla/internal/inventory"
	"github.com/teslaops/tesla/internal/page"
)

// Ticket is a repair ticket: a host taken through repair for its faults.
type Ticket struct {
	ID              int64
	HostID          int64
	State           string
	OpenedAt        time.Time
	UpdatedAt       time.Time
	ClosedAt        *time.Time
	OpenedBy        *int64
	AssigneeID      *int64
	HostStateBefore string
	Origin          string
}

func ticketFromRow(r *dbsqlc.RepairTicket) *Ticket {
	return &Ticket{ID: r.ID, HostID: r.HostID, State: r.State, OpenedAt: r.OpenedAt, UpdatedAt: r.UpdatedAt, ClosedAt: r.ClosedAt,
		OpenedBy: r.OpenedBy, AssigneeID: r.AssigneeID, HostStateBefore: r.HostStateBefore, Origin: r.Origin}
}

// TicketEvent is one step of a ticket: who moved it, from and to which state, and why.
type TicketEvent struct {
	ID        int64
	TicketID  int64
	At        time.Time
	PersonID  *int64
	Actor     string
	FromState string
	ToState   string
	Note      string
}

// maxNote bounds the why of a step.
const maxNote = 2000

// OpenTicketInput opens a repair ticket for a host.
type OpenTicketInput struct {
	HostID int64 `json:"hostId"`
	// FaultIDs are the faults the ticket is for; empty: every fault of the host
	// that has no ticket yet.
	FaultIDs   []int64 `json:"faultIds,omitempty"`
	AssigneeID *int64  `json:"assigneeId,omitempty"`
	Note       string  `json:"note"`
	// Ticket is filled in with the ticket's id.
	Ticket int64 `json:"ticket,omitempty"`
}

// OpenTicket opens a repair ticket for a host (OPERATOR), attaching its faults.
// A host has at most one unfinished ticket: a second is a conflict naming the
// first. A decommissioned host is not repaired. Audited.
func (s *Service) OpenTicket(ctx context.Context, in OpenTicketInput) (*Ticket, error) {
	var t *Ticket
	err := s.audit.Do(ctx, "openRepairTicket", fmt.Sprintf("host:%d", in.HostID), &in, func(tx pgx.Tx) error {
		p, err := auth.RequireRole(ctx, auth.Operator, "opening a repair ticket")
		if err != nil {
			return err
		}
		in.Note = strings.TrimSpace(in.Note)
		if len(in.Note) > maxNote {
			return fault.Field("input.note", "note is limited to %d characters", maxNote)
		}
		t, err = openTicket(ctx, tx, in, &p.PersonID, p.Login, "person", s.now())
		if err == nil {
			in.Ticket = t.ID
		}
		return err
	})
	return t, err
}

// openTicket opens a ticket in tx for a caller already checked.
func openTicket(ctx context.Context, tx db.DBTX, in OpenTicketInput, by *int64, actor, origin string, at time.Time) (*Ticket, error) {
	h, err := queries.HostForFault(ctx, tx, in.HostID)
	if err != nil {
		return nil, db.Interpret(err, "host")
	}
	if h.State == "DECOMMISSIONED" {
		return nil, fault.New(fault.Conflict, "host %s is decommissioned; it is not repaired", h.Hostname)
	}
	if open, err := queries.TicketOpenOfHost(ctx, tx, in.HostID); err == nil {
		return nil, fault.New(fault.Conflict, "host %s already has repair ticket %d (%s); add to that one", h.Hostname, open.ID, open.State)
	} else if !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("error loading repair tickets of host %d: %w", in.HostID, err)
	}
	if len(in.FaultIDs) > 0 {
		rows, err := queries.FaultsByIDs(ctx, tx, in.FaultIDs)
		if err != nil {
			return nil, fmt.Errorf("error loading hardware faults: %w", err)
		}
		found := map[int64]*dbsqlc.HardwareFault{}
		for _, r := range rows {
			found[r.ID] = r
		}
		for i, id := range in.FaultIDs {
			f := found[id]
			switch {
			case f == nil:
				return nil, fault.Field(fmt.Sprintf("input.faultIds.%d", i), "hardware fault %d does not exist", id)
			case f.HostID != in.HostID:
				return nil, fault.Field(fmt.Sprintf("input.faultIds.%d", i), "hardware fault %d is of another host", id)
			case f.TicketID != nil:
				return nil, fault.Field(fmt.Sprintf("input.faultIds.%d", i), "hardware fault %d already belongs to ticket %d", id, *f.TicketID)
			}
		}
	}
	row, err := queries.TicketInsert(ctx, tx, &dbsqlc.TicketInsertParams{HostID: in.HostID, OpenedBy: by, AssigneeID: in.AssigneeID,
		Origin: origin, At: at})
	if err != nil {
		return nil, db.Interpret(err, "repair ticket")
	}
	if _, err := queries.TicketAttachFaults(ctx, tx, &dbsqlc.TicketAttachFaultsParams{TicketID: &row.ID, State: StateOpen,
		HostID: in.HostID, FaultIds: nonNil(in.FaultIDs)}); err != nil {
		return nil, fmt.Errorf("error attaching faults to repair ticket %d: %w", row.ID, err)
	}
	if err := queries.TicketEventInsert(ctx, tx, &dbsqlc.TicketEventInsertParams{TicketID: row.ID, At: at, PersonID: by, Actor: actor,
		ToState: StateOpen, Note: in.Note}); err != nil {
		return nil, fmt.Errorf("error recording repair ticket %d: %w", row.ID, err)
	}
	return ticketFromRow(row), nil
}

func nonNil(ids []int64) []int64 {
	if ids == nil {
		return []int64{}
	}
	return ids
}

// TransitionInput moves a ticket to a state, saying why.
type TransitionInput struct {
	TicketID   int64  `json:"ticketId"`
	To         string `json:"to"`
	Note       string `json:"note"`
	AssigneeID *int64 `json:"assigneeId,omitempty"`
	// From and HostState are filled in: the state the ticket left and the
	// state its host was moved to.
	From      string `json:"from,omitempty"`
	HostState string `json:"hostState,omitempty"`
}

// Transition moves a ticket along the workflow (OPERATOR), with the host:
//
//   - OPEN → IN_REPAIR: the host goes REPAIRING (from any state but
//     DECOMMISSIONED), out of the schedulers' way;
//   - IN_REPAIR → RESOLVED: after a check — the host must still be REPAIRING
//     (nobody else took it meanwhile) and must have reported no new fault since
//     its repair started — it returns ONLINE;
//   - OPEN or IN_REPAIR → REPLACED: the host is retired (DECOMMISSIONED);
//
// anything else is refused naming the legal moves. The note (why) is required.
// Host changes go through the inventory in the same transaction, so they are
// audited and announced on hostStateChanged; the ticket's step is audited and
// kept in its history.
func (s *Service) Transition(ctx context.Context, in TransitionInput) (*Ticket, error) {
	var t *Ticket
	err := s.audit.Do(ctx, "transitionRepairTicket", fmt.Sprintf("repair_ticket:%d", in.TicketID), &in, func(tx pgx.Tx) error {
		p, err := auth.RequireRole(ctx, auth.Operator, "moving a repair ticket")
		if err != nil {
			return err
		}
		in.Note = strings.TrimSpace(in.Note)
		switch {
		case in.Note == "":
			return fault.Field("input.note", "say why: what was found or done (the note is kept with the ticket)")
		case len(in.Note) > maxNote:
			return fault.Field("input.note", "note is limited to %d characters", maxNote)
		}
		cur, err := queries.TicketForUpdate(ctx, tx, in.TicketID)
		if err != nil {
			return db.Interpret(err, "repair ticket")
		}
		in.From = cur.State
		legal := transitions[cur.State]
		if !slices.Contains(legal, in.To) {
			if len(legal) == 0 {
				return fault.New(fault.Conflict, "repair ticket %d is %s: it is closed", cur.ID, cur.State)
			}
			return fault.Field("input.to", "repair ticket %d is %s; it can move to %s, not %s", cur.ID, cur.State, strings.Join(legal, " or "), in.To)
		}
		now := s.now()
		inv := s.inventoryOn(tx)
		reason := fmt.Sprintf("repair ticket %d: %s", cur.ID, in.Note)
		var hostBefore string
		switch in.To {
		case StateInRepair:
			ri := inventory.RepairStateInput{HostID: cur.HostID, State: "REPAIRING", Reason: reason,
				From: []string{"ONLINE", "DEGRADED", "OFFLINE", "MAINTENANCE", "REPAIRING"}}
			if _, hostBefore, err = inv.SetHostRepairState(ctx, ri); err != nil {
				return err
			}
			in.HostState = "REPAIRING"
		case StateResolved:
			started, err := queries.TicketRepairStartedAt(ctx, tx, cur.ID)
			if err != nil {
				return fmt.Errorf("error loading repair ticket %d: %w", cur.ID, err)
			}
			n, err := queries.FaultsOfHostSince(ctx, tx, &dbsqlc.FaultsOfHostSinceParams{HostID: cur.HostID, Since: started})
			if err != nil {
				return fmt.Errorf("error checking faults of host %d: %w", cur.HostID, err)
			}
			if n > 0 {
				return fault.New(fault.Conflict, "the host reported %d new fault(s) since its repair started: check them before it returns to service, or replace it", n)
			}
			if _, _, err := inv.SetHostRepairState(ctx, inventory.RepairStateInput{HostID: cur.HostID, State: "ONLINE",
				Reason: reason, From: []string{"REPAIRING"}}); err != nil {
				return err
			}
			in.HostState = "ONLINE"
		case StateReplaced:
			if _, _, err := inv.SetHostRepairState(ctx, inventory.RepairStateInput{HostID: cur.HostID, State: "DECOMMISSIONED",
				Reason: reason}); err != nil {
				return err
			}
			in.HostState = "DECOMMISSIONED"
		}
		row, err := queries.TicketSetState(ctx, tx, &dbsqlc.TicketSetStateParams{ID: cur.ID, State: in.To, At: now,
			AssigneeID: in.AssigneeID, HostStateBefore: hostBefore})
		if err != nil {
			return db.Interpret(err, "repair ticket")
		}
		if err := queries.TicketFaultsSetStatus(ctx, tx, &dbsqlc.TicketFaultsSetStatusParams{TicketID: &cur.ID, State: in.To}); err != nil {
			return fmt.Errorf("error updating faults of repair ticket %d: %w", cur.ID, err)
		}
		if err := queries.TicketEventInsert(ctx, tx, &dbsqlc.TicketEventInsertParams{TicketID: cur.ID, At: now, PersonID: &p.PersonID,
			Actor: p.Login, FromState: cur.State, ToState: in.To, Note: in.Note}); err != nil {
			return fmt.Errorf("error recording repair ticket %d: %w", cur.ID, err)
		}
		if err := markChanged(ctx, tx); err != nil {
			return err
		}
		t = ticketFromRow(row)
		return nil
	})
	if err == nil {
		s.cache.clear()
	}
	return t, err
}

// TicketFilter narrows a ticket listing.
type TicketFilter struct {
	States    []string
	HostID    *int64
	ClusterID *int64
}

var ticketKeyset = page.Keyset{Tag: "tickets/ID/DESC", Desc: true, Cols: []page.Col{{Expr: "t.id", Type: "bigint"}}}

// ListTickets lists repair tickets newest first; any signed-in role.
func (s *Service) ListTickets(ctx context.Context, f TicketFilter, args page.Args) (page.Page[*Ticket], error) {
	if _, err := auth.Require(ctx); err != nil {
		return page.Page[*Ticket]{}, err
	}
	seek, err := args.Seek(ticketKeyset)
	if err != nil {
		return page.Page[*Ticket]{}, err
	}
	var conds []string
	cargs := pgx.NamedArgs{}
	add := func(cond, name string, v any) {
		conds = append(conds, cond)
		cargs[name] = v
	}
	if len(f.States) > 0 {
		add(`t.state = ANY(@states)`, "states", f.States)
	}
	if f.HostID != nil {
		add(`t.host_id = @host`, "host", *f.HostID)
	}
	if f.ClusterID != nil {
		add(`t.host_id IN (SELECT id FROM host WHERE cluster_id = @cluster)`, "cluster", *f.ClusterID)
	}
	where := strings.Join(append(conds, "true"), " AND ")
	sk := seek.Where("_k")
	rargs := maps.Clone(cargs)
	maps.Copy(rargs, sk.Args)
	rows, err := s.dbtx.Query(ctx, `SELECT t.id, t.host_id, t.state, t.opened_at, t.updated_at, t.closed_at, t.opened_by,
		t.assignee_id, t.host_state_before, t.origin, `+seek.Select()+` FROM repair_ticket t WHERE `+where+` AND `+sk.SQL+` `+seek.OrderLimit(), rargs)
	if err != nil {
		return page.Page[*Ticket]{}, fmt.Errorf("error listing repair tickets: %w", err)
	}
	var keys [][]string
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*Ticket, error) {
		var row dbsqlc.RepairTicket
		key := make([]string, 1)
		err := r.Scan(&row.ID, &row.HostID, &row.State, &row.OpenedAt, &row.UpdatedAt, &row.ClosedAt, &row.OpenedBy, &row.AssigneeID,
			&row.HostStateBefore, &row.Origin, &key[0])
		keys = append(keys, key)
		return ticketFromRow(&row), err
	})
	if err != nil {
		return page.Page[*Ticket]{}, fmt.Errorf("error listing repair tickets: %w", err)
	}
	var total page.Total
	if seek.Complete(len(items)) {
		total.N = len(items)
	} else if seek.NeedsCount(len(items)) {
		total, err = page.CountTotal(ctx, s.dbtx, "repair_ticket", len(conds) > 0, func() (int, error) {
			var n int
			err := s.dbtx.QueryRow(ctx, `SELECT count(*) FROM repair_ticket t WHERE `+where, cargs).Scan(&n)
			return n, err
		})
		if err != nil {
			return page.Page[*Ticket]{}, fmt.Errorf("error counting repair tickets: %w", err)
		}
	}
	return page.KeysetPage(seek, items, keys, total), nil
}

// TicketsByIDs loads tickets by id, for a dataloader.
func (s *Service) TicketsByIDs(ctx context.Context, ids []int64) (map[int64]*Ticket, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	rows, err := queries.TicketsByIDs(ctx, s.dbtx, ids)
	if err != nil {
		return nil, fmt.Errorf("error loading repair tickets: %w", err)
	}
	out := make(map[int64]*Ticket, len(rows))
	for _, r := range rows {
		out[r.ID] = ticketFromRow(r)
	}
	return out, nil
}

// TicketByID loads one ticket.
func (s *Service) TicketByID(ctx context.Context, id int64) (*Ticket, error) {
	m, err := s.TicketsByIDs(ctx, []int64{id})
	if err != nil {
		return nil, err
	}
	if t := m[id]; t != nil {
		return t, nil
	}
	return nil, db.Interpret(pgx.ErrNoRows, "repair ticket")
}

// EventsOfTickets returns each ticket's history, oldest first, for a dataloader.
func (s *Service) EventsOfTickets(ctx context.Context, tickets []int64) (map[int64][]*TicketEvent, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	rows, err := queries.TicketEventsOf(ctx, s.dbtx, tickets)
	if err != nil {
		return nil, fmt.Errorf("error loading repair ticket history: %w", err)
	}
	out := map[int64][]*TicketEvent{}
	for _, r := range rows {
		out[r.TicketID] = append(out[r.TicketID], &TicketEvent{ID: r.ID, TicketID: r.TicketID, At: r.At, PersonID: r.PersonID,
			Actor: r.Actor, FromState: r.FromState, ToState: r.ToState, Note: r.Note})
	}
	return out, nil
}

// NextStates are the states a ticket in state may move to.
func NextStates(state string) []string { return transitions[state] }
