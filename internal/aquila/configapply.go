package aquila

import (
	"cmp"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/teslaops/tesla/internal/configuration"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/inventory"
)

// ActionWriteConfig writes a service's effective configuration files on a
// host (CONFIG_APPLY); the RESTART that follows in the next stage makes the
// components read them.
const ActionWriteConfig = "WRITE_CONFIG"

// ConfigApplyParams are a CONFIG_APPLY's parameters: the configuration
// version to roll out and the one it replaces (internal/configuration).
type ConfigApplyParams struct {
	Version     int64 `json:"version"`
	FromVersion int64 `json:"fromVersion"`
	// BatchPercent is the share of the cluster's hosts restarted at once
	// (default 10), capped by the operation's out-of-service share.
	BatchPercent int `json:"batchPercent,omitempty"`
}

// ConfigFile names one file a WRITE_CONFIG task writes, by content hash: the
// executor reads the content with configuration.HostFiles (the task stays
// small however large the file). The hash is shown to OPERATOR and ADMIN
// only (redactConfigHashes).
type ConfigFile struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256,omitempty"`
}

// redactConfigHashes returns a WRITE_CONFIG task's parameters without the
// files' content hashes. Anyone signed in reads operations, but
// configuration needs OPERATOR: an unsalted SHA-256 of a file would let a
// viewer confirm a guess of it (a short password in a known template) and
// see when a secret was rotated.
func redactConfigHashes(params json.RawMessage) json.RawMessage {
	var p ConfigTaskParams
	if err := json.Unmarshal(params, &p); err != nil {
		return json.RawMessage(`{}`)
	}
	for i := range p.Files {
		p.Files[i].SHA256 = ""
	}
	out, err := json.Marshal(p)
	if err != nil {
		return json.RawMessage(`{}`)
	}
	return out
}

// ConfigTaskParams are the parameters of a CONFIG_APPLY's tasks: the
// service, the version, and (WRITE_CONFIG) the files with their hashes and
// the paths of the files to remove.
type ConfigTaskParams struct {
	Service       string       `json:"service"`
	ConfigVersion int64        `json:"configVersion"`
	Files         []ConfigFile `json:"files,omitempty"`
	// Remove are the files the host's previous applied version had for the
	// service and this version has not (configuration.Target.Remove),
	// relative to the configuration directory.
	Remove []string `json:"remove,omitempty"`
}

// ConfigApplyPlanner plans CONFIG_APPLY: the targets of
// configuration.PlanRollout (the services on hosts whose effective files
// change, or whose components are behind), service by service, in rolling
// batches of BatchPercent of the cluster's hosts; each batch is a stage of
// WRITE_CONFIG tasks followed by a stage of RESTART tasks, so no component
// restarts before its files are in place. Hosts in MAINTENANCE ride along
// without counting toward a batch, as in RESTART.
type ConfigApplyPlanner struct{}

// Kind is CONFIG_APPLY.
func (ConfigApplyPlanner) Kind() Kind { return KindConfigApply }

// Plan refuses a version that is not the cluster's current one: rolling out
// an older version over a newer one is what rollbackConfig (a new version)
// is for.
func (ConfigApplyPlanner) Plan(ctx context.Context, q db.DBTX, req Request) (*Plan, error) {
	var p ConfigApplyParams
	if len(req.Params) > 0 {
		if err := json.Unmarshal(req.Params, &p); err != nil {
			return nil, fault.Field("params", "CONFIG_APPLY parameters are not valid: %v", err)
		}
	}
	p.BatchPercent = cmp.Or(p.BatchPercent, 10)
	if p.BatchPercent < 1 || p.BatchPercent > 100 {
		return nil, fault.Field("params.batchPercent", "the batch share must be between 1 and 100 percent")
	}
	// fromVersion == version re-applies the version to the components
	// behind it (configuration.Service.Reapply).
	if p.FromVersion < 0 || p.FromVersion > p.Version {
		return nil, fault.Field("params.fromVersion", "fromVersion must be at most version %d", p.Version)
	}
	cur, err := configuration.CurrentVersion(ctx, q, req.ClusterID)
	if err != nil {
		return nil, err
	}
	if p.Version != cur {
		return nil, fault.New(fault.Conflict, "cluster %d's current configuration version is %d, not %d: roll out the current version", req.ClusterID, cur, p.Version)
	}
	maxPct := cmp.Or(req.MaxOutOfServicePct, DefaultMaxOutOfServicePct)
	r, err := configuration.PlanRollout(ctx, q, req.ClusterID, p.FromVersion, p.Version)
	if err != nil {
		return nil, err
	}
	rows, err := q.Query(ctx, `SELECT id, state = 'MAINTENANCE' FROM host WHERE cluster_id = $1 AND state <> 'DECOMMISSIONED'`, req.ClusterID)
	if err != nil {
		return nil, fmt.Errorf("error loading hosts of cluster %d: %w", req.ClusterID, err)
	}
	maintenance := map[int64]bool{}
	for rows.Next() {
		var id int64
		var m bool
		if err := rows.Scan(&id, &m); err != nil {
			rows.Close()
			return nil, fmt.Errorf("error loading hosts of cluster %d: %w", req.ClusterID, err)
		}
		maintenance[id] = m
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("error loading hosts of cluster %d: %w", req.ClusterID, err)
	}
	batch := max(len(maintenance)*min(p.BatchPercent, maxPct)/100, 1)
	params, _ := json.Marshal(p)
	plan := &Plan{Kind: KindConfigApply, ClusterID: req.ClusterID, Params: params, RequestedBy: req.RequestedBy,
		Reason: req.Reason, FailureBudget: req.FailureBudget, MaxOutOfServicePct: maxPct}
	// Targets come ordered by service, then host.
	for i := 0; i < len(r.Targets); {
		svc := r.Targets[i].Service
		j := i
		for j < len(r.Targets) && r.Targets[j].Service == svc {
			j++
		}
		var batches [][]configuration.Target
		var cur []configuration.Target
		inService := 0
		for _, t := range r.Targets[i:j] {
			if !maintenance[t.HostID] && inService == batch {
				batches, cur, inService = append(batches, cur), nil, 0
			}
			cur = append(cur, t)
			if !maintenance[t.HostID] {
				inService++
			}
		}
		batches = append(batches, cur)
		restart, _ := json.Marshal(ConfigTaskParams{Service: svc, ConfigVersion: p.Version})
		for n, b := range batches {
			write := PlanStage{Name: fmt.Sprintf("write %s config %d/%d", svc, n+1, len(batches))}
			rs := PlanStage{Name: fmt.Sprintf("restart %s %d/%d", svc, n+1, len(batches))}
			for _, t := range b {
				tp := ConfigTaskParams{Service: svc, ConfigVersion: p.Version, Remove: t.Remove}
				for _, f := range t.Files {
					tp.Files = append(tp.Files, ConfigFile{Path: f.Path, SHA256: hex.EncodeToString(f.SHA[:])})
				}
				wp, _ := json.Marshal(tp)
				write.Tasks = append(write.Tasks, PlanTask{HostID: t.HostID, Action: ActionWriteConfig, Params: wp})
				rs.Tasks = append(rs.Tasks, PlanTask{HostID: t.HostID, Action: ActionRestart, Params: restart})
			}
			plan.Stages = append(plan.Stages, write, rs)
		}
		i = j
	}
	if len(plan.Stages) == 0 {
		return nil, fault.New(fault.Invalid, "no host of cluster %d needs configuration version %d: every component runs it already", req.ClusterID, p.Version)
	}
	return plan, nil
}

// Inverse refuses: configuration is rolled back by rollbackConfig, which
// makes a new version restoring the old files and rolls that out.
func (ConfigApplyPlanner) Inverse(context.Context, db.DBTX, *Operation) ([]PlanStage, error) {
	return nil, fault.New(fault.Invalid, "a CONFIG_APPLY is not rolled back as an operation: use rollbackConfig(toVersion), which makes a new version with the old files and applies it")
}

// ConfigRollouter submits the CONFIG_APPLY of a new configuration version
// through the Service (access-checked and audited as any operation): what
// configuration.Service.WithRollouter takes.
type ConfigRollouter struct {
	Service *Service
	// BatchPercent is the rolling batch share (default 10).
	BatchPercent int
}

// SubmitConfigApply starts the operation and returns its id.
func (c ConfigRollouter) SubmitConfigApply(ctx context.Context, r *configuration.Rollout) (int64, error) {
	params, _ := json.Marshal(ConfigApplyParams{Version: r.Version, FromVersion: r.FromVersion, BatchPercent: c.BatchPercent})
	op, err := c.Service.Submit(ctx, Request{Kind: KindConfigApply, ClusterID: r.ClusterID, Params: params,
		Reason: fmt.Sprintf("configuration version %d", r.Version)})
	if err != nil {
		return 0, err
	}
	return op.ID, nil
}

// configApplyStamps returns the stamps of a batch's successful CONFIG_APPLY
// restarts: those components now run the version their files came from.
func configApplyStamps(done []Done) []inventory.ConfigStamp {
	var out []inventory.ConfigStamp
	for _, d := range done {
		if d.Task.Kind != KindConfigApply || d.Task.Action != ActionRestart || d.Err != nil {
			continue
		}
		var p ConfigTaskParams
		if json.Unmarshal(d.Task.Params, &p) != nil || p.ConfigVersion == 0 || p.Service == "" {
			continue
		}
		out = append(out, inventory.ConfigStamp{HostID: d.Task.HostID, Service: p.Service, Version: p.ConfigVersion})
	}
	return out
}
