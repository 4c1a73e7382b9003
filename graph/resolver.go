// Package graph is Tesla's GraphQL layer: the schema, thin resolvers that parse
// arguments, call one domain method and map the result, request-scoped dataloaders,
// and the HTTP handler with its limits and error presenter.
package graph

//go:generate go tool gqlgen generate

import (
	"context"
	"log/slog"

	"github.com/teslaops/tesla/internal/account"
	"github.com/teslaops/tesla/internal/anomaly"
	"github.com/teslaops/tesla/internal/aquila"
	"github.com/teslaops/tesla/internal/audit"
	"github.com/teslaops/tesla/internal/budget"
	"github.com/teslaops/tesla/internal/clustering"
	"github.com/teslaops/tesla/internal/configuration"
	"github.com/teslaops/tesla/internal/cost"
	"github.com/teslaops/tesla/internal/hardware"
	"github.com/teslaops/tesla/internal/healing"
	"github.com/teslaops/tesla/internal/health"
	"github.com/teslaops/tesla/internal/ingest/yarn"
	"github.com/teslaops/tesla/internal/inventory"
	"github.com/teslaops/tesla/internal/inventory/invfile"
	"github.com/teslaops/tesla/internal/keepalive"
	"github.com/teslaops/tesla/internal/leaderboard"
	"github.com/teslaops/tesla/internal/lineage"
	"github.com/teslaops/tesla/internal/machine"
	"github.com/teslaops/tesla/internal/notify"
	"github.com/teslaops/tesla/internal/platform"
	"github.com/teslaops/tesla/internal/stack"
	"github.com/teslaops/tesla/internal/watermark"
	"github.com/teslaops/tesla/internal/workload"
	"github.com/teslaops/tesla/jobs"
)

// Resolver is the dependency root of every resolver.
type Resolver struct {
	Inventory *inventory.Service
	Machine   *machine.Service
	Watermark *watermark.Service
	Scheduler Scheduler
	Accounts  *account.Service
	Audit     *audit.Log
	// PlatformService gives the platform field its view and the pulse its beats.
	PlatformService *platform.Service
	// Events carries host state changes to hostStateChanged.
	Events *notify.Listener
	Logger *slog.Logger
	// Workload reads jobs and runs; LineageService walks lineage and reads datasets.
	Workload       *workload.Service
	LineageService *lineage.Service
	// Clustering reads and runs the machine clustering analysis.
	Clustering *clustering.Service
	// AnomalyEpisodes serves anomaly episodes and their acknowledgement.
	AnomalyEpisodes *anomaly.Episodes
	// Yarn sets and lists the ResourceManagers polled.
	Yarn *yarn.Service
	// InventoryImport applies declarative inventory files (importInventory).
	InventoryImport *invfile.Importer
	// Hardware serves faults, repair tickets, lifecycles and failure rates.
	Hardware *hardware.Service
	// Cost serves rate cards and bills.
	Cost *cost.Service
	// Leaderboards serves the red and black lists and standings.
	Leaderboards *leaderboard.Service
	// Budgets serves budgets, their forecasts and alerts.
	Budgets *budget.Service
	// Health serves stored health scores, their history and rankings.
	Health *health.Service
	// Stacks registers service packages and stack versions and reads them typed.
	Stacks *stack.Service
	// Operations submits, follows and controls Aquila operations.
	Operations *aquila.Service
	// Config keeps clusters' configuration as code: groups, versions,
	// reviewed changes, rollouts and rollbacks.
	Config *configuration.Service
	// Healing reads what self-healing did and sets clusters' healing policies.
	Healing *healing.Service
	// KeepAlive reads keep-alive's restarts and alerts.
	KeepAlive *keepalive.Service
}

// Scheduler reports the scheduled jobs and their runs, checking the caller.
type Scheduler interface {
	Status(ctx context.Context) ([]jobs.JobStatus, error)
	Runs(ctx context.Context, job string, n int) ([]jobs.RunRecord, error)
}

type jobsRunRecord = jobs.RunRecord
