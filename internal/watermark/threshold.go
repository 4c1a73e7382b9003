package watermark

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/internal/audit"
	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/fault"
)

// ThresholdInput asks to change the utilisation threshold of a cluster kind (or of
// the platform, kind PlatformKind).
type ThresholdInput struct {
	Kind      string  `json:"kind"`
	Threshold float64 `json:"threshold"`
}

// SetThreshold changes a threshold and returns every threshold as it now stands.
// It needs ADMIN and is audited. Levels read afterwards are judged against the new
// threshold at once (status is computed at read time); stored forecasts pick it up
// at the forecast job's next run.
func (s *Service) SetThreshold(ctx context.Context, log *audit.Log, in ThresholdInput) (map[string]float64, error) {
	err := log.Do(ctx, "setWatermarkThreshold", "threshold:"+in.Kind, in, func(tx pgx.Tx) error {
		if _, err := auth.RequireRole(ctx, auth.Admin, "changing a watermark threshold"); err != nil {
			return err
		}
		switch in.Kind {
		case "STREAMING", "BATCH", "ONLINE", PlatformKind:
		default:
			return fault.Field("input.kind", "kind must be STREAMING, BATCH, ONLINE or %s, not %q", PlatformKind, in.Kind)
		}
		if !(in.Threshold > 0 && in.Threshold <= 1) {
			return fault.Field("input.threshold", "threshold is a share of capacity: more than 0, at most 1 (0.85 = 85%%)")
		}
		if _, err := tx.Exec(ctx, `UPDATE watermark_threshold SET threshold = $2, updated_at = now() WHERE kind = $1`,
			in.Kind, in.Threshold); err != nil {
			return fmt.Errorf("error setting threshold: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.Thresholds(ctx)
}
