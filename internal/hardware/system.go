package hardware

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/teslaops/tesla/internal/audit"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/fault"
)

// OriginSystem marks tickets the platform opened on its own (self-healing
// handing a host to a person).
const OriginSystem = "system"

// OpenSystemTicket opens a repair ticket for a host as the platform (actor
// such as "system:healing", no person), in q — the transaction of the change
// that decided it — attaching every fault of the host that has no ticket yet.
// It is audited (openRepairTicket) in q. The same rules as OpenTicket hold: a
// host with an unfinished ticket gets a conflict naming it, a decommissioned
// one is not repaired. The host's state is not changed: taking it out of
// service is the inventory's (the ticket's IN_REPAIR step, or the caller).
func OpenSystemTicket(ctx context.Context, q db.DBTX, hostID int64, actor, note string, at time.Time) (*Ticket, error) {
	note = strings.TrimSpace(note)
	if len(note) > maxNote {
		note = note[:maxNote]
	}
	if !strings.HasPrefix(actor, "system:") {
		return nil, fault.Field("actor", "a system ticket's actor starts with system:, not %q", actor)
	}
	in := OpenTicketInput{HostID: hostID, Note: note}
	t, err := openTicket(ctx, q, in, nil, actor, OriginSystem, at)
	if err != nil {
		return nil, err
	}
	in.Ticket = t.ID
	if err := audit.RecordSystem(ctx, q, actor, "openRepairTicket", fmt.Sprintf("host:%d", hostID), &in); err != nil {
		return nil, err
	}
	if err := markChanged(ctx, q); err != nil {
		return nil, err
	}
	return t, nil
}
