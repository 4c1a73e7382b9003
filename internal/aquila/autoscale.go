package aquila

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/internal/audit"
	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/watermark"
)

// Forecaster is what auto scale-out reads: watermark.Service.
type Forecaster interface {
	ClustersAtRisk(ctx context.Context, horizon time.Duration) ([]watermark.Risk, error)
	Forecasts(ctx context.Context, clusterIDs []int64, dims []watermark.Dimension) (map[int64][]watermark.Forecast, error)
}

// AutoscaleConfig tunes auto scale-out.
type AutoscaleConfig struct {
	// Horizon is how far ahead a forecast crossing makes a proposal
	// (default 24 h).
	Horizon time.Duration
	// Cooldown keeps a cluster without a new proposal after one was accepted
	// or dismissed (default 24 h): the daily peaks the forecast fits only
	// reflect added hosts after days, and a dismissed proposal should not
	// come back within the quarter hour.
	Cooldown time.Duration
}

func (c AutoscaleConfig) withDefaults() AutoscaleConfig {
	c.Horizon = cmp.Or(c.Horizon, 24*time.Hour)
	c.Cooldown = cmp.Or(c.Cooldown, 24*time.Hour)
	return c
}

// AutoscaleActor is the audit actor and requester of automatic scale-outs.
const AutoscaleActor = "system:autoscale"

// AutoscaleResult counts what a run did.
type AutoscaleResult struct {
	AtRisk    int
	Opened    int
	Refreshed int
	Started   int
	Expired   int
}

// clusterCapacity is a cluster's in-service capacity and typical host.
type clusterCapacity struct {
	mode         string
	maxHosts     int
	hosts        int
	cores        float64
	memory       float64
	typicalCores float64
	typicalMem   float64
}

// HostsNeeded is the auto scale-out arithmetic. A dimension whose daily peak
// is forecast at ForecastPeak (a share of today's capacity C) needs its used
// level, ForecastPeak × C, to fit under the threshold T of the capacity after
// adding k hosts of capacity c each:
//
//	ForecastPeak × C ≤ T × (C + k × c)   ⇔   k ≥ C × (ForecastPeak / T − 1) / c
//
// so k = ⌈C × (ForecastPeak/T − 1) / c⌉ (0 when the peak is under T). C and c
// are cores for CPU and bytes for MEMORY (c: the cluster's most common
// hardware, what the pool hands out first); for the other dimensions capacity
// grows with the host count, so C/c is the number of hosts in service.
func HostsNeeded(forecastPeak, threshold, capacity, hostCapacity float64) int {
	if threshold <= 0 || hostCapacity <= 0 || forecastPeak <= threshold {
		return 0
	}
	k := capacity * (forecastPeak/threshold - 1) / hostCapacity
	// A hair over an integer from floating point is that integer.
	return int(math.Ceil(k - 1e-9))
}

// Autoscale runs auto scale-out once: it reads the clusters whose forecast
// crosses their threshold within the horizon, computes the hosts that bring
// the forecast peak back under it, and for clusters whose policy is PROPOSE
// or AUTO opens a proposal (or refreshes the open one: one per cluster); for
// AUTO clusters without an operation in progress it starts the scale-out at
// once, as AutoscaleActor, audited. Open proposals of clusters no longer at
// risk expire. Clusters within the cool-down of a decided proposal are left.
func (s *Service) Autoscale(ctx context.Context, f Forecaster, cfg AutoscaleConfig, logger *slog.Logger) (AutoscaleResult, error) {
	cfg = cfg.withDefaults()
	var res AutoscaleResult
	// The forecast reads need a signed-in caller; the job is the system.
	rctx := auth.WithPrincipal(ctx, &auth.Principal{Login: AutoscaleActor, Role: auth.Viewer})
	risks, err := f.ClustersAtRisk(rctx, cfg.Horizon)
	if err != nil {
		return res, err
	}
	byCluster := map[int64][]watermark.Risk{}
	var ids []int64
	for _, r := range risks {
		if _, ok := byCluster[r.ClusterID]; !ok {
			ids = append(ids, r.ClusterID)
		}
		byCluster[r.ClusterID] = append(byCluster[r.ClusterID], r)
	}
	res.AtRisk = len(ids)
	forecasts, err := f.Forecasts(rctx, ids, nil)
	if err != nil {
		return res, err
	}
	caps, err := loadCapacities(ctx, s.pool, ids, cfg.Cooldown)
	if err != nil {
		return res, err
	}
	var keep []int64
	for _, id := range ids {
		c, ok := caps[id]
		if !ok || c.mode == "OFF" || c.hosts == 0 {
			continue
		}
		fig, reason := sizeProposal(byCluster[id], forecasts[id], c, cfg.Horizon)
		if fig.HostsNeeded == 0 {
			continue
		}
		keep = append(keep, id)
		opened, err := s.upsertProposal(ctx, id, fig, reason)
		if err != nil {
			return res, err
		}
		if opened {
			res.Opened++
		} else {
			res.Refreshed++
		}
		if c.mode == "AUTO" {
			started, err := s.autoStart(ctx, id, logger)
			if err != nil {
				return res, err
			}
			if started {
				res.Started++
			}
		}
	}
	tag, err := s.pool.Exec(ctx, `UPDATE scaleout_proposal SET state = 'EXPIRED', decided_at = now(), decided_by = $2,
		decision_reason = 'the forecast no longer crosses the threshold within the horizon', updated_at = now()
		WHERE state = 'OPEN' AND NOT (cluster_id = ANY($1))`, keep, AutoscaleActor)
	if err != nil {
		return res, fmt.Errorf("error expiring scale-out proposals: %w", err)
	}
	res.Expired = int(tag.RowsAffected())
	return res, nil
}

// loadCapacities reads, for clusters ids, the policy, the in-service hosts'
// count, cores and memory, and the most common hardware — one statement —
// leaving out clusters within the cool-down of a decided proposal.
func loadCapacities(ctx context.Context, q db.DBTX, ids []int64, cooldown time.Duration) (map[int64]clusterCapacity, error) {
	rows, err := q.Query(ctx, `
		WITH live AS (
			SELECT cluster_id, cpu_cores, memory_bytes FROM host
			WHERE cluster_id = ANY($1) AND state IN ('ONLINE', 'DEGRADED')
		), typical AS (
			SELECT DISTINCT ON (cluster_id) cluster_id, cpu_cores, memory_bytes
			FROM live GROUP BY cluster_id, cpu_cores, memory_bytes
			ORDER BY cluster_id, count(*) DESC, cpu_cores DESC
		), totals AS (
			SELECT cluster_id, count(*) AS hosts, sum(cpu_cores) AS cores, sum(memory_bytes) AS mem FROM live GROUP BY cluster_id
		)
		SELECT c.id, c.autoscale_mode, c.autoscale_max_hosts, coalesce(t.hosts, 0), coalesce(t.cores, 0)::float8,
		       coalesce(t.mem, 0)::float8, coalesce(y.cpu_cores, 0)::float8, coalesce(y.memory_bytes, 0)::float8
		FROM cluster c
		LEFT JOIN totals t ON t.cluster_id = c.id
		LEFT JOIN typical y ON y.cluster_id = c.id
		WHERE c.id = ANY($1)
		  AND NOT EXISTS (SELECT 1 FROM scaleout_proposal p WHERE p.cluster_id = c.id
		                  AND p.state IN ('ACCEPTED', 'DISMISSED') AND p.decided_at > now() - $2::interval)`,
		ids, cooldown.String())
	if err != nil {
		return nil, fmt.Errorf("error loading cluster capacities: %w", err)
	}
	out := map[int64]clusterCapacity{}
	var id int64
	var c clusterCapacity
	_, err = pgx.ForEachRow(rows, []any{&id, &c.mode, &c.maxHosts, &c.hosts, &c.cores, &c.memory, &c.typicalCores, &c.typicalMem},
		func() error { out[id] = c; return nil })
	if err != nil {
		return nil, fmt.Errorf("error loading cluster capacities: %w", err)
	}
	return out, nil
}

// sizeProposal sizes a cluster's scale-out from its risks: the dimension
// needing the most hosts decides, capped by the cluster's largest scale-out.
func sizeProposal(risks []watermark.Risk, forecasts []watermark.Forecast, c clusterCapacity, horizon time.Duration) (ProposalFigures, string) {
	var best ProposalFigures
	var reasons []string
	days := horizon.Hours() / 24
	for _, r := range risks {
		peak := r.Utilization
		for _, fc := range forecasts {
			if fc.Dimension != r.Dimension || fc.CurrentPeak == nil {
				continue
			}
			p := *fc.CurrentPeak
			if fc.SlopePerDay != nil {
				p += *fc.SlopePerDay * days
			}
			peak = max(peak, p)
		}
		capacity, hostCap, unit := float64(c.hosts), 1.0, "hosts"
		switch r.Dimension {
		case watermark.Dimension("CPU"):
			capacity, hostCap, unit = c.cores, c.typicalCores, "cores"
		case watermark.Dimension("MEMORY"):
			capacity, hostCap, unit = c.memory, c.typicalMem, "bytes"
		}
		k := HostsNeeded(peak, r.Threshold, capacity, hostCap)
		reasons = append(reasons, r.Reason)
		if k <= best.HostsNeeded {
			continue
		}
		best = ProposalFigures{Dimension: string(r.Dimension), Threshold: r.Threshold, Utilization: r.Utilization,
			ForecastPeak: peak, CrossesAt: r.CrossesAt, HorizonHours: horizon.Hours(), HostsInService: c.hosts,
			Capacity: capacity, HostCapacity: hostCap, CapacityUnit: unit, HostsNeeded: k}
	}
	if best.HostsNeeded == 0 {
		return best, ""
	}
	hosts := min(best.HostsNeeded, c.maxHosts)
	best.Hosts, best.Capped = hosts, hosts < best.HostsNeeded
	best.CapacityAfter = best.Capacity + float64(hosts)*best.HostCapacity
	best.ForecastAfter = best.ForecastPeak * best.Capacity / best.CapacityAfter
	return best, strings.Join(reasons, "; ")
}

// upsertProposal opens cluster's proposal or refreshes the open one, with
// the pool machines a scale-out would take now as suggestions.
func (s *Service) upsertProposal(ctx context.Context, cluster int64, fig ProposalFigures, reason string) (opened bool, err error) {
	figures, _ := json.Marshal(fig)
	hosts := fig.Hosts
	err = db.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT s.id FROM spare_host s JOIN cluster c ON c.region = s.region
			WHERE c.id = $1 AND s.state = 'READY' ORDER BY s.hostname LIMIT $2`, cluster, hosts)
		if err != nil {
			return fmt.Errorf("error suggesting spare hosts for cluster %d: %w", cluster, err)
		}
		suggested, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
			return fmt.Errorf("error suggesting spare hosts for cluster %d: %w", cluster, err)
		}
		if suggested == nil {
			suggested = []int64{}
		}
		var id int64
		err = tx.QueryRow(ctx, `INSERT INTO scaleout_proposal (cluster_id, hosts, suggested_hosts, figures, reason)
			VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (cluster_id) WHERE state = 'OPEN' DO UPDATE SET hosts = EXCLUDED.hosts,
				suggested_hosts = EXCLUDED.suggested_hosts, figures = EXCLUDED.figures, reason = EXCLUDED.reason, updated_at = now()
			RETURNING id, xmax = 0`, cluster, hosts, suggested, figures, reason).Scan(&id, &opened)
		if err != nil {
			return fmt.Errorf("error storing scale-out proposal of cluster %d: %w", cluster, err)
		}
		if opened {
			return audit.RecordSystem(ctx, tx, AutoscaleActor, "proposeScaleOut", fmt.Sprintf("scaleoutProposal:%d", id),
				map[string]any{"clusterId": cluster, "hosts": hosts, "figures": fig})
		}
		return nil
	})
	return opened, err
}

// autoStart accepts cluster's open proposal as AutoscaleActor when no
// operation holds the cluster; a refusal (pool short, a concurrent
// operation) is logged and the proposal stays OPEN for the next run.
func (s *Service) autoStart(ctx context.Context, cluster int64, logger *slog.Logger) (bool, error) {
	var id int64
	var busy bool
	err := s.pool.QueryRow(ctx, `SELECT p.id, EXISTS (SELECT 1 FROM operation o WHERE o.cluster_id = p.cluster_id
			AND o.state IN ('PENDING', 'RUNNING', 'PAUSED'))
		FROM scaleout_proposal p WHERE p.cluster_id = $1 AND p.state = 'OPEN'`, cluster).Scan(&id, &busy)
	if err != nil {
		return false, fmt.Errorf("error loading open proposal of cluster %d: %w", cluster, err)
	}
	if busy {
		return false, nil
	}
	err = db.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		op, err := s.acceptTx(ctx, tx, id, AutoscaleActor, "started automatically: the cluster's policy is AUTO")
		if err != nil {
			return err
		}
		return audit.RecordSystem(ctx, tx, AutoscaleActor, "startOperation", target(op),
			map[string]any{"kind": KindScaleOut, "clusterId": cluster, "proposalId": id})
	})
	if _, refused := fault.As(err); refused {
		if logger != nil {
			logger.WarnContext(ctx, "auto scale-out not started", "cluster_id", cluster, "proposal_id", id, "error", err)
		}
		return false, nil
	}
	return err == nil, err
}
