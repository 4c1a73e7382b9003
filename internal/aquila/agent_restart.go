package aquila

import (
	"context"
	"fmt"

	"github.com/teslaops/tesla/internal/agenttask"
)

// RestartSpec builds the agent task that restarts service on host, from the
// package of the version the host runs: what keep-alive queues for a
// component that stopped (keepalive.AgentRestarter), outside any operation.
func (a *AgentExecutor) RestartSpec(ctx context.Context, hostID int64, service string) (agenttask.Spec, error) {
	var id int64
	var hostname, addr string
	err := a.pool.QueryRow(ctx, `SELECT p.id, h.hostname, coalesce(nullif(h.ip, ''), h.hostname)
		FROM host h JOIN host_component c ON c.host_id = h.id
		JOIN service_package p ON p.service = c.service AND p.version = c.version
		WHERE h.id = $1 AND c.service = $2 LIMIT 1`, hostID, service).Scan(&id, &hostname, &addr)
	if err != nil {
		return agenttask.Spec{}, fmt.Errorf("no registered package for %s on host %d: %w", service, hostID, err)
	}
	p, err := a.pkg(ctx, id)
	if err != nil {
		return agenttask.Spec{}, err
	}
	return p.spec(agenttask.ActionRestart, hostname, addr)
}
