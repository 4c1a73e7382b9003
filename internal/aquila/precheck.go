package aquila

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/fault"
)

// CheckStatus is a pre-check's verdict.
type CheckStatus string

// The verdicts: FAIL refuses the upgrade, WARNING lets it start.
const (
	CheckPass    CheckStatus = "PASS"
	CheckWarning CheckStatus = "WARNING"
	CheckFail    CheckStatus = "FAIL"
)

// Check is one pre-check of an upgrade, reported before anything starts.
type Check struct {
	Name    string
	Status  CheckStatus
	Message string
}

// The pre-checks, in the order reported.
const (
	CheckParams          = "params"
	CheckStackVersion    = "stackVersion"
	CheckDependencies    = "dependencies"
	CheckChanges         = "changes"
	CheckHostHealth      = "hostHealth"
	CheckWaterLevel      = "waterLevel"
	CheckActiveOperation = "activeOperation"
)

// PreCheckConfig bounds the host health check.
type PreCheckConfig struct {
	// UnhealthyFailPct: more hosts not ONLINE (MAINTENANCE and
	// DECOMMISSIONED aside) than this share of the cluster FAIL; fewer but
	// some WARN. Default 10.
	UnhealthyFailPct int
}

// PreCheck runs an upgrade's pre-checks on the cluster (read-only): the stack
// version exists, the result is consistent (no dependency cycle, every
// constraint holds), something changes, hosts are healthy, the cluster's
// current utilisation leaves room to take a batch out, and no operation holds
// the cluster. Any FAIL refuses the upgrade (Service.Upgrade); the error is
// for a request that cannot be read at all (cluster not found, database).
func PreCheck(ctx context.Context, q db.DBTX, req Request, cfg PreCheckConfig) ([]Check, error) {
	checks, _, err := preCheck(ctx, q, req, cfg)
	return checks, err
}

// preCheck is PreCheck, also returning what it read for planning (nil when
// the upgrade cannot be planned).
func preCheck(ctx context.Context, q db.DBTX, req Request, cfg PreCheckConfig) ([]Check, *upgradeState, error) {
	if cfg.UnhealthyFailPct <= 0 {
		cfg.UnhealthyFailPct = 10
	}
	var checks []Check
	add := func(name string, st CheckStatus, format string, args ...any) {
		checks = append(checks, Check{Name: name, Status: st, Message: fmt.Sprintf(format, args...)})
	}
	p, err := parseUpgradeParams(req.Params)
	if err != nil {
		add(CheckParams, CheckFail, "%s", faultMessage(err))
		return checks, nil, nil
	}
	st, err := loadUpgrade(ctx, q, req)
	planned := st
	if err != nil {
		planned = nil
	}
	switch {
	case err == nil:
		add(CheckStackVersion, CheckPass, "stack version %s %s", st.target.Stack, st.target.Version)
		add(CheckDependencies, CheckPass, "dependencies satisfied, no cycle")
		parts := make([]string, len(st.changes))
		for i, c := range st.changes {
			parts[i] = fmt.Sprintf("%s %s → %s", c.Service, cmp.Or(c.From, "?"), c.To)
		}
		for _, c := range st.added {
			parts = append(parts, fmt.Sprintf("%s added at %s", c.Service, c.To))
		}
		for _, c := range st.removed {
			parts = append(parts, fmt.Sprintf("%s %s removed", c.Service, c.From))
		}
		add(CheckChanges, CheckPass, "%d service(s) change, in this order: %s", len(parts), strings.Join(parts, ", "))
	case fault.Is(err, fault.NotFound):
		return nil, nil, err
	case st != nil && st.target == nil:
		add(CheckStackVersion, CheckFail, "%s", faultMessage(err))
	case fault.Is(err, fault.Invalid):
		msg := faultMessage(err)
		if f, ok := fault.As(err); ok && (f.Field == "params.stackVersionId" || f.Field == "params.services") {
			add(CheckStackVersion, CheckPass, "stack version %d exists", p.StackVersionID)
			add(CheckChanges, CheckFail, "%s", msg)
		} else {
			add(CheckStackVersion, CheckPass, "stack version %d exists", p.StackVersionID)
			add(CheckDependencies, CheckFail, "%s", msg)
		}
	default:
		return nil, nil, err
	}

	// Host health, from the per-state counters (no scan of host).
	var total, online, maint, down int64
	if err := q.QueryRow(ctx, `SELECT coalesce(sum(hosts) FILTER (WHERE state <> 'DECOMMISSIONED'), 0),
			coalesce(sum(hosts) FILTER (WHERE state = 'ONLINE'), 0),
			coalesce(sum(hosts) FILTER (WHERE state = 'MAINTENANCE'), 0),
			coalesce(sum(hosts) FILTER (WHERE state IN ('OFFLINE', 'REPAIRING')), 0)
		FROM cluster_host_stats WHERE cluster_id = $1`, req.ClusterID).Scan(&total, &online, &maint, &down); err != nil {
		return nil, nil, fmt.Errorf("error counting hosts of cluster %d: %w", req.ClusterID, err)
	}
	bad := total - online - maint
	// Hosts already OFFLINE or REPAIRING count against the out-of-service
	// share when tasks are claimed: filling it, they make the upgrade wait.
	wait := ""
	if share := max(total*int64(cmp.Or(req.MaxOutOfServicePct, DefaultMaxOutOfServicePct))/100, 1); down >= share && p.Strategy != StrategyExpress {
		wait = fmt.Sprintf("; the %d OFFLINE or REPAIRING fill the out-of-service share (%d host(s) at once): the upgrade will wait until they return",
			down, share)
	}
	switch {
	case total == 0:
		add(CheckHostHealth, CheckFail, "cluster %d has no hosts", req.ClusterID)
	case bad == 0:
		add(CheckHostHealth, CheckPass, "%d of %d hosts ONLINE (%d in MAINTENANCE, skipped)", online, total, maint)
	case bad*100 <= total*int64(cfg.UnhealthyFailPct):
		add(CheckHostHealth, CheckWarning, "%d of %d hosts are neither ONLINE nor in MAINTENANCE (at most %d%% allowed)%s", bad, total, cfg.UnhealthyFailPct, wait)
	default:
		add(CheckHostHealth, CheckFail, "%d of %d hosts are neither ONLINE nor in MAINTENANCE: more than %d%%%s", bad, total, cfg.UnhealthyFailPct, wait)
	}

	// Water level: the latest utilisation must fit in what stays in service
	// while a batch is out.
	batchPct := min(p.BatchPercent, cmp.Or(req.MaxOutOfServicePct, DefaultMaxOutOfServicePct))
	if p.Strategy == StrategyExpress {
		batchPct = 100
	}
	rows, err := q.Query(ctx, `SELECT dimension, used / capacity FROM watermark_latest
		WHERE cluster_id = $1 AND dimension IN ('CPU', 'MEMORY') AND capacity > 0 ORDER BY dimension`, req.ClusterID)
	if err != nil {
		return nil, nil, fmt.Errorf("error loading the water level of cluster %d: %w", req.ClusterID, err)
	}
	type level struct {
		Dim   string
		Share float64
	}
	levels, err := pgx.CollectRows(rows, pgx.RowToStructByPos[level])
	if err != nil {
		return nil, nil, fmt.Errorf("error loading the water level of cluster %d: %w", req.ClusterID, err)
	}
	room := float64(100-batchPct) / 100
	switch {
	case p.Strategy == StrategyExpress:
		add(CheckWaterLevel, CheckWarning, "EXPRESS takes the whole cluster out of service while it runs")
	case len(levels) == 0:
		add(CheckWaterLevel, CheckWarning, "no recent utilisation for cluster %d: cannot tell whether a %d%% batch fits", req.ClusterID, batchPct)
	default:
		worst := levels[0]
		for _, l := range levels[1:] {
			if l.Share > worst.Share {
				worst = l
			}
		}
		if worst.Share > room {
			add(CheckWaterLevel, CheckFail, "%s is at %.0f%% of capacity: taking a %d%% batch out leaves %.0f%%", worst.Dim, worst.Share*100, batchPct, room*100)
		} else {
			add(CheckWaterLevel, CheckPass, "%s at %.0f%% of capacity fits in the %.0f%% left while a %d%% batch is out", worst.Dim, worst.Share*100, room*100, batchPct)
		}
	}

	var id int64
	var kind Kind
	var state State
	err = q.QueryRow(ctx, `SELECT id, kind, state FROM operation WHERE cluster_id = $1 AND state IN ('PENDING', 'RUNNING', 'PAUSED')`,
		req.ClusterID).Scan(&id, &kind, &state)
	switch {
	case err == nil:
		add(CheckActiveOperation, CheckFail, "cluster %d already has operation %d (%s, %s) in progress", req.ClusterID, id, kind, state)
	case errors.Is(err, pgx.ErrNoRows):
		add(CheckActiveOperation, CheckPass, "no operation in progress on cluster %d", req.ClusterID)
	default:
		return nil, nil, fmt.Errorf("error loading operations of cluster %d: %w", req.ClusterID, err)
	}
	return checks, planned, nil
}

// FailedChecks returns the failing checks.
func FailedChecks(checks []Check) []Check {
	var out []Check
	for _, c := range checks {
		if c.Status == CheckFail {
			out = append(out, c)
		}
	}
	return out
}

func faultMessage(err error) string {
	if f, ok := fault.As(err); ok {
		return f.Message
	}
	return err.Error()
}
