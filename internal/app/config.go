// Package app wires Tesla together: configuration, the HTTP server, the scheduler
// and workers, and the operator subcommands (serve, migrate, seed, token, db).
package app

import (
	"cmp"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/teslaops/tesla/graph"
	"github.com/teslaops/tesla/internal/agentapi"
	"github.com/teslaops/tesla/internal/cost"
	"github.com/teslaops/tesla/internal/watermark"
	"github.com/teslaops/tesla/internal/workload"
	"github.com/teslaops/tesla/jobs"
)

// DefaultDatabaseURL is used when DATABASE_URL is not set.
const DefaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/tesla?sslmode=disable"

// Config is Tesla's configuration, read once from the environment and validated.
type Config struct {
	DatabaseURL string
	DBMaxConns  int32
	Listen      string
	LogLevel    slog.Level
	LogFormat   string
	// Simulate keeps the demo fleet ticking (fresh samples, state changes).
	Simulate    bool
	SimInterval time.Duration
	// SimResolution is the time step of the simulated samples, SimHeartbeat how
	// often each simulated host's heartbeat moves (see sim.TickerConfig).
	SimResolution time.Duration
	SimHeartbeat  time.Duration
	// SimSeed must match the seed the demo fleet was created with, or the live
	// series jumps away from the seeded history.
	SimSeed uint64
	// Scrape polls node_exporter on hosts that have a scrape URL.
	Scrape bool
	// Anomaly runs the anomaly scorer (on one replica at a time).
	Anomaly        bool
	ScrapeInterval time.Duration
	ScrapeTimeout  time.Duration
	// Yarn polls the YARN ResourceManager of clusters that have one
	// (`tesla yarn add`); YarnTimeout bounds each of a poll's requests.
	Yarn         bool
	YarnInterval time.Duration
	YarnTimeout  time.Duration
	YarnLookback time.Duration
	// Scheduler runs the analytics jobs in serve (each run on one replica only).
	Scheduler bool
	// Jobs configures the scheduled jobs (retention periods, intervals).
	Jobs jobs.DefaultConfig
	// Replica names this process in scheduler runs.
	Replica string
	// AutoMigrate lets serve apply pending migrations instead of refusing to start.
	AutoMigrate bool
	SessionTTL  time.Duration
	// CookieSecure marks session cookies Secure; on by default, off for plain-HTTP
	// local use (make run sets it off).
	CookieSecure     bool
	Introspection    bool
	ComplexityLimit  int
	DepthLimit       int
	MaxBodyBytes     int64
	WebsocketOrigins []string
	// SignInRate is how many sign-in attempts one client address may make per
	// minute (a burst of as many is allowed); more are answered 429.
	SignInRate int
	// TrustedProxies are the peers whose X-Forwarded-For names the client address
	// (for sign-in throttling); from anyone else the header is ignored.
	TrustedProxies []netip.Prefix
	// WebsocketInitTimeout is how long a websocket may stay open before its
	// connection_init (closed with 4408 after it).
	WebsocketInitTimeout time.Duration
	// DemoTokensFile is where demo tokens are kept between runs of the demo.
	DemoTokensFile string
	ShutdownGrace  time.Duration

	// GraphQL bounds what GraphQL operations may do while they run (see limit.go).
	GraphQL GraphQLLimits
	// Operations selects the operation engine's executor in serve: "off" (the
	// replica submits and controls operations but runs none), "simulated"
	// (tasks run on the simulated fleet, changing its components) or "agent"
	// (tasks go to the hosts' agents through their task queue).
	Operations string
	// MaxRunningUpgrades is the platform-wide number of upgrades running at
	// once; more wait PENDING (aquila.EngineConfig.MaxRunningUpgrades).
	MaxRunningUpgrades int
	// OperationFailurePct is the simulated executor's task failure rate, in
	// percent (fractions allowed: 0.5 fails one task in 200).
	OperationFailurePct float64
	// SimTaskMedian is the simulated executor's median task duration
	// (TESLA_OPERATIONS=simulated); durations spread log-normally around it.
	SimTaskMedian time.Duration
	// Agent holds the intervals host agents are told to keep; a host that misses
	// Jobs.Offline.After worth of heartbeats is marked OFFLINE.
	Agent agentapi.Config
}

// envSpec documents every variable, for `tesla help` and the README.
var envSpec = []struct{ Name, Default, Help string }{
	{"DATABASE_URL", DefaultDatabaseURL, "PostgreSQL connection URL"},
	{"TESLA_DB_MAX_CONNS", "20", "maximum pool connections (one is held for LISTEN; ingestion uses at most half)"},
	{"TESLA_LISTEN", "127.0.0.1:8080", "HTTP listen address"},
	{"TESLA_LOG_LEVEL", "info", "debug, info, warn or error"},
	{"TESLA_LOG_FORMAT", "text", "text or json"},
	{"TESLA_SIMULATE", "off", "on: keep the demo fleet ticking live"},
	{"TESLA_SIM_INTERVAL", "10s", "how often the demo fleet ticks"},
	{"TESLA_SIM_RESOLUTION", "1m", "time step of the demo fleet's samples (the fleet bench uses the interval)"},
	{"TESLA_SIM_HEARTBEAT", "10s", "how often each demo host's heartbeat moves (at least the interval)"},
	{"TESLA_SIM_SEED", "1", "the seed the demo fleet was created with (seed demo --seed)"},
	{"TESLA_AUTO_MIGRATE", "off", "on: serve applies pending migrations at start"},
	{"TESLA_SCHEDULER", "on", "run the scheduled analytics jobs (rollups, forecasts, partitions, retention)"},
	{"TESLA_ROLLUP_INTERVAL", "1m", "how often the watermark rollup runs"},
	{"TESLA_RETENTION_DAYS", "14", "days of raw host samples kept"},
	{"TESLA_MINUTE_LEVEL_DAYS", "30", "days of 1-minute water levels kept"},
	{"TESLA_ROLLUP_RETENTION_DAYS", "400", "days of hourly and daily water levels kept"},
	{"TESLA_JOB_ANALYSIS_RUNS", "20", "finished runs of each job the job analysis reads (8 to 1000)"},
	{"TESLA_REPLICA", "hostname:pid", "this replica's name in scheduler runs"},
	{"TESLA_SCRAPE", "on", "poll node_exporter on hosts with a scrape URL"},
	{"TESLA_ANOMALY", "on", "score every host's newest sample each minute for anomalies (one replica at a time)"},
	{"TESLA_SCRAPE_INTERVAL", "15s", "node_exporter polling interval"},
	{"TESLA_SCRAPE_TIMEOUT", "5s", "timeout of one scrape"},
	{"TESLA_YARN", "on", "poll the YARN ResourceManager of clusters that have one (tesla yarn add)"},
	{"TESLA_YARN_INTERVAL", "1m", "ResourceManager polling interval"},
	{"TESLA_YARN_TIMEOUT", "10s", "timeout of each ResourceManager request"},
	{"TESLA_YARN_LOOKBACK", "24h", "how far back the first poll of a cluster reads finished applications"},
	{"TESLA_SESSION_TTL", "12h", "web session lifetime"},
	{"TESLA_COOKIE_SECURE", "on", "mark session cookies Secure (turn off for plain HTTP)"},
	{"TESLA_GRAPHQL_INTROSPECTION", "on", "allow GraphQL introspection"},
	{"TESLA_GRAPHQL_COMPLEXITY", "100000", "maximum GraphQL operation cost (reported in extensions.cost)"},
	{"TESLA_GRAPHQL_TIMEOUT", "15s", "deadline of a GraphQL query or mutation (and of each subscription event)"},
	{"TESLA_GRAPHQL_STATEMENT_TIMEOUT", "10s", "statement_timeout of the GraphQL API's SQL (at most TESLA_GRAPHQL_TIMEOUT)"},
	{"TESLA_GRAPHQL_DB_CONNS", "8", "database connections of the GraphQL API (a pool of its own, beside TESLA_DB_MAX_CONNS)"},
	{"TESLA_GRAPHQL_EXPENSIVE_COST", "5000", "cost from which a GraphQL operation counts as expensive"},
	{"TESLA_GRAPHQL_EXPENSIVE_AT_ONCE", "2", "expensive GraphQL operations running at once, over all callers"},
	{"TESLA_GRAPHQL_EXPENSIVE_PER_USER", "1", "expensive GraphQL operations one person may run at once"},
	{"TESLA_GRAPHQL_DEPTH", "12", "maximum GraphQL query depth"},
	{"TESLA_MAX_BODY_BYTES", "1048576", "maximum GraphQL request body"},
	{"TESLA_WS_ORIGINS", "", "extra allowed websocket Origin host patterns, comma-separated"},
	{"TESLA_SIGNIN_RATE", "10", "sign-in attempts allowed per minute per client address"},
	{"TESLA_TRUSTED_PROXIES", "", "comma-separated proxy addresses or CIDRs whose X-Forwarded-For is believed"},
	{"TESLA_WS_INIT_TIMEOUT", "10s", "how long a websocket may wait before connection_init (closed with 4408 after it)"},
	{"TESLA_DEMO_TOKENS_FILE", ".tesla/demo-tokens.json", "where demo tokens are kept"},
	{"TESLA_SHUTDOWN_GRACE", "15s", "how long shutdown waits for requests"},
	{"TESLA_OPERATIONS", "off", "off: run no operation tasks here; simulated: run them on the simulated fleet; agent: run them on the hosts' agents (docs/aquila.md)"},
	{"TESLA_MAX_RUNNING_UPGRADES", "3", "upgrades running at once on the whole platform; more wait PENDING"},
	{"TESLA_OPERATION_FAILURE_PCT", "2", "percent of simulated operation tasks that fail (0 to 100, fractions allowed)"},
	{"TESLA_SIM_TASK_MEDIAN", "3s", "median duration of a simulated operation task (1ms to 1h; TESLA_OPERATIONS=simulated)"},
	{"TESLA_AGENT_HEARTBEAT_INTERVAL", "15s", "how often host agents beat (sent to them at registration and on each heartbeat)"},
	{"TESLA_AGENT_SAMPLE_INTERVAL", "1m", "time step of host agents' samples"},
	{"TESLA_OFFLINE_MISSED", "4", "missed heartbeat intervals after which a host of a real cluster is marked OFFLINE"},
	{"TESLA_OFFLINE_LOOKBACK", "24h", "hosts silent for longer than this are history (imported traces), never marked OFFLINE"},
	{"TESLA_AUTOSCALE_HORIZON", "24h", "auto scale-out proposes when a cluster's forecast crosses its threshold within this horizon (docs/aquila.md)"},
	{"TESLA_AUTOSCALE_COOLDOWN", "24h", "no new scale-out proposal for a cluster this long after one was accepted or dismissed"},
	{"TESLA_CONFIG_GIT_REMOTE", "", "git remote configuration versions are pushed to as commits: a bare repository's path or a git server's URL; empty: not mirrored (docs/configuration.md)"},
	{"TESLA_CONFIG_GIT_BRANCH", "main", "branch of TESLA_CONFIG_GIT_REMOTE the versions are committed to"},
	{"TESLA_WEBHOOK_ALLOW_PRIVATE", "off", "on: budget webhooks may reach loopback and private addresses (on-premise hooks); link-local and metadata addresses stay refused (docs/cost.md#webhooks)"},
}

// LoadConfig reads the environment through getenv and validates it, naming the
// variable at fault.
func LoadConfig(getenv func(string) string) (Config, error) {
	c := Config{
		DatabaseURL:    cmp.Or(getenv("DATABASE_URL"), DefaultDatabaseURL),
		Listen:         cmp.Or(getenv("TESLA_LISTEN"), "127.0.0.1:8080"),
		LogFormat:      cmp.Or(getenv("TESLA_LOG_FORMAT"), "text"),
		DemoTokensFile: cmp.Or(getenv("TESLA_DEMO_TOKENS_FILE"), ".tesla/demo-tokens.json"),
	}
	var errs []string
	bad := func(name, format string, args ...any) {
		errs = append(errs, name+": "+fmt.Sprintf(format, args...))
	}
	if u, err := url.Parse(c.DatabaseURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		bad("DATABASE_URL", "must be a postgres:// URL")
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		bad("TESLA_LISTEN", "must be host:port, got %q", c.Listen)
	}
	if err := c.LogLevel.UnmarshalText([]byte(cmp.Or(getenv("TESLA_LOG_LEVEL"), "info"))); err != nil {
		bad("TESLA_LOG_LEVEL", "must be debug, info, warn or error")
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		bad("TESLA_LOG_FORMAT", "must be text or json, got %q", c.LogFormat)
	}
	boolVar := func(name string, def bool) bool {
		v := strings.ToLower(getenv(name))
		switch v {
		case "":
			return def
		case "on", "true", "1", "yes":
			return true
		case "off", "false", "0", "no":
			return false
		}
		bad(name, "must be on or off, got %q", v)
		return def
	}
	durVar := func(name string, def time.Duration) time.Duration {
		v := getenv(name)
		if v == "" {
			return def
		}
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			bad(name, "must be a positive duration such as 10s, got %q", v)
			return def
		}
		return d
	}
	intVar := func(name string, def, lo, hi int64) int64 {
		v := getenv(name)
		if v == "" {
			return def
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < lo || n > hi {
			bad(name, "must be a whole number from %d to %d, got %q", lo, hi, v)
			return def
		}
		return n
	}
	c.Simulate = boolVar("TESLA_SIMULATE", false)
	c.SimInterval = durVar("TESLA_SIM_INTERVAL", 10*time.Second)
	c.SimResolution = durVar("TESLA_SIM_RESOLUTION", time.Minute)
	c.SimHeartbeat = durVar("TESLA_SIM_HEARTBEAT", 10*time.Second)
	c.SimSeed = uint64(intVar("TESLA_SIM_SEED", 1, 1, 1<<62))
	c.AutoMigrate = boolVar("TESLA_AUTO_MIGRATE", false)
	c.Scheduler = boolVar("TESLA_SCHEDULER", true)
	c.Jobs.Schedules = map[string]jobs.Schedule{jobs.NameWatermarkRollup: {Interval: durVar("TESLA_ROLLUP_INTERVAL", time.Minute)}}
	c.Jobs.Retention.RawDays = int(intVar("TESLA_RETENTION_DAYS", 14, 1, 3650))
	c.Jobs.Retention.MinuteDays = int(intVar("TESLA_MINUTE_LEVEL_DAYS", 30, 1, 3650))
	c.Jobs.Retention.CoarseDays = int(intVar("TESLA_ROLLUP_RETENTION_DAYS", 400, 1, 36500))
	analysis := workload.DefaultThresholds()
	// At least 8: the runtime regression compares the newest 3 runs with 5 or more before them.
	analysis.Window = int(intVar("TESLA_JOB_ANALYSIS_RUNS", 20, 8, 1000))
	c.Jobs.JobAnalysis.Thresholds = &analysis
	c.Replica = cmp.Or(getenv("TESLA_REPLICA"), jobs.DefaultReplica())
	c.Jobs.Cost = cost.Config{Currency: cmp.Or(getenv("TESLA_CURRENCY"), "USD"),
		OverheadRule: cost.OverheadRule(cmp.Or(getenv("TESLA_COST_OVERHEAD_RULE"), string(cost.Proportional)))}
	if err := c.Jobs.Cost.Validate(); err != nil {
		name, msg, _ := strings.Cut(err.Error(), ": ")
		bad(name, "%s", msg)
	}
	c.Agent.HeartbeatInterval = durVar("TESLA_AGENT_HEARTBEAT_INTERVAL", 15*time.Second)
	c.Agent.SampleInterval = durVar("TESLA_AGENT_SAMPLE_INTERVAL", time.Minute)
	if c.Agent.HeartbeatInterval < time.Second || c.Agent.SampleInterval < time.Second {
		bad("TESLA_AGENT_HEARTBEAT_INTERVAL", "agent intervals must be at least 1s")
	}
	c.Jobs.Offline.After = time.Duration(intVar("TESLA_OFFLINE_MISSED", 4, 1, 1000)) * c.Agent.HeartbeatInterval
	c.Jobs.Offline.Lookback = durVar("TESLA_OFFLINE_LOOKBACK", 24*time.Hour)
	c.Jobs.Autoscale.Horizon = durVar("TESLA_AUTOSCALE_HORIZON", 24*time.Hour)
	c.Jobs.Autoscale.Cooldown = durVar("TESLA_AUTOSCALE_COOLDOWN", 24*time.Hour)
	c.Jobs.ConfigMirror.RemoteURL = getenv("TESLA_CONFIG_GIT_REMOTE")
	c.Jobs.ConfigMirror.Branch = cmp.Or(getenv("TESLA_CONFIG_GIT_BRANCH"), "main")
	// Off by default: any person may set a webhook on their own budget, and
	// the server must not POST into its own network for them.
	c.Jobs.BudgetWebhooks.AllowPrivate = boolVar("TESLA_WEBHOOK_ALLOW_PRIVATE", false)
	if c.Jobs.Autoscale.Horizon <= 0 || c.Jobs.Autoscale.Horizon > watermark.MaxRiskHorizon {
		bad("TESLA_AUTOSCALE_HORIZON", "must be positive and at most %s, got %s", watermark.MaxRiskHorizon, c.Jobs.Autoscale.Horizon)
	}
	if c.Jobs.Offline.Lookback <= c.Jobs.Offline.After {
		bad("TESLA_OFFLINE_LOOKBACK", "must exceed the missed intervals (%s), got %s", c.Jobs.Offline.After, c.Jobs.Offline.Lookback)
	}
	c.Jobs.Schedules[jobs.NameHostOffline] = jobs.Schedule{Interval: c.Agent.HeartbeatInterval}
	// Health scores count missed heartbeats in the agents' interval, and name
	// amounts in the installation's currency.
	c.Jobs.Health.HeartbeatInterval = c.Agent.HeartbeatInterval
	c.Jobs.Health.Currency = c.Jobs.Cost.Currency
	c.Scrape = boolVar("TESLA_SCRAPE", true)
	c.Anomaly = boolVar("TESLA_ANOMALY", true)
	c.ScrapeInterval = durVar("TESLA_SCRAPE_INTERVAL", 15*time.Second)
	c.ScrapeTimeout = durVar("TESLA_SCRAPE_TIMEOUT", 5*time.Second)
	c.Yarn = boolVar("TESLA_YARN", true)
	c.YarnInterval = durVar("TESLA_YARN_INTERVAL", time.Minute)
	c.YarnTimeout = durVar("TESLA_YARN_TIMEOUT", 10*time.Second)
	c.YarnLookback = durVar("TESLA_YARN_LOOKBACK", 24*time.Hour)
	c.SessionTTL = durVar("TESLA_SESSION_TTL", 12*time.Hour)
	c.CookieSecure = boolVar("TESLA_COOKIE_SECURE", true)
	c.Introspection = boolVar("TESLA_GRAPHQL_INTROSPECTION", true)
	c.ComplexityLimit = int(intVar("TESLA_GRAPHQL_COMPLEXITY", graph.DefaultComplexity, 100, 100_000_000))
	c.GraphQL = GraphQLLimits{
		Timeout:          durVar("TESLA_GRAPHQL_TIMEOUT", graph.DefaultTimeout),
		StatementTimeout: durVar("TESLA_GRAPHQL_STATEMENT_TIMEOUT", 10*time.Second),
		DBConns:          int32(intVar("TESLA_GRAPHQL_DB_CONNS", 8, 2, 1000)),
		ExpensiveCost:    int(intVar("TESLA_GRAPHQL_EXPENSIVE_COST", graph.DefaultExpensiveCost, 1, 100_000_000)),
		ExpensiveAtOnce:  int(intVar("TESLA_GRAPHQL_EXPENSIVE_AT_ONCE", graph.DefaultExpensiveAtOnce, 1, 1000)),
		ExpensivePerUser: int(intVar("TESLA_GRAPHQL_EXPENSIVE_PER_USER", graph.DefaultExpensivePerCaller, 1, 1000)),
	}
	if c.GraphQL.StatementTimeout > c.GraphQL.Timeout {
		bad("TESLA_GRAPHQL_STATEMENT_TIMEOUT", "must not exceed TESLA_GRAPHQL_TIMEOUT (%s), got %s", c.GraphQL.Timeout, c.GraphQL.StatementTimeout)
	}
	if held := c.GraphQL.ExpensiveAtOnce * graph.DefaultExpensiveParallel; int(c.GraphQL.DBConns) <= held {
		bad("TESLA_GRAPHQL_DB_CONNS", "must exceed the %d connections expensive operations may hold (TESLA_GRAPHQL_EXPENSIVE_AT_ONCE × %d), so cheap requests keep some, got %d",
			held, graph.DefaultExpensiveParallel, c.GraphQL.DBConns)
	}
	c.DepthLimit = int(intVar("TESLA_GRAPHQL_DEPTH", 12, 2, 100))
	c.MaxBodyBytes = intVar("TESLA_MAX_BODY_BYTES", 1<<20, 1024, 64<<20)
	c.DBMaxConns = int32(intVar("TESLA_DB_MAX_CONNS", 20, 2, 1000))
	c.ShutdownGrace = durVar("TESLA_SHUTDOWN_GRACE", 15*time.Second)
	c.Operations = cmp.Or(getenv("TESLA_OPERATIONS"), "off")
	if c.Operations != "off" && c.Operations != "simulated" && c.Operations != "agent" {
		bad("TESLA_OPERATIONS", "must be off, simulated or agent, got %q", c.Operations)
	}
	// Keep-alive restarts and self-healing operations go the way operations do.
	c.Jobs.Operations = c.Operations
	c.MaxRunningUpgrades = int(intVar("TESLA_MAX_RUNNING_UPGRADES", 3, 1, 1000))
	c.OperationFailurePct = 2
	if v := getenv("TESLA_OPERATION_FAILURE_PCT"); v != "" {
		pct, err := strconv.ParseFloat(v, 64)
		if err != nil || !(pct >= 0 && pct <= 100) {
			bad("TESLA_OPERATION_FAILURE_PCT", "must be a percentage from 0 to 100 such as 2 or 0.5, got %q", v)
		} else {
			c.OperationFailurePct = pct
		}
	}
	c.SimTaskMedian = durVar("TESLA_SIM_TASK_MEDIAN", 3*time.Second)
	if c.SimTaskMedian < time.Millisecond || c.SimTaskMedian > time.Hour {
		bad("TESLA_SIM_TASK_MEDIAN", "must be from 1ms to 1h, got %s", c.SimTaskMedian)
		c.SimTaskMedian = 3 * time.Second
	}
	c.WebsocketInitTimeout = durVar("TESLA_WS_INIT_TIMEOUT", 10*time.Second)
	if v := getenv("TESLA_WS_ORIGINS"); v != "" {
		for _, o := range strings.Split(v, ",") {
			if o = strings.TrimSpace(o); o != "" {
				c.WebsocketOrigins = append(c.WebsocketOrigins, o)
			}
		}
	}
	c.SignInRate = int(intVar("TESLA_SIGNIN_RATE", 10, 1, 10_000))
	for _, v := range strings.Split(getenv("TESLA_TRUSTED_PROXIES"), ",") {
		if v = strings.TrimSpace(v); v == "" {
			continue
		}
		p, err := netip.ParsePrefix(v)
		if err != nil {
			a, aerr := netip.ParseAddr(v)
			a = a.Unmap()
			if aerr != nil {
				bad("TESLA_TRUSTED_PROXIES", "must be addresses or CIDRs such as 10.0.0.0/8, got %q", v)
				continue
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		c.TrustedProxies = append(c.TrustedProxies, p.Masked())
	}
	if len(errs) > 0 {
		return Config{}, fmt.Errorf("invalid configuration:\n  %s", strings.Join(errs, "\n  "))
	}
	return c, nil
}

// String prints the configuration with secrets redacted.
func (c Config) String() string {
	return fmt.Sprintf("database=%s listen=%s log=%s/%s simulate=%t auto_migrate=%t introspection=%t complexity=%d depth=%d "+
		"graphql_timeout=%s statement_timeout=%s graphql_conns=%d expensive=%d/%d/%d operations=%s",
		RedactURL(c.DatabaseURL), c.Listen, c.LogLevel, c.LogFormat, c.Simulate, c.AutoMigrate,
		c.Introspection, c.ComplexityLimit, c.DepthLimit, c.GraphQL.Timeout, c.GraphQL.StatementTimeout, c.GraphQL.DBConns,
		c.GraphQL.ExpensiveCost, c.GraphQL.ExpensiveAtOnce, c.GraphQL.ExpensivePerUser, c.Operations)
}

// LogValue keeps the password out of structured logs too.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }

// RedactURL hides the password of a database URL.
func RedactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable)"
	}
	return u.Redacted()
}

func newLogger(c Config) *slog.Logger { return newLoggerTo(c, os.Stderr) }

// newLoggerTo is newLogger writing to w.
func newLoggerTo(c Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.LogLevel}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
