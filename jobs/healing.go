package jobs

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/teslaops/tesla/internal/aquila"
	"github.com/teslaops/tesla/internal/healing"
)

// healingJob runs one self-healing pass (healing.Healer): the SELF_HEAL
// operations of earlier passes are recorded as healed or failed (a host
// failing twice goes to a person), and sick hosts start healing within their
// cluster's budget and minimum capacity. It submits through an insert-only
// engine: the operation workers of any replica run the operations, so with
// TESLA_OPERATIONS=off (no workers) it does nothing (off in the details)
// rather than leave clusters held by operations nobody runs. Rows counts the
// hosts started or handed over.
func healingJob(pool *pgxpool.Pool, spec func(name, description string) Spec, cfg healing.Config, mode string) Job {
	logger := slog.New(slog.DiscardHandler)
	// Through agents, a host whose agent is silent gets no agent step.
	cfg.ThroughAgents = mode == "agent"
	return New(spec(NameHealing, "Finds sick hosts (missed heartbeats, hardware faults, failed health checks, severe anomalies) and heals them through SELF_HEAL operations within each cluster's healing budget, handing those it cannot heal to people."),
		func(ctx context.Context) (Result, error) {
			if mode != "simulated" && mode != "agent" {
				return Result{Details: map[string]any{"off": true}}, nil
			}
			engine, err := aquila.NewEngine(pool, nil, logger, aquila.EngineConfig{NoWork: true})
			if err != nil {
				return Result{}, fmt.Errorf("error building the operation engine: %w", err)
			}
			r, err := healing.NewHealer(pool, engine, cfg, nil).RunOnce(ctx)
			return Result{Rows: int64(r.Started + r.HandedOver), Details: map[string]any{
				"sick": r.Sick, "started": r.Started, "operations": r.Operations, "handed_over": r.HandedOver,
				"waiting": r.Waiting, "healed": r.Healed, "failed": r.Failed,
			}}, err
		})
}
