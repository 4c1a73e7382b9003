package leaderboard

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/internal/db"
)

// HealthTable is the HealthSource of an installation: the latest scores the
// `health` job stores in health_score (internal/health, migration 0024). It
// reads the table directly, read-only, because internal/health offers no
// method for every score of a level without a caller to check (its reads
// apply the viewer's access rules; the leaderboards rank everyone).
type HealthTable struct{ pool db.DBTX }

// NewHealthTable returns the HealthSource reading health_score through pool.
func NewHealthTable(pool db.DBTX) *HealthTable { return &HealthTable{pool: pool} }

// HealthScores returns the latest score of every subject of level.
func (h *HealthTable) HealthScores(ctx context.Context, level Level) (map[int64]float64, error) {
	rows, err := h.pool.Query(ctx, `SELECT subject_id, score FROM health_score WHERE level = $1`, string(level))
	if err != nil {
		return nil, errorf("loading the health scores", err)
	}
	out := map[int64]float64{}
	var id int64
	var score float64
	_, err = pgx.ForEachRow(rows, []any{&id, &score}, func() error {
		out[id] = score
		return nil
	})
	if err != nil {
		return nil, errorf("loading the health scores", err)
	}
	return out, nil
}
