package aquila

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/teslaops/tesla/internal/agenttask"
	"github.com/teslaops/tesla/internal/configuration"
)

// writeConfigSteps is the agent task of a CONFIG_APPLY's WRITE_CONFIG: one
// CONFIGURE of the task's service, writing the host's effective files of the
// task's configuration version (configuration.HostFiles) into the version
// directory of the service the host runs, without restarting it: the
// RESTART stage that follows makes it read them. The files are read when the
// task runs, not carried in it, so the task stays small however large they
// are. The files the host's previous applied version had and this one has
// not (the task's Remove, planned by configuration.PlanRollout) are deleted
// by the same CONFIGURE. The paths were checked relative and clean when the
// version was made, and the agent refuses any that would leave the version
// directory, for writing or removing.
func (a *AgentExecutor) writeConfigSteps(ctx context.Context, t Task) ([]agentStep, error) {
	var p ConfigTaskParams
	if err := json.Unmarshal(t.Params, &p); err != nil {
		return nil, fmt.Errorf("task parameters are not valid: %w", err)
	}
	if p.Service == "" || p.ConfigVersion <= 0 {
		return nil, fmt.Errorf("task parameters are not valid: a WRITE_CONFIG needs the service and the configuration version")
	}
	files, err := configuration.HostFiles(ctx, a.pool, t.HostID, p.Service, p.ConfigVersion)
	if err != nil {
		return nil, err
	}
	if len(files) > agenttask.MaxConfig {
		return nil, fmt.Errorf("%s has %d configuration files of %s at version %d: an agent task writes at most %d",
			t.Hostname, len(files), p.Service, p.ConfigVersion, agenttask.MaxConfig)
	}
	pkg, err := a.hostPackage(ctx, t, p.Service)
	if err != nil {
		return nil, err
	}
	if len(p.Remove) > agenttask.MaxConfig {
		return nil, fmt.Errorf("%s has %d configuration files of %s to remove at version %d: an agent task removes at most %d",
			t.Hostname, len(p.Remove), p.Service, p.ConfigVersion, agenttask.MaxConfig)
	}
	out := make([]agenttask.File, len(files))
	for i, f := range files {
		out[i] = agenttask.File{Path: f.Path, Content: f.Content}
	}
	return []agentStep{{action: agenttask.ActionConfigure, pkg: pkg, svc: p.Service, edit: func(s *agenttask.Spec) {
		s.Config, s.Remove, s.NoRestart, s.Health = out, p.Remove, true, nil
	}}}, nil
}
