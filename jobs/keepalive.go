package jobs

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/teslaops/tesla/internal/agentapi"
	"github.com/teslaops/tesla/internal/aquila"
	"github.com/teslaops/tesla/internal/keepalive"
)

// restarter is how keep-alive restarts components with TESLA_OPERATIONS set
// to mode: the simulated fleet's states flipped, or RESTART tasks queued for
// the hosts' agents; nil (off) when nothing runs operations here.
func restarter(pool *pgxpool.Pool, mode string) keepalive.Restarter {
	switch mode {
	case "simulated":
		return keepalive.SimulatedRestarter{}
	case "agent":
		// Dispatch only queues: no waiting, so the task queue needs no
		// listener here.
		tasks := agentapi.NewTasks(pool, nil, slog.New(slog.DiscardHandler), agentapi.TasksConfig{})
		return keepalive.AgentRestarter{Specs: aquila.NewAgentExecutor(pool, tasks, aquila.AgentConfig{}), Tasks: tasks}
	}
	return nil
}

// keepAliveJob runs one keep-alive pass (keepalive.Loop): every component
// desired STARTED that its agent reports STOPPED or FAILED, on a host in
// service not held by an operation, is restarted within its budget per
// window; past the budget one alert is raised. With TESLA_OPERATIONS=off it
// does nothing (off in the details). Rows counts the restarts.
func keepAliveJob(pool *pgxpool.Pool, spec func(name, description string) Spec, cfg keepalive.Config, mode string) Job {
	return New(spec(NameKeepAlive, "Restarts components that stopped while they should run, within a retry budget per component and window; past it, raises one alert instead of looping."),
		func(ctx context.Context) (Result, error) {
			r := restarter(pool, mode)
			if r == nil {
				return Result{Details: map[string]any{"off": true}}, nil
			}
			res, err := keepalive.NewLoop(pool, r, cfg, nil).RunOnce(ctx)
			if err != nil {
				return Result{}, fmt.Errorf("error running keep-alive: %w", err)
			}
			return Result{Rows: int64(res.Restarted + res.Failed), Details: map[string]any{
				"drifting": res.Drifting, "restarted": res.Restarted, "failed": res.Failed, "settling": res.Settling,
				"over_budget": res.OverBudget, "alerts": res.Alerts, "resolved": res.Resolved, "expired": res.Expired,
			}}, nil
		})
}
