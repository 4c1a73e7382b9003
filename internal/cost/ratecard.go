package cost

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/shopspring/decimal"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/fault"
)

// RateCard prices a cluster kind or one cluster (exactly one of ClusterKind
// and ClusterID is set) for the days [ValidFrom, ValidTo); ValidTo nil means
// until further notice. Prices are per core-hour, per memory GB-hour and per
// TB-day stored (TB = 10^12 bytes, of the datasets the cluster's jobs wrote
// last); OverheadPerMonth is a fixed amount per month for each cluster the
// card prices.
type RateCard struct {
	ID               int64           `json:"id"`
	ClusterKind      *string         `json:"clusterKind,omitempty"`
	ClusterID        *int64          `json:"clusterId,omitempty"`
	ValidFrom        time.Time       `json:"validFrom"`
	ValidTo          *time.Time      `json:"validTo,omitempty"`
	CoreHour         decimal.Decimal `json:"coreHour"`
	MemoryGBHour     decimal.Decimal `json:"memoryGbHour"`
	OverheadPerMonth decimal.Decimal `json:"overheadPerMonth"`
	StorageTBDay     decimal.Decimal `json:"storageTbDay"`
	Note             string          `json:"note"`
	UpdatedAt        time.Time       `json:"updatedAt"`
}

// Target names what the card prices, for messages: "kind BATCH" or "cluster 7".
func (c *RateCard) Target() string {
	if c.ClusterKind != nil {
		return "kind " + *c.ClusterKind
	}
	return fmt.Sprintf("cluster %d", *c.ClusterID)
}

// covers reports whether the card is valid on day (a UTC midnight).
func (c *RateCard) covers(day time.Time) bool {
	return !day.Before(c.ValidFrom) && (c.ValidTo == nil || day.Before(*c.ValidTo))
}

const rateCardColumns = `id, cluster_kind, cluster_id, valid_from, valid_to, core_hour, memory_gb_hour,
	overhead_per_month, storage_tb_day, note, updated_at`

func scanRateCard(row pgx.CollectableRow) (*RateCard, error) {
	var c RateCard
	err := row.Scan(&c.ID, &c.ClusterKind, &c.ClusterID, &c.ValidFrom, &c.ValidTo, &c.CoreHour, &c.MemoryGBHour,
		&c.OverheadPerMonth, &c.StorageTBDay, &c.Note, &c.UpdatedAt)
	return &c, err
}

// loadRateCards reads every card: a few per kind and cluster, so all of them.
func loadRateCards(ctx context.Context, q db.DBTX) ([]*RateCard, error) {
	rows, err := q.Query(ctx, `SELECT `+rateCardColumns+` FROM rate_card ORDER BY cluster_kind NULLS LAST, cluster_id, valid_from`)
	if err != nil {
		return nil, fmt.Errorf("error loading rate cards: %w", err)
	}
	cards, err := pgx.CollectRows(rows, scanRateCard)
	if err != nil {
		return nil, fmt.Errorf("error loading rate cards: %w", err)
	}
	return cards, nil
}

// RateCards lists every rate card. Prices are platform facts: any signed-in
// caller may read them (a viewer's bill is explained by them).
func (s *Service) RateCards(ctx context.Context) ([]*RateCard, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	return loadRateCards(ctx, s.pool)
}

// RateCardInput creates (ID 0) or replaces a rate card.
type RateCardInput struct {
	ID               int64            `json:"id,omitempty"`
	ClusterKind      *string          `json:"clusterKind,omitempty"`
	ClusterID        *int64           `json:"clusterId,omitempty"`
	ValidFrom        time.Time        `json:"validFrom"`
	ValidTo          *time.Time       `json:"validTo,omitempty"`
	CoreHour         decimal.Decimal  `json:"coreHour"`
	MemoryGBHour     decimal.Decimal  `json:"memoryGbHour"`
	OverheadPerMonth *decimal.Decimal `json:"overheadPerMonth,omitempty"`
	// StorageTBDay nil: 0 for a new card, unchanged for a replaced one.
	StorageTBDay *decimal.Decimal `json:"storageTbDay,omitempty"`
	Note         string           `json:"note,omitempty"`
}

// RateCardChange is what the audit log records: the input, and the card
// before and after.
type RateCardChange struct {
	Input  RateCardInput `json:"input"`
	Before *RateCard     `json:"before,omitempty"`
	After  *RateCard     `json:"after,omitempty"`
}

// maxPrice bounds prices to what numeric(18, 6) holds.
var maxPrice = decimal.New(1, 12)

// validate checks the input, naming the field at fault. Dates are days: a
// time of day is refused rather than silently dropped.
func (in *RateCardInput) validate() error {
	switch {
	case (in.ClusterKind == nil) == (in.ClusterID == nil):
		return fault.Field("input.clusterKind", "give exactly one of clusterKind and cluster: a card prices a cluster kind or a single cluster")
	case in.ClusterKind != nil && *in.ClusterKind != "STREAMING" && *in.ClusterKind != "BATCH" && *in.ClusterKind != "ONLINE":
		return fault.Field("input.clusterKind", "unknown cluster kind %q: use STREAMING, BATCH or ONLINE", *in.ClusterKind)
	case in.ValidFrom.IsZero():
		return fault.Field("input.validFrom", "validFrom is required")
	case !isDay(in.ValidFrom):
		return fault.Field("input.validFrom", "validFrom must be a day (midnight UTC), got %s", in.ValidFrom.Format(time.RFC3339))
	case in.ValidTo != nil && !isDay(*in.ValidTo):
		return fault.Field("input.validTo", "validTo must be a day (midnight UTC), got %s", in.ValidTo.Format(time.RFC3339))
	case in.ValidTo != nil && !in.ValidTo.After(in.ValidFrom):
		return fault.Field("input.validTo", "validTo (%s) must be after validFrom (%s)", in.ValidTo.Format(time.DateOnly), in.ValidFrom.Format(time.DateOnly))
	}
	for _, p := range []struct {
		field string
		v     decimal.Decimal
	}{{"input.coreHour", in.CoreHour}, {"input.memoryGbHour", in.MemoryGBHour}, {"input.storageTbDay", deref(in.StorageTBDay)}} {
		if p.v.IsNegative() {
			return fault.Field(p.field, "a price cannot be negative (%s)", p.v)
		}
		if p.v.GreaterThanOrEqual(maxPrice) || !p.v.Equal(p.v.Round(6)) {
			return fault.Field(p.field, "a price has at most 12 digits before and 6 after the decimal point (%s)", p.v)
		}
	}
	if o := in.OverheadPerMonth; o != nil {
		if o.IsNegative() {
			return fault.Field("input.overheadPerMonth", "overhead cannot be negative (%s)", o)
		}
		if o.GreaterThanOrEqual(decimal.New(1, 16)) || !o.Equal(o.Round(2)) {
			return fault.Field("input.overheadPerMonth", "overhead is an amount with at most 2 decimals (%s)", o)
		}
	}
	if len(in.Note) > 500 {
		return fault.Field("input.note", "a note has at most 500 characters")
	}
	return nil
}

func deref(d *decimal.Decimal) decimal.Decimal {
	if d == nil {
		return decimal.Zero
	}
	return *d
}

func isDay(t time.Time) bool { return t.Equal(t.UTC().Truncate(24 * time.Hour)) }

// rateCardLock serialises card changes: the overlap check and the write must
// see the same cards.
const rateCardLock = 0x52437264 // "RCrd"

// UpsertRateCard creates or replaces a rate card (ADMIN only), refusing one
// whose validity overlaps another card for the same target, naming it. The
// change is audited with the card before and after. Bills already written
// keep their prices until the billing job re-bills their days.
func (s *Service) UpsertRateCard(ctx context.Context, in RateCardInput) (*RateCard, error) {
	change := &RateCardChange{Input: in}
	target := "rateCard:new"
	if in.ID != 0 {
		target = fmt.Sprintf("rateCard:%d", in.ID)
	}
	var out *RateCard
	err := s.audit.Do(ctx, "upsertRateCard", target, change, func(tx pgx.Tx) error {
		if _, err := auth.RequireRole(ctx, auth.Admin, "editing rate cards"); err != nil {
			return err
		}
		if err := in.validate(); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(rateCardLock)); err != nil {
			return fmt.Errorf("error locking rate cards: %w", err)
		}
		if in.ClusterID != nil {
			var exists bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM cluster WHERE id = $1)`, *in.ClusterID).Scan(&exists); err != nil {
				return fmt.Errorf("error loading cluster %d: %w", *in.ClusterID, err)
			}
			if !exists {
				return fault.Field("input.cluster", "no cluster with id %d", *in.ClusterID)
			}
		}
		if in.ID != 0 {
			row, err := tx.Query(ctx, `SELECT `+rateCardColumns+` FROM rate_card WHERE id = $1`, in.ID)
			if err != nil {
				return fmt.Errorf("error loading rate card %d: %w", in.ID, err)
			}
			before, err := pgx.CollectExactlyOneRow(row, scanRateCard)
			if err != nil {
				return db.Interpret(err, fmt.Sprintf("rate card %d", in.ID))
			}
			change.Before = before
		}
		var other RateCard
		err := tx.QueryRow(ctx, `SELECT id, valid_from, valid_to FROM rate_card
			WHERE cluster_kind IS NOT DISTINCT FROM $1 AND cluster_id IS NOT DISTINCT FROM $2 AND id <> $3
			  AND daterange(valid_from, valid_to) && daterange($4::date, $5::date)
			ORDER BY valid_from LIMIT 1`,
			in.ClusterKind, in.ClusterID, in.ID, in.ValidFrom, in.ValidTo).Scan(&other.ID, &other.ValidFrom, &other.ValidTo)
		switch {
		case err == nil:
			return fault.Field("input.validFrom", "the card overlaps rate card %d for the same target (valid %s); end that card first or choose other dates",
				other.ID, validity(other.ValidFrom, other.ValidTo))
		case !errors.Is(err, pgx.ErrNoRows):
			return fmt.Errorf("error checking rate card overlaps: %w", err)
		}
		overhead := decimal.Zero
		if in.OverheadPerMonth != nil {
			overhead = *in.OverheadPerMonth
		} else if change.Before != nil {
			overhead = change.Before.OverheadPerMonth
		}
		storage := decimal.Zero
		if in.StorageTBDay != nil {
			storage = *in.StorageTBDay
		} else if change.Before != nil {
			storage = change.Before.StorageTBDay
		}
		var rows pgx.Rows
		if in.ID == 0 {
			rows, err = tx.Query(ctx, `INSERT INTO rate_card (cluster_kind, cluster_id, valid_from, valid_to, core_hour,
				memory_gb_hour, overhead_per_month, storage_tb_day, note) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING `+rateCardColumns,
				in.ClusterKind, in.ClusterID, in.ValidFrom, in.ValidTo, in.CoreHour, in.MemoryGBHour, overhead, storage, in.Note)
		} else {
			rows, err = tx.Query(ctx, `UPDATE rate_card SET cluster_kind = $2, cluster_id = $3, valid_from = $4, valid_to = $5,
				core_hour = $6, memory_gb_hour = $7, overhead_per_month = $8, storage_tb_day = $9, note = $10, updated_at = now()
				WHERE id = $1 RETURNING `+rateCardColumns,
				in.ID, in.ClusterKind, in.ClusterID, in.ValidFrom, in.ValidTo, in.CoreHour, in.MemoryGBHour, overhead, storage, in.Note)
		}
		if err != nil {
			return fmt.Errorf("error writing rate card: %w", err)
		}
		out, err = pgx.CollectExactlyOneRow(rows, scanRateCard)
		if err != nil {
			return fmt.Errorf("error writing rate card: %w", db.Interpret(err, "rate card"))
		}
		change.After = out
		return nil
	})
	return out, err
}

// DeleteRateCard removes a rate card (ADMIN only), audited with the card
// removed. Days already billed keep their lines until re-billed; days billed
// later without a card for their cluster are not priced.
func (s *Service) DeleteRateCard(ctx context.Context, id int64) (*RateCard, error) {
	change := &RateCardChange{Input: RateCardInput{ID: id}}
	err := s.audit.Do(ctx, "deleteRateCard", fmt.Sprintf("rateCard:%d", id), change, func(tx pgx.Tx) error {
		if _, err := auth.RequireRole(ctx, auth.Admin, "deleting rate cards"); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `DELETE FROM rate_card WHERE id = $1 RETURNING `+rateCardColumns, id)
		if err != nil {
			return fmt.Errorf("error deleting rate card %d: %w", id, err)
		}
		change.Before, err = pgx.CollectExactlyOneRow(rows, scanRateCard)
		return db.Interpret(err, fmt.Sprintf("rate card %d", id))
	})
	return change.Before, err
}

func validity(from time.Time, to *time.Time) string {
	if to == nil {
		return "from " + from.Format(time.DateOnly)
	}
	return from.Format(time.DateOnly) + " to " + to.Format(time.DateOnly)
}

// cardFor picks the card pricing a cluster on day: the cluster's own card
// wins over its kind's; nil when neither is valid that day.
func cardFor(cards []*RateCard, clusterID int64, kind string, day time.Time) *RateCard {
	var byKind *RateCard
	for _, c := range cards {
		if !c.covers(day) {
			continue
		}
		if c.ClusterID != nil && *c.ClusterID == clusterID {
			return c
		}
		if c.ClusterKind != nil && *c.ClusterKind == kind {
			byKind = c
		}
	}
	return byKind
}
