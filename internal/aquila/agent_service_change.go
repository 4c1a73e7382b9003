package aquila

import (
	"fmt"

	"github.com/teslaops/tesla/internal/agenttask"
)

// serviceChangeAgentSteps maps the services an upgrade adds or removes to
// agent tasks, in the task's order: an INSTALL_SERVICE deploys each service's
// package (DEPLOY: fetch, unpack, configure, start, health-check); a
// REMOVE_SERVICE stops each (STOP, from the package of the version removed,
// which says how the service runs). The agent leaves a stopped service's
// files in place: host_component no longer lists it, and a rollback deploys
// it again.
func serviceChangeAgentSteps(t Task) ([]agentStep, error) {
	steps, err := serviceSteps(t)
	if err != nil {
		return nil, fmt.Errorf("task parameters are not valid: %w", err)
	}
	action := agenttask.ActionDeploy
	if t.Action == ActionRemoveService {
		action = agenttask.ActionStop
	}
	out := make([]agentStep, 0, len(steps))
	for _, s := range steps {
		if s.PackageID == 0 {
			return nil, fmt.Errorf("%s %s on %s: version %q is no registered package", t.Action, s.Service, t.Hostname, s.Version)
		}
		out = append(out, agentStep{action: action, pkg: s.PackageID, svc: s.Service})
	}
	return out, nil
}
