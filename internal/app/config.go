// Package app wires Tesla together: configuration, the HTTP server, the scheduler
// and workers, and the operator subcommands (serve, migrate, seed, token, db).
package app

import (
	"cmp"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

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
	// SimSeed must match the seed the demo fleet was created with, or the live
	// series jumps away from the seeded history.
	SimSeed uint64
	// Scrape polls node_exporter on hosts that have a scrape URL.
	Scrape         bool
	ScrapeInterval time.Duration
	ScrapeTimeout  time.Duration
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
	// DemoTokensFile is where demo tokens are kept between runs of the demo.
	DemoTokensFile string
	ShutdownGrace  time.Duration
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
	{"TESLA_SIM_SEED", "1", "the seed the demo fleet was created with (seed demo --seed)"},
	{"TESLA_AUTO_MIGRATE", "off", "on: serve applies pending migrations at start"},
	{"TESLA_SCHEDULER", "on", "run the scheduled analytics jobs (rollups, forecasts, partitions, retention)"},
	{"TESLA_ROLLUP_INTERVAL", "1m", "how often the watermark rollup runs"},
	{"TESLA_RETENTION_DAYS", "14", "days of raw host samples kept"},
	{"TESLA_MINUTE_LEVEL_DAYS", "30", "days of 1-minute water levels kept"},
	{"TESLA_ROLLUP_RETENTION_DAYS", "400", "days of hourly and daily water levels kept"},
	{"TESLA_REPLICA", "hostname:pid", "this replica's name in scheduler runs"},
	{"TESLA_SCRAPE", "on", "poll node_exporter on hosts with a scrape URL"},
	{"TESLA_SCRAPE_INTERVAL", "15s", "node_exporter polling interval"},
	{"TESLA_SCRAPE_TIMEOUT", "5s", "timeout of one scrape"},
	{"TESLA_SESSION_TTL", "12h", "web session lifetime"},
	{"TESLA_COOKIE_SECURE", "on", "mark session cookies Secure (turn off for plain HTTP)"},
	{"TESLA_GRAPHQL_INTROSPECTION", "on", "allow GraphQL introspection"},
	{"TESLA_GRAPHQL_COMPLEXITY", "250000", "maximum GraphQL query complexity"},
	{"TESLA_GRAPHQL_DEPTH", "12", "maximum GraphQL query depth"},
	{"TESLA_MAX_BODY_BYTES", "1048576", "maximum GraphQL request body"},
	{"TESLA_WS_ORIGINS", "", "extra allowed websocket Origin host patterns, comma-separated"},
	{"TESLA_DEMO_TOKENS_FILE", ".tesla/demo-tokens.json", "where demo tokens are kept"},
	{"TESLA_SHUTDOWN_GRACE", "15s", "how long shutdown waits for requests"},
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
	c.SimSeed = uint64(intVar("TESLA_SIM_SEED", 1, 1, 1<<62))
	c.AutoMigrate = boolVar("TESLA_AUTO_MIGRATE", false)
	c.Scheduler = boolVar("TESLA_SCHEDULER", true)
	c.Jobs.Schedules = map[string]jobs.Schedule{jobs.NameWatermarkRollup: {Interval: durVar("TESLA_ROLLUP_INTERVAL", time.Minute)}}
	c.Jobs.Retention.RawDays = int(intVar("TESLA_RETENTION_DAYS", 14, 1, 3650))
	c.Jobs.Retention.MinuteDays = int(intVar("TESLA_MINUTE_LEVEL_DAYS", 30, 1, 3650))
	c.Jobs.Retention.CoarseDays = int(intVar("TESLA_ROLLUP_RETENTION_DAYS", 400, 1, 36500))
	c.Replica = cmp.Or(getenv("TESLA_REPLICA"), jobs.DefaultReplica())
	c.Scrape = boolVar("TESLA_SCRAPE", true)
	c.ScrapeInterval = durVar("TESLA_SCRAPE_INTERVAL", 15*time.Second)
	c.ScrapeTimeout = durVar("TESLA_SCRAPE_TIMEOUT", 5*time.Second)
	c.SessionTTL = durVar("TESLA_SESSION_TTL", 12*time.Hour)
	c.CookieSecure = boolVar("TESLA_COOKIE_SECURE", true)
	c.Introspection = boolVar("TESLA_GRAPHQL_INTROSPECTION", true)
	c.ComplexityLimit = int(intVar("TESLA_GRAPHQL_COMPLEXITY", 250_000, 100, 100_000_000))
	c.DepthLimit = int(intVar("TESLA_GRAPHQL_DEPTH", 12, 2, 100))
	c.MaxBodyBytes = intVar("TESLA_MAX_BODY_BYTES", 1<<20, 1024, 64<<20)
	c.DBMaxConns = int32(intVar("TESLA_DB_MAX_CONNS", 20, 2, 1000))
	c.ShutdownGrace = durVar("TESLA_SHUTDOWN_GRACE", 15*time.Second)
	if v := getenv("TESLA_WS_ORIGINS"); v != "" {
		for _, o := range strings.Split(v, ",") {
			if o = strings.TrimSpace(o); o != "" {
				c.WebsocketOrigins = append(c.WebsocketOrigins, o)
			}
		}
	}
	if len(errs) > 0 {
		return Config{}, fmt.Errorf("invalid configuration:\n  %s", strings.Join(errs, "\n  "))
	}
	return c, nil
}

// String prints the configuration with secrets redacted.
func (c Config) String() string {
	return fmt.Sprintf("database=%s listen=%s log=%s/%s simulate=%t auto_migrate=%t introspection=%t complexity=%d depth=%d",
		RedactURL(c.DatabaseURL), c.Listen, c.LogLevel, c.LogFormat, c.Simulate, c.AutoMigrate,
		c.Introspection, c.ComplexityLimit, c.DepthLimit)
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

func newLogger(c Config) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.LogLevel}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}
