package cost

import (
	"context"
	"fmt"
	"time"

	"github.com/shopspring/decimal"

	"github.com/teslaops/tesla/internal/db"
)

// DefaultRateCards are the demo's prices per cluster kind: streaming and
// online capacity is kept with headroom, so it costs more per core than
// batch capacity, which runs full. Storage costs 0.75 a TB-day (about 23 a
// TB-month) on batch clusters' bulk disks, more on the others' faster ones.
var DefaultRateCards = []struct {
	Kind                                          string
	CoreHour, MemoryGBHour, Monthly, StorageTBDay string
}{
	{"BATCH", "0.040000", "0.005000", "3000.00", "0.750000"},
	{"STREAMING", "0.060000", "0.008000", "5000.00", "1.200000"},
	{"ONLINE", "0.080000", "0.010000", "4000.00", "1.500000"},
}

// SeedRateCards writes DefaultRateCards, valid from validFrom on, when there
// is no rate card yet; it returns how many it wrote. For `tesla seed demo`,
// which writes its whole fleet without a caller.
func SeedRateCards(ctx context.Context, q db.DBTX, validFrom time.Time) (int, error) {
	n := 0
	for _, c := range DefaultRateCards {
		tag, err := q.Exec(ctx, `INSERT INTO rate_card (cluster_kind, valid_from, core_hour, memory_gb_hour, overhead_per_month, storage_tb_day, note)
			SELECT $1, $2, $3, $4, $5, $6, 'demo default' WHERE NOT EXISTS (SELECT 1 FROM rate_card WHERE cluster_kind = $1)`,
			c.Kind, validFrom.UTC().Truncate(24*time.Hour), decimal.RequireFromString(c.CoreHour),
			decimal.RequireFromString(c.MemoryGBHour), decimal.RequireFromString(c.Monthly), decimal.RequireFromString(c.StorageTBDay))
		if err != nil {
			return n, fmt.Errorf("error seeding rate cards: %w", err)
		}
		n += int(tag.RowsAffected())
	}
	return n, nil
}
