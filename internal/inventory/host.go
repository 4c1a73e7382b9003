package inventory

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/inventory/dbsqlc"
	"github.com/teslaops/tesla/internal/page"
	"github.com/teslaops/tesla/internal/telemetry"
)

// Host is one machine of a cluster.
type Host struct {
	ID             int64
	ClusterID      int64
	Hostname       string
	Rack           string
	IP             string
	CPUCores       int
	MemoryBytes    int64
	DiskBytes      int64
	NICBps         int64
	OS             string
	Kernel         string
	Model          string
	State          string
	StateReason    string
	StateChangedAt time.Time
	LastHeartbeat  *time.Time
	ScrapeURL      *string
	CreatedAt      time.Time
}

func (h *Host) dests() []any {
	return []any{&h.ID, &h.ClusterID, &h.Hostname, &h.Rack, &h.IP, &h.CPUCores, &h.MemoryBytes, &h.DiskBytes,
		&h.NICBps, &h.OS, &h.Kernel, &h.Model, &h.State, &h.StateReason, &h.StateChangedAt, &h.LastHeartbeat, &h.ScrapeURL, &h.CreatedAt}
}

const hostColumns = `h.id, h.cluster_id, h.hostname, h.rack, h.ip, h.cpu_cores, h.memory_bytes, h.disk_bytes,
	h.nic_bps, h.os, h.kernel, h.model, h.state, h.state_reason, h.state_changed_at, h.last_heartbeat, h.scrape_url, h.created_at`

// HostStates are the states a host can be in.
var HostStates = []string{"ONLINE", "DEGRADED", "OFFLINE", "MAINTENANCE", "DECOMMISSIONED", "REPAIRING"}

// HostFilter narrows host listings.
type HostFilter struct {
	ClusterID   *int64
	ClusterName string
	States      []string
	Rack        string
	BUID        *int64
	Search      string
}

var hostOrders = map[string]string{
	"HOSTNAME": "h.hostname", "STATE": "h.state", "RACK": "h.rack", "CPU_CORES": "h.cpu_cores",
	"MEMORY_BYTES": "h.memory_bytes", "LAST_HEARTBEAT": "h.last_heartbeat",
}

func (s *Service) hostConds(ctx context.Context, f HostFilter) (*conds, error) {
	c := newConds()
	if f.ClusterID != nil {
		c.add(`h.cluster_id = @cluster`, "cluster", *f.ClusterID)
	}
	if f.ClusterName != "" {
		c.add(`h.cluster_id = (SELECT id FROM cluster WHERE name = @cluster_name)`, "cluster_name", f.ClusterName)
	}
	if len(f.States) > 0 {
		c.add(`h.state = ANY(@states)`, "states", f.States)
	}
	if f.Rack != "" {
		c.add(`h.rack = @rack`, "rack", f.Rack)
	}
	if f.BUID != nil {
		sub, err := auth.BUSubtree(ctx, s.pool, *f.BUID)
		if err != nil {
			return nil, err
		}
		c.add(`h.cluster_id IN (SELECT id FROM cluster WHERE owner_bu_id = ANY(@bus))`, "bus", sub)
	}
	if f.Search != "" {
		c.add(`h.hostname ILIKE @search`, "search", likePattern(f.Search))
	}
	return c, nil
}

// ListHosts lists hosts across the platform.
func (s *Service) ListHosts(ctx context.Context, f HostFilter, o Order, args page.Args) (page.Page[*Host], error) {
	pages, err := s.hostPages(ctx, f, o, args, nil)
	if err != nil {
		return page.Page[*Host]{}, err
	}
	return single(pages), nil
}

// HostPagesByCluster returns one page of hosts per cluster, all in one query, for
// the nested Cluster.hosts connection.
func (s *Service) HostPagesByCluster(ctx context.Context, clusters []int64, f HostFilter, o Order, args page.Args) (map[int64]*page.Page[*Host], error) {
	return s.hostPages(ctx, f, o, args, clusters)
}

func (s *Service) hostPages(ctx context.Context, f HostFilter, o Order, args page.Args, clusters []int64) (map[int64]*page.Page[*Host], error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	w, err := args.Resolve()
	if err != nil {
		return nil, err
	}
	order, err := orderSQL(hostOrders, o, "h.hostname", "h.id")
	if err != nil {
		return nil, err
	}
	c, err := s.hostConds(ctx, f)
	if err != nil {
		return nil, err
	}
	spec := pagedSpec{Columns: hostColumns, From: `host h`, Partition: "0", Order: order}
	keys := []int64{0}
	if clusters != nil {
		c.add(`h.cluster_id = ANY(@parents)`, "parents", clusters)
		spec.Partition, keys = "h.cluster_id", clusters
	}
	spec.Where, spec.Args = c.where(), c.args
	pages, err := queryPages[Host](ctx, s.pool, spec, w, keys)
	if err != nil {
		return nil, fmt.Errorf("error listing hosts: %w", err)
	}
	return pages, nil
}

func hostFromRow(r *dbsqlc.Host) *Host {
	return &Host{
		ID: r.ID, ClusterID: r.ClusterID, Hostname: r.Hostname, Rack: r.Rack, IP: r.Ip, CPUCores: int(r.CpuCores),
		MemoryBytes: r.MemoryBytes, DiskBytes: r.DiskBytes, NICBps: r.NicBps, OS: r.Os, Kernel: r.Kernel, Model: r.Model,
		State: r.State, StateReason: r.StateReason, StateChangedAt: r.StateChangedAt, LastHeartbeat: r.LastHeartbeat,
		ScrapeURL: r.ScrapeUrl, CreatedAt: r.CreatedAt,
	}
}

// HostsByIDs loads hosts by id.
func (s *Service) HostsByIDs(ctx context.Context, ids []int64) (map[int64]*Host, error) {
	return byIDs(ctx, "hosts", func() ([]*dbsqlc.Host, error) { return queries.HostsByIDs(ctx, s.pool, ids) },
		hostFromRow, func(h *Host) int64 { return h.ID })
}

// HostByName loads one host by hostname.
func (s *Service) HostByName(ctx context.Context, hostname string) (*Host, error) {
	return lookupOne(ctx, fmt.Sprintf("host %q", hostname), func() (*dbsqlc.Host, error) { return queries.HostByName(ctx, s.pool, hostname) },
		hostFromRow)
}

// HostComponent is a service component installed on a host.
type HostComponent struct {
	HostID       int64
	Service      string
	Component    string
	Version      string
	DesiredState string
	ActualState  string
	UpdatedAt    time.Time
}

// ComponentsByHost groups host components by host.
func (s *Service) ComponentsByHost(ctx context.Context, hosts []int64) (map[int64][]*HostComponent, error) {
	return groupedBy(ctx, "host components", func() ([]*dbsqlc.HostComponent, error) { return queries.ComponentsByHost(ctx, s.pool, hosts) },
		func(r *dbsqlc.HostComponent) *HostComponent {
			return &HostComponent{HostID: r.HostID, Service: r.Service, Component: r.Component, Version: r.Version,
				DesiredState: r.DesiredState, ActualState: r.ActualState, UpdatedAt: r.UpdatedAt}
		}, func(c *HostComponent) int64 { return c.HostID })
}

// latestWindow bounds the search for a host's latest sample, so the query touches
// only the newest partitions.
const latestWindow = time.Hour

// LatestMetricsByHost returns each host's newest sample of the last hour.
func (s *Service) LatestMetricsByHost(ctx context.Context, hosts []int64) (map[int64]*telemetry.Sample, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	return telemetry.LatestByHost(ctx, s.pool, hosts, time.Now().Add(-latestWindow))
}

// settableStates are the states an operator may put a host in by hand; the others
// (OFFLINE, DEGRADED, REPAIRING) are set by heartbeats and the self-healing loop.
var settableStates = map[string]bool{"ONLINE": true, "MAINTENANCE": true, "DECOMMISSIONED": true}

// SetHostStateInput asks to move a host to a state.
type SetHostStateInput struct {
	HostID int64  `json:"hostId"`
	State  string `json:"state"`
	Reason string `json:"reason"`
}

// SetHostState moves a host to MAINTENANCE, back ONLINE, or DECOMMISSIONED. It needs
// OPERATOR, is audited, and announces the change on HostStateChannel.
func (s *Service) SetHostState(ctx context.Context, in SetHostStateInput) (*Host, error) {
	var host *Host
	err := s.audit.Do(ctx, "setHostState", fmt.Sprintf("host:%d", in.HostID), in, func(tx pgx.Tx) error {
		if _, err := auth.RequireRole(ctx, auth.Operator, "changing a host's state"); err != nil {
			return err
		}
		if !settableStates[in.State] {
			return fault.Field("input.state", "a host can be set to ONLINE, MAINTENANCE or DECOMMISSIONED by hand, not %s", in.State)
		}
		if len(in.Reason) > 500 {
			return fault.Field("input.reason", "reason is limited to 500 characters")
		}
		current, err := queries.HostStateForUpdate(ctx, tx, in.HostID)
		if err != nil {
			return db.Interpret(err, "host")
		}
		if current == "DECOMMISSIONED" && in.State != "DECOMMISSIONED" {
			return fault.New(fault.Conflict, "host is decommissioned; it cannot return to service")
		}
		row, err := queries.HostSetState(ctx, tx, &dbsqlc.HostSetStateParams{ID: in.HostID, State: in.State, Reason: in.Reason})
		if err != nil {
			return fmt.Errorf("error updating host state: %w", err)
		}
		host = hostFromRow(row)
		if err := queries.HostStateNotify(ctx, tx, &dbsqlc.HostStateNotifyParams{Channel: HostStateChannel, Payload: fmt.Sprint(in.HostID)}); err != nil {
			return fmt.Errorf("error announcing host state: %w", err)
		}
		return nil
	})
	return host, err
}

// sickStates are the states a host falls into when something is wrong with it.
var sickStates = []string{"DEGRADED", "OFFLINE", "REPAIRING"}

// RecentSickHosts returns the hosts that most recently fell sick, newest first,
// for the big screen and the platform view.
func (s *Service) RecentSickHosts(ctx context.Context, n int) ([]*Host, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	if n < 1 || n > 100 {
		return nil, fault.Field("first", "first must be between 1 and 100, got %d", n)
	}
	return lookup(ctx, "sick hosts", func() ([]*dbsqlc.Host, error) {
		return queries.HostsRecentlyInStates(ctx, s.pool, &dbsqlc.HostsRecentlyInStatesParams{States: sickStates, Max: int32(n)})
	}, hostFromRow)
}
