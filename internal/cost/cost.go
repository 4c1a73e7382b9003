// Package cost turns what jobs used into money: rate cards (prices per
// core-hour, memory GB-hour and TB-day stored for a cluster kind or one
// cluster), the billing job that writes a day's bill lines — usage, storage
// of the datasets each job wrote last (sizes from internal/lineage), the idle
// capacity apportioned to its users, platform overhead and the rounding
// leftover — so that they add up
// to the clusters' total cost to the cent, and the bill views read from
// precomputed daily sums. Money is shopspring decimal in Go and numeric in
// PostgreSQL, never a float. The model and its formulas: docs/cost.md.
//
// The package owns rate_card, cost_job_owner_day, bill_line, bill_bu_day,
// bill_cluster_day, bill_person_day and cost_cluster_day.
package cost

import (
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/shopspring/decimal"

	"github.com/teslaops/tesla/internal/audit"
)

// Resource is what a bill line charges for.
type Resource string

// The resources of bill lines.
const (
	// CPU is a job's core-hours: each hour max(requested, used).
	CPU Resource = "CPU"
	// Memory is a job's memory GB-hours (GB = 2^30 bytes), each hour max(requested, used).
	Memory Resource = "MEMORY"
	// Storage is the TB-days (TB = 10^12 bytes) of the datasets a job wrote
	// last, by their size from OpenLineage outputStatistics.
	Storage Resource = "STORAGE"
	// Idle is a share of the capacity no job was charged for.
	Idle Resource = "IDLE"
	// Overhead is a share of the cluster's fixed monthly platform overhead.
	Overhead Resource = "OVERHEAD"
	// Rounding takes what rounding each line to the cent left over, so the
	// lines add up to the cluster's total.
	Rounding Resource = "ROUNDING"
)

// Resources lists every resource in display order.
func Resources() []Resource { return []Resource{CPU, Memory, Storage, Idle, Overhead, Rounding} }

// Units of the resources' quantities.
const (
	UnitCoreHour = "core-hour"
	UnitGBHour   = "GB-hour"
	UnitTBDay    = "TB-day"
)

// OverheadRule says how a cluster's daily overhead is shared among the BUs
// that used the cluster that day.
type OverheadRule string

// The overhead rules.
const (
	// Proportional shares overhead in proportion to each BU's usage cost.
	Proportional OverheadRule = "PROPORTIONAL"
	// Even shares overhead equally among the BUs that used the cluster.
	Even OverheadRule = "EVEN"
)

// Config is the installation's money settings.
type Config struct {
	// Currency is the ISO 4217 code every amount is in (default USD): one
	// currency per installation.
	Currency string
	// OverheadRule shares platform overhead (default PROPORTIONAL).
	OverheadRule OverheadRule
}

// WithDefaults returns c with its zero fields set to the defaults.
func (c Config) WithDefaults() Config {
	if c.Currency == "" {
		c.Currency = "USD"
	}
	if c.OverheadRule == "" {
		c.OverheadRule = Proportional
	}
	return c
}

// Validate checks the settings, naming the environment variable at fault.
func (c Config) Validate() error {
	if len(c.Currency) != 3 || strings.ToUpper(c.Currency) != c.Currency {
		return fmt.Errorf("TESLA_CURRENCY: %q is not a three-letter ISO 4217 code such as USD", c.Currency)
	}
	if c.OverheadRule != Proportional && c.OverheadRule != Even {
		return fmt.Errorf("TESLA_COST_OVERHEAD_RULE: %q is not PROPORTIONAL or EVEN", c.OverheadRule)
	}
	return nil
}

// gib is the bytes of a memory GB.
var gib = decimal.NewFromInt(1 << 30)

// Service reads and edits rate cards and reads bills, checking the caller.
type Service struct {
	pool  *pgxpool.Pool
	audit *audit.Log
	cfg   Config
}

// NewService returns a Service on pool; mutations are audited in log.
func NewService(pool *pgxpool.Pool, log *audit.Log, cfg Config) *Service {
	return &Service{pool: pool, audit: log, cfg: cfg.WithDefaults()}
}

// Currency is the installation's currency code.
func (s *Service) Currency() string { return s.cfg.Currency }
