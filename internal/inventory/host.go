package inventory

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
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
	// What the host's agent reported (empty, nil: no agent has registered).
	Serial            string
	Vendor            string
	AgentVersion      string
	AgentRegisteredAt *time.Time
	AgentHeartbeatAt  *time.Time
}

func (h *Host) dests() []any {
	return []any{&h.ID, &h.ClusterID, &h.Hostname, &h.Rack, &h.IP, &h.CPUCores, &h.MemoryBytes, &h.DiskBytes,
		&h.NICBps, &h.OS, &h.Kernel, &h.Model, &h.State, &h.StateReason, &h.StateChangedAt, &h.LastHeartbeat, &h.ScrapeURL, &h.CreatedAt,
		&h.Serial, &h.Vendor, &h.AgentVersion, &h.AgentRegisteredAt, &h.AgentHeartbeatAt}
}

const hostColumns = `h.id, h.cluster_id, h.hostname, h.rack, h.ip, h.cpu_cores, h.memory_bytes, h.disk_bytes,
	h.nic_bps, h.os, h.kernel, h.model, h.state, h.state_reason, h.state_changed_at, h.last_heartbeat, h.scrape_url, h.created_at,
	h.serial, h.vendor, h.agent_version, h.agent_registered_at, h.agent_heartbeat_at`

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

// hostKeys are the key columns of the host orderings the schema offers; the id
// breaks ties. A never-seen host sorts as the oldest heartbeat: a keyset key must
// not be NULL. Migration 0005 indexes each key, alone and after cluster_id, except
// LAST_HEARTBEAT, which heartbeats rewrite every minute: indexing it would turn
// each heartbeat into a non-HOT update of every index on host. That ordering reads
// the filtered set with a bounded top-N sort instead.
var hostKeys = map[string]page.Col{
	"HOSTNAME":       {Expr: "h.hostname", Type: "text"},
	"STATE":          {Expr: "h.state", Type: "text"},
	"RACK":           {Expr: "h.rack", Type: "text"},
	"CPU_CORES":      {Expr: "h.cpu_cores", Type: "integer"},
	"MEMORY_BYTES":   {Expr: "h.memory_bytes", Type: "bigint"},
	"LAST_HEARTBEAT": {Expr: "coalesce(h.last_heartbeat, '-infinity')", Type: "timestamptz"},
}

// hostKeyset returns the keyset of a host ordering (HOSTNAME ascending by default).
func hostKeyset(o Order) (page.Keyset, error) {
	field := cmp.Or(o.Field, "HOSTNAME")
	col, ok := hostKeys[field]
	if !ok {
		return page.Keyset{}, fault.Field("orderBy.field", "cannot order by %q", o.Field)
	}
	dir := "ASC"
	if o.Desc {
		dir = "DESC"
	}
	return page.Keyset{Tag: "hosts/" + field + "/" + dir, Desc: o.Desc,
		Cols: []page.Col{col, {Expr: "h.id", Type: "bigint"}}}, nil
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
		sub, err := auth.BUSubtree(ctx, s.dbtx, *f.BUID)
		if err != nil {
			return nil, err
		}
		// = ANY of an array, not IN (subquery): the array is an index condition on
		// the host_cluster_* indexes, where a semi-join let the planner hash-join
		// a sequential scan of host against the BU's clusters.
		c.add(`h.cluster_id = ANY(ARRAY(SELECT id FROM cluster WHERE owner_bu_id = ANY(@bus)))`, "bus", sub)
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

// hostPages reads one keyset page of hosts: of the whole platform (clusters nil,
// page under key 0), or of each cluster in clusters with one LATERAL subquery per
// cluster, so the statement count stays constant and each cluster's page reads
// about Size rows from an index. Totals are exact, except that an unfiltered
// platform-wide listing of a large fleet reports the table's estimate (see
// page.CountTotal); a page that holds the whole listing, or a request that does
// not select totalCount, needs no count at all.
func (s *Service) hostPages(ctx context.Context, f HostFilter, o Order, args page.Args, clusters []int64) (map[int64]*page.Page[*Host], error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	ks, err := hostKeyset(o)
	if err != nil {
		return nil, err
	}
	seek, err := args.Seek(ks)
	if err != nil {
		return nil, err
	}
	c, err := s.hostConds(ctx, f)
	if err != nil {
		return nil, err
	}
	filtered := len(c.parts) > 0
	where := c.where()
	rowsWhere := &conds{parts: slices.Clone(c.parts), args: maps.Clone(c.args)}
	sk := seek.Where("_k")
	rowsWhere.addCond(sk.SQL, sk.Args)

	var sql string
	if clusters == nil {
		sql = `SELECT ` + hostColumns + `, ` + seek.Select() + ` FROM host h WHERE ` + rowsWhere.where() + ` ` + seek.OrderLimit()
	} else {
		rowsWhere.addCond(`h.cluster_id = p.parent`, nil)
		rowsWhere.args["parents"] = clusters
		// A LATERAL subquery returns its rows in its own ORDER BY, and the nested
		// loop that runs it keeps them in that order.
		sql = `SELECT p.parent, r.* FROM unnest(@parents::bigint[]) AS p(parent)
			CROSS JOIN LATERAL (SELECT ` + hostColumns + `, ` + seek.Select() + ` FROM host h
				WHERE ` + rowsWhere.where() + ` ` + seek.OrderLimit() + `) r`
	}
	items, keys, err := querySeek[Host](ctx, s.dbtx, sql, rowsWhere.args, len(ks.Cols), clusters != nil)
	if err != nil {
		return nil, fmt.Errorf("error listing hosts: %w", err)
	}

	out := map[int64]*page.Page[*Host]{}
	if clusters == nil {
		var total page.Total
		if seek.Complete(len(items[0])) {
			total.N = len(items[0])
		} else if seek.NeedsCount(len(items[0])) {
			total, err = page.CountTotal(ctx, s.dbtx, "host", filtered, func() (int, error) {
				if statsCountable(f) {
					return s.countHostsFromStats(ctx, f)
				}
				var n int
				err := s.dbtx.QueryRow(ctx, `SELECT count(*) FROM host h WHERE `+where, c.args).Scan(&n)
				return n, err
			})
			if err != nil {
				return nil, fmt.Errorf("error counting hosts: %w", err)
			}
		}
		pg := page.KeysetPage(seek, items[0], keys[0], total)
		out[0] = &pg
		return out, nil
	}

	totals := map[int64]int{}
	var uncounted []int64
	for _, id := range clusters {
		switch n := len(items[id]); {
		case seek.Complete(n):
			totals[id] = n
		case seek.NeedsCount(n):
			uncounted = append(uncounted, id)
		}
	}
	if len(uncounted) > 0 && statsCountable(f) {
		rows, err := queries.HostCountsByCluster(ctx, s.dbtx, &dbsqlc.HostCountsByClusterParams{Clusters: uncounted, States: statsStates(f)})
		if err != nil {
			return nil, fmt.Errorf("error counting hosts: %w", err)
		}
		for _, r := range rows {
			if f.ClusterID == nil || *f.ClusterID == r.ClusterID {
				totals[r.ClusterID] = int(r.Hosts)
			}
		}
	} else if len(uncounted) > 0 {
		if err := s.countHostsByCluster(ctx, where, c.args, uncounted, totals); err != nil {
			return nil, err
		}
	}
	for _, id := range clusters {
		pg := page.KeysetPage(seek, items[id], keys[id], page.Total{N: totals[id]})
		out[id] = &pg
	}
	return out, nil
}

// statsCountable says whether the hosts matching f can be counted from
// cluster_host_stats, which knows each host's cluster and state only.
func statsCountable(f HostFilter) bool {
	return f.ClusterName == "" && f.Rack == "" && f.BUID == nil && f.Search == ""
}

// statsStates is the states argument of the cluster_host_stats counts: NULL, not an
// empty array, when the filter does not narrow the states.
func statsStates(f HostFilter) []string {
	if len(f.States) == 0 {
		return nil
	}
	return f.States
}

// countHostsFromStats counts the hosts matching a statsCountable filter from
// cluster_host_stats: a few rows per cluster instead of an index scan over every
// matching host.
func (s *Service) countHostsFromStats(ctx context.Context, f HostFilter) (int, error) {
	if f.ClusterID != nil {
		rows, err := queries.HostCountsByCluster(ctx, s.dbtx, &dbsqlc.HostCountsByClusterParams{Clusters: []int64{*f.ClusterID}, States: statsStates(f)})
		if err != nil || len(rows) == 0 {
			return 0, err
		}
		return int(rows[0].Hosts), nil
	}
	n, err := queries.HostCount(ctx, s.dbtx, statsStates(f))
	return int(n), err
}

// countHostsByCluster counts, exactly, the hosts matching where (with args) in each
// of clusters into totals, in one statement; a cluster's hosts are found through
// one of the host_cluster_* indexes.
func (s *Service) countHostsByCluster(ctx context.Context, where string, args pgx.NamedArgs, clusters []int64, totals map[int64]int) error {
	cargs := maps.Clone(args)
	cargs["clusters"] = clusters
	rows, err := s.dbtx.Query(ctx, `SELECT h.cluster_id, count(*) FROM host h
		WHERE h.cluster_id = ANY(@clusters) AND `+where+` GROUP BY 1`, cargs)
	if err != nil {
		return fmt.Errorf("error counting hosts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return fmt.Errorf("error counting hosts: %w", err)
		}
		totals[id] = n
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("error counting hosts: %w", err)
	}
	return nil
}

func hostFromRow(r *dbsqlc.Host) *Host {
	return &Host{
		ID: r.ID, ClusterID: r.ClusterID, Hostname: r.Hostname, Rack: r.Rack, IP: r.Ip, CPUCores: int(r.CpuCores),
		MemoryBytes: r.MemoryBytes, DiskBytes: r.DiskBytes, NICBps: r.NicBps, OS: r.Os, Kernel: r.Kernel, Model: r.Model,
		State: r.State, StateReason: r.StateReason, StateChangedAt: r.StateChangedAt, LastHeartbeat: r.LastHeartbeat,
		ScrapeURL: r.ScrapeUrl, CreatedAt: r.CreatedAt,
		Serial: r.Serial, Vendor: r.Vendor, AgentVersion: r.AgentVersion, AgentRegisteredAt: r.AgentRegisteredAt,
		AgentHeartbeatAt: r.AgentHeartbeatAt,
	}
}

// HostsByIDs loads hosts by id.
func (s *Service) HostsByIDs(ctx context.Context, ids []int64) (map[int64]*Host, error) {
	return byIDs(ctx, "hosts", func() ([]*dbsqlc.Host, error) { return queries.HostsByIDs(ctx, s.dbtx, ids) },
		hostFromRow, func(h *Host) int64 { return h.ID })
}

// HostByName loads one host by hostname.
func (s *Service) HostByName(ctx context.Context, hostname string) (*Host, error) {
	return lookupOne(ctx, fmt.Sprintf("host %q", hostname), func() (*dbsqlc.Host, error) { return queries.HostByName(ctx, s.dbtx, hostname) },
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
	return groupedBy(ctx, "host components", func() ([]*dbsqlc.HostComponent, error) { return queries.ComponentsByHost(ctx, s.dbtx, hosts) },
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
	return telemetry.LatestByHost(ctx, s.dbtx, hosts, time.Now().Add(-latestWindow))
}

// settableStates are the states an operator may put a host in by hand; the others
// (OFFLINE, DEGRADED, REPAIRING) are set by heartbeats and the self-healing loop.
var settableStates = map[string]bool{"ONLINE": true, "MAINTENANCE": true, "DECOMMISSIONED": true}

// Decommissioner takes a host out of service through the DECOMMISSION
// operation (internal/aquila, which imports this package: hence the
// interface). It returns nil for a host already DECOMMISSIONED.
type Decommissioner interface {
	DecommissionHost(ctx context.Context, hostID int64, reason string) error
}

// SetDecommissioner routes SetHostState(DECOMMISSIONED) through d.
func (s *Service) SetDecommissioner(d Decommissioner) { s.decommissioner = d }

// SetHostStateInput asks to move a host to a state.
type SetHostStateInput struct {
	HostID int64  `json:"hostId"`
	State  string `json:"state"`
	Reason string `json:"reason"`
}

// SetHostState moves a host to MAINTENANCE, back ONLINE, or DECOMMISSIONED. It needs
// OPERATOR, is audited, and announces the change on HostStateChannel.
//
// With a Decommissioner set (the server sets the operation service),
// DECOMMISSIONED goes through the DECOMMISSION operation instead: the host is
// drained, stopped and retired under its cluster's minimum capacity, quorums
// and out-of-service share, and the host returned is as it stands when the
// operation was submitted (its state follows as the operation runs).
func (s *Service) SetHostState(ctx context.Context, in SetHostStateInput) (*Host, error) {
	if in.State == "DECOMMISSIONED" && s.decommissioner != nil {
		if _, err := auth.RequireRole(ctx, auth.Operator, "changing a host's state"); err != nil {
			return nil, err
		}
		if len(in.Reason) > 500 {
			return nil, fault.Field("input.reason", "reason is limited to 500 characters")
		}
		if err := s.decommissioner.DecommissionHost(ctx, in.HostID, in.Reason); err != nil {
			return nil, err
		}
		hosts, err := s.HostsByIDs(ctx, []int64{in.HostID})
		if err != nil {
			return nil, err
		}
		if h, ok := hosts[in.HostID]; ok {
			return h, nil
		}
		return nil, fault.NotFoundf("host not found")
	}
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
		// An operator's state wins over an operation's hold: the operation's
		// remaining tasks on the host are skipped like any MAINTENANCE host's.
		if _, err := tx.Exec(ctx, `UPDATE host SET held_by_operation = NULL WHERE id = $1 AND held_by_operation IS NOT NULL`, in.HostID); err != nil {
			return fmt.Errorf("error releasing the operation's hold on host %d: %w", in.HostID, err)
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
		return queries.HostsRecentlyInStates(ctx, s.dbtx, &dbsqlc.HostsRecentlyInStatesParams{States: sickStates, Max: int32(n)})
	}, hostFromRow)
}
