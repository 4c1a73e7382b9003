package graph

import (
	"context"
	"errors"
	"slices"
	"strconv"

	"github.com/99designs/gqlgen/graphql"
	"github.com/jackc/pgx/v5"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vikstrous/dataloadgen"

	"github.com/teslaops/tesla/graph/model"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/notify"
)

// notFound turns a loader's "no value for this key" into a domain NotFound.
func notFound(err error, what string) error {
	if errors.Is(err, dataloadgen.ErrNotFound) {
		return fault.NotFoundf("%s not found", what)
	}
	return err
}

// nullIfNotFound implements the GraphQL habit that a lookup by id or name of
// something that does not exist returns null, not an error.
func nullIfNotFound[T any](v T, err error) (T, error) {
	if fault.Is(err, fault.NotFound) {
		var zero T
		return zero, nil
	}
	return v, err
}

func (r *Resolver) bu(ctx context.Context, id int64) (*model.BU, error) {
	b, err := r.loaders(ctx).BU.Load(ctx, id)
	if err != nil {
		return nil, notFound(err, "BU")
	}
	return model.FromBU(b), nil
}

// person loads a person through the loader and applies the person access rule, so
// every path to a Person (me, node, audit entries, tokens, BU members) is checked.
func (r *Resolver) person(ctx context.Context, id int64) (*model.Person, error) {
	p, err := r.loaders(ctx).Person.Load(ctx, id)
	if err != nil {
		return nil, notFound(err, "person")
	}
	if err := r.Inventory.CheckPerson(ctx, p); err != nil {
		return nil, err
	}
	return model.FromPerson(p), nil
}

// node fetches any Node by global id; field names the argument for error messages.
func (r *Resolver) node(ctx context.Context, field, gid string) (model.Node, error) {
	kind, id, err := model.DecodeGlobalID(field, gid)
	if err != nil {
		return nil, err
	}
	l := r.loaders(ctx)
	var n model.Node
	switch kind {
	case model.KindBU:
		n, err = r.bu(ctx, id)
	case model.KindPerson:
		n, err = r.person(ctx, id)
	case model.KindCluster:
		c, lerr := l.Cluster.Load(ctx, id)
		if err = notFound(lerr, "cluster"); err == nil {
			n = model.FromCluster(c)
		}
	case model.KindHost:
		h, lerr := l.Host.Load(ctx, id)
		if err = notFound(lerr, "host"); err == nil {
			n = model.FromHost(h)
		}
	case model.KindStack:
		s, lerr := l.Stack.Load(ctx, id)
		if err = notFound(lerr, "stack"); err == nil {
			n = model.FromStack(s)
		}
	case model.KindStackVersion:
		v, lerr := l.StackVersion.Load(ctx, id)
		if err = notFound(lerr, "stack version"); err == nil {
			n = model.FromStackVersion(v)
		}
	case model.KindServicePackage:
		ps, lerr := r.Inventory.PackagesByIDs(ctx, []int64{id})
		if err = lerr; err == nil {
			if p := ps[id]; p != nil {
				n = model.FromServicePackage(p)
			} else {
				err = fault.NotFoundf("service package not found")
			}
		}
	case model.KindAuditEntry:
		e, lerr := r.Audit.ByID(ctx, id)
		if err = lerr; err == nil {
			n = model.FromAuditEntry(e)
		}
	case model.KindAPIToken:
		ts, lerr := r.Accounts.TokensByIDs(ctx, []int64{id})
		if err = lerr; err == nil {
			if t, ok := ts[id]; ok {
				n = model.FromAPIToken(t)
			} else {
				err = fault.NotFoundf("token not found")
			}
		}
	case model.KindAnomaly:
		es, lerr := r.AnomalyEpisodes.ByIDs(ctx, []int64{id})
		if err = lerr; err == nil {
			if e := es[id]; e != nil {
				n = anomalyModel(e)
			} else {
				err = fault.NotFoundf("anomaly not found")
			}
		}
	case model.KindHardwareFault:
		f, lerr := r.Hardware.FaultByID(ctx, id)
		if err = lerr; err == nil {
			n = hardwareFaultModel(f)
		}
	case model.KindRepairTicket:
		t, lerr := r.loaders(ctx).Ticket.Load(ctx, id)
		if err = notFound(lerr, "repair ticket"); err == nil {
			n = repairTicketModel(t)
		}
	case model.KindOperation:
		op, lerr := r.loaders(ctx).Operation.Load(ctx, id)
		if err = notFound(lerr, "operation"); err == nil {
			if op == nil {
				err = fault.NotFoundf("operation not found")
			} else {
				n = model.FromOperation(op)
			}
		}
	case model.KindScaleOutProposal:
		p, lerr := r.Operations.Proposal(ctx, id)
		if err = lerr; err == nil {
			n = proposalModel(p)
		}
	case model.KindBudget:
		b, lerr := r.Budgets.ByID(ctx, id, nil)
		if err = lerr; err == nil {
			n = budgetModel(b)
		}
	case model.KindConfigChange:
		// Through the access-checked service, as configChange(id): a change
		// carries file contents, which need OPERATOR.
		ch, lerr := r.Config.Change(ctx, id)
		if err = lerr; err == nil {
			n = model.FromConfigChange(ch, true)
		}
	case model.KindBudgetAlert:
		a, lerr := r.Budgets.AlertByID(ctx, id)
		if err = lerr; err == nil {
			n = budgetAlertModel(a)
		}
	default:
		var ok bool
		if n, ok, err = r.workloadNode(ctx, kind, id); !ok {
			return nil, fault.Field(field, "%s is not a valid id", field)
		}
	}
	if err != nil {
		return nullIfNotFound[model.Node](nil, err)
	}
	return n, nil
}

// addElementError reports err at element i of the list field resolving in ctx,
// for a list that answers its other elements (GraphQL's partial results). The
// error presenter still maps it to its code and message.
func addElementError(ctx context.Context, i int, err error) {
	path := append(slices.Clone(graphql.GetPath(ctx)), ast.PathIndex(i))
	graphql.AddError(ctx, &gqlerror.Error{Err: err, Message: err.Error(), Path: path})
}

// f64 widens a stored real to the float64 GraphQL sends, keeping its shortest
// decimal form (75.83, not 75.83000183105469).
func f64(v *float32) *float64 {
	if v == nil {
		return nil
	}
	f, _ := strconv.ParseFloat(strconv.FormatFloat(float64(*v), 'g', -1, 32), 64)
	return &f
}

// auditRejected records a mutation refused before it reached the domain layer
// (e.g. an id that does not parse), so the audit log holds every attempt.
func (r *Resolver) auditRejected(ctx context.Context, action, target string, input any, err error) error {
	return r.Audit.Do(ctx, action, target, input, func(pgx.Tx) error { return err })
}

// forwardByID turns a NOTIFY channel's ids into a subscription's stream:
// each id is read with load, which says whether the caller gets it (false:
// skipped — gone, filtered out, not theirs). Events without an id (a resync)
// are skipped: what they lost cannot be replayed. The stream ends with ctx.
func forwardByID[T any](ctx context.Context, events <-chan notify.Event, load func(id int64) (T, bool)) <-chan T {
	out := make(chan T)
	go func() {
		defer close(out)
		for ev := range events {
			id, ok := notify.ParseID(ev)
			if !ok {
				continue
			}
			v, ok := load(id)
			if !ok {
				continue
			}
			select {
			case out <- v:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out
}
