package hardware

import (
	"context"
	"fmt"
	"time"

	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/hardware/dbsqlc"
)

// HistoryTicket is a repair ticket whose steps are known whole: the demo
// seed's history of repairs. Steps start with OPEN and follow the workflow.
type HistoryTicket struct {
	HostID   int64
	Origin   string
	FaultIDs []int64
	Steps    []HistoryStep
	// HostStateBefore is the host's state when its repair started.
	HostStateBefore string
}

// HistoryStep is one step of a HistoryTicket.
type HistoryStep struct {
	At    time.Time
	State string
	Actor string
	Note  string
}

// LoadTickets stores tickets known whole, with their faults and steps. It
// checks the steps follow the workflow but neither the caller nor the hosts'
// states, and audits nothing: the demo seed writes hosts and their tickets
// consistent with each other in one transaction.
func LoadTickets(ctx context.Context, dbtx db.DBTX, tickets []HistoryTicket) error {
	for i, t := range tickets {
		if len(t.Steps) == 0 || t.Steps[0].State != StateOpen {
			return fmt.Errorf("error loading repair ticket %d: the first step must be OPEN", i)
		}
		for k := 1; k < len(t.Steps); k++ {
			legal := false
			for _, s := range transitions[t.Steps[k-1].State] {
				legal = legal || s == t.Steps[k].State
			}
			if !legal {
				return fmt.Errorf("error loading repair ticket %d: %s cannot follow %s", i, t.Steps[k].State, t.Steps[k-1].State)
			}
		}
		row, err := queries.TicketInsert(ctx, dbtx, &dbsqlc.TicketInsertParams{HostID: t.HostID, Origin: t.Origin, At: t.Steps[0].At})
		if err != nil {
			return fmt.Errorf("error loading repair ticket of host %d: %w", t.HostID, err)
		}
		last := t.Steps[len(t.Steps)-1]
		if _, err := queries.TicketAttachFaults(ctx, dbtx, &dbsqlc.TicketAttachFaultsParams{TicketID: &row.ID, State: last.State,
			HostID: t.HostID, FaultIds: nonNil(t.FaultIDs)}); err != nil {
			return fmt.Errorf("error loading repair ticket of host %d: %w", t.HostID, err)
		}
		if len(t.Steps) > 1 {
			if _, err := queries.TicketSetState(ctx, dbtx, &dbsqlc.TicketSetStateParams{ID: row.ID, State: last.State, At: last.At,
				HostStateBefore: t.HostStateBefore}); err != nil {
				return fmt.Errorf("error loading repair ticket of host %d: %w", t.HostID, err)
			}
		}
		from := ""
		for _, s := range t.Steps {
			if err := queries.TicketEventInsert(ctx, dbtx, &dbsqlc.TicketEventInsertParams{TicketID: row.ID, At: s.At, Actor: s.Actor,
				FromState: from, ToState: s.State, Note: s.Note}); err != nil {
				return fmt.Errorf("error loading repair ticket of host %d: %w", t.HostID, err)
			}
			from = s.State
		}
	}
	return nil
}
