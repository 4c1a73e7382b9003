package graph

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/teslaops/tesla/graph/generated"
	"github.com/teslaops/tesla/internal/fault"
)

// Limits bound what one GraphQL request may cost.
type Limits struct {
	// Complexity is the most an operation may cost (see cost.go for the prices);
	// every response reports its operation's cost in extensions.cost.
	Complexity int
	// Run bounds operations while they run: deadline and concurrency caps.
	Run RunLimits
	// Depth is the maximum nesting of fields (introspection excluded).
	Depth int
	// Introspection allows __schema and __type queries (on by default: analysts use it).
	Introspection bool
	// WebsocketInit authenticates a websocket connection at connection_init (see
	// Websocket.InitFunc); nil accepts every connection.
	WebsocketInit transport.WebsocketInitFunc
	// WebsocketInitTimeout is how long a websocket may stay open without sending
	// connection_init (closed with 4408 after it); 0 means 10 s.
	WebsocketInitTimeout time.Duration
	// WebsocketOrigins are extra host patterns allowed in a websocket's Origin
	// header. Same-origin (and origin-less, non-browser) connections are always
	// accepted; any other origin is refused, which stops cross-site websocket
	// hijacking of cookie sessions.
	WebsocketOrigins []string
	// Observe, if set, is told about every operation (for metrics).
	Observe func(opType string, d time.Duration, failed bool)
}

// NewHandler builds the GraphQL HTTP handler: POST, GET and graphql-transport-ws
// transports, complexity and depth limits, automatic persisted queries, the error
// presenter and panic recovery.
func NewHandler(r *Resolver, lim Limits) http.Handler {
	cfg := generated.Config{Resolvers: r}
	setComplexity(&cfg.Complexity, time.Now)
	srv := handler.New(generated.NewExecutableSchema(cfg))

	srv.AddTransport(Websocket{
		InitFunc:       lim.WebsocketInit,
		InitTimeout:    lim.WebsocketInitTimeout,
		KeepAlive:      15 * time.Second,
		OriginPatterns: lim.WebsocketOrigins,
		Logger:         r.Logger,
	})
	srv.AddTransport(transport.Options{})
	srv.AddTransport(httpGET{})
	srv.AddTransport(httpPOST{})
	srv.AddTransport(httpRefusal{}) // last: it takes whatever the others did not

	srv.SetQueryCache(lru.New[*ast.QueryDocument](1000))
	srv.SetParserTokenLimit(20_000)
	if lim.Introspection {
		srv.Use(extension.Introspection{})
	}
	srv.Use(extension.AutomaticPersistedQuery{Cache: lru.New[string](1000)})
	srv.Use(&costLimit{limit: lim.Complexity})
	srv.Use(newGuard(lim.Run, r.Logger))
	srv.Use(depthLimit{max: lim.Depth})
	srv.Use(loaderExtension{r: r})
	if lim.Observe != nil {
		srv.Use(observer{observe: lim.Observe})
	}
	srv.SetErrorPresenter(errorPresenter(r.Logger, lim.Run.Timeout))
	srv.SetRecoverFunc(func(ctx context.Context, v any) error {
		r.Logger.ErrorContext(ctx, "panic in resolver", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
		return errInternal
	})
	return srv
}

var errInternal = errors.New("internal server error")

// maxErrorMessage bounds messages that may quote client input.
const maxErrorMessage = 300

// errorPresenter gives every error an extensions.code. Domain errors keep their
// client-safe message; gqlgen's own errors (parse, validation, complexity, APQ)
// keep theirs; anything else is logged and replaced by a generic message, so SQL
// text and stack traces never reach a client.
func errorPresenter(logger *slog.Logger, timeout time.Duration) graphql.ErrorPresenterFunc {
	return func(ctx context.Context, err error) *gqlerror.Error {
		gqlErr := graphql.DefaultErrorPresenter(ctx, err)
		fe, ok := fault.As(err)
		if !ok {
			fe, ok = timeoutFault(err, timeout)
		}
		if ok {
			gqlErr.Message = fe.Message
			gqlErr.Extensions = map[string]any{"code": string(fe.Kind)}
			if fe.Field != "" {
				gqlErr.Extensions["field"] = fe.Field
			}
			return gqlErr
		}
		if _, ok := gqlErr.Extensions["code"]; ok {
			return gqlErr
		}
		var raw *gqlerror.Error
		if errors.As(err, &raw) && raw.Err == nil {
			// Raised by gqlgen itself (e.g. an undecodable body): its text is safe,
			// but it may quote the request, so it is kept short.
			if len(gqlErr.Message) > maxErrorMessage {
				gqlErr.Message = gqlErr.Message[:maxErrorMessage] + "…"
			}
			gqlErr.Extensions = map[string]any{"code": string(fault.Invalid)}
			return gqlErr
		}
		// A cancellation is the client going away, not worth an ERROR — unless the
		// context of the field that failed is still alive: then something inside
		// cancelled work it should not have, and that is a bug to see in the log.
		if !errors.Is(err, errInternal) && !(errors.Is(err, context.Canceled) && ctx.Err() != nil) {
			logger.ErrorContext(ctx, "graphql request failed", "error", err, "path", gqlErr.Path.String())
		}
		gqlErr.Message = "internal server error"
		gqlErr.Extensions = map[string]any{"code": "INTERNAL"}
		return gqlErr
	}
}

// depthLimit refuses operations nested deeper than max fields. Introspection
// fields are not counted: GraphiQL's own schema query is deep by nature.
type depthLimit struct{ max int }

func (depthLimit) ExtensionName() string                   { return "DepthLimit" }
func (depthLimit) Validate(graphql.ExecutableSchema) error { return nil }

func (d depthLimit) MutateOperationContext(_ context.Context, rc *graphql.OperationContext) *gqlerror.Error {
	if d.max <= 0 || rc.Operation == nil {
		return nil
	}
	if depth := selectionDepth(rc.Operation.SelectionSet, 0, map[string]bool{}); depth > d.max {
		err := gqlerror.Errorf("operation is nested %d levels deep; the limit is %d", depth, d.max)
		err.Extensions = map[string]any{"code": "DEPTH_LIMIT_EXCEEDED"}
		return err
	}
	return nil
}

func selectionDepth(set ast.SelectionSet, depth int, visiting map[string]bool) int {
	deepest := depth
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			if len(s.Name) > 1 && s.Name[:2] == "__" {
				continue
			}
			deepest = max(deepest, selectionDepth(s.SelectionSet, depth+1, visiting))
		case *ast.InlineFragment:
			deepest = max(deepest, selectionDepth(s.SelectionSet, depth, visiting))
		case *ast.FragmentSpread:
			// Validation already refuses fragment cycles; the guard keeps this safe
			// if it ever runs first.
			if s.Definition == nil || visiting[s.Name] {
				continue
			}
			visiting[s.Name] = true
			deepest = max(deepest, selectionDepth(s.Definition.SelectionSet, depth, visiting))
			delete(visiting, s.Name)
		}
	}
	return deepest
}

// observer reports each operation's type, duration and whether it had errors.
type observer struct {
	observe func(opType string, d time.Duration, failed bool)
}

func (observer) ExtensionName() string                   { return "Observer" }
func (observer) Validate(graphql.ExecutableSchema) error { return nil }

func (o observer) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	start := time.Now()
	resp := next(ctx)
	opType := "unknown"
	if graphql.HasOperationContext(ctx) {
		if op := graphql.GetOperationContext(ctx).Operation; op != nil {
			opType = string(op.Operation)
		}
	}
	o.observe(opType, time.Since(start), resp != nil && len(resp.Errors) > 0)
	return resp
}
