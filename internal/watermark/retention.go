package watermark

import (
	"context"
	"fmt"
	"time"

	"github.com/teslaops/tesla/internal/db"
)

// ExpireResult counts the level rows Expire deleted, per table.
type ExpireResult struct {
	Minutes, Hours, Days int64
}

// Expire deletes 1-minute levels older than minutesBefore and hourly and daily
// levels older than coarseBefore. Minutes are kept for weeks (the detail of
// recent incidents), hours and days for more than a year (capacity planning
// compares with last year). The BRIN indexes on ts find the old rows without
// scanning the tables.
func Expire(ctx context.Context, q db.DBTX, minutesBefore, coarseBefore time.Time) (ExpireResult, error) {
	var res ExpireResult
	for _, t := range []struct {
		table  string
		before time.Time
		n      *int64
	}{
		{"watermark_1m", minutesBefore, &res.Minutes},
		{"watermark_1h", coarseBefore, &res.Hours},
		{"watermark_1d", coarseBefore, &res.Days},
	} {
		tag, err := q.Exec(ctx, `DELETE FROM `+t.table+` WHERE ts < $1`, t.before)
		if err != nil {
			return res, fmt.Errorf("error expiring %s: %w", t.table, err)
		}
		*t.n = tag.RowsAffected()
	}
	return res, nil
}
