package keepalive_test

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/agenttask"
	"github.com/teslaops/tesla/internal/keepalive"
)

type fakeSpecs struct{ missing string }

func (f fakeSpecs) RestartSpec(_ context.Context, _ int64, service string) (agenttask.Spec, error) {
	if service == f.missing {
		return agenttask.Spec{}, errors.New("no registered package for " + service)
	}
	return agenttask.Spec{Action: agenttask.ActionRestart, Service: service}, nil
}

type fakeQueue struct {
	keys  []string
	specs []agenttask.Spec
}

func (f *fakeQueue) Dispatch(_ context.Context, _ int64, key string, spec agenttask.Spec) (int64, error) {
	f.keys = append(f.keys, key)
	f.specs = append(f.specs, spec)
	return int64(len(f.keys)), nil
}

// The agent restarter queues one RESTART per host and service (two stopped
// components of one service share it), with the restart's key, and does not
// wait: DISPATCHED naming the agent task; a service with no package to run
// it is a FAILED restart, not a failed pass.
func TestAgentRestarterQueuesOneRestartPerHostAndService(t *testing.T) {
	t.Parallel()
	q := &fakeQueue{}
	r := keepalive.AgentRestarter{Specs: fakeSpecs{missing: "KAFKA"}, Tasks: q}
	outs, err := r.Restart(context.Background(), nil, []keepalive.Restart{
		{HostID: 1, Service: "HDFS", Component: "DATANODE", Key: "k1"},
		{HostID: 1, Service: "HDFS", Component: "JOURNALNODE", Key: "k2"},
		{HostID: 2, Service: "HDFS", Component: "DATANODE", Key: "k3"},
		{HostID: 2, Service: "KAFKA", Component: "BROKER", Key: "k4"},
	})
	require.NoError(t, err)
	require.Equal(t, []string{"k1", "k3"}, q.keys)
	require.Equal(t, agenttask.ActionRestart, q.specs[0].Action)
	require.Equal(t, []keepalive.Outcome{
		{Outcome: keepalive.OutcomeDispatched, Detail: "agent task 1"},
		{Outcome: keepalive.OutcomeDispatched, Detail: "agent task 1"},
		{Outcome: keepalive.OutcomeDispatched, Detail: "agent task 2"},
		{Outcome: keepalive.OutcomeFailed, Detail: "no registered package for KAFKA"},
	}, outs)
}
