package hardware

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/hardware/dbsqlc"
)

// Lifecycle is a host's life as hardware.
type Lifecycle struct {
	HostID int64
	// InServiceAt is when the host entered service; nil when not known (its
	// age is then unknown).
	InServiceAt *time.Time
	// TrackedSince and TrackedUntil bound the time Tesla (or the source it was
	// imported from) would have seen the host's faults: its exposure.
	TrackedSince time.Time
	TrackedUntil *time.Time
	WarrantyEnd  *time.Time
	Generation   string
	Source       string
	UpdatedAt    time.Time
}

// AgeYears is the host's age at t in years (365.25 days), nil when unknown.
func (l *Lifecycle) AgeYears(t time.Time) *float64 {
	if l == nil || l.InServiceAt == nil {
		return nil
	}
	y := t.Sub(*l.InServiceAt).Hours() / hoursPerYear
	return &y
}

const hoursPerYear = 365.25 * 24

func lifecycleFromRow(r *dbsqlc.HostLifecycle) *Lifecycle {
	l := &Lifecycle{HostID: r.HostID, InServiceAt: r.InServiceAt, TrackedSince: r.TrackedSince, TrackedUntil: r.TrackedUntil,
		Generation: r.Generation, Source: r.Source, UpdatedAt: r.UpdatedAt}
	if r.WarrantyEnd.Valid {
		t := r.WarrantyEnd.Time
		l.WarrantyEnd = &t
	}
	return l
}

func dateOf(t *time.Time) pgtype.Date {
	if t == nil {
		return pgtype.Date{}
	}
	return pgtype.Date{Time: t.UTC().Truncate(24 * time.Hour), Valid: true}
}

// LifecycleInput changes a host's lifecycle; nil fields keep their value, and
// Clear* fields remove one.
type LifecycleInput struct {
	HostID         int64      `json:"hostId"`
	InServiceAt    *time.Time `json:"inServiceAt,omitempty"`
	ClearInService bool       `json:"clearInService,omitempty"`
	WarrantyEnd    *time.Time `json:"warrantyEnd,omitempty"`
	ClearWarranty  bool       `json:"clearWarranty,omitempty"`
	Generation     *string    `json:"generation,omitempty"`
	Reason         string     `json:"reason,omitempty"`
}

// SetLifecycle records a host's in-service date, warranty end and generation
// (OPERATOR or ADMIN), audited. A host without a lifecycle is tracked since it
// was registered.
func (s *Service) SetLifecycle(ctx context.Context, in LifecycleInput) (*Lifecycle, error) {
	var out *Lifecycle
	err := s.audit.Do(ctx, "setHostLifecycle", fmt.Sprintf("host:%d", in.HostID), in, func(tx pgx.Tx) error {
		if _, err := auth.RequireRole(ctx, auth.Operator, "changing a host's lifecycle"); err != nil {
			return err
		}
		now := s.now()
		if in.InServiceAt != nil && in.InServiceAt.After(now) {
			return fault.Field("input.inServiceAt", "in-service date %s is in the future", in.InServiceAt.Format(time.DateOnly))
		}
		if in.InServiceAt != nil && in.InServiceAt.Year() < 1990 {
			return fault.Field("input.inServiceAt", "in-service date %s is before 1990", in.InServiceAt.Format(time.DateOnly))
		}
		if in.Generation != nil {
			g := strings.TrimSpace(*in.Generation)
			if len(g) > 100 {
				return fault.Field("input.generation", "generation is limited to 100 characters")
			}
			in.Generation = &g
		}
		var created time.Time
		if err := tx.QueryRow(ctx, `SELECT created_at FROM host WHERE id = $1`, in.HostID).Scan(&created); err != nil {
			return db.Interpret(err, "host")
		}
		cur := &Lifecycle{HostID: in.HostID, TrackedSince: created, Source: "person"}
		rows, err := queries.LifecyclesOf(ctx, tx, []int64{in.HostID})
		if err != nil {
			return fmt.Errorf("error loading lifecycle of host %d: %w", in.HostID, err)
		}
		if len(rows) > 0 {
			cur = lifecycleFromRow(rows[0])
		}
		if in.InServiceAt != nil {
			t := in.InServiceAt.UTC()
			cur.InServiceAt = &t
		} else if in.ClearInService {
			cur.InServiceAt = nil
		}
		if in.WarrantyEnd != nil {
			cur.WarrantyEnd = in.WarrantyEnd
		} else if in.ClearWarranty {
			cur.WarrantyEnd = nil
		}
		if in.Generation != nil {
			cur.Generation = *in.Generation
		}
		if cur.InServiceAt != nil && cur.WarrantyEnd != nil && cur.WarrantyEnd.Before(*cur.InServiceAt) {
			return fault.Field("input.warrantyEnd", "warranty end %s is before the in-service date %s",
				cur.WarrantyEnd.Format(time.DateOnly), cur.InServiceAt.Format(time.DateOnly))
		}
		row, err := queries.LifecycleUpsert(ctx, tx, &dbsqlc.LifecycleUpsertParams{HostID: in.HostID, InServiceAt: cur.InServiceAt,
			TrackedSince: cur.TrackedSince, TrackedUntil: cur.TrackedUntil, WarrantyEnd: dateOf(cur.WarrantyEnd),
			Generation: cur.Generation, Source: "person"})
		if err != nil {
			return db.Interpret(err, "host lifecycle")
		}
		if err := markChanged(ctx, tx); err != nil {
			return err
		}
		out = lifecycleFromRow(row)
		return nil
	})
	if err == nil {
		s.cache.clear()
	}
	return out, err
}

// LifecyclesOf returns hosts' lifecycles (absent when none is recorded), for a
// dataloader.
func (s *Service) LifecyclesOf(ctx context.Context, hosts []int64) (map[int64]*Lifecycle, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	rows, err := queries.LifecyclesOf(ctx, s.dbtx, hosts)
	if err != nil {
		return nil, fmt.Errorf("error loading host lifecycles: %w", err)
	}
	out := make(map[int64]*Lifecycle, len(rows))
	for _, r := range rows {
		out[r.HostID] = lifecycleFromRow(r)
	}
	return out, nil
}

// ImportLifecycles records lifecycles from a source that knows them whole (an
// importer: "import"; the demo seed: "sim"), leaving equal rows alone, and
// returns how many changed. It checks nothing and audits nothing.
func ImportLifecycles(ctx context.Context, dbtx db.DBTX, source string, ls []Lifecycle) (int64, error) {
	if source != "import" && source != "sim" {
		return 0, errors.New("error recording lifecycles: source must be import or sim")
	}
	if len(ls) == 0 {
		return 0, nil
	}
	n := len(ls)
	p := &dbsqlc.LifecyclesImportParams{Source: source, HostIds: make([]int64, n), InService: make([]time.Time, n),
		TrackedSince: make([]time.Time, n), TrackedUntil: make([]time.Time, n), WarrantyEnd: make([]pgtype.Date, n),
		Generations: make([]string, n)}
	for i, l := range ls {
		p.HostIds[i], p.TrackedSince[i], p.Generations[i] = l.HostID, l.TrackedSince, l.Generation
		if l.InServiceAt != nil {
			p.InService[i] = *l.InServiceAt
		}
		if l.TrackedUntil != nil {
			p.TrackedUntil[i] = *l.TrackedUntil
		}
		p.WarrantyEnd[i] = dateOf(l.WarrantyEnd)
	}
	changed, err := queries.LifecyclesImport(ctx, dbtx, p)
	if err != nil {
		return 0, fmt.Errorf("error recording host lifecycles: %w", err)
	}
	if changed > 0 {
		if err := markChanged(ctx, dbtx); err != nil {
			return 0, err
		}
	}
	return changed, nil
}
