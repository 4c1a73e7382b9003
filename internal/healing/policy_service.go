package healing

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/fault"
)

// ClusterPolicy is a cluster's healing policy: its kind's defaults with the
// cluster's own settings over them.
type ClusterPolicy struct {
	ClusterID int64
	Kind      string
	// Enabled is false when healing is turned off for the cluster.
	Enabled bool
	Policy
	// Own says which fields the cluster sets itself (the rest are its kind's
	// defaults), and UpdatedBy who set them last ("" when none).
	Own       ClusterPolicyInput
	UpdatedBy string
}

// ClusterPolicyInput sets a cluster's own healing policy; nil fields take
// the cluster kind's defaults.
type ClusterPolicyInput struct {
	ClusterID    int64  `json:"clusterId"`
	Enabled      *bool  `json:"enabled,omitempty"`
	MaxAtOnce    *int32 `json:"maxAtOnce,omitempty"`
	MaxAtOncePct *int32 `json:"maxAtOncePercent,omitempty"`
	MaxPerDay    *int32 `json:"maxPerDay,omitempty"`
	AllowReboot  *bool  `json:"allowReboot,omitempty"`
}

// ClusterPolicy returns the healing policy cluster runs under (any
// signed-in caller), over the service's defaults.
func (s *Service) ClusterPolicy(ctx context.Context, cluster int64) (*ClusterPolicy, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	return loadClusterPolicy(ctx, s.pool, cluster, s.defaults)
}

func loadClusterPolicy(ctx context.Context, q db.DBTX, cluster int64, cfg Config) (*ClusterPolicy, error) {
	out := &ClusterPolicy{ClusterID: cluster}
	var own clusterOverride
	var enabled *bool
	err := q.QueryRow(ctx, `SELECT c.kind, p.enabled, p.max_at_once, p.max_at_once_pct, p.max_per_day, p.allow_reboot, coalesce(p.updated_by, '')
		FROM cluster c LEFT JOIN cluster_healing_policy p ON p.cluster_id = c.id WHERE c.id = $1`, cluster).
		Scan(&out.Kind, &enabled, &own.maxAtOnce, &own.maxAtOncePct, &own.perDay, &own.allowReboot, &own.by)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fault.NotFoundf("cluster %d not found", cluster)
	}
	if err != nil {
		return nil, fmt.Errorf("error loading the healing policy of cluster %d: %w", cluster, err)
	}
	out.Enabled = enabled == nil || *enabled
	out.Policy = own.apply(cfg.policy(out.Kind))
	out.Own = ClusterPolicyInput{ClusterID: cluster, Enabled: enabled, MaxAtOnce: own.maxAtOnce, MaxAtOncePct: own.maxAtOncePct,
		MaxPerDay: own.perDay, AllowReboot: own.allowReboot}
	out.UpdatedBy = own.by
	return out, nil
}

// SetClusterPolicy sets a cluster's own healing policy (ADMIN, audited
// setHealingPolicy): the budget (hosts at once, share, per day), whether a
// silent host may be rebooted, or healing turned off. Nil fields go back to
// the cluster kind's defaults.
func (s *Service) SetClusterPolicy(ctx context.Context, in ClusterPolicyInput) (*ClusterPolicy, error) {
	if s.audit == nil {
		return nil, fmt.Errorf("error setting a healing policy: the service has no audit log")
	}
	var out *ClusterPolicy
	err := s.audit.Do(ctx, "setHealingPolicy", fmt.Sprintf("cluster:%d", in.ClusterID), &in, func(tx pgx.Tx) error {
		p, err := auth.RequireRole(ctx, auth.Admin, "setting a cluster's healing policy")
		if err != nil {
			return err
		}
		switch {
		case in.MaxAtOnce != nil && (*in.MaxAtOnce < 1 || *in.MaxAtOnce > 1000):
			return fault.Field("input.maxAtOnce", "hosts healing at once: 1 to 1000, not %d", *in.MaxAtOnce)
		case in.MaxAtOncePct != nil && (*in.MaxAtOncePct < 1 || *in.MaxAtOncePct > 100):
			return fault.Field("input.maxAtOncePercent", "share of the cluster healing at once: 1 to 100%%, not %d", *in.MaxAtOncePct)
		case in.MaxPerDay != nil && (*in.MaxPerDay < 0 || *in.MaxPerDay > 100000):
			return fault.Field("input.maxPerDay", "hosts healed a day: 0 to 100000, not %d", *in.MaxPerDay)
		}
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM cluster WHERE id = $1)`, in.ClusterID).Scan(&exists); err != nil {
			return fmt.Errorf("error loading cluster %d: %w", in.ClusterID, err)
		}
		if !exists {
			return fault.NotFoundf("cluster %d not found", in.ClusterID)
		}
		enabled := in.Enabled == nil || *in.Enabled
		if _, err := tx.Exec(ctx, `INSERT INTO cluster_healing_policy (cluster_id, enabled, max_at_once, max_at_once_pct, max_per_day, allow_reboot, updated_by, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, now())
			ON CONFLICT (cluster_id) DO UPDATE SET enabled = EXCLUDED.enabled, max_at_once = EXCLUDED.max_at_once,
				max_at_once_pct = EXCLUDED.max_at_once_pct, max_per_day = EXCLUDED.max_per_day, allow_reboot = EXCLUDED.allow_reboot,
				updated_by = EXCLUDED.updated_by, updated_at = now()`,
			in.ClusterID, enabled, in.MaxAtOnce, in.MaxAtOncePct, in.MaxPerDay, in.AllowReboot, p.Login); err != nil {
			return fmt.Errorf("error setting the healing policy of cluster %d: %w", in.ClusterID, err)
		}
		out, err = loadClusterPolicy(ctx, tx, in.ClusterID, s.defaults)
		return err
	})
	return out, err
}
