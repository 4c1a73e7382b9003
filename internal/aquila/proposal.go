package aquila

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/fault"
)

// ProposalState is a scale-out proposal's state.
type ProposalState string

// The proposal states: OPEN (refreshed in place by each auto scale-out run
// while the risk lasts) → ACCEPTED (an operation was started) | DISMISSED
// (by an operator, with a reason) | EXPIRED (the risk went away).
const (
	ProposalOpen      ProposalState = "OPEN"
	ProposalAccepted  ProposalState = "ACCEPTED"
	ProposalDismissed ProposalState = "DISMISSED"
	ProposalExpired   ProposalState = "EXPIRED"
)

// ProposalFigures are the numbers that justify a proposal (stored as JSON in
// scaleout_proposal.figures). See docs/aquila.md, "Auto scale-out", for the
// arithmetic.
type ProposalFigures struct {
	// Dimension is the watermark dimension that needs the most hosts.
	Dimension string `json:"dimension"`
	// Threshold is the cluster kind's utilisation threshold (0..1).
	Threshold float64 `json:"threshold"`
	// Utilization is the latest level (0..1).
	Utilization float64 `json:"utilization"`
	// ForecastPeak is the daily peak the forecast expects at the horizon's end
	// (0..1 of today's capacity).
	ForecastPeak float64 `json:"forecastPeak"`
	// CrossesAt is when the forecast crosses the threshold (past: already over).
	CrossesAt *time.Time `json:"crossesAt,omitempty"`
	// HorizonHours is the look-ahead the job was configured with.
	HorizonHours float64 `json:"horizonHours"`
	// HostsInService are the cluster's ONLINE or DEGRADED hosts.
	HostsInService int `json:"hostsInService"`
	// Capacity is the cluster's capacity in the dimension's unit, and
	// HostCapacity a typical added host's (the cluster's most common hardware).
	Capacity     float64 `json:"capacity"`
	HostCapacity float64 `json:"hostCapacity"`
	CapacityUnit string  `json:"capacityUnit"`
	// HostsNeeded is what brings ForecastPeak back to the threshold; Hosts is
	// what is proposed (HostsNeeded capped by the cluster's largest scale-out).
	HostsNeeded int  `json:"hostsNeeded"`
	Hosts       int  `json:"hosts"`
	Capped      bool `json:"capped"`
	// CapacityAfter and ForecastAfter are the capacity and the forecast peak
	// once the proposed hosts serve.
	CapacityAfter float64 `json:"capacityAfter"`
	ForecastAfter float64 `json:"forecastAfter"`
}

// Proposal is an auto scale-out proposal.
type Proposal struct {
	ID             int64
	ClusterID      int64
	State          ProposalState
	Hosts          int
	SuggestedHosts []int64
	Figures        ProposalFigures
	Reason         string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	DecidedBy      *string
	DecidedAt      *time.Time
	DecisionReason string
	OperationID    *int64
}

const proposalColumns = `id, cluster_id, state, hosts, suggested_hosts, figures, reason, created_at, updated_at,
	decided_by, decided_at, decision_reason, operation_id`

func scanProposal(r pgx.CollectableRow) (*Proposal, error) {
	p := &Proposal{}
	var figures []byte
	if err := r.Scan(&p.ID, &p.ClusterID, &p.State, &p.Hosts, &p.SuggestedHosts, &figures, &p.Reason, &p.CreatedAt,
		&p.UpdatedAt, &p.DecidedBy, &p.DecidedAt, &p.DecisionReason, &p.OperationID); err != nil {
		return nil, err
	}
	return p, json.Unmarshal(figures, &p.Figures)
}

// ProposalFilter selects proposals: of a cluster (0: all), in a state (empty:
// all), older than Before (0: from the newest), Limit (1..100) newest first.
type ProposalFilter struct {
	ClusterID int64
	State     ProposalState
	Before    int64
	Limit     int
}

// Proposals lists scale-out proposals newest first (keyset on id). Any
// signed-in caller.
func (s *Service) Proposals(ctx context.Context, f ProposalFilter) ([]*Proposal, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	if f.Limit < 1 || f.Limit > 100 {
		return nil, fault.Field("first", "page size must be between 1 and 100")
	}
	if f.Before <= 0 {
		f.Before = 1<<63 - 1
	}
	rows, err := s.pool.Query(ctx, `SELECT `+proposalColumns+` FROM scaleout_proposal
		WHERE ($1 = 0 OR cluster_id = $1) AND ($2 = '' OR state = $2) AND id < $3
		ORDER BY id DESC LIMIT $4`, f.ClusterID, string(f.State), f.Before, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("error loading scale-out proposals: %w", err)
	}
	out, err := pgx.CollectRows(rows, scanProposal)
	if err != nil {
		return nil, fmt.Errorf("error loading scale-out proposals: %w", err)
	}
	return out, nil
}

// Proposal returns proposal id.
func (s *Service) Proposal(ctx context.Context, id int64) (*Proposal, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	return loadProposal(ctx, s.pool, id, false)
}

func loadProposal(ctx context.Context, q db.DBTX, id int64, lock bool) (*Proposal, error) {
	sql := `SELECT ` + proposalColumns + ` FROM scaleout_proposal WHERE id = $1`
	if lock {
		sql += ` FOR UPDATE`
	}
	rows, err := q.Query(ctx, sql, id)
	if err != nil {
		return nil, fmt.Errorf("error loading scale-out proposal %d: %w", id, err)
	}
	p, err := pgx.CollectExactlyOneRow(rows, scanProposal)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fault.NotFoundf("scale-out proposal %d not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("error loading scale-out proposal %d: %w", id, err)
	}
	return p, nil
}

// AcceptProposal starts the scale-out proposal id proposes (its size, hosts
// picked afresh from the pool) and marks it ACCEPTED with the operation.
// OPERATOR; audited as acceptScaleOutProposal, in the transaction that
// stores the operation. A proposal no longer OPEN is a CONFLICT.
func (s *Service) AcceptProposal(ctx context.Context, id int64) (*Proposal, error) {
	p, err := requireOperator(ctx, "accepting a scale-out proposal")
	if err != nil {
		return nil, err
	}
	input := map[string]any{"id": id}
	err = s.audit.Do(ctx, "acceptScaleOutProposal", fmt.Sprintf("scaleoutProposal:%d", id), input, func(tx pgx.Tx) error {
		op, err := s.acceptTx(ctx, tx, id, p.Login, "accepted")
		input["operationId"] = op
		return err
	})
	if err != nil {
		return nil, err
	}
	return loadProposal(ctx, s.pool, id, false)
}

// acceptTx submits proposal id's scale-out as by and marks it ACCEPTED.
func (s *Service) acceptTx(ctx context.Context, tx pgx.Tx, id int64, by, why string) (int64, error) {
	pr, err := loadProposal(ctx, tx, id, true)
	if err != nil {
		return 0, err
	}
	if pr.State != ProposalOpen {
		return 0, fault.New(fault.Conflict, "scale-out proposal %d is %s, not OPEN", id, pr.State)
	}
	params, _ := json.Marshal(ScaleOutParams{Count: pr.Hosts, ProposalID: id})
	req := Request{Kind: KindScaleOut, ClusterID: pr.ClusterID, Params: params, RequestedBy: by,
		Reason: fmt.Sprintf("scale-out proposal %d: %s", id, pr.Reason)}
	op, err := s.submitTx(ctx, tx, ScaleOutPlanner{}, req)
	if err != nil {
		return 0, err
	}
	if _, err := tx.Exec(ctx, `UPDATE scaleout_proposal SET state = 'ACCEPTED', decided_by = $2, decided_at = now(),
		decision_reason = $3, operation_id = $4, updated_at = now() WHERE id = $1`, id, by, why, op); err != nil {
		return 0, fmt.Errorf("error accepting scale-out proposal %d: %w", id, err)
	}
	return op, nil
}

// DismissProposal closes proposal id without acting, with the operator's
// reason. OPERATOR; audited as dismissScaleOutProposal. The next auto
// scale-out run opens a new proposal if the risk is still there.
func (s *Service) DismissProposal(ctx context.Context, id int64, reason string) (*Proposal, error) {
	p, err := requireOperator(ctx, "dismissing a scale-out proposal")
	if err != nil {
		return nil, err
	}
	if len(reason) > 500 {
		return nil, fault.Field("input.reason", "reason is limited to 500 characters")
	}
	input := map[string]any{"id": id, "reason": reason}
	err = s.audit.Do(ctx, "dismissScaleOutProposal", fmt.Sprintf("scaleoutProposal:%d", id), input, func(tx pgx.Tx) error {
		pr, err := loadProposal(ctx, tx, id, true)
		if err != nil {
			return err
		}
		if pr.State != ProposalOpen {
			return fault.New(fault.Conflict, "scale-out proposal %d is %s, not OPEN", id, pr.State)
		}
		_, err = tx.Exec(ctx, `UPDATE scaleout_proposal SET state = 'DISMISSED', decided_by = $2, decided_at = now(),
			decision_reason = $3, updated_at = now() WHERE id = $1`, id, p.Login, reason)
		if err != nil {
			return fmt.Errorf("error dismissing scale-out proposal %d: %w", id, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return loadProposal(ctx, s.pool, id, false)
}
