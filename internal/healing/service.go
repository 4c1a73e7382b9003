package healing

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/internal/audit"
	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/fault"
)

// Attempt is one host's healing: what made it sick, how it was repaired and
// how it ended.
type Attempt struct {
	ID          int64
	HostID      int64
	Hostname    string
	ClusterID   int64
	Signals     []string
	Detail      string
	Repair      string
	State       string
	OperationID *int64
	TicketID    *int64
	Reason      string
	StartedAt   time.Time
	EndedAt     *time.Time
}

// Waiting is a sick host healing has not started on, and why.
type Waiting struct {
	HostID    int64
	Hostname  string
	ClusterID int64
	Signals   []string
	Reason    string
	Since     time.Time
	UpdatedAt time.Time
}

// Day is one day of the healing rate.
type Day struct {
	Day                        time.Time
	Healed, Failed, HandedOver int
}

// Rate is the share of attempts ended that day that healed (0 when none
// ended).
func (d Day) Rate() float64 {
	n := d.Healed + d.Failed + d.HandedOver
	if n == 0 {
		return 0
	}
	return float64(d.Healed) / float64(n)
}

// Service reads what self-healing did, for the Self-healing view: what
// healed, what is healing, what was handed to people, what waits and why, and
// the healing rate over time. Any signed-in caller may read it. It also sets
// a cluster's own healing policy (ADMIN, audited).
type Service struct {
	pool     db.DBTX
	audit    *audit.Log
	defaults Config
}

// NewService returns the service; log audits policy changes, defaults is
// the healing job's configuration (zero: the package defaults), which a
// cluster's policy is shown over.
func NewService(pool db.DBTX, log *audit.Log, defaults Config) *Service {
	return &Service{pool: pool, audit: log, defaults: defaults.WithDefaults()}
}

// AttemptFilter narrows an attempt listing.
type AttemptFilter struct {
	// State: HEALING (what is healing), HEALED, FAILED, HANDED_OVER; empty:
	// any.
	State string
	// ClusterID restricts to one cluster (0: all).
	ClusterID int64
	// Since leaves out attempts started before it (zero: all).
	Since time.Time
	// BeforeAt, BeforeID: the keyset of the previous page's last attempt.
	BeforeAt time.Time
	BeforeID int64
	// Limit is 1..100.
	Limit int
}

// Attempts lists attempts newest first (keyset on started_at, id).
func (s *Service) Attempts(ctx context.Context, f AttemptFilter) ([]*Attempt, error) {
	state, cluster, err := attemptFilter(ctx, f)
	if err != nil {
		return nil, err
	}
	if f.Limit < 1 || f.Limit > 100 {
		return nil, fault.Field("first", "page size must be between 1 and 100")
	}
	if f.BeforeAt.IsZero() {
		f.BeforeAt, f.BeforeID = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), 1<<63-1
	}
	rows, err := s.pool.Query(ctx, sqlAttempts, state, cluster, f.Since, f.BeforeAt, f.BeforeID, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("error loading healing attempts: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*Attempt, error) {
		var a Attempt
		err := r.Scan(&a.ID, &a.HostID, &a.Hostname, &a.ClusterID, &a.Signals, &a.Detail, &a.Repair, &a.State, &a.OperationID,
			&a.TicketID, &a.Reason, &a.StartedAt, &a.EndedAt)
		return &a, err
	})
	if err != nil {
		return nil, fmt.Errorf("error loading healing attempts: %w", err)
	}
	return out, nil
}

// CountAttempts counts the attempts Attempts lists with f over all its
// pages (f's state, cluster and since; its keyset and limit do not count): a
// listing's total, one statement.
func (s *Service) CountAttempts(ctx context.Context, f AttemptFilter) (int, error) {
	state, cluster, err := attemptFilter(ctx, f)
	if err != nil {
		return 0, err
	}
	var n int
	if err := s.pool.QueryRow(ctx, sqlCountAttempts, state, cluster, f.Since).Scan(&n); err != nil {
		return 0, fmt.Errorf("error counting healing attempts: %w", err)
	}
	return n, nil
}

// attemptFilter checks the caller and f's state, and returns the state and
// cluster as the attempt queries take them (nil: any).
func attemptFilter(ctx context.Context, f AttemptFilter) (*string, *int64, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, nil, err
	}
	switch f.State {
	case "", StateHealing, StateHealed, StateFailed, StateHandedOver:
	default:
		return nil, nil, fault.Field("state", "state is HEALING, HEALED, FAILED or HANDED_OVER, not %q", f.State)
	}
	var state *string
	if f.State != "" {
		state = &f.State
	}
	var cluster *int64
	if f.ClusterID != 0 {
		cluster = &f.ClusterID
	}
	return state, cluster, nil
}

// Waiting lists the sick hosts waiting, with why, of one cluster (0: all),
// longest waiting first, at most limit (1..500).
func (s *Service) Waiting(ctx context.Context, cluster int64, limit int) ([]*Waiting, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	if limit < 1 || limit > 500 {
		return nil, fault.Field("first", "between 1 and 500 hosts")
	}
	rows, err := s.pool.Query(ctx, `SELECT w.host_id, h.hostname, w.cluster_id, w.signals, w.reason, w.since, w.updated_at
		FROM healing_wait w JOIN host h ON h.id = w.host_id
		WHERE $1 = 0 OR w.cluster_id = $1 ORDER BY w.since, w.host_id LIMIT $2`, cluster, limit)
	if err != nil {
		return nil, fmt.Errorf("error loading hosts waiting for healing: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*Waiting, error) {
		var w Waiting
		err := r.Scan(&w.HostID, &w.Hostname, &w.ClusterID, &w.Signals, &w.Reason, &w.Since, &w.UpdatedAt)
		return &w, err
	})
	if err != nil {
		return nil, fmt.Errorf("error loading hosts waiting for healing: %w", err)
	}
	return out, nil
}

// MaxRateDays bounds the healing rate's history.
const MaxRateDays = 400

// RatePerDay returns, for each UTC day of the last days (1..MaxRateDays) on
// which attempts ended, how many healed, failed and were handed over, oldest
// first.
func (s *Service) RatePerDay(ctx context.Context, days int, cluster int64, now time.Time) ([]Day, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	if days < 1 || days > MaxRateDays {
		return nil, fault.Field("days", "between 1 and %d days", MaxRateDays)
	}
	from := now.UTC().Truncate(24*time.Hour).AddDate(0, 0, -(days - 1))
	rows, err := s.pool.Query(ctx, sqlRate, from, cluster)
	if err != nil {
		return nil, fmt.Errorf("error loading the healing rate: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Day, error) {
		var d Day
		err := r.Scan(&d.Day, &d.Healed, &d.Failed, &d.HandedOver)
		return d, err
	})
	if err != nil {
		return nil, fmt.Errorf("error loading the healing rate: %w", err)
	}
	return out, nil
}
