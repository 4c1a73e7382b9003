package aquila

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/agenttask"
)

// An added service is deployed, a removed one stopped, in the task's order;
// a step without a registered package is refused by name.
func TestServiceChangeAgentSteps(t *testing.T) {
	t.Parallel()
	params, _ := json.Marshal(UpgradeTaskParams{Services: []ServiceStep{
		{Service: "KMS", Version: "2.0", PackageID: 7, Components: []string{"KMS"}},
		{Service: "SPARK", Version: "2.0", PackageID: 9, Components: []string{"SPARK"}},
	}})
	steps, err := serviceChangeAgentSteps(Task{Action: ActionInstallService, Params: params})
	require.NoError(t, err)
	require.Equal(t, []agentStep{{action: agenttask.ActionDeploy, pkg: 7, svc: "KMS"}, {action: agenttask.ActionDeploy, pkg: 9, svc: "SPARK"}}, steps)

	steps, err = serviceChangeAgentSteps(Task{Action: ActionRemoveService, Params: params})
	require.NoError(t, err)
	require.Equal(t, agenttask.ActionStop, steps[0].action)

	params, _ = json.Marshal(UpgradeTaskParams{Services: []ServiceStep{{Service: "MON", Version: "0.9"}}})
	_, err = serviceChangeAgentSteps(Task{Action: ActionRemoveService, Hostname: "dn-01", Params: params})
	require.ErrorContains(t, err, `REMOVE_SERVICE MON on dn-01: version "0.9" is no registered package`)
	_, err = serviceChangeAgentSteps(Task{Action: ActionRemoveService, Params: json.RawMessage(`{"services": 3}`)})
	require.ErrorContains(t, err, "task parameters are not valid")
}
