package aquila

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/watermark"
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

// PreCheckConfig bounds the host health check and sizes the water-level
// check's window.
type PreCheckConfig struct {
	// UnhealthyFailPct: more hosts not ONLINE (MAINTENANCE and
	// DECOMMISSIONED aside) than this share of the cluster FAIL; fewer but
	// some WARN. Default 10.
	UnhealthyFailPct int
	// BatchDuration is how long a rolling batch is taken to last when the
	// cluster has no finished upgrade stages to tell (default 15 min).
	BatchDuration time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
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
	cfg.BatchDuration = cmp.Or(cfg.BatchDuration, DefaultBatchDuration)
	if cfg.Now == nil {
		cfg.Now = time.Now
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

	// Water level: what stays in service while a batch is out must carry the
	// load below the cluster's threshold, now and, by the forecast, until the
	// upgrade is expected to end.
	wl, err := waterLevel(ctx, q, req, p, cfg, int(total), int(maint))
	if err != nil {
		return nil, nil, err
	}
	checks = append(checks, wl)

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

// waterLevel is the water-level pre-check of a rolling upgrade of a cluster
// of total hosts (DECOMMISSIONED aside), maint of them in MAINTENANCE.
func waterLevel(ctx context.Context, q db.DBTX, req Request, p UpgradeParams, cfg PreCheckConfig, total, maint int) (Check, error) {
	check := func(st CheckStatus, format string, args ...any) (Check, error) {
		return Check{Name: CheckWaterLevel, Status: st, Message: fmt.Sprintf(format, args...)}, nil
	}
	if p.Strategy == StrategyExpress {
		return check(CheckWarning, "EXPRESS takes the whole cluster out of service while it runs")
	}
	maxPct := cmp.Or(req.MaxOutOfServicePct, DefaultMaxOutOfServicePct)
	batchPct := min(p.BatchPercent, maxPct)
	batches := 1
	if inService := total - maint; inService > 0 {
		size := batchSize(total, p.BatchPercent, maxPct)
		batches = (inService + size - 1) / size
		// On a small cluster the one-host floor takes out more than the
		// percentage asked: judge the share actually out.
		batchPct = max(batchPct, size*100/total)
	}
	if batchPct >= 100 {
		return check(CheckWarning, "a batch of one host is the whole of cluster %d: it is out of service while each batch runs", req.ClusterID)
	}
	per, fromHistory, err := typicalBatchTime(ctx, q, req.ClusterID, cfg.BatchDuration)
	if err != nil {
		return Check{}, err
	}
	now := cfg.Now()
	expected := time.Duration(batches) * per
	outlook, err := watermark.ClusterOutlook(ctx, q, req.ClusterID, []watermark.Dimension{watermark.CPU, watermark.Memory}, now, now.Add(expected))
	if err != nil {
		return Check{}, err
	}
	if len(outlook) == 0 {
		return check(CheckWarning, "no recent utilisation for cluster %d: cannot tell whether a %d%% batch fits", req.ClusterID, batchPct)
	}
	how := "the default"
	if fromHistory {
		how = "the median of the cluster's recent upgrade stages"
	}
	window := fmt.Sprintf("the upgrade's expected %s (%d batches × %s, %s)", expected, batches, per, how)
	st, msg := waterLevelCheck(outlook, batchPct, window)
	return check(st, "%s", msg)
}

// DefaultBatchDuration is a rolling batch's duration when the cluster's own
// history cannot tell: a batch restarts each host's services and waits for
// their health checks.
const DefaultBatchDuration = 15 * time.Minute

// typicalBatchTime is the median duration of the cluster's last 20 finished
// forward upgrade stages (a rolling batch is one stage, or one per phase when
// services are added or removed), or def when it has none.
func typicalBatchTime(ctx context.Context, q db.DBTX, cluster int64, def time.Duration) (time.Duration, bool, error) {
	var secs *float64
	if err := q.QueryRow(ctx, `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY x.secs)
		FROM (SELECT extract(epoch FROM s.ended_at - s.started_at)::float8 AS secs
			FROM operation_stage s JOIN operation o ON o.id = s.operation_id
			WHERE o.cluster_id = $1 AND o.kind = 'UPGRADE' AND NOT s.rollback AND s.state = 'SUCCEEDED'
			  AND s.started_at IS NOT NULL AND s.ended_at IS NOT NULL
			ORDER BY s.ended_at DESC LIMIT 20) x`, cluster).Scan(&secs); err != nil {
		return 0, false, fmt.Errorf("error loading the upgrade history of cluster %d: %w", cluster, err)
	}
	if secs == nil || *secs <= 0 {
		return def, false, nil
	}
	// Whole seconds read better in a message, and at least a second.
	return max(time.Duration(*secs*float64(time.Second)).Round(time.Second), time.Second), true, nil
}

// waterLevelCheck judges the outlook of a cluster's dimensions with a
// batchPct% batch out: the load then falls on the rest, so a utilisation u of
// the whole cluster becomes u / (1 − batch) of what stays in service. FAIL
// when the current level with the batch out is over the capacity left (the
// batch does not fit now); WARNING when it is over the cluster's threshold,
// or when the forecast's peak over the window (the upgrade's expected
// duration) with the batch out would be; PASS otherwise. The threshold is
// the cluster's alarm line, not its limit: a cluster that runs above it can
// still be upgraded, with the warning in front of the operator. A dimension
// without a forecast (too little history) is judged on its current level
// alone, and the message says so.
func waterLevelCheck(outlook []watermark.Outlook, batchPct int, window string) (CheckStatus, string) {
	room := float64(100-batchPct) / 100
	out := func(u float64) float64 { return u / room }
	pct := func(u float64) string { return fmt.Sprintf("%.0f%%", u*100) }
	var failed, over, warned, worst *watermark.Outlook
	var noForecast []string
	for i := range outlook {
		o := &outlook[i]
		if o.Current != nil && out(*o.Current) > 1 && (failed == nil || *o.Current > *failed.Current) {
			failed = o
		}
		if o.Current != nil && out(*o.Current) > o.Threshold &&
			(over == nil || out(*o.Current)-o.Threshold > out(*over.Current)-over.Threshold) {
			over = o
		}
		if o.Peak == nil {
			if o.DaysOfHistory < watermark.MinForecastDays {
				noForecast = append(noForecast, fmt.Sprintf("%s has no forecast (%d day(s) of history, %d needed)",
					o.Dimension, o.DaysOfHistory, watermark.MinForecastDays))
			} else {
				noForecast = append(noForecast, fmt.Sprintf("%s's forecast does not reach %s", o.Dimension, window))
			}
			continue
		}
		if out(*o.Peak) > o.Threshold && (warned == nil || out(*o.Peak)-o.Threshold > out(*warned.Peak)-warned.Threshold) {
			warned = o
		}
		if worst == nil || out(*o.Peak)-o.Threshold > out(*worst.Peak)-worst.Threshold {
			worst = o
		}
	}
	fallback := ""
	if len(noForecast) > 0 {
		fallback = "; " + strings.Join(noForecast, "; ") + ": judged on the current level"
		var levels []string
		for _, o := range outlook {
			if o.Peak == nil && o.Current != nil {
				levels = append(levels, fmt.Sprintf("%s %s (%s with the batch out)", o.Dimension, pct(*o.Current), pct(out(*o.Current))))
			}
		}
		if len(levels) > 0 {
			fallback += ", " + strings.Join(levels, ", ")
		}
	}
	peak := func(o *watermark.Outlook) string {
		now := ""
		if o.Current != nil {
			now = fmt.Sprintf("; now %s", pct(*o.Current))
		}
		return fmt.Sprintf("%s's forecast peak over %s is %s of capacity on %s, %s with a %d%% batch out, against the cluster's threshold of %s%s",
			o.Dimension, window, pct(*o.Peak), o.PeakAt.Format(time.DateOnly), pct(out(*o.Peak)), batchPct, pct(o.Threshold), now)
	}
	switch {
	case failed != nil:
		msg := fmt.Sprintf("%s is at %s of capacity: taking a %d%% batch out puts the rest at %s, more than the hosts left can carry",
			failed.Dimension, pct(*failed.Current), batchPct, pct(out(*failed.Current)))
		if worst != nil {
			msg += "; " + peak(worst)
		}
		return CheckFail, msg + fallback
	case over != nil:
		msg := fmt.Sprintf("%s is at %s of capacity: taking a %d%% batch out puts the rest at %s, over the cluster's threshold of %s; smaller batches or a quieter hour leave more room",
			over.Dimension, pct(*over.Current), batchPct, pct(out(*over.Current)), pct(over.Threshold))
		if worst != nil {
			msg += "; " + peak(worst)
		}
		return CheckWarning, msg + fallback
	case warned != nil:
		return CheckWarning, peak(warned) + ": the batches may have to wait or be made smaller" + fallback
	case worst != nil:
		return CheckPass, peak(worst) + fallback
	}
	// No forecast in any dimension: the current level alone decides.
	var top *watermark.Outlook
	for i := range outlook {
		if o := &outlook[i]; o.Current != nil && (top == nil || out(*o.Current)-o.Threshold > out(*top.Current)-top.Threshold) {
			top = o
		}
	}
	if top == nil {
		return CheckWarning, strings.TrimPrefix(fallback, "; ") + ", and there is no recent utilisation either: cannot tell whether the batch fits"
	}
	return CheckPass, fmt.Sprintf("%s at %s of capacity is %s with a %d%% batch out, within the cluster's threshold of %s%s",
		top.Dimension, pct(*top.Current), pct(out(*top.Current)), batchPct, pct(top.Threshold), fallback)
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
