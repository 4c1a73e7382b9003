package aquila

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/fault"
)

// PreCheckUpgrade reports req's pre-checks (PASS / WARNING / FAIL) without
// starting anything. req.Kind is taken as UPGRADE.
func (s *Service) PreCheckUpgrade(ctx context.Context, req Request) ([]Check, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	req.Kind = KindUpgrade
	return PreCheck(ctx, s.pool, req, s.PreCheck)
}

// Upgrade runs req's pre-checks and, when none FAILs, plans and submits the
// upgrade, all in the audited transaction (startOperation), so the checks
// and the plan see the same state and a refusal is audited too. A FAIL
// refuses it with BAD_USER_INPUT listing the failing checks; the checks come
// back in both cases.
func (s *Service) Upgrade(ctx context.Context, req Request) (*Operation, []Check, error) {
	p, err := requireOperator(ctx, "starting an operation")
	if err != nil {
		return nil, nil, err
	}
	req.Kind = KindUpgrade
	req.RequestedBy = p.Login
	var (
		id     int64
		checks []Check
	)
	err = s.audit.Do(ctx, "startOperation", fmt.Sprintf("cluster:%d", req.ClusterID), &req, func(tx pgx.Tx) error {
		var st *upgradeState
		var err error
		checks, st, err = preCheck(ctx, tx, req, s.PreCheck)
		if err != nil {
			return err
		}
		if failed := FailedChecks(checks); len(failed) > 0 {
			parts := make([]string, len(failed))
			for i, c := range failed {
				parts[i] = c.Name + ": " + c.Message
			}
			return fault.Field("input", "upgrade refused by its pre-checks: %s", strings.Join(parts, "; "))
		}
		plan, err := st.plan(req)
		if err != nil {
			return err
		}
		id, err = s.engine.Submit(ctx, tx, *plan)
		return err
	})
	if err != nil {
		return nil, checks, err
	}
	op, err := s.load(ctx, s.pool, id)
	return op, checks, err
}

// UpgradeOutcome is one cluster's part of UpgradeClusters.
type UpgradeOutcome struct {
	ClusterID int64
	// Operation is the submitted upgrade (nil when refused).
	Operation *Operation
	Checks    []Check
	// Err says why this cluster's upgrade was refused.
	Err error
}

// UpgradeClusters submits one upgrade per request (one cluster each; a
// cluster named twice is refused), each through Upgrade. At most concurrency
// of them (and never more than the platform's MaxRunningUpgrades) run at
// once: the others stay PENDING and start as slots free. concurrency 0 leaves
// only the platform's limit. One cluster's refusal does not stop the others.
func (s *Service) UpgradeClusters(ctx context.Context, reqs []Request, concurrency int) ([]UpgradeOutcome, error) {
	if _, err := requireOperator(ctx, "starting an operation"); err != nil {
		return nil, err
	}
	if concurrency < 0 {
		return nil, fault.Field("concurrency", "the concurrency cannot be negative")
	}
	if len(reqs) == 0 || len(reqs) > 500 {
		return nil, fault.Field("clusters", "between 1 and 500 clusters, got %d", len(reqs))
	}
	seen := map[int64]int{}
	for i, r := range reqs {
		if j, ok := seen[r.ClusterID]; ok {
			return nil, fault.Field(fmt.Sprintf("clusters[%d]", i), "cluster %d is already clusters[%d]", r.ClusterID, j)
		}
		seen[r.ClusterID] = i
	}
	out := make([]UpgradeOutcome, len(reqs))
	for i, r := range reqs {
		out[i].ClusterID = r.ClusterID
		if concurrency > 0 {
			var m map[string]any
			if len(r.Params) > 0 {
				if err := json.Unmarshal(r.Params, &m); err != nil {
					out[i].Err = fault.Field(fmt.Sprintf("clusters[%d].params", i), "UPGRADE parameters are not valid: %v", err)
					continue
				}
			}
			if m == nil {
				m = map[string]any{}
			}
			m["maxConcurrent"] = concurrency
			r.Params, _ = json.Marshal(m)
		}
		out[i].Operation, out[i].Checks, out[i].Err = s.Upgrade(ctx, r)
	}
	return out, nil
}
