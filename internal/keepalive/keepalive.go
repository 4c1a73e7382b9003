// Package keepalive keeps components running: a reconcile loop compares each
// component's desired state with the actual state its host's agent reports and
// restarts what stopped, within a retry budget per component and time window.
// Past the budget it stops restarting and raises one alert (a record on the
// host and an event on the big screen) instead of looping. Every restart is
// recorded. Rules and defaults: docs/healing.md.
//
// The package owns component_restart and keepalive_alert. Component states
// stay the inventory's (host_component); restarts go through a Restarter.
package keepalive

import (
	"cmp"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/notify"
)

var (
	//go:embed sql/drift.sql
	sqlDrift string
	//go:embed sql/record_restarts.sql
	sqlRecordRestarts string
	//go:embed sql/raise_alerts.sql
	sqlRaiseAlerts string
	//go:embed sql/resolve_alerts.sql
	sqlResolveAlerts string
	//go:embed sql/restarts_of_hosts.sql
	sqlRestartsOfHosts string
	//go:embed sql/alerts.sql
	sqlAlerts string
	//go:embed sql/expire.sql
	sqlExpire string
)

// ChannelAlert carries the id of a keep-alive alert raised or resolved, for
// the big screen and host pages (listeners load it through Service.Alerts).
const ChannelAlert = "tesla_keepalive_alert"

// ChannelRestart carries the id of a host whose components keep-alive
// restarted, so an open host page reloads its restarts.
const ChannelRestart = "tesla_component_restart"

// Restart outcomes.
const (
	// OutcomeSucceeded: the restarter reports the component running again.
	OutcomeSucceeded = "SUCCEEDED"
	// OutcomeDispatched: handed to the host's agent; its next heartbeat
	// reports the state.
	OutcomeDispatched = "DISPATCHED"
	// OutcomeFailed: the restart could not be carried out.
	OutcomeFailed = "FAILED"
)

// Config tunes the reconcile loop. Zero fields take the defaults.
type Config struct {
	// Budget is how many restarts a component gets per Window (default 3).
	Budget int
	// Window is the budget's sliding window (default 1h): a component
	// restarted Budget times within it is given up on until its oldest
	// restart leaves the window.
	Window time.Duration
	// Settle is how long after a restart the component is left alone (default
	// 90s): a restart handed to an agent shows in its heartbeats (every 15 s)
	// only after it ran, and restarting again meanwhile would spend the budget
	// on one failure.
	Settle time.Duration
	// Keep is how long restarts and resolved alerts are kept (default 30
	// days); each pass deletes at most ExpireBatch older ones.
	Keep time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Defaults of Config.
const (
	DefaultBudget = 3
	DefaultWindow = time.Hour
	DefaultSettle = 90 * time.Second
	DefaultKeep   = 30 * 24 * time.Hour
)

// ExpireBatch bounds the old rows one pass deletes, so a backlog never makes
// a pass long: it is worked off a batch a minute.
const ExpireBatch = 10000

// WithDefaults fills the zero fields.
func (c Config) WithDefaults() Config {
	c.Budget = cmp.Or(c.Budget, DefaultBudget)
	c.Window = cmp.Or(c.Window, DefaultWindow)
	c.Settle = cmp.Or(c.Settle, DefaultSettle)
	c.Keep = cmp.Or(c.Keep, DefaultKeep)
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Restart is one component keep-alive restarts.
type Restart struct {
	HostID    int64
	ClusterID int64
	Hostname  string
	Service   string
	Component string
	// State is the actual state the component was found in (STOPPED, FAILED).
	State string
	// Key identifies this restart for an idempotent restarter: the same
	// component asked again before any restart of it was recorded (a pass
	// that failed after dispatching) gets the same key.
	Key string
}

// Outcome is what came of one restart.
type Outcome struct {
	Outcome string
	Detail  string
}

// Restarter restarts components: the simulated fleet flips their states, the
// agent restarter dispatches RESTART tasks to the hosts' agents. Restart
// returns one outcome per restart, in order; an error aborts the pass (nothing
// is recorded, the next pass asks again with the same keys). tx is the pass's
// transaction, for restarters whose effects are rows in this database.
type Restarter interface {
	Restart(ctx context.Context, tx pgx.Tx, rs []Restart) ([]Outcome, error)
}

// Result counts what a pass did.
type Result struct {
	// Drifting are the components found not running while they should.
	Drifting int
	// Restarted and Failed count the restarts asked for, by outcome
	// (Restarted: SUCCEEDED or DISPATCHED).
	Restarted, Failed int
	// Settling were restarted within Settle and left alone.
	Settling int
	// OverBudget were left alone because their budget is spent.
	OverBudget int
	// Alerts were raised this pass; Resolved were resolved.
	Alerts, Resolved int
	// Expired counts restarts and resolved alerts deleted, past Keep.
	Expired int
}

// Loop is the reconcile loop. It is safe to run from one scheduler replica at
// a time (the job's lock); two concurrent passes would at worst restart a
// component twice, each recorded.
type Loop struct {
	pool      *pgxpool.Pool
	restarter Restarter
	cfg       Config
	logger    *slog.Logger
}

// NewLoop returns a loop restarting through r.
func NewLoop(pool *pgxpool.Pool, r Restarter, cfg Config, logger *slog.Logger) *Loop {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Loop{pool: pool, restarter: r, cfg: cfg.WithDefaults(), logger: logger}
}

type drift struct {
	Restart
	restarts int
	last     *time.Time
	alerted  bool
}

// RunOnce runs one pass in one transaction: it reads every drifting component
// with its budget in one statement, restarts those within budget through the
// restarter, records the restarts and raises alerts for those past it (one
// statement each), resolves the alerts of components running again, and
// announces what changed.
func (l *Loop) RunOnce(ctx context.Context) (Result, error) {
	var res Result
	now := l.cfg.Now()
	err := db.InTx(ctx, l.pool, func(tx pgx.Tx) error {
		res = Result{}
		rows, err := tx.Query(ctx, sqlDrift, now.Add(-l.cfg.Window))
		if err != nil {
			return fmt.Errorf("error loading drifting components: %w", err)
		}
		drifts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (drift, error) {
			var d drift
			err := r.Scan(&d.HostID, &d.ClusterID, &d.Hostname, &d.Service, &d.Component, &d.State, &d.restarts, &d.last, &d.alerted)
			return d, err
		})
		if err != nil {
			return fmt.Errorf("error loading drifting components: %w", err)
		}
		res.Drifting = len(drifts)
		var todo []drift
		var alerts []drift
		for _, d := range drifts {
			switch {
			case d.restarts >= l.cfg.Budget:
				res.OverBudget++
				if !d.alerted {
					alerts = append(alerts, d)
				}
			case d.last != nil && now.Sub(*d.last) < l.cfg.Settle:
				res.Settling++
			default:
				var last int64
				if d.last != nil {
					last = d.last.UnixMicro()
				}
				d.Key = fmt.Sprintf("keepalive-%d-%s-%s-after-%d", d.HostID, d.Service, d.Component, last)
				todo = append(todo, d)
			}
		}
		if len(todo) > 0 {
			if err := l.restart(ctx, tx, now, todo, &res); err != nil {
				return err
			}
		}
		var changed []int64
		if len(alerts) > 0 {
			ids, err := l.raise(ctx, tx, now, alerts)
			if err != nil {
				return err
			}
			res.Alerts = len(ids)
			changed = append(changed, ids...)
		}
		rows, err = tx.Query(ctx, sqlResolveAlerts, now)
		if err != nil {
			return fmt.Errorf("error resolving keep-alive alerts: %w", err)
		}
		var resolvedHosts []int64
		var id, host int64
		if _, err := pgx.ForEachRow(rows, []any{&id, &host}, func() error {
			changed = append(changed, id)
			resolvedHosts = append(resolvedHosts, host)
			return nil
		}); err != nil {
			return fmt.Errorf("error resolving keep-alive alerts: %w", err)
		}
		res.Resolved = len(resolvedHosts)
		var expired int
		if err := tx.QueryRow(ctx, sqlExpire, now.Add(-l.cfg.Keep), ExpireBatch).Scan(&expired); err != nil {
			return fmt.Errorf("error expiring old restarts: %w", err)
		}
		res.Expired = expired
		return notify.NotifyIDs(ctx, tx, ChannelAlert, changed)
	})
	if err != nil {
		return Result{}, err
	}
	l.logger.InfoContext(ctx, "keep-alive pass", "drifting", res.Drifting, "restarted", res.Restarted, "failed", res.Failed,
		"settling", res.Settling, "over_budget", res.OverBudget, "alerts", res.Alerts, "resolved", res.Resolved, "expired", res.Expired)
	return res, nil
}

func (l *Loop) restart(ctx context.Context, tx pgx.Tx, now time.Time, todo []drift, res *Result) error {
	rs := make([]Restart, len(todo))
	for i, d := range todo {
		rs[i] = d.Restart
	}
	outs, err := l.restarter.Restart(ctx, tx, rs)
	if err != nil {
		return fmt.Errorf("error restarting components: %w", err)
	}
	if len(outs) != len(rs) {
		return fmt.Errorf("error restarting components: the restarter answered %d outcomes for %d restarts", len(outs), len(rs))
	}
	n := len(todo)
	hosts := make([]int64, n)
	services, components, reasons, outcomes, details := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	var touched []int64
	seen := map[int64]bool{}
	for i, d := range todo {
		hosts[i], services[i], components[i] = d.HostID, d.Service, d.Component
		reasons[i] = fmt.Sprintf("%s %s was %s (desired STARTED): restart %d of %d in %s", d.Service, d.Component, d.State,
			d.restarts+1, l.cfg.Budget, l.cfg.Window)
		outcomes[i], details[i] = outs[i].Outcome, outs[i].Detail
		if outcomes[i] == OutcomeFailed {
			res.Failed++
		} else {
			res.Restarted++
		}
		if !seen[d.HostID] {
			seen[d.HostID] = true
			touched = append(touched, d.HostID)
		}
	}
	if _, err := tx.Exec(ctx, sqlRecordRestarts, now, hosts, services, components, reasons, outcomes, details); err != nil {
		return fmt.Errorf("error recording restarts: %w", err)
	}
	return notify.NotifyIDs(ctx, tx, ChannelRestart, touched)
}

func (l *Loop) raise(ctx context.Context, tx pgx.Tx, now time.Time, alerts []drift) ([]int64, error) {
	n := len(alerts)
	hosts, clusters, restarts := make([]int64, n), make([]int64, n), make([]int32, n)
	services, components, messages := make([]string, n), make([]string, n), make([]string, n)
	for i, d := range alerts {
		hosts[i], clusters[i], services[i], components[i], restarts[i] = d.HostID, d.ClusterID, d.Service, d.Component, int32(d.restarts)
		messages[i] = fmt.Sprintf("%s %s on %s is %s after %d restarts in %s: keep-alive stopped restarting it", d.Service, d.Component,
			d.Hostname, d.State, d.restarts, l.cfg.Window)
	}
	rows, err := tx.Query(ctx, sqlRaiseAlerts, now, int32(l.cfg.Window/time.Second), hosts, clusters, services, components, restarts, messages)
	if err != nil {
		return nil, fmt.Errorf("error raising keep-alive alerts: %w", err)
	}
	var ids []int64
	var id, host int64
	if _, err := pgx.ForEachRow(rows, []any{&id, &host}, func() error {
		ids = append(ids, id)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("error raising keep-alive alerts: %w", err)
	}
	for _, d := range alerts {
		l.logger.WarnContext(ctx, "keep-alive gave up on a component", "host", d.Hostname, "service", d.Service,
			"component", d.Component, "restarts", d.restarts)
	}
	return ids, nil
}

// ComponentRestart is one recorded restart, as a host page lists them.
type ComponentRestart struct {
	ID        int64
	HostID    int64
	Service   string
	Component string
	At        time.Time
	Reason    string
	Outcome   string
	Detail    string
}

// Alert is a component keep-alive gave up on.
type Alert struct {
	ID            int64
	HostID        int64
	ClusterID     int64
	Service       string
	Component     string
	RaisedAt      time.Time
	Restarts      int
	WindowSeconds int
	Message       string
	ResolvedAt    *time.Time
}

// Service reads what keep-alive recorded, for host pages and the big screen.
// Any signed-in caller may read it (platform information).
type Service struct {
	pool db.DBTX
}

// NewService returns the read service.
func NewService(pool db.DBTX) *Service { return &Service{pool: pool} }

// MaxRestartsPerHost bounds the restarts RestartsOfHosts returns per host.
const MaxRestartsPerHost = 100

// RestartsOfHosts returns each host's newest restarts (at most limit a host,
// 1..MaxRestartsPerHost), newest first, in one statement: a dataloader's
// batch.
func (s *Service) RestartsOfHosts(ctx context.Context, hosts []int64, limit int) (map[int64][]*ComponentRestart, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	if limit < 1 || limit > MaxRestartsPerHost {
		return nil, fault.Field("first", "between 1 and %d restarts a host", MaxRestartsPerHost)
	}
	rows, err := s.pool.Query(ctx, sqlRestartsOfHosts, hosts, limit)
	if err != nil {
		return nil, fmt.Errorf("error loading component restarts: %w", err)
	}
	out := map[int64][]*ComponentRestart{}
	var r ComponentRestart
	_, err = pgx.ForEachRow(rows, []any{&r.ID, &r.HostID, &r.Service, &r.Component, &r.At, &r.Reason, &r.Outcome, &r.Detail}, func() error {
		c := r
		out[r.HostID] = append(out[r.HostID], &c)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("error loading component restarts: %w", err)
	}
	return out, nil
}

// AlertFilter narrows an alert listing.
type AlertFilter struct {
	// Hosts restricts to these hosts (nil: every host).
	Hosts []int64
	// OpenOnly leaves out resolved alerts.
	OpenOnly bool
	// ClusterID restricts to one cluster's hosts (0: every cluster).
	ClusterID int64
	// Before is the keyset of the previous page's last alert (zero: newest).
	BeforeAt time.Time
	BeforeID int64
	// Limit is 1..100.
	Limit int
}

// Alerts lists alerts newest first (keyset on raised_at, id).
func (s *Service) Alerts(ctx context.Context, f AlertFilter) ([]*Alert, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	if f.Limit < 1 || f.Limit > 100 {
		return nil, fault.Field("first", "page size must be between 1 and 100")
	}
	if f.BeforeAt.IsZero() {
		f.BeforeAt, f.BeforeID = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), 1<<63-1
	}
	rows, err := s.pool.Query(ctx, sqlAlerts, f.Hosts, f.OpenOnly, f.BeforeAt, f.BeforeID, f.Limit, f.ClusterID)
	if err != nil {
		return nil, fmt.Errorf("error loading keep-alive alerts: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*Alert, error) {
		var a Alert
		err := r.Scan(&a.ID, &a.HostID, &a.ClusterID, &a.Service, &a.Component, &a.RaisedAt, &a.Restarts, &a.WindowSeconds, &a.Message, &a.ResolvedAt)
		return &a, err
	})
	if err != nil {
		return nil, fmt.Errorf("error loading keep-alive alerts: %w", err)
	}
	return out, nil
}

// AlertByID returns one alert (any signed-in caller), or NOT_FOUND: the
// subscription's read of each id ChannelAlert carries.
func (s *Service) AlertByID(ctx context.Context, id int64) (*Alert, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	var a Alert
	err := s.pool.QueryRow(ctx, `SELECT id, host_id, cluster_id, service, component, raised_at, restarts, window_seconds, message, resolved_at
		FROM keepalive_alert WHERE id = $1`, id).Scan(&a.ID, &a.HostID, &a.ClusterID, &a.Service, &a.Component, &a.RaisedAt,
		&a.Restarts, &a.WindowSeconds, &a.Message, &a.ResolvedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fault.NotFoundf("keep-alive alert %d not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("error loading keep-alive alert %d: %w", id, err)
	}
	return &a, nil
}
