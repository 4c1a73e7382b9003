package inventory

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/inventory/dbsqlc"
)

// RepairStateInput asks the inventory to move a host for the hardware repair
// workflow (internal/hardware): into REPAIRING when its repair starts, back
// ONLINE when the repair is resolved, DECOMMISSIONED when it is replaced. From
// lists the states the host must be in for the move; anything else is a
// conflict (someone else changed the host meanwhile).
type RepairStateInput struct {
	HostID int64    `json:"hostId"`
	State  string   `json:"state"`
	From   []string `json:"from"`
	Reason string   `json:"reason"`
	// Before is filled in with the state the host left.
	Before string `json:"before"`
}

// repairTargets are the states the repair workflow may move a host to.
var repairTargets = map[string]bool{"REPAIRING": true, "ONLINE": true, "DECOMMISSIONED": true}

// SetHostRepairState moves a host as the repair workflow asks: the same rules,
// audit and hostStateChanged announcement as SetHostState, with REPAIRING
// allowed and the move refused unless the host is in one of in.From. It needs
// OPERATOR. Run it on a Service over the caller's transaction so the host's
// change and the ticket's commit together. It returns the host and the state
// it left.
func (s *Service) SetHostRepairState(ctx context.Context, in RepairStateInput) (*Host, string, error) {
	var host *Host
	err := s.audit.Do(ctx, "setHostState", fmt.Sprintf("host:%d", in.HostID), &in, func(tx pgx.Tx) error {
		if _, err := auth.RequireRole(ctx, auth.Operator, "changing a host's state"); err != nil {
			return err
		}
		if !repairTargets[in.State] {
			return fault.Field("input.state", "repair moves a host to REPAIRING, ONLINE or DECOMMISSIONED, not %s", in.State)
		}
		if len(in.Reason) > 500 {
			return fault.Field("input.reason", "reason is limited to 500 characters")
		}
		current, err := queries.HostStateForUpdate(ctx, tx, in.HostID)
		if err != nil {
			return db.Interpret(err, "host")
		}
		in.Before = current
		if current == "DECOMMISSIONED" && in.State != "DECOMMISSIONED" {
			return fault.New(fault.Conflict, "host is decommissioned; it cannot return to service")
		}
		if len(in.From) > 0 && !slices.Contains(in.From, current) {
			return fault.New(fault.Conflict, "host is %s now, not %v: someone else changed it; reload and try again", current, in.From)
		}
		row, err := queries.HostSetState(ctx, tx, &dbsqlc.HostSetStateParams{ID: in.HostID, State: in.State, Reason: in.Reason})
		if err != nil {
			return fmt.Errorf("error updating host state: %w", err)
		}
		host = hostFromRow(row)
		if err := queries.HostStateNotify(ctx, tx, &dbsqlc.HostStateNotifyParams{Channel: HostStateChannel, Payload: fmt.Sprint(in.HostID)}); err != nil {
			return fmt.Errorf("error announcing host state: %w", err)
		}
		return nil
	})
	return host, in.Before, err
}
