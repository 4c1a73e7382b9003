package graph

import (
	"context"
	"fmt"
	"time"

	"github.com/99designs/gqlgen/complexity"
	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/validator"

	"github.com/teslaops/tesla/graph/generated"
	"github.com/teslaops/tesla/graph/model"
	"github.com/teslaops/tesla/internal/machine"
	"github.com/teslaops/tesla/internal/page"
	"github.com/teslaops/tesla/internal/watermark"
)

// The cost model. An operation is priced before it runs by the work its fields
// cause, in units of about one object resolved and returned:
//
//   - a scalar or enum field costs 0 (it is read from its parent);
//   - any other field costs 1 plus its selection (a resolver or loader call);
//   - a connection costs 1 plus its page size times its node's cost, and
//     nodes(ids) the number of ids times it;
//   - a time series costs the rows it reads (one unit per rowsPerUnit rows, over
//     the range, from the table its step reads) plus its points times their cost,
//     per dimension;
//   - a machine analysis costs the samples its peer comparison reads: window
//     minutes × samplesPerHostMinute × nominalPeers, per rowsPerUnit.
//
// Prices are estimates made before anything is read (they cannot know how many
// hosts a cluster has); the request deadline and the statement_timeout bound
// what an estimate misses.
const (
	// rowsPerUnit: reading a hundred rows in one statement costs about as much
	// as resolving and returning one object.
	rowsPerUnit = 100
	// samplesPerHostMinute is the nominal rate of raw host samples.
	samplesPerHostMinute = 1
	// nominalPeers is the cluster size an analysis is priced for.
	nominalPeers = 100
	// defaultSeriesRange is the range of a watermark series without from/to.
	defaultSeriesRange = 24 * time.Hour
)

// DefaultComplexity is the default limit on an operation's cost: one 31-day
// machine analysis (about 44,600) fits, three or 300 of them do not, and every
// screen of the web app costs under 5% of it (TestFrontendQueriesCostLittle).
const DefaultComplexity = 100_000

// Cost is what extensions.cost reports for an operation.
type Cost struct {
	// Requested is the operation's price.
	Requested int `json:"requested"`
	// Limit is the most an operation may cost.
	Limit int `json:"limit"`
}

const costStatsKey = "Cost"

// CostOf returns the cost computed for the operation in ctx, if it was priced.
func CostOf(ctx context.Context) (Cost, bool) {
	if !graphql.HasOperationContext(ctx) {
		return Cost{}, false
	}
	c, ok := graphql.GetOperationContext(ctx).Stats.GetExtension(costStatsKey).(*Cost)
	if !ok {
		return Cost{}, false
	}
	return *c, true
}

// costLimit prices every operation with the schema's complexity functions (see
// setComplexity), refuses one over the limit before it runs, and reports the
// price and the limit in the response's extensions.cost, refused or not.
type costLimit struct {
	limit int
	es    graphql.ExecutableSchema
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
	graphql.ResponseInterceptor
} = &costLimit{}

func (*costLimit) ExtensionName() string { return "CostLimit" }

func (c *costLimit) Validate(es graphql.ExecutableSchema) error {
	c.es = es
	return nil
}

// MutateOperationContext keeps the code and message shape of gqlgen's
// FixedComplexityLimit (COMPLEXITY_LIMIT_EXCEEDED), which clients already know.
func (c *costLimit) MutateOperationContext(ctx context.Context, rc *graphql.OperationContext) *gqlerror.Error {
	if rc.Operation == nil {
		return nil
	}
	cost := &Cost{Requested: operationCost(ctx, c.es, rc), Limit: c.limit}
	rc.Stats.SetExtension(costStatsKey, cost)
	if cost.Requested > cost.Limit {
		err := gqlerror.Errorf("operation has complexity %d, which exceeds the limit of %d: "+
			"ask for fewer fields, smaller pages, shorter ranges or windows, or split the operation", cost.Requested, cost.Limit)
		err.Extensions = map[string]any{"code": "COMPLEXITY_LIMIT_EXCEEDED"}
		return err
	}
	return nil
}

func (c *costLimit) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	if cost, ok := CostOf(ctx); ok {
		graphql.RegisterExtension(ctx, "cost", cost)
	}
	return next(ctx)
}

// operationCost prices the operation of rc: scalars and enums cost nothing,
// every other field its complexity function's price or 1 plus its selection.
func operationCost(ctx context.Context, es graphql.ExecutableSchema, rc *graphql.OperationContext) int {
	return complexity.Calculate(ctx, es, rc.Operation, rc.Variables, complexity.WithFixedScalarValue(0))
}

// Price returns the cost of an operation of query (operationName may be empty
// when it holds one) with vars, with open-ended time ranges ending at now: what
// extensions.cost would report, without running it.
func Price(query, operationName string, vars map[string]any, now time.Time) (int, error) {
	cfg := generated.Config{Resolvers: &Resolver{}}
	setComplexity(&cfg.Complexity, func() time.Time { return now })
	es := generated.NewExecutableSchema(cfg)
	doc, errs := gqlparser.LoadQuery(es.Schema(), query)
	if len(errs) > 0 {
		return 0, errs
	}
	op := doc.Operations.ForName(operationName)
	if op == nil {
		return 0, fmt.Errorf("operation %q not found", operationName)
	}
	values, err := validator.VariableValues(es.Schema(), op, vars)
	if err != nil {
		return 0, err
	}
	rc := &graphql.OperationContext{Doc: doc, Operation: op, Variables: values}
	return operationCost(context.Background(), es, rc), nil
}

// pageCost is what a connection field multiplies its node cost by. It is capped
// at the largest page, so `first: 10000` is refused by the resolver with a clear
// BAD_USER_INPUT rather than priced as ten thousand nodes.
func pageCost(first, last *int) int {
	n := page.DefaultSize
	switch {
	case first != nil && *first > 0:
		n = *first
	case last != nil && *last > 0:
		n = *last
	}
	return min(n, page.MaxSize)
}

// listCost prices a list bounded by a count argument (first) with a default.
func listCost(child int, first *int, def int) int {
	n := def
	if first != nil && *first > 0 {
		n = min(*first, page.MaxSize)
	}
	return 1 + child*n
}

// timeRange resolves optional from/to the way the resolvers do: to defaults to
// now and from to def before to. The span is clamped to [0, max], since a longer
// one is refused by the resolver with BAD_USER_INPUT, which is the clearer answer.
func timeRange(now time.Time, from, to *time.Time, def, max time.Duration) time.Duration {
	end := now
	if to != nil {
		end = *to
	}
	start := end.Add(-def)
	if from != nil {
		start = *from
	}
	return min(max, end.Sub(start).Abs())
}

// ceilDiv divides rounding up, for positive b.
func ceilDiv(a, b int64) int64 { return (a + b - 1) / b }

// seriesCost prices one water-level series request: per dimension, the rows of
// the table its step reads over the range (the 1-minute table below an hourly
// step, the hourly one below a daily step, the daily one beyond), and the points
// it returns times their cost.
func seriesCost(now time.Time, child int, dims []model.WatermarkDimension, from, to *time.Time, step *model.Duration, maxPoints *int) int {
	span := timeRange(now, from, to, defaultSeriesRange, watermark.MaxSeriesRange)
	points := int64(500)
	if maxPoints != nil && *maxPoints > 0 {
		points = int64(min(*maxPoints, watermark.MaxSeriesPoints))
	}
	eff := time.Minute
	if step != nil {
		eff = max(eff, time.Duration(*step))
	}
	eff = max(eff, time.Duration(ceilDiv(int64(span), points)))
	source := time.Minute
	switch {
	case eff >= 24*time.Hour:
		source = 24 * time.Hour
	case eff >= time.Hour:
		source = time.Hour
	}
	rows := ceilDiv(int64(span), int64(source))
	points = min(points, ceilDiv(int64(span), int64(eff)))
	n := int64(len(dims))
	if n == 0 {
		n = int64(len(model.AllWatermarkDimension))
	}
	return saturate(1 + n*(ceilDiv(rows, rowsPerUnit)+points*int64(child)))
}

// hostMetricsCost prices host.metrics: the raw samples of the range and the
// points returned.
func hostMetricsCost(now time.Time, child int, from, to *time.Time, step *model.Duration, maxPoints *int) int {
	span := timeRange(now, from, to, machine.DefaultRange, machine.MaxRange)
	points := int64(machine.DefaultMaxPoints)
	if maxPoints != nil && *maxPoints > 0 {
		points = int64(min(*maxPoints, machine.MaxPoints))
	}
	eff := time.Minute
	if step != nil {
		eff = max(eff, time.Duration(*step))
	}
	rows := int64(span/time.Minute) * samplesPerHostMinute
	points = min(points, ceilDiv(int64(span), int64(eff)))
	return saturate(1 + ceilDiv(rows, rowsPerUnit) + points*int64(child))
}

// analysisCost prices host.analysis: its peer comparison reads every sample of
// the host's cluster over the window.
func analysisCost(child int, window *model.Duration) int {
	w := machine.DefaultWindow
	if window != nil && *window > 0 {
		w = min(time.Duration(*window), machine.MaxRange)
	}
	rows := int64(w/time.Minute) * samplesPerHostMinute * nominalPeers
	return saturate(1 + ceilDiv(rows, rowsPerUnit) + int64(child))
}

func saturate(n int64) int {
	const maxInt = int64(^uint(0) >> 1)
	return int(min(n, maxInt))
}

// The sizes unpaged lists are priced at: every cluster of a fleet of the size
// the portal is built for (docs/scaling.md), and the children of one parent
// (a BU's clusters or sub-BUs, a stack's versions, a version's clusters or
// packages).
const (
	nominalClusters  = 200
	nominalPerParent = 20
)

// setComplexity installs the prices of the fields whose cost depends on their
// arguments; every other field keeps the default (1 plus its selection, scalars
// 0). now is the clock time ranges without an end are priced against.
func setComplexity(c *generated.ComplexityRoot, now func() time.Time) {
	conn := func(child int, first, last *int) int { return 1 + child*pageCost(first, last) }
	c.Query.Clusters = func(child int, first *int, _ *string, last *int, _ *string, _ *model.ClusterFilter, _ *model.ClusterOrder) int {
		return conn(child, first, last)
	}
	c.Query.Hosts = func(child int, first *int, _ *string, last *int, _ *string, _ *model.HostFilter, _ *model.HostOrder) int {
		return conn(child, first, last)
	}
	c.Cluster.Hosts = func(child int, first *int, _ *string, last *int, _ *string, _ *model.HostFilter, _ *model.HostOrder) int {
		return conn(child, first, last)
	}
	c.Query.People = func(child int, first *int, _ *string, last *int, _ *string, _ *model.PersonFilter) int {
		return conn(child, first, last)
	}
	c.BU.People = func(child int, first *int, _ *string, last *int, _ *string) int { return conn(child, first, last) }
	c.Query.Bus = func(child int, first *int, _ *string, last *int, _ *string, _ *model.BUFilter) int {
		return conn(child, first, last)
	}
	c.Query.Stacks = func(child int, first *int, _ *string, last *int, _ *string) int { return conn(child, first, last) }
	c.Query.AuditLog = func(child int, first *int, _ *string, last *int, _ *string, _ *model.AuditFilter) int {
		return conn(child, first, last)
	}
	c.Query.APITokens = func(child int, first *int, _ *string, last *int, _ *string) int { return conn(child, first, last) }
	c.Query.Nodes = func(child int, ids []string) int { return 1 + child*max(len(ids), 1) }
	// Host mutations return every host they were given.
	c.Mutation.RegisterHosts = func(child int, in model.RegisterHostsInput) int { return 1 + child*max(len(in.Hosts), 1) }
	c.Mutation.MoveHosts = func(child int, in model.MoveHostsInput) int { return 1 + child*max(len(in.HostIds), 1) }
	c.Mutation.RetireHosts = func(child int, in model.RetireHostsInput) int { return 1 + child*max(len(in.HostIds), 1) }

	// Lists without paging return every row: they are priced at the size the
	// portal is built for (a fleet of 200 clusters), not at one element, so a
	// selection under them is paid for as often as it can run.
	c.Platform.Watermarks = func(child int, _ []model.WatermarkDimension) int { return 1 + child*nominalClusters }
	c.Platform.ClustersAtRisk = func(child int, _ *int) int { return 1 + child*nominalClusters }
	c.BU.Clusters = func(child int) int { return 1 + child*nominalPerParent }
	c.BU.Children = func(child int) int { return 1 + child*nominalPerParent }
	c.Stack.Versions = func(child int) int { return 1 + child*nominalPerParent }
	c.StackVersion.Clusters = func(child int) int { return 1 + child*nominalPerParent }
	c.StackVersion.Packages = func(child int) int { return 1 + child*nominalPerParent }
	c.Platform.RecentSickHosts = func(child int, first *int) int { return listCost(child, first, 20) }
	c.SchedulerJob.Runs = func(child int, first *int) int { return listCost(child, first, 10) }
	c.Cluster.Watermarks = func(child int, dims []model.WatermarkDimension, from, to *time.Time, step *model.Duration, maxPoints *int) int {
		return seriesCost(now(), child, dims, from, to, step, maxPoints)
	}
	c.Platform.WatermarkSeries = func(child int, dims []model.WatermarkDimension, from, to *time.Time, step *model.Duration, maxPoints *int) int {
		return seriesCost(now(), child, dims, from, to, step, maxPoints)
	}
	c.Host.Metrics = func(child int, from, to *time.Time, step *model.Duration, maxPoints *int) int {
		return hostMetricsCost(now(), child, from, to, step, maxPoints)
	}
	c.Host.Analysis = func(child int, window *model.Duration) int { return analysisCost(child, window) }
	setWorkloadComplexity(c, now)
	setIntelligenceComplexity(c)
	setHardwareComplexity(c)
	setMoneyComplexity(c)
	setLeaderboardComplexity(c)
	setHealthComplexity(c)
	setAquilaComplexity(c)
	setConfigComplexity(c)
	// One ResourceManager per cluster at most.
	c.Query.YarnTargets = func(child int) int { return 1 + child*nominalClusters }
}
