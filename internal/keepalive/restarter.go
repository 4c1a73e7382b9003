package keepalive

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/internal/agenttask"
	"github.com/teslaops/tesla/internal/inventory"
)

// SimulatedRestarter restarts components of the simulated fleet: each comes
// back STARTED, recorded in the pass's transaction in one statement, as an
// agent's next heartbeat would report it. Fail, when set, names restarts that
// fail (the component stays as it was).
type SimulatedRestarter struct {
	Fail func(r Restart) bool
	Now  func() time.Time
}

// Restart flips the components to STARTED.
func (s SimulatedRestarter) Restart(ctx context.Context, tx pgx.Tx, rs []Restart) ([]Outcome, error) {
	out := make([]Outcome, len(rs))
	states := make([]inventory.ComponentState, 0, len(rs))
	for i, r := range rs {
		if s.Fail != nil && s.Fail(r) {
			out[i] = Outcome{Outcome: OutcomeFailed, Detail: "simulated failure"}
			continue
		}
		out[i] = Outcome{Outcome: OutcomeSucceeded, Detail: "simulated restart"}
		states = append(states, inventory.ComponentState{HostID: r.HostID, Service: r.Service, Component: r.Component, State: "STARTED"})
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	if _, err := inventory.SetComponentActualStates(ctx, tx, states, now()); err != nil {
		return nil, err
	}
	return out, nil
}

// SpecSource builds the agent task that restarts a service on a host, from
// the package the host runs (aquila.AgentExecutor.RestartSpec).
type SpecSource interface {
	RestartSpec(ctx context.Context, hostID int64, service string) (agenttask.Spec, error)
}

// Dispatcher queues an agent task idempotently (agentapi.Tasks.Dispatch): a key
// seen before returns the task queued then.
type Dispatcher interface {
	Dispatch(ctx context.Context, hostID int64, key string, spec agenttask.Spec) (int64, error)
}

// AgentRestarter restarts components through their hosts' agents: one RESTART
// agent task per host and service (the agent's unit of work), queued with
// the restart's key so a pass that failed after queuing it finds the same
// task again. It does not wait: the outcome is DISPATCHED, and the agent's
// heartbeats report the component's state, which the next passes read.
type AgentRestarter struct {
	Specs SpecSource
	Tasks Dispatcher
}

// Restart queues the agents' tasks.
func (a AgentRestarter) Restart(ctx context.Context, _ pgx.Tx, rs []Restart) ([]Outcome, error) {
	type hostService struct {
		host    int64
		service string
	}
	queued := map[hostService]Outcome{}
	out := make([]Outcome, len(rs))
	for i, r := range rs {
		k := hostService{r.HostID, r.Service}
		if o, ok := queued[k]; ok {
			out[i] = o
			continue
		}
		spec, err := a.Specs.RestartSpec(ctx, r.HostID, r.Service)
		if err == nil {
			var id int64
			id, err = a.Tasks.Dispatch(ctx, r.HostID, r.Key, spec)
			if err == nil {
				out[i] = Outcome{Outcome: OutcomeDispatched, Detail: fmt.Sprintf("agent task %d", id)}
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			out[i] = Outcome{Outcome: OutcomeFailed, Detail: err.Error()}
		}
		queued[k] = out[i]
	}
	return out, nil
}
