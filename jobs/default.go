package jobs

import (
	"cmp"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/teslaops/tesla/internal/aquila"
	"github.com/teslaops/tesla/internal/budget"
	"github.com/teslaops/tesla/internal/clustering"
	"github.com/teslaops/tesla/internal/configuration"
	"github.com/teslaops/tesla/internal/cost"
	"github.com/teslaops/tesla/internal/healing"
	"github.com/teslaops/tesla/internal/health"
	"github.com/teslaops/tesla/internal/inventory"
	"github.com/teslaops/tesla/internal/keepalive"
	"github.com/teslaops/tesla/internal/leaderboard"
	"github.com/teslaops/tesla/internal/telemetry"
	"github.com/teslaops/tesla/internal/watermark"
	"github.com/teslaops/tesla/internal/workload"
)

// The names of the standard jobs.
const (
	NamePartitions          = "partitions"
	NameRetention           = "retention"
	NameWatermarkRollup     = "watermark-rollup"
	NameWatermarkForecast   = "watermark-forecast"
	NameHostHours           = "host-hours"
	NameMachineClustering   = "machine-clustering"
	NameJobAnalysis         = "job-analysis"
	NameBilling             = "billing"
	NameHostOffline         = "host-offline"
	NameHardwareReliability = "hardware-reliability"
	NameLeaderboards        = "leaderboards"
	NameBudgetAlerts        = "budget-alerts"
	NameBudgetWebhooks      = "budget-webhooks"
	NameHealth              = "health"
	NameAutoscale           = "autoscale"
	NameKeepAlive           = "keep-alive"
	NameHealing             = "healing"
	NameConfigMirror        = "config-mirror"
)

// defaultSchedules are the standard jobs' schedules:
//   - partitions hourly: a missed run still leaves days of partitions ahead;
//   - retention daily;
//   - watermark-rollup every minute, so levels are as fresh as the last complete
//     minute; a backlog is worked off in batches, each committed, so a run cut
//     short by its timeout loses nothing;
//   - watermark-forecast hourly: forecasts fit daily peaks, so hourly is plenty
//     and still picks up a day soon after it completes;
//   - host-hours every 5 minutes: it derives an hour once complete (and again
//     after late samples), so a run finds work once an hour; the interval only
//     bounds how soon after its end an hour reaches the machine analysis;
//   - machine-clustering hourly: it reads a day of hourly sums, which change
//     once an hour;
//   - job-analysis every 10 minutes: a job's findings follow its finished runs
//     within minutes, and each pass reads only the runs changed since the last;
//   - billing hourly: usage is hourly, and each pass re-bills yesterday (late
//     usage) and today up to the last complete hour;
//   - host-offline every 15 seconds (the agents' heartbeat interval, which the
//     server configuration sets it to): a silent host is marked at most one
//     interval after it crossed the threshold;
//   - hardware-reliability every minute: a run recomputes the failure rates and
//     the replacement ranking only after a change made through internal/hardware
//     or once they are hardware.RefreshEvery (10 minutes) old, so the page is at
//     most a minute behind a fault or repair step, and otherwise a run is one
//     small read;
//   - budget-alerts every 5 minutes: billing is hourly, so an alert follows
//     the billing run that crossed its threshold within 5 minutes; a run
//     that finds nothing new writes nothing;
//   - budget-webhooks every 15 seconds: a delivery's first attempt follows
//     its alert within 15 seconds; retries wait their back-off;
//   - health every 5 minutes: scores follow heartbeats, faults and runs
//     within minutes, and a run over 200,000 hosts takes seconds;
//   - leaderboards hourly: its inputs (hourly usage, the hourly billing) change
//     once an hour; a pass rolls up the days not yet final and ranks up to six
//     periods. Its timeout is 30 minutes: the first pass at fleet size rolls up
//     a whole month (2.5 minutes measured, docs/benchmarks.md);
//   - autoscale every 15 minutes: forecasts change hourly, and a quarter hour
//     is soon enough to propose a scale-out a day ahead of a crossing;
//   - keep-alive every minute: a stopped component runs again within about a
//     minute of the heartbeat that reported it (agents beat every 15 s), and a
//     pass over 200,000 components takes well under a second;
//   - healing every 5 minutes: a SELF_HEAL takes minutes (drains), the
//     signals it reads (health scores, anomalies) are computed every few
//     minutes, and a streaming cluster confirms signals for 10 minutes anyway.
var defaultSchedules = map[string]Schedule{
	NamePartitions:          {Interval: time.Hour, Timeout: time.Minute},
	NameRetention:           {Interval: 24 * time.Hour, Timeout: 10 * time.Minute},
	NameWatermarkRollup:     {Interval: time.Minute, Timeout: 5 * time.Minute},
	NameWatermarkForecast:   {Interval: time.Hour, Timeout: 10 * time.Minute},
	NameHostHours:           {Interval: 5 * time.Minute, Timeout: 10 * time.Minute},
	NameMachineClustering:   {Interval: time.Hour, Timeout: 10 * time.Minute},
	NameJobAnalysis:         {Interval: 10 * time.Minute, Timeout: 10 * time.Minute},
	NameBilling:             {Interval: time.Hour, Timeout: 10 * time.Minute},
	NameHostOffline:         {Interval: 15 * time.Second, Timeout: time.Minute},
	NameHardwareReliability: {Interval: time.Minute, Timeout: 10 * time.Minute},
	NameLeaderboards:        {Interval: time.Hour, Timeout: 30 * time.Minute},
	NameBudgetAlerts:        {Interval: 5 * time.Minute, Timeout: 5 * time.Minute},
	NameBudgetWebhooks:      {Interval: 15 * time.Second, Timeout: 5 * time.Minute},
	NameHealth:              {Interval: 5 * time.Minute, Timeout: 5 * time.Minute},
	NameAutoscale:           {Interval: 15 * time.Minute, Timeout: 5 * time.Minute},
	NameKeepAlive:           {Interval: time.Minute, Timeout: time.Minute},
	NameHealing:             {Interval: 5 * time.Minute, Timeout: 5 * time.Minute},
	NameConfigMirror:        {Interval: time.Minute, Timeout: 5 * time.Minute},
}

// DefaultConfig configures the standard job set. Its zero value is the default
// for every job: the schedules above, and the knobs' defaults below.
type DefaultConfig struct {
	// Schedules overrides the interval or timeout of jobs, by job name. Zero fields
	// of an entry, and jobs without one, keep the job's default schedule.
	Schedules map[string]Schedule
	// PartitionsAhead is how many days after today get a host_metric partition
	// (default 3), so a scheduler outage of a few days never leaves ingestion to
	// create partitions on its own path.
	PartitionsAhead int
	// Retention says how long each kind of data is kept.
	Retention Retention
	// Rollup tunes the watermark rollup.
	Rollup watermark.RollupConfig
	// Forecast tunes the watermark forecast.
	Forecast watermark.ForecastConfig
	// HostHours tunes the derivation of hourly per-host sums.
	HostHours telemetry.HostHoursConfig
	// Clustering tunes the machine clustering analysis.
	Clustering clustering.Config
	// JobAnalysis tunes the job analysis (thresholds, batch size).
	JobAnalysis workload.AnalysisConfig
	// Cost is the installation's money settings (currency, overhead rule).
	Cost cost.Config
	// Billing tunes the billing job.
	Billing cost.BillingConfig
	// Leaderboards tunes the leaderboards (minimum volumes, retention).
	Leaderboards leaderboard.Config
	// BudgetWebhooks tunes the budget webhook sender.
	BudgetWebhooks budget.WebhookConfig
	// Offline says when a silent host is OFFLINE (default: after 1 minute —
	// four missed 15-second heartbeats —, for hosts that beat within a day).
	Offline inventory.OfflineConfig
	// Health tunes the health job (heartbeat interval, currency); its budget
	// source defaults to internal/budget's budgets (health.NewBudgets).
	Health health.Config
	// Autoscale tunes auto scale-out (horizon, cool-down).
	Autoscale aquila.AutoscaleConfig
	// KeepAlive tunes keep-alive (budget, window, settle time).
	KeepAlive keepalive.Config
	// ConfigMirror is the git remote configuration versions are pushed to
	// (TESLA_CONFIG_GIT_REMOTE; no remote: the job does nothing).
	ConfigMirror configuration.MirrorConfig
	// Healing tunes self-healing (signals' thresholds, policies per cluster
	// kind, failures before a person).
	Healing healing.Config
	// Operations is TESLA_OPERATIONS: how keep-alive restarts components and
	// whether healing submits operations — "simulated" (the simulated
	// fleet), "agent" (the hosts' agents), anything else off: both jobs then
	// do nothing.
	Operations string
	// Now is the clock of the partitions and retention jobs (default time.Now).
	Now func() time.Time
}

// Default returns the standard job set, in the order `tesla jobs list` shows it:
// partitions (hourly), retention (daily), watermark-rollup (every minute),
// watermark-forecast (hourly), host-hours (every 5 minutes), machine-clustering
// (hourly), job-analysis (every 10 minutes) billing (hourly), host-offline (every 15 seconds)
// hardware-reliability (every minute), budget-alerts (every 5 minutes),
// budget-webhooks (every 15 seconds), health (every 5 minutes), leaderboards
// (hourly), autoscale (every 15 minutes), keep-alive (every minute) and
// healing (every 5 minutes).
func Default(pool *pgxpool.Pool, cfg DefaultConfig) []Job {
	cfg.PartitionsAhead = cmp.Or(cfg.PartitionsAhead, 3)
	cfg.Retention = cfg.Retention.withDefaults()
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.Offline.After = cmp.Or(cfg.Offline.After, time.Minute)
	if cfg.Health.Budget == nil {
		cfg.Health.Budget = health.NewBudgets(pool)
	}
	cfg.Offline.Lookback = cmp.Or(cfg.Offline.Lookback, 24*time.Hour)
	spec := func(name, description string) Spec {
		return Spec{Name: name, Description: description, Schedule: cfg.Schedules[name].Or(defaultSchedules[name])}
	}
	return []Job{
		partitionsJob(pool, spec, cfg.PartitionsAhead, cfg.Now),
		retentionJob(pool, spec, cfg.Retention, cfg.Now),
		rollupJob(pool, spec, cfg.Rollup),
		forecastJob(pool, spec, cfg.Forecast),
		hostHoursJob(pool, spec, cfg.HostHours),
		clusteringJob(pool, spec, cfg.Clustering),
		jobAnalysisJob(pool, spec, cfg.JobAnalysis),
		billingJob(pool, spec, cfg.Cost, cfg.Billing),
		offlineJob(pool, spec, cfg.Offline, cfg.Now),
		hardwareJob(pool, spec, cfg.Now),
		budgetAlertsJob(pool, spec, cfg.Cost),
		budgetWebhooksJob(pool, spec, cfg.BudgetWebhooks),
		healthJob(pool, spec, health.NewComputer(pool, cfg.Health)),
		leaderboardsJob(pool, spec, cfg.LeaderboardConfig(), leaderboard.NewHealthTable(pool)),
		autoscaleJob(pool, spec, cfg.Autoscale),
		keepAliveJob(pool, spec, cfg.KeepAlive, cfg.Operations),
		healingJob(pool, spec, cfg.Healing, cfg.Operations),
		configMirrorJob(pool, spec, cfg.ConfigMirror),
	}
}

// LeaderboardConfig is the leaderboards' configuration with the installation's
// currency and the job set's clock.
func (c DefaultConfig) LeaderboardConfig() leaderboard.Config {
	l := c.Leaderboards
	l.Currency = cmp.Or(l.Currency, c.Cost.WithDefaults().Currency)
	if l.Now == nil {
		l.Now = c.Now
	}
	return l
}
