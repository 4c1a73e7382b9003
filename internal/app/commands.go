package app

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/teslaops/tesla/internal/account"
	"github.com/teslaops/tesla/internal/agent"
	"github.com/teslaops/tesla/internal/agentapi"
	"github.com/teslaops/tesla/internal/anomaly"
	"github.com/teslaops/tesla/internal/aquila"
	"github.com/teslaops/tesla/internal/audit"
	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/budget"
	"github.com/teslaops/tesla/internal/cost"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/ingest/scrape"
	"github.com/teslaops/tesla/internal/ingest/yarn"
	"github.com/teslaops/tesla/internal/sim"
	"github.com/teslaops/tesla/internal/telemetry"
	"github.com/teslaops/tesla/internal/watermark"
	"github.com/teslaops/tesla/jobs"
)

func openDB(ctx context.Context, cfg Config, logger *slog.Logger) (*pgxpool.Pool, error) {
	pool, err := db.Open(ctx, cfg.DatabaseURL, db.Options{MaxConns: cfg.DBMaxConns, Logger: logger, SlowQuery: 500 * time.Millisecond})
	if err != nil {
		return nil, fmt.Errorf("%w (database %s; set DATABASE_URL, or run `tesla db ensure`)", err, RedactURL(cfg.DatabaseURL))
	}
	return pool, nil
}

// cmdServe runs the portal; its log goes to stderr.
func cmdServe(ctx context.Context, cfg Config, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve")
	migrate := fs.Bool("migrate", cfg.AutoMigrate, "apply pending migrations before serving")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	logger := newLoggerTo(cfg, stderr)
	pool, err := openDB(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer pool.Close()
	if *migrate {
		if _, err := migrateUp(ctx, pool, logger); err != nil {
			return err
		}
	}
	st, err := db.Status(ctx, pool)
	if err != nil {
		return err
	}
	if st.Behind() {
		return fmt.Errorf("database schema is at version %d but this binary needs %d: run `tesla migrate up` (or serve --migrate)", st.Current, st.Latest)
	}

	svc := NewServices(pool, logger, cfg)
	defer svc.Close()
	srv := NewServer(cfg, pool, logger, svc, prometheus.NewRegistry())
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("error listening on %s: %w", cfg.Listen, err)
	}
	httpSrv := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second, BaseContext: func(net.Listener) context.Context { return ctx }}

	bg, stopBG := context.WithCancel(ctx)
	defer stopBG()
	go svc.Events.Run(bg)
	go svc.AgentTasks.Run(bg)
	if cfg.Scheduler {
		sched, err := jobs.NewScheduler(pool, logger, cfg.Replica, svc.Jobs...)
		if err != nil {
			return err
		}
		sched.Start()
		defer func() {
			stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownGrace)
			defer cancel()
			if err := sched.Stop(stopCtx); err != nil {
				logger.Warn("scheduler did not stop cleanly", "error", err)
			}
		}()
	}
	if cfg.Operations != "off" {
		stop, err := startOperations(bg, pool, logger, cfg, svc.AgentTasks)
		if err != nil {
			return err
		}
		defer func() {
			stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownGrace)
			defer cancel()
			if err := stop(stopCtx); err != nil {
				logger.Warn("operation engine did not stop cleanly", "error", err)
			}
		}()
	}
	if cfg.Scrape {
		scraper := scrape.New(pool, telemetry.NewWriter(pool), logger,
			scrape.Config{Interval: cfg.ScrapeInterval, Timeout: cfg.ScrapeTimeout}, nil)
		go func() {
			if err := scraper.Run(bg); err != nil {
				logger.Error("node_exporter scraper stopped", "error", err)
			}
		}()
	}
	// scorerDone closes when the anomaly scorer has saved its state and
	// stopped, which shutdown waits for before the pool closes.
	scorerDone := make(chan struct{})
	if cfg.Anomaly {
		scorer, err := anomaly.NewScorer(pool, anomaly.NewEpisodes(pool, audit.New(pool, logger), anomaly.EpisodeConfig{}),
			logger, anomaly.ScorerConfig{})
		if err != nil {
			return err
		}
		go func() {
			defer close(scorerDone)
			if err := scorer.Run(bg); err != nil {
				logger.Error("anomaly scorer stopped", "error", err)
			}
		}()
	} else {
		close(scorerDone)
	}
	if cfg.Yarn {
		poller := yarn.New(pool, logger, yarn.Config{Interval: cfg.YarnInterval, Timeout: cfg.YarnTimeout, Lookback: cfg.YarnLookback}, nil)
		go func() {
			if err := poller.Run(bg); err != nil {
				logger.Error("yarn ResourceManager poller stopped", "error", err)
			}
		}()
	}
	if cfg.Simulate {
		ticker := sim.NewTicker(pool, sim.TickerConfig{Interval: cfg.SimInterval, Seed: cfg.SimSeed,
			Resolution: cfg.SimResolution, HeartbeatEvery: cfg.SimHeartbeat}, logger)
		go func() {
			if err := ticker.Run(bg); err != nil && !errors.Is(err, context.Canceled) {
				logger.Error("demo fleet ticker stopped", "error", err)
			}
		}()
	}

	base := "http://" + ln.Addr().String()
	fmt.Fprintf(stdout, "Tesla is serving on %s\n  web app:  %s/\n  GraphiQL: %s/graphiql\n  GraphQL:  %s/query\n  metrics:  %s/metrics\n",
		base, base, base, base, base)
	// Only the file's name: serve's output is usually collected into logs, and a
	// secret must never land there. `seed demo --tokens-file` prints the tokens
	// once, to the terminal of whoever seeds (make run).
	if tokens, err := readDemoTokens(cfg.DemoTokensFile); err == nil && len(tokens) > 0 {
		fmt.Fprintf(stdout, "  demo API tokens: in %s (printed by `tesla seed demo --tokens-file`)\n", cfg.DemoTokensFile)
	}
	logger.Info("serving", "addr", ln.Addr().String(), "config", cfg)

	errc := make(chan error, 1)
	go func() { errc <- httpSrv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("http server stopped: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down", "grace", cfg.ShutdownGrace)
	stopBG()
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownGrace)
	defer cancel()
	select {
	case <-scorerDone:
	case <-shutdownCtx.Done():
	}
	if err := httpSrv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("error during shutdown: %w", err)
	}
	return nil
}

// startOperations starts this replica's working operation engine. Stopping it
// interrupts the batches it is running; their tasks are run again, with the
// same idempotency keys, by another replica or after the restart.
// TESLA_OPERATIONS chooses the executor: the simulated fleet, or the hosts'
// agents through the replica's task queue (tasks).
func startOperations(ctx context.Context, pool *pgxpool.Pool, logger *slog.Logger, cfg Config, tasks *agentapi.Tasks) (stop func(context.Context) error, err error) {
	var exec aquila.Executor = aquila.NewSimulatedExecutor(aquila.SimulatedConfig{
		Median: cfg.SimTaskMedian, FailureRate: cfg.OperationFailurePct / 100, Seed: cfg.SimSeed})
	if cfg.Operations == "agent" {
		exec = aquila.NewAgentExecutor(pool, tasks, aquila.AgentConfig{})
	}
	engine, err := aquila.NewEngine(pool, exec, logger, aquila.EngineConfig{ID: cfg.Replica, MaxRunningUpgrades: cfg.MaxRunningUpgrades})
	if err != nil {
		return nil, err
	}
	if err := engine.Start(ctx); err != nil {
		return nil, err
	}
	return engine.Stop, nil
}

func migrateUp(ctx context.Context, pool *pgxpool.Pool, logger *slog.Logger) ([]db.Migration, error) {
	applied, err := db.Migrate(ctx, pool)
	if err != nil {
		return applied, err
	}
	for _, m := range applied {
		logger.Info("applied migration", "migration", m.Name)
	}
	return applied, nil
}

func cmdMigrate(ctx context.Context, cfg Config, args []string, stdout io.Writer) error {
	sub := "up"
	if len(args) > 0 {
		sub, args = args[0], args[1:]
	}
	if len(args) > 0 {
		return fmt.Errorf("migrate %s: unexpected argument %q", sub, args[0])
	}
	logger := newLogger(cfg)
	pool, err := openDB(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer pool.Close()
	switch sub {
	case "up":
		applied, err := migrateUp(ctx, pool, logger)
		if err != nil {
			return err
		}
		st, err := db.Status(ctx, pool)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "applied %d migration(s); schema at version %d\n", len(applied), st.Current)
	case "status":
		st, err := db.Status(ctx, pool)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "schema version %d of %d\n", st.Current, st.Latest)
		for _, m := range st.Pending {
			fmt.Fprintf(stdout, "pending: %s\n", m.Name)
		}
	default:
		return fmt.Errorf("migrate: unknown subcommand %q (use up or status)", sub)
	}
	return nil
}

func cmdSeed(ctx context.Context, cfg Config, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "demo" {
		return errors.New("seed: the only seed is `seed demo`")
	}
	fs := newFlags("seed demo")
	var sc sim.Config
	fs.IntVar(&sc.Clusters, "clusters", 0, "number of clusters (default 12)")
	fs.IntVar(&sc.Hosts, "hosts", 0, "number of hosts (default 3000)")
	fs.IntVar(&sc.Largest, "largest", 0, "hosts in the biggest cluster (default: spread like the others)")
	fs.DurationVar(&sc.Step, "step", 0, "time between history samples, dividing 24h (default 5m)")
	fs.IntVar(&sc.People, "people", 0, "number of people (default 60)")
	fs.IntVar(&sc.Days, "days", 0, "days of metric history (default 7)")
	fs.Uint64Var(&sc.Seed, "seed", 0, "random seed (default 1)")
	ifEmpty := fs.Bool("if-empty", false, "do nothing when the database already has a fleet")
	tokensFile := fs.String("tokens-file", "", "create demo tokens for each role and keep them in this file")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	logger := newLogger(cfg)
	pool, err := openDB(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer pool.Close()
	empty, err := sim.IsEmpty(ctx, pool)
	if err != nil {
		return err
	}
	switch {
	case empty:
		st, err := sim.Seed(ctx, pool, sc, logger)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "seeded demo fleet: %d BUs, %d people, %d clusters, %d hosts, %d components, %d metric samples, %d jobs in %d queues with %d runs in %s (%.0f samples/s)\n",
			st.BUs, st.People, st.Clusters, st.Hosts, st.Components, st.Samples, st.Jobs, st.Queues, st.Runs,
			st.Elapsed.Round(time.Millisecond), float64(st.Samples)/st.Elapsed.Seconds())
		if err := fillWatermarks(ctx, pool, cfg, stdout); err != nil {
			return err
		}
		if err := billHistory(ctx, pool, cfg, stdout); err != nil {
			return err
		}
	case *ifEmpty:
		fmt.Fprintln(stdout, "database already holds a fleet; not seeding")
	default:
		return errors.New("seed demo: the database already holds a fleet (use --if-empty to skip quietly)")
	}
	if *tokensFile != "" {
		tokens, err := ensureDemoTokens(ctx, pool, *tokensFile)
		if err != nil {
			return err
		}
		printDemoTokens(stdout, tokens)
	}
	return nil
}

// fillWatermarks rolls the seeded history up into water levels and forecasts at
// once, so the demo's screens are full from the first second instead of filling
// over the scheduler's next few runs.
func fillWatermarks(ctx context.Context, pool *pgxpool.Pool, cfg Config, stdout io.Writer) error {
	start := time.Now()
	rollup := watermark.NewRollup(pool, cfg.Jobs.Rollup)
	var minutes int64
	for {
		res, err := rollup.RunOnce(ctx)
		if err != nil {
			return fmt.Errorf("error rolling up the demo history: %w", err)
		}
		if res.Minutes == 0 {
			break
		}
		minutes += res.Minutes
	}
	// The rollup marked the history's hours: derive the hourly host sums the
	// machine analysis compares peers from.
	for {
		res, err := telemetry.RollupHostHours(ctx, pool, cfg.Jobs.HostHours)
		if err != nil {
			return fmt.Errorf("error summing the demo history per host and hour: %w", err)
		}
		if res.Hours == 0 {
			break
		}
	}
	fc, err := watermark.NewForecaster(pool, cfg.Jobs.Forecast).RunOnce(ctx)
	if err != nil {
		return fmt.Errorf("error forecasting the demo history: %w", err)
	}
	fmt.Fprintf(stdout, "rolled up %d sample minutes into water levels and fitted %d forecasts (%d rising) in %s\n",
		minutes, fc.Forecasts, fc.Rising, time.Since(start).Round(time.Millisecond))
	return nil
}

// billHistory prices the seeded history: the default rate cards, valid from
// the first day of the history's month, and the bills of every day of it, so
// the cost screens show real bills at once; then the demo budgets, sized
// from those bills, evaluated once so their alerts show too.
func billHistory(ctx context.Context, pool *pgxpool.Pool, cfg Config, stdout io.Writer) error {
	began := time.Now()
	var first *time.Time
	if err := pool.QueryRow(ctx, `SELECT min(hour) FROM job_usage_1h`).Scan(&first); err != nil {
		return fmt.Errorf("error finding the start of the demo history: %w", err)
	}
	if first == nil {
		return nil
	}
	from := first.UTC().Truncate(24 * time.Hour)
	if _, err := cost.SeedRateCards(ctx, pool, time.Date(from.Year(), from.Month(), 1, 0, 0, 0, 0, time.UTC)); err != nil {
		return err
	}
	now := time.Now().UTC()
	res, err := cost.NewBiller(pool, cfg.Jobs.Cost, cfg.Jobs.Billing, nil).Bill(ctx, from, now.Truncate(24*time.Hour).AddDate(0, 0, 1), now.Truncate(time.Hour))
	if err != nil {
		return fmt.Errorf("error billing the demo history: %w", err)
	}
	fmt.Fprintf(stdout, "billed %d days of the history: %d bill lines, %s %s in %s\n",
		res.Days, res.Lines, res.Total.StringFixed(2), cfg.Jobs.Cost.WithDefaults().Currency, time.Since(began).Round(time.Millisecond))
	n, err := budget.SeedDemoBudgets(ctx, pool, now)
	if err != nil {
		return err
	}
	ev, err := budget.NewEvaluator(pool, cfg.Jobs.Cost.WithDefaults().Currency, nil).RunOnce(ctx)
	if err != nil {
		return fmt.Errorf("error evaluating the demo budgets: %w", err)
	}
	fmt.Fprintf(stdout, "seeded %d demo budgets, %d alerts raised\n", n, ev.Raised)
	return nil
}

// cliContext marks actions taken from the command line in the audit log.
func cliContext(ctx context.Context) context.Context {
	return audit.WithActor(audit.WithRemoteAddr(ctx, "cli"), "cli")
}

func cmdToken(ctx context.Context, cfg Config, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		return errors.New("token: use `token create --login L --role R` or `token create --scope enroll --cluster NAME`")
	}
	fs := newFlags("token create")
	login := fs.String("login", "", "whose token (required; for --scope enroll: default the longest-standing active admin)")
	role := fs.String("role", "", "VIEWER, BU_ADMIN, OPERATOR or ADMIN (required but for --scope enroll; at most the person's role)")
	name := fs.String("name", "cli", "a label for the token")
	expires := fs.Duration("expires", 0, "lifetime, e.g. 720h; must be positive (default: no expiry; for enroll 168h, at most 2160h)")
	scope := fs.String("scope", "", "limit the token to a scope: ingest, or enroll (with --cluster) (default: the role's full rights)")
	cluster := fs.String("cluster", "", "for --scope enroll: the cluster hosts register into")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	enroll := *scope == auth.ScopeEnroll
	switch {
	case enroll && *cluster == "":
		return errors.New("token create --scope enroll: --cluster is required (the cluster hosts register into)")
	case !enroll && *cluster != "":
		return errors.New("token create: --cluster goes with --scope enroll only")
	case !enroll && (*login == "" || *role == ""):
		return errors.New("token create: --login and --role are required")
	}
	// An explicit --expires of zero or less is refused, not read as "no expiry".
	var lifetime *time.Duration
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "expires" {
			lifetime = expires
		}
	})
	if err := account.CheckTokenLifetime("--expires", lifetime); err != nil {
		return fmt.Errorf("token create --expires: %w", err)
	}
	var r auth.Role
	if *role != "" {
		var err error
		if r, err = auth.ParseRole("--role", *role); err != nil {
			return err
		}
	}
	logger := newLogger(cfg)
	pool, err := openDB(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer pool.Close()
	var scopes []string
	if *scope != "" {
		scopes = []string{*scope}
	}
	if !enroll {
		secret, err := createTokenFor(cliContext(ctx), pool, logger, *login, r, *name, *expires, scopes...)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "token for %s with role %s (shown once; store it safely):\n%s\n", *login, r, secret)
		return nil
	}
	var clusterID int64
	if err := pool.QueryRow(ctx, `SELECT id FROM cluster WHERE name = $1`, *cluster).Scan(&clusterID); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("token create --cluster: no cluster named %q", *cluster)
		}
		return fmt.Errorf("error loading cluster %q: %w", *cluster, err)
	}
	if *login == "" {
		// The token needs an owner; the machine's operator acts for the
		// longest-standing active admin.
		if err := pool.QueryRow(ctx, `SELECT login FROM person WHERE active AND role = 'ADMIN' ORDER BY id LIMIT 1`).Scan(login); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return errors.New("token create --scope enroll: no active admin to own the token; name an operator with --login (or create an admin first)")
			}
			return fmt.Errorf("error finding an admin: %w", err)
		}
	}
	in := account.CreateTokenInput{Login: *login, Role: r, Name: *name, Scopes: scopes, ClusterID: clusterID, ExpiresIn: lifetime}
	tok, secret, err := account.NewService(pool, audit.New(pool, logger), 0).CreateTokenAsOperator(cliContext(ctx), in)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "enrollment token for cluster %s, owned by %s, expires %s (shown once; store it safely):\n%s\n",
		*cluster, *login, tok.ExpiresAt.Format(time.RFC3339), secret)
	return nil
}

// createTokenFor creates a token as the machine's operator through the account
// service, which checks and audits it as it does the tokens the API creates.
func createTokenFor(ctx context.Context, dbtx db.DBTX, logger *slog.Logger, login string, role auth.Role, name string, expires time.Duration, scopes ...string) (string, error) {
	in := account.CreateTokenInput{Login: login, Role: role, Name: name, Scopes: scopes}
	if expires > 0 {
		in.ExpiresIn = &expires
	}
	_, secret, err := account.NewService(dbtx, audit.New(dbtx, logger), 0).CreateTokenAsOperator(ctx, in)
	return secret, err
}

// demoToken is one entry of the demo tokens file.
type demoToken struct {
	Login string `json:"login"`
	Role  string `json:"role"`
	Token string `json:"token"`
}

func readDemoTokens(file string) ([]demoToken, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var ts []demoToken
	if err := json.Unmarshal(b, &ts); err != nil {
		return nil, fmt.Errorf("error reading %s: %w", file, err)
	}
	return ts, nil
}

// ensureDemoTokens keeps one working token per demo login in file: tokens that
// still authenticate are kept, missing or dead ones are created anew. The file
// holds secrets, so it is written with mode 0600 (and lives under .tesla/, which
// git ignores).
func ensureDemoTokens(ctx context.Context, pool db.DBTX, file string) ([]demoToken, error) {
	existing, _ := readDemoTokens(file)
	valid := map[string]demoToken{}
	for _, t := range existing {
		if p, err := auth.Authenticate(ctx, pool, t.Token); err == nil && p.Login == t.Login {
			valid[t.Login] = t
		}
	}
	logins := sim.DemoLogins()
	// Highest role first, as the README lists them.
	var names []string
	for _, r := range slices.Backward(auth.Roles()) {
		for l, lr := range logins {
			if auth.Role(lr) == r {
				names = append(names, l)
			}
		}
	}
	var out []demoToken
	logger := slog.New(slog.DiscardHandler)
	for _, login := range names {
		if t, ok := valid[login]; ok {
			out = append(out, t)
			continue
		}
		role := auth.Role(logins[login])
		secret, err := createTokenFor(cliContext(ctx), pool, logger, login, role, "demo", 0)
		if err != nil {
			return nil, fmt.Errorf("error creating demo token for %s: %w", login, err)
		}
		out = append(out, demoToken{Login: login, Role: string(role), Token: secret})
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return nil, fmt.Errorf("error writing demo tokens: %w", err)
	}
	b, _ := json.MarshalIndent(out, "", "  ")
	if err := os.WriteFile(file, b, 0o600); err != nil {
		return nil, fmt.Errorf("error writing demo tokens: %w", err)
	}
	return out, nil
}

func printDemoTokens(w io.Writer, tokens []demoToken) {
	fmt.Fprintln(w, "Demo API tokens (sign in with one, or send 'Authorization: Bearer <token>'):")
	for _, t := range tokens {
		fmt.Fprintf(w, "  %-9s %-8s %s\n", t.Role, t.Login, t.Token)
	}
}

// cmdAgent runs the host agent (internal/agent) until the context ends; its
// log goes to stderr, with the portal's log level and format.
func cmdAgent(ctx context.Context, cfg Config, args []string, stderr io.Writer) error {
	acfg, err := agent.LoadConfig(args, os.Getenv)
	if err != nil {
		return err
	}
	a, err := agent.New(acfg, newLoggerTo(cfg, stderr))
	if err != nil {
		return err
	}
	return a.Run(ctx)
}
