package graph

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vikstrous/dataloadgen"

	"github.com/teslaops/tesla/internal/anomaly"
	"github.com/teslaops/tesla/internal/aquila"
	"github.com/teslaops/tesla/internal/budget"
	"github.com/teslaops/tesla/internal/hardware"
	"github.com/teslaops/tesla/internal/health"
	"github.com/teslaops/tesla/internal/inventory"
	"github.com/teslaops/tesla/internal/page"
	"github.com/teslaops/tesla/internal/stack"
	"github.com/teslaops/tesla/internal/telemetry"
	"github.com/teslaops/tesla/internal/watermark"
	"github.com/teslaops/tesla/internal/workload"
)

// loaderWait is how long a loader gathers keys before it queries. gqlgen resolves
// sibling fields concurrently, so a few milliseconds collect a whole level of a
// nested query into one statement.
const loaderWait = 5 * time.Millisecond

// Loaders are the request-scoped dataloaders: every child lookup goes through one,
// so a nested query costs a constant number of SQL statements however many parents
// it has. They are built per request because they cache, and because the cache must
// never outlive the access rights of the request that filled it.
type Loaders struct {
	inv *inventory.Service
	r   *Resolver

	BU                     *dataloadgen.Loader[int64, *inventory.BU]
	BUChildren             *dataloadgen.Loader[int64, []*inventory.BU]
	Person                 *dataloadgen.Loader[int64, *inventory.Person]
	Cluster                *dataloadgen.Loader[int64, *inventory.Cluster]
	ClustersByOwner        *dataloadgen.Loader[int64, []*inventory.Cluster]
	ClustersByStackVersion *dataloadgen.Loader[int64, []*inventory.Cluster]
	ClusterStats           *dataloadgen.Loader[int64, *inventory.ClusterStats]
	Host                   *dataloadgen.Loader[int64, *inventory.Host]
	Components             *dataloadgen.Loader[int64, []*inventory.HostComponent]
	LatestMetrics          *dataloadgen.Loader[int64, *telemetry.Sample]
	Stack                  *dataloadgen.Loader[int64, *inventory.Stack]
	StackVersion           *dataloadgen.Loader[int64, *inventory.StackVersion]
	VersionsByStack        *dataloadgen.Loader[int64, []*inventory.StackVersion]
	Packages               *dataloadgen.Loader[int64, []*inventory.ServicePackage]
	// TypedPackage and TypedVersion are packages and stack versions read by
	// internal/stack, with their typed metadata.
	TypedPackage *dataloadgen.Loader[int64, *stack.Package]
	TypedVersion *dataloadgen.Loader[int64, *stack.Version]
	// Operation loads operations by id; ActiveOperation the operation holding
	// each cluster.
	Operation       *dataloadgen.Loader[int64, *aquila.Operation]
	ActiveOperation *dataloadgen.Loader[int64, *aquila.Operation]
	// OperationStages are operations' stages with their task counts: a list
	// of operations selecting them counts every operation's tasks in one
	// grouped statement.
	OperationStages *dataloadgen.Loader[int64, []*aquila.Stage]

	Threshold *dataloadgen.Loader[int64, float64]

	// Job analysis: a job, its findings and its score.
	Job         *dataloadgen.Loader[int64, *workload.Job]
	JobFindings *dataloadgen.Loader[int64, []*workload.JobFinding]
	JobScore    *dataloadgen.Loader[int64, *workload.JobScore]

	// HostAnomalies are hosts' unresolved anomaly episodes.
	HostAnomalies *dataloadgen.Loader[int64, []*anomaly.Episode]

	// Hardware: hosts' newest faults and lifecycles, tickets, their faults and history.
	HostFaults    *dataloadgen.Loader[int64, []*hardware.Fault]
	HostLifecycle *dataloadgen.Loader[int64, *hardware.Lifecycle]
	Ticket        *dataloadgen.Loader[int64, *hardware.Ticket]
	TicketFaults  *dataloadgen.Loader[int64, []*hardware.Fault]
	TicketEvents  *dataloadgen.Loader[int64, []*hardware.TicketEvent]

	// Health holds the stored health scores, one loader per level.
	Health map[health.Level]*dataloadgen.Loader[int64, *health.Score]

	Queue         *dataloadgen.Loader[int64, *workload.Queue]
	QueueChildren *dataloadgen.Loader[int64, []*workload.Queue]
	QueueTree     *dataloadgen.Loader[int64, []*workload.Queue]

	mu          sync.Mutex
	levels      map[string]*dataloadgen.Loader[int64, []watermark.Level]
	forecasts   map[string]*dataloadgen.Loader[int64, []watermark.Forecast]
	hostPages   map[string]*dataloadgen.Loader[int64, *page.Page[*inventory.Host]]
	peoplePages map[string]*dataloadgen.Loader[int64, *page.Page[*inventory.Person]]
	runPages    map[string]*dataloadgen.Loader[int64, *page.Page[*workload.Run]]
	healthDays  map[string]*dataloadgen.Loader[int64, []health.Point]

	// OwnerAlerts are the alerts of a budget's owner in a month (Budget.alerts).
	OwnerAlerts *dataloadgen.Loader[ownerMonth, []*budget.Alert]
	// OwnerBudget is a person's or BU's budget in force in a month, nil when
	// none the caller may read (Person.budget, BU.budget).
	OwnerBudget *dataloadgen.Loader[ownerMonth, *budget.Budget]
}

// ownerMonth keys what an owner has in a month: its budget in force, its alerts.
type ownerMonth struct {
	kind  budget.OwnerKind
	id    int64
	month time.Time
}

// ownerAlerts loads owners' alerts of a month, one statement per kind and month asked.
func ownerAlerts(svc *budget.Service) func(context.Context, []ownerMonth) (map[ownerMonth][]*budget.Alert, error) {
	return func(ctx context.Context, keys []ownerMonth) (map[ownerMonth][]*budget.Alert, error) {
		type group struct {
			kind  budget.OwnerKind
			month time.Time
		}
		groups := map[group][]int64{}
		for _, k := range keys {
			g := group{k.kind, k.month}
			groups[g] = append(groups[g], k.id)
		}
		out := make(map[ownerMonth][]*budget.Alert, len(keys))
		for g, ids := range groups {
			as, err := svc.OwnerAlerts(ctx, g.month, g.kind, ids)
			if err != nil {
				return nil, err
			}
			for _, id := range ids {
				out[ownerMonth{g.kind, id, g.month}] = append([]*budget.Alert{}, as[id]...)
			}
		}
		return out, nil
	}
}

// ownerBudgets loads owners' budgets, one service call per kind and month asked.
func ownerBudgets(svc *budget.Service) func(context.Context, []ownerMonth) (map[ownerMonth]*budget.Budget, error) {
	return func(ctx context.Context, keys []ownerMonth) (map[ownerMonth]*budget.Budget, error) {
		type group struct {
			kind  budget.OwnerKind
			month time.Time
		}
		groups := map[group][]int64{}
		for _, k := range keys {
			g := group{k.kind, k.month}
			groups[g] = append(groups[g], k.id)
		}
		out := make(map[ownerMonth]*budget.Budget, len(keys))
		for g, ids := range groups {
			bs, err := svc.ForOwners(ctx, g.kind, ids, g.month)
			if err != nil {
				return nil, err
			}
			for _, id := range ids {
				out[ownerMonth{g.kind, id, g.month}] = bs[id]
			}
		}
		return out, nil
	}
}

// NewLoaders builds a fresh set of loaders for one request.
func NewLoaders(r *Resolver) *Loaders {
	inv := r.Inventory
	o := dataloadgen.WithWait(loaderWait)
	return &Loaders{
		inv:                    inv,
		r:                      r,
		BU:                     dataloadgen.NewMappedLoader(inv.BUsByIDs, o),
		BUChildren:             dataloadgen.NewMappedLoader(grouped(inv.BUChildren), o),
		Person:                 dataloadgen.NewMappedLoader(inv.PeopleByIDs, o),
		Cluster:                dataloadgen.NewMappedLoader(inv.ClustersByIDs, o),
		ClustersByOwner:        dataloadgen.NewMappedLoader(grouped(inv.ClustersByOwnerBU), o),
		ClustersByStackVersion: dataloadgen.NewMappedLoader(grouped(inv.ClustersByStackVersion), o),
		ClusterStats:           dataloadgen.NewMappedLoader(inv.StatsByCluster, o),
		Host:                   dataloadgen.NewMappedLoader(inv.HostsByIDs, o),
		Components:             dataloadgen.NewMappedLoader(grouped(inv.ComponentsByHost), o),
		LatestMetrics:          dataloadgen.NewMappedLoader(optional(inv.LatestMetricsByHost), o),
		Stack:                  dataloadgen.NewMappedLoader(inv.StacksByIDs, o),
		StackVersion:           dataloadgen.NewMappedLoader(inv.StackVersionsByIDs, o),
		VersionsByStack:        dataloadgen.NewMappedLoader(grouped(inv.VersionsByStack), o),
		Packages:               dataloadgen.NewMappedLoader(grouped(inv.PackagesByStackVersion), o),
		TypedPackage:           dataloadgen.NewMappedLoader(r.Stacks.PackagesByIDs, o),
		TypedVersion:           dataloadgen.NewMappedLoader(r.Stacks.VersionsByIDs, o),
		Operation:              dataloadgen.NewMappedLoader(r.Operations.OperationsByIDs, o),
		ActiveOperation:        dataloadgen.NewMappedLoader(r.Operations.ActiveByClusters, o),
		OperationStages:        dataloadgen.NewMappedLoader(grouped(r.Operations.StagesByOperations), o),
		Threshold:              dataloadgen.NewMappedLoader(r.Watermark.ClusterThresholds, o),
		Job:                    dataloadgen.NewMappedLoader(r.Workload.JobsByIDs, o),
		JobFindings:            dataloadgen.NewMappedLoader(grouped(r.Workload.FindingsOfJobs), o),
		JobScore:               dataloadgen.NewMappedLoader(optional(r.Workload.ScoresOfJobs), o),
		HostAnomalies:          dataloadgen.NewMappedLoader(grouped(r.AnomalyEpisodes.Unresolved), o),
		HostFaults:             dataloadgen.NewMappedLoader(grouped(r.Hardware.FaultsOfHosts), o),
		HostLifecycle:          dataloadgen.NewMappedLoader(optional(r.Hardware.LifecyclesOf), o),
		Ticket:                 dataloadgen.NewMappedLoader(r.Hardware.TicketsByIDs, o),
		TicketFaults:           dataloadgen.NewMappedLoader(grouped(r.Hardware.FaultsOfTickets), o),
		TicketEvents:           dataloadgen.NewMappedLoader(grouped(r.Hardware.EventsOfTickets), o),
		Queue:                  dataloadgen.NewMappedLoader(r.Workload.QueuesByIDs, o),
		QueueChildren:          dataloadgen.NewMappedLoader(grouped(r.Workload.QueueChildren), o),
		QueueTree:              dataloadgen.NewMappedLoader(grouped(r.Workload.QueueTrees), o),
		hostPages:              map[string]*dataloadgen.Loader[int64, *page.Page[*inventory.Host]]{},
		levels:                 map[string]*dataloadgen.Loader[int64, []watermark.Level]{},
		forecasts:              map[string]*dataloadgen.Loader[int64, []watermark.Forecast]{},
		peoplePages:            map[string]*dataloadgen.Loader[int64, *page.Page[*inventory.Person]]{},
		runPages:               map[string]*dataloadgen.Loader[int64, *page.Page[*workload.Run]]{},
		OwnerAlerts:            dataloadgen.NewMappedLoader(ownerAlerts(r.Budgets), o),
		OwnerBudget:            dataloadgen.NewMappedLoader(ownerBudgets(r.Budgets), o),
		Health:                 healthLoaders(r, o),
		healthDays:             map[string]*dataloadgen.Loader[int64, []health.Point]{},
	}
}

// grouped makes a one-to-many fetch answer every key: a parent without children
// gets an empty list rather than a not-found error.
func grouped[V any](fetch func(context.Context, []int64) (map[int64][]V, error)) func(context.Context, []int64) (map[int64][]V, error) {
	return func(ctx context.Context, keys []int64) (map[int64][]V, error) {
		m, err := fetch(ctx, keys)
		if err != nil {
			return nil, err
		}
		for _, k := range keys {
			if m[k] == nil {
				m[k] = []V{}
			}
		}
		return m, nil
	}
}

// optional makes a fetch answer nil for keys that have no value.
func optional[V any](fetch func(context.Context, []int64) (map[int64]*V, error)) func(context.Context, []int64) (map[int64]*V, error) {
	return func(ctx context.Context, keys []int64) (map[int64]*V, error) {
		m, err := fetch(ctx, keys)
		if err != nil {
			return nil, err
		}
		for _, k := range keys {
			if _, ok := m[k]; !ok {
				m[k] = nil
			}
		}
		return m, nil
	}
}

// perKey adapts a batch fetch that decides access key by key (values for the
// keys it answers, an error for each key it refuses) to a mapped loader fetch. The
// refusals travel as a dataloadgen.MappedFetchError, so each key's Load gets its
// own value or its own error: one refused key fails only the field that asked for
// it, never its neighbours in the batch. err still fails the whole batch.
func perKey[V any](fetch func(context.Context, []int64) (map[int64]V, map[int64]error, error)) func(context.Context, []int64) (map[int64]V, error) {
	return func(ctx context.Context, keys []int64) (map[int64]V, error) {
		m, refused, err := fetch(ctx, keys)
		if err != nil {
			return nil, err
		}
		if len(refused) > 0 {
			return m, dataloadgen.MappedFetchError[int64](refused)
		}
		return m, nil
	}
}

// argsKey identifies the arguments of a nested connection: parents asking with the
// same arguments share one batched query.
func argsKey(v ...any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// HostPages returns the loader of Cluster.hosts pages for one set of arguments;
// with each batch of pages it also fetches the host children the query wants.
func (l *Loaders) HostPages(f inventory.HostFilter, o inventory.Order, args page.Args, w hostWants) *dataloadgen.Loader[int64, *page.Page[*inventory.Host]] {
	key := argsKey(f, o, args, w)
	l.mu.Lock()
	defer l.mu.Unlock()
	if ld, ok := l.hostPages[key]; ok {
		return ld
	}
	ld := dataloadgen.NewMappedLoader(func(ctx context.Context, clusters []int64) (map[int64]*page.Page[*inventory.Host], error) {
		pages, err := l.inv.HostPagesByCluster(ctx, clusters, f, o, args)
		if err != nil {
			return nil, err
		}
		var hosts []*inventory.Host
		for _, pg := range pages {
			hosts = append(hosts, pg.Items...)
		}
		return pages, l.r.primeHosts(ctx, l, hosts, w)
	}, dataloadgen.WithWait(loaderWait))
	l.hostPages[key] = ld
	return ld
}

// PeoplePages returns the loader of BU.people pages for one set of arguments.
func (l *Loaders) PeoplePages(args page.Args) *dataloadgen.Loader[int64, *page.Page[*inventory.Person]] {
	key := argsKey(args)
	l.mu.Lock()
	defer l.mu.Unlock()
	if ld, ok := l.peoplePages[key]; ok {
		return ld
	}
	ld := dataloadgen.NewMappedLoader(perKey(func(ctx context.Context, bus []int64) (map[int64]*page.Page[*inventory.Person], map[int64]error, error) {
		return l.inv.PeopleInBUs(ctx, bus, args)
	}), dataloadgen.WithWait(loaderWait))
	l.peoplePages[key] = ld
	return ld
}

// RunPages returns the loader of Job.runs pages for one set of arguments: the
// runs of a page of jobs in one statement, each refused job failing only its
// own field.
func (l *Loaders) RunPages(f workload.RunFilter, args page.Args) *dataloadgen.Loader[int64, *page.Page[*workload.Run]] {
	key := argsKey(f, args)
	l.mu.Lock()
	defer l.mu.Unlock()
	if ld, ok := l.runPages[key]; ok {
		return ld
	}
	ld := dataloadgen.NewMappedLoader(perKey(func(ctx context.Context, jobs []int64) (map[int64]*page.Page[*workload.Run], map[int64]error, error) {
		return l.r.Workload.RunPagesByJob(ctx, jobs, f, args)
	}), dataloadgen.WithWait(loaderWait))
	l.runPages[key] = ld
	return ld
}

// Levels returns the loader of clusters' current water levels for some dimensions.
func (l *Loaders) Levels(dims []watermark.Dimension) *dataloadgen.Loader[int64, []watermark.Level] {
	return keyedLoader(l, l.levels, argsKey(dims), func(ctx context.Context, ids []int64) (map[int64][]watermark.Level, error) {
		return l.r.Watermark.Now(ctx, ids, dims)
	})
}

// Forecasts returns the loader of clusters' forecasts for some dimensions.
func (l *Loaders) Forecasts(dims []watermark.Dimension) *dataloadgen.Loader[int64, []watermark.Forecast] {
	return keyedLoader(l, l.forecasts, argsKey(dims), func(ctx context.Context, ids []int64) (map[int64][]watermark.Forecast, error) {
		return l.r.Watermark.Forecasts(ctx, ids, dims)
	})
}

// keyedLoader returns the loader stored under key in m, creating it with fetch;
// parents asking with the same arguments share one batch.
func keyedLoader[V any](l *Loaders, m map[string]*dataloadgen.Loader[int64, []V], key string,
	fetch func(context.Context, []int64) (map[int64][]V, error)) *dataloadgen.Loader[int64, []V] {
	l.mu.Lock()
	defer l.mu.Unlock()
	if ld, ok := m[key]; ok {
		return ld
	}
	ld := dataloadgen.NewMappedLoader(grouped(fetch), dataloadgen.WithWait(loaderWait))
	m[key] = ld
	return ld
}

type loadersKey struct{}

// WithLoaders returns ctx carrying l.
func WithLoaders(ctx context.Context, l *Loaders) context.Context {
	return context.WithValue(ctx, loadersKey{}, l)
}

// loaderExtension gives every response its own loaders: one per query or
// mutation, and one per event of a subscription, so a long-lived subscription
// never serves values cached minutes ago.
type loaderExtension struct{ r *Resolver }

func (loaderExtension) ExtensionName() string { return "Loaders" }

func (loaderExtension) Validate(graphql.ExecutableSchema) error { return nil }

func (e loaderExtension) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	return next(WithLoaders(ctx, NewLoaders(e.r)))
}

// loaders returns the response's loaders; the fallback keeps a resolver called
// outside the handler (a test) correct.
func (r *Resolver) loaders(ctx context.Context) *Loaders {
	if l, ok := ctx.Value(loadersKey{}).(*Loaders); ok {
		return l
	}
	return NewLoaders(r)
}
