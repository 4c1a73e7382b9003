package graph

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/fault"
)

// Defaults of the limits on running operations (see Limits).
const (
	DefaultTimeout            = 15 * time.Second
	DefaultExpensiveCost      = 5_000
	DefaultExpensiveAtOnce    = 2
	DefaultExpensivePerCaller = 1
	DefaultExpensiveParallel  = 2
	// expensiveQueueWait is how long an expensive operation waits for a free
	// slot before it is refused with RATE_LIMITED.
	expensiveQueueWait = 5 * time.Second
	// retryAfterSeconds is the hint sent with RATE_LIMITED.
	retryAfterSeconds = 5
)

// RunLimits bound operations while they run; zero fields take the defaults.
type RunLimits struct {
	// Timeout is the deadline of a query or mutation, and of the resolution of
	// each subscription event.
	Timeout time.Duration
	// ExpensiveCost is the price from which an operation counts as expensive and
	// needs a slot.
	ExpensiveCost int
	// ExpensiveAtOnce is how many expensive operations run at once in all.
	ExpensiveAtOnce int
	// ExpensivePerCaller is how many one person may run at once.
	ExpensivePerCaller int
	// ExpensiveParallel is how many resolvers of one expensive operation run at
	// once (and so how many API connections it holds at most).
	ExpensiveParallel int
}

// guard bounds operations while they run:
//
//   - every query and mutation gets a context deadline (timeout), and every event
//     of a subscription gets one for its resolution (the subscription itself
//     lives on);
//   - an expensive operation (priced at expensiveCost or more) needs a slot: at
//     most atOnce run at a time over all callers and perCaller per person; a
//     caller over its share is refused at once, otherwise the operation waits a
//     bounded time for a slot and is refused with RATE_LIMITED if none frees;
//   - inside an expensive operation at most parallel resolvers run at once, so
//     the expensive operations together hold at most atOnce × parallel of the API
//     pool's connections and cheap requests keep the rest.
type guard struct {
	timeout       time.Duration
	expensiveCost int
	perCaller     int
	parallel      int
	slots         chan struct{}
	queueWait     time.Duration
	logger        *slog.Logger

	mu      sync.Mutex
	running map[int64]int
}

func newGuard(lim RunLimits, logger *slog.Logger) *guard {
	return &guard{
		timeout:       cmpOr(lim.Timeout, DefaultTimeout),
		expensiveCost: cmpOr(lim.ExpensiveCost, DefaultExpensiveCost),
		perCaller:     cmpOr(lim.ExpensivePerCaller, DefaultExpensivePerCaller),
		parallel:      cmpOr(lim.ExpensiveParallel, DefaultExpensiveParallel),
		slots:         make(chan struct{}, cmpOr(lim.ExpensiveAtOnce, DefaultExpensiveAtOnce)),
		queueWait:     expensiveQueueWait,
		logger:        logger,
		running:       map[int64]int{},
	}
}

func cmpOr[T int | time.Duration](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationInterceptor
	graphql.ResponseInterceptor
	graphql.FieldInterceptor
} = &guard{}

func (*guard) ExtensionName() string                   { return "Guard" }
func (*guard) Validate(graphql.ExecutableSchema) error { return nil }

type (
	gateKey       struct{}
	eventClockKey struct{}
)

// eventClock starts a subscription event's deadline when its first resolver
// runs, not while the subscription waits for the event. The contexts it gives
// resolvers end with the event, not with each resolver: a resolver may start
// work that its children finish (a look-ahead prefetch primes the loaders its
// children read), and that work must not be cancelled when the resolver that
// started it returns.
type eventClock struct {
	once     sync.Once
	deadline time.Time

	mu      sync.Mutex
	cancels []context.CancelFunc
}

// bound returns ctx under the event's deadline.
func (c *eventClock) bound(ctx context.Context, timeout time.Duration) context.Context {
	c.once.Do(func() { c.deadline = time.Now().Add(timeout) })
	ctx, cancel := context.WithDeadline(ctx, c.deadline)
	c.mu.Lock()
	c.cancels = append(c.cancels, cancel)
	c.mu.Unlock()
	return ctx
}

// end releases the event's contexts once its response is complete.
func (c *eventClock) end() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, cancel := range c.cancels {
		cancel()
	}
	c.cancels = nil
}

func (g *guard) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	rc := graphql.GetOperationContext(ctx)
	if rc.Operation != nil && rc.Operation.Operation == ast.Subscription {
		// A subscription runs its selection on every event for as long as it
		// lives, outside the expensive-operation slots; so an expensive one is
		// refused outright (a screen's subscriptions cost tens).
		if cost, _ := CostOf(ctx); cost.Requested >= g.expensiveCost {
			err := gqlerror.Errorf("a subscription may cost less than %d per event; this one costs %d: subscribe to less and query the rest",
				g.expensiveCost, cost.Requested)
			err.Extensions = map[string]any{"code": "COMPLEXITY_LIMIT_EXCEEDED"}
			return graphql.OneShot(&graphql.Response{Errors: gqlerror.List{err}, Extensions: map[string]any{"cost": cost}})
		}
		return next(ctx)
	}
	ctx, cancel := context.WithTimeout(ctx, g.timeout)
	cost, _ := CostOf(ctx)
	release := func() {}
	if cost.Requested >= g.expensiveCost {
		var err *gqlerror.Error
		if release, err = g.acquire(ctx); err != nil {
			cancel()
			return graphql.OneShot(&graphql.Response{Errors: gqlerror.List{err}, Extensions: map[string]any{"cost": cost}})
		}
		ctx = context.WithValue(ctx, gateKey{}, make(chan struct{}, g.parallel))
	}
	// The slot is freed when the response is written or, whatever happens to
	// the response, when the deadline passes: a slot can never leak.
	var once sync.Once
	done := func() { once.Do(func() { release(); cancel() }) }
	context.AfterFunc(ctx, done)
	h := next(ctx)
	first := true
	return func(ctx context.Context) *graphql.Response {
		resp := h(ctx)
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			g.logger.WarnContext(ctx, "graphql operation ran out of time", "operation", rc.OperationName,
				"cost", cost.Requested, "timeout", g.timeout.String())
			if resp == nil && first {
				// gqlgen answers nothing at all for an operation whose context
				// ended before it started; the caller gets a TIMEOUT instead.
				fe, _ := timeoutFault(ctx.Err(), g.timeout)
				resp = &graphql.Response{
					Errors:     gqlerror.List{{Message: fe.Message, Extensions: map[string]any{"code": string(fe.Kind)}}},
					Extensions: map[string]any{"cost": cost},
				}
			}
		}
		first = false
		done()
		return resp
	}
}

// acquire takes an expensive-operation slot for the caller: refused at once
// when the caller already runs its share, after a bounded wait when everyone
// together does.
func (g *guard) acquire(ctx context.Context) (func(), *gqlerror.Error) {
	var who int64
	if p, ok := auth.FromContext(ctx); ok {
		who = p.PersonID
	}
	g.mu.Lock()
	if g.running[who] >= g.perCaller {
		g.mu.Unlock()
		return nil, rateLimited(fmt.Sprintf("you already run %d expensive operation(s), the most allowed at once: "+
			"wait for it to finish, or ask for less", g.perCaller))
	}
	g.running[who]++
	g.mu.Unlock()
	leave := func() {
		g.mu.Lock()
		if g.running[who]--; g.running[who] <= 0 {
			delete(g.running, who)
		}
		g.mu.Unlock()
	}
	wait := time.NewTimer(g.queueWait)
	defer wait.Stop()
	select {
	case g.slots <- struct{}{}:
		return func() { <-g.slots; leave() }, nil
	case <-wait.C:
	case <-ctx.Done():
	}
	leave()
	return nil, rateLimited(fmt.Sprintf("the server already runs %d expensive operations, the most allowed at once: retry in a few seconds", cap(g.slots)))
}

func rateLimited(msg string) *gqlerror.Error {
	err := gqlerror.Errorf("%s", msg)
	err.Extensions = map[string]any{"code": string(fault.RateLimited), "retryAfterSeconds": retryAfterSeconds}
	return err
}

// InterceptResponse gives each event of a subscription its own clock.
func (g *guard) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	if graphql.HasOperationContext(ctx) {
		if op := graphql.GetOperationContext(ctx).Operation; op != nil && op.Operation == ast.Subscription {
			clock := &eventClock{}
			defer clock.end()
			return next(context.WithValue(ctx, eventClockKey{}, clock))
		}
	}
	return next(ctx)
}

// InterceptField runs resolvers (the fields that do work) under the event
// deadline of a subscription and the parallelism gate of an expensive operation.
func (g *guard) InterceptField(ctx context.Context, next graphql.Resolver) (any, error) {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil || !fc.IsResolver || fc.Object == "Subscription" {
		return next(ctx)
	}
	if clock, ok := ctx.Value(eventClockKey{}).(*eventClock); ok {
		ctx = clock.bound(ctx, g.timeout)
	}
	if gate, ok := ctx.Value(gateKey{}).(chan struct{}); ok {
		select {
		case gate <- struct{}{}:
			defer func() { <-gate }()
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return next(ctx)
}

// timeoutFault returns the TIMEOUT domain error for an error caused by a
// deadline or a statement_timeout.
func timeoutFault(err error, timeout time.Duration) (*fault.Error, bool) {
	if !db.IsTimeout(err) {
		return nil, false
	}
	return fault.New(fault.Timeout, "the operation ran longer than the %s allowed and was stopped: "+
		"ask for less (shorter ranges or windows, fewer fields or aliases)", cmpOr(timeout, DefaultTimeout)), true
}
