package inventory

import (
	"cmp"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/fault"
)

// The spare pool (migration 0031, docs/aquila.md "Spare pool"): machines
// registered but serving no cluster live in spare_host under the id they keep
// for life; scale-out moves them into host (same id) and decommission back.
// Every function here works on a batch of hosts in a constant number of
// statements, and those that change host states announce them on
// HostStateChannel in the same transaction.

var (
	//go:embed sql/spare_pick.sql
	sqlSparePick string
	//go:embed sql/spare_admit.sql
	sqlSpareAdmit string
	//go:embed sql/spare_return.sql
	sqlSpareReturn string
	//go:embed sql/spare_install.sql
	sqlSpareInstall string
	//go:embed sql/spare_profile.sql
	sqlSpareProfile string
	//go:embed sql/removal_check.sql
	sqlRemovalCheck string
)

// SpareHost is a machine in the spare pool.
type SpareHost struct {
	ID          int64     `json:"id"`
	Hostname    string    `json:"hostname"`
	Pool        string    `json:"pool"`
	Region      string    `json:"region"`
	Rack        string    `json:"rack"`
	CPUCores    int32     `json:"cpuCores"`
	MemoryBytes int64     `json:"memoryBytes"`
	DiskBytes   int64     `json:"diskBytes"`
	NICBps      int64     `json:"nicBps"`
	Model       string    `json:"model"`
	State       string    `json:"state"`
	StateReason string    `json:"stateReason"`
	LastCluster *int64    `json:"lastClusterId,omitempty"`
	Since       time.Time `json:"since"`
}

const spareColumns = `id, hostname, pool, region, rack, cpu_cores, memory_bytes, disk_bytes, nic_bps, model, state, state_reason, last_cluster_id, since`

func scanSpare(r pgx.CollectableRow) (*SpareHost, error) {
	s := &SpareHost{}
	err := r.Scan(&s.ID, &s.Hostname, &s.Pool, &s.Region, &s.Rack, &s.CPUCores, &s.MemoryBytes, &s.DiskBytes, &s.NICBps,
		&s.Model, &s.State, &s.StateReason, &s.LastCluster, &s.Since)
	return s, err
}

// SpareHostSpec describes a machine registered into the pool.
type SpareHostSpec struct {
	Hostname    string `json:"hostname"`
	Region      string `json:"region"`
	Rack        string `json:"rack"`
	CPUCores    int32  `json:"cpuCores"`
	MemoryBytes int64  `json:"memoryBytes"`
	DiskBytes   int64  `json:"diskBytes"`
	NICBps      int64  `json:"nicBps"`
	Model       string `json:"model"`
}

// RegisterSpareHostsInput registers machines into a pool.
type RegisterSpareHostsInput struct {
	Pool  string          `json:"pool"`
	Hosts []SpareHostSpec `json:"hosts"`
}

// MaxSpareBatch bounds one registration, as host registration is bounded.
const MaxSpareBatch = 1000

// RegisterSpareHosts adds machines to the spare pool (READY). A hostname
// already known — in the pool or serving a cluster — is a CONFLICT naming it.
// OPERATOR or higher; audited as registerSpareHosts.
func (s *Service) RegisterSpareHosts(ctx context.Context, in RegisterSpareHostsInput) ([]*SpareHost, error) {
	var out []*SpareHost
	err := s.audit.Do(ctx, "registerSpareHosts", "pool:"+in.Pool, in, func(tx pgx.Tx) error {
		if _, err := auth.RequireRole(ctx, auth.Operator, "registering spare hosts"); err != nil {
			return err
		}
		in.Pool = strings.TrimSpace(in.Pool)
		if in.Pool == "" {
			in.Pool = "default"
		}
		if len(in.Hosts) == 0 || len(in.Hosts) > MaxSpareBatch {
			return fault.Field("input.hosts", "between 1 and %d hosts may be registered at once", MaxSpareBatch)
		}
		var err error
		out, err = InsertSpareHosts(ctx, tx, in.Pool, in.Hosts)
		return err
	})
	return out, err
}

// InsertSpareHosts writes machines into pool in one statement, with no access
// check (callers: RegisterSpareHosts, the demo seed).
func InsertSpareHosts(ctx context.Context, q db.DBTX, pool string, hosts []SpareHostSpec) ([]*SpareHost, error) {
	n := len(hosts)
	names, regions, racks, models := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	cores, mem, disk, nic := make([]int32, n), make([]int64, n), make([]int64, n), make([]int64, n)
	for i, h := range hosts {
		if strings.TrimSpace(h.Hostname) == "" || strings.TrimSpace(h.Region) == "" {
			return nil, fault.Field(fmt.Sprintf("input.hosts.%d", i), "a hostname and a region are required")
		}
		if h.CPUCores <= 0 || h.MemoryBytes <= 0 {
			return nil, fault.Field(fmt.Sprintf("input.hosts.%d", i), "cores and memory must be positive")
		}
		names[i], regions[i], racks[i], models[i] = h.Hostname, h.Region, h.Rack, h.Model
		cores[i], mem[i], disk[i], nic[i] = h.CPUCores, h.MemoryBytes, h.DiskBytes, h.NICBps
	}
	rows, err := q.Query(ctx, `INSERT INTO spare_host (hostname, pool, region, rack, cpu_cores, memory_bytes, disk_bytes, nic_bps, model)
		SELECT u.h, $1, u.r, u.k, u.c, u.m, u.d, u.n, u.o
		FROM unnest($2::text[], $3::text[], $4::text[], $5::int[], $6::bigint[], $7::bigint[], $8::bigint[], $9::text[])
		  AS u(h, r, k, c, m, d, n, o)
		RETURNING `+spareColumns, pool, names, regions, racks, cores, mem, disk, nic, models)
	if err != nil {
		return nil, fmt.Errorf("error registering spare hosts: %w", err)
	}
	out, err := pgx.CollectRows(rows, scanSpare)
	if err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "23505" {
			return nil, fault.New(fault.Conflict, "a hostname is already registered, in the pool or serving a cluster: %s", cmp.Or(pgErr.Detail, pgErr.Message))
		}
		return nil, fmt.Errorf("error registering spare hosts: %w", err)
	}
	return out, nil
}

// SpareFilter selects pool machines.
type SpareFilter struct {
	Region string
	Pool   string
	// State is READY, MAINTENANCE or REPAIRING; empty: all.
	State string
	// After is the hostname to page after (keyset on hostname).
	After string
	Limit int
}

// SpareHosts lists pool machines in hostname order, a page at a time (1..100).
// Any signed-in caller.
func (s *Service) SpareHosts(ctx context.Context, f SpareFilter) ([]*SpareHost, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	if f.Limit < 1 || f.Limit > 100 {
		return nil, fault.Field("first", "page size must be between 1 and 100")
	}
	rows, err := s.dbtx.Query(ctx, `SELECT `+spareColumns+` FROM spare_host
		WHERE ($1 = '' OR region = $1) AND ($2 = '' OR pool = $2) AND ($3 = '' OR state = $3) AND hostname > $4
		ORDER BY hostname LIMIT $5`, f.Region, f.Pool, f.State, f.After, f.Limit)
	if err != nil {
		return nil, fmt.Errorf("error loading spare hosts: %w", err)
	}
	out, err := pgx.CollectRows(rows, scanSpare)
	if err != nil {
		return nil, fmt.Errorf("error loading spare hosts: %w", err)
	}
	return out, nil
}

// PickSpareHosts locks the pool machines a scale-out of cluster takes: the
// named ones (each must be READY, in the cluster's region), or else count
// READY machines of the cluster's region, those with the cluster's most
// common hardware first, then those with at least its cores, then by
// hostname. Machines in MAINTENANCE or REPAIRING are never picked by count.
// Rows are locked SKIP LOCKED, so two scale-outs never take the same machine.
func PickSpareHosts(ctx context.Context, q db.DBTX, cluster int64, count int, names []string) ([]*SpareHost, error) {
	var region string
	if err := q.QueryRow(ctx, `SELECT region FROM cluster WHERE id = $1`, cluster).Scan(&region); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, fault.NotFoundf("cluster %d not found", cluster)
		}
		return nil, fmt.Errorf("error loading cluster %d: %w", cluster, err)
	}
	if len(names) > 0 {
		rows, err := q.Query(ctx, `SELECT `+spareColumns+` FROM spare_host WHERE hostname = ANY($1) ORDER BY hostname FOR UPDATE`, names)
		if err != nil {
			return nil, fmt.Errorf("error loading spare hosts: %w", err)
		}
		got, err := pgx.CollectRows(rows, scanSpare)
		if err != nil {
			return nil, fmt.Errorf("error loading spare hosts: %w", err)
		}
		byName := map[string]*SpareHost{}
		for _, h := range got {
			byName[h.Hostname] = h
		}
		for i, n := range names {
			h, ok := byName[n]
			switch {
			case !ok:
				return nil, fault.Field(fmt.Sprintf("input.hosts.%d", i), "host %s is not in the spare pool", n)
			case h.Region != region:
				return nil, fault.Field(fmt.Sprintf("input.hosts.%d", i), "host %s is in region %s, the cluster in %s", n, h.Region, region)
			case h.State != "READY":
				return nil, fault.Field(fmt.Sprintf("input.hosts.%d", i), "host %s is in %s in the spare pool: skipped by scale-outs", n, h.State)
			}
		}
		return got, nil
	}
	rows, err := q.Query(ctx, sqlSparePick, cluster, region, count)
	if err != nil {
		return nil, fmt.Errorf("error picking spare hosts: %w", err)
	}
	got, err := pgx.CollectRows(rows, scanSpare)
	if err != nil {
		return nil, fmt.Errorf("error picking spare hosts: %w", err)
	}
	if len(got) < count {
		return nil, fault.Field("input.count", "the spare pool of region %s has %d ready hosts; %d asked", region, len(got), count)
	}
	return got, nil
}

// AdmitSpareHosts moves pool machines into cluster under their own ids, in
// MAINTENANCE (not serving until their scale-out brings them ONLINE): a
// machine that served before gets its DECOMMISSIONED host row back, a new one
// a host row with its pool id. Their spare_host rows go. It returns the ids
// admitted.
func AdmitSpareHosts(ctx context.Context, q db.DBTX, cluster int64, ids []int64, reason string) ([]int64, error) {
	rows, err := q.Query(ctx, sqlSpareAdmit, cluster, ids, reason)
	if err != nil {
		return nil, fmt.Errorf("error admitting spare hosts: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		if ierr := db.Interpret(err, "host"); ierr != err {
			return nil, ierr
		}
		return nil, fmt.Errorf("error admitting spare hosts: %w", err)
	}
	return out, announceHostStates(ctx, q, out)
}

// HoldHosts marks hosts as held by operation op: MAINTENANCE with reason, so
// they take no new work and only op's tasks run on them. Hosts an operator put
// in MAINTENANCE (held by nothing or another operation) and DECOMMISSIONED
// hosts are left alone. It returns how many hosts it holds now.
func HoldHosts(ctx context.Context, q db.DBTX, op int64, ids []int64, reason string) (int64, error) {
	tag, err := q.Exec(ctx, `UPDATE host SET state = 'MAINTENANCE', state_reason = $3, held_by_operation = $1
		WHERE id = ANY($2) AND state <> 'DECOMMISSIONED' AND (state <> 'MAINTENANCE' OR held_by_operation = $1)`, op, ids, reason)
	if err != nil {
		return 0, fmt.Errorf("error holding hosts for operation %d: %w", op, err)
	}
	return tag.RowsAffected(), announceHostStates(ctx, q, ids)
}

// SetHostsHeldBy records op as the holder of hosts admitted in MAINTENANCE
// before op had an id (a scale-out's planning).
func SetHostsHeldBy(ctx context.Context, q db.DBTX, op int64, ids []int64) error {
	if _, err := q.Exec(ctx, `UPDATE host SET held_by_operation = $1
		WHERE id = ANY($2) AND state = 'MAINTENANCE' AND held_by_operation IS NULL`, op, ids); err != nil {
		return fmt.Errorf("error holding hosts for operation %d: %w", op, err)
	}
	return nil
}

// ReleaseHosts brings hosts held by op ONLINE: they serve their cluster.
func ReleaseHosts(ctx context.Context, q db.DBTX, op int64, ids []int64) (int64, error) {
	tag, err := q.Exec(ctx, `UPDATE host SET state = 'ONLINE', state_reason = '', held_by_operation = NULL
		WHERE id = ANY($2) AND held_by_operation = $1`, op, ids)
	if err != nil {
		return 0, fmt.Errorf("error releasing hosts of operation %d: %w", op, err)
	}
	return tag.RowsAffected(), announceHostStates(ctx, q, ids)
}

// InstallClusterProfile gives hosts the components a worker of cluster runs:
// every (service, component) found on at least half of the cluster's other
// live hosts, at the version most of them run, desired STARTED and actual
// INSTALLED (started by the START step). Components of a previous cluster
// were removed when the machine left it.
func InstallClusterProfile(ctx context.Context, q db.DBTX, cluster int64, ids []int64, at time.Time) (int64, error) {
	tag, err := q.Exec(ctx, sqlSpareInstall, cluster, ids, at)
	if err != nil {
		return 0, fmt.Errorf("error installing components on hosts of cluster %d: %w", cluster, err)
	}
	return tag.RowsAffected(), nil
}

// ProfileComponent is one component of a cluster's worker profile.
type ProfileComponent struct {
	Service   string
	Component string
	Version   string
}

// ClusterProfile returns the worker profile InstallClusterProfile installs:
// every (service, component) on at least half of the cluster's live hosts, at
// the version most of them run, leaving out the hosts operation heldBy holds
// (those it is adding; 0: none). An executor reads it to put the same
// services on a machine as the bookkeeping records. One statement, ordered by
// service and component.
func ClusterProfile(ctx context.Context, q db.DBTX, cluster, heldBy int64) ([]ProfileComponent, error) {
	rows, err := q.Query(ctx, sqlSpareProfile, cluster, heldBy)
	if err != nil {
		return nil, fmt.Errorf("error loading the profile of cluster %d: %w", cluster, err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowToStructByPos[ProfileComponent])
	if err != nil {
		return nil, fmt.Errorf("error loading the profile of cluster %d: %w", cluster, err)
	}
	return out, nil
}

// SetHostComponentsState sets every component of hosts to state (STARTED,
// STOPPED), desired and actual: a host-level start or stop.
func SetHostComponentsState(ctx context.Context, q db.DBTX, ids []int64, state string, at time.Time) (int64, error) {
	tag, err := q.Exec(ctx, `UPDATE host_component SET actual_state = $2, desired_state = $2, updated_at = $3
		WHERE host_id = ANY($1)`, ids, state, at)
	if err != nil {
		return 0, fmt.Errorf("error setting components %s: %w", state, err)
	}
	return tag.RowsAffected(), nil
}

// ReturnHostsToPool takes hosts out of their cluster into pool: each keeps
// its host row, DECOMMISSIONED with reason (the anchor of its history), gains
// a READY spare_host row under the same id, and loses its components (the
// next cluster installs its own). Hosts already DECOMMISSIONED are left.
func ReturnHostsToPool(ctx context.Context, q db.DBTX, ids []int64, pool, reason string) (int64, error) {
	tag, err := q.Exec(ctx, sqlSpareReturn, ids, pool, reason)
	if err != nil {
		if ierr := db.Interpret(err, "spare host"); ierr != err {
			return 0, ierr
		}
		return 0, fmt.Errorf("error returning hosts to the pool: %w", err)
	}
	if _, err := q.Exec(ctx, `DELETE FROM host_component c USING host h
		WHERE c.host_id = h.id AND h.id = ANY($1) AND h.state = 'DECOMMISSIONED'`, ids); err != nil {
		return 0, fmt.Errorf("error removing components of hosts returned to the pool: %w", err)
	}
	return tag.RowsAffected(), announceHostStates(ctx, q, ids)
}

// RetireHeldHosts retires hosts for good: DECOMMISSIONED with reason, no
// longer held, components kept (STOPPED) as history.
func RetireHeldHosts(ctx context.Context, q db.DBTX, ids []int64, reason string) (int64, error) {
	tag, err := q.Exec(ctx, `UPDATE host SET state = 'DECOMMISSIONED', state_reason = $2, held_by_operation = NULL
		WHERE id = ANY($1) AND state <> 'DECOMMISSIONED'`, ids, reason)
	if err != nil {
		return 0, fmt.Errorf("error retiring hosts: %w", err)
	}
	return tag.RowsAffected(), announceHostStates(ctx, q, ids)
}

// CheckRemoval refuses (BAD_USER_INPUT) taking hosts out of cluster when the
// hosts left in service (ONLINE or DEGRADED, not among ids) would fall under
// the cluster's minimum hosts or cores, or the hosts left running a service
// (a component STARTED) under its quorum. One statement whatever the count.
func CheckRemoval(ctx context.Context, q db.DBTX, cluster int64, ids []int64) error {
	rows, err := q.Query(ctx, sqlRemovalCheck, cluster, ids)
	if err != nil {
		return fmt.Errorf("error checking the capacity of cluster %d: %w", cluster, err)
	}
	defer rows.Close()
	for rows.Next() {
		var kind, name, what string
		var left, limit int64
		if err := rows.Scan(&kind, &name, &what, &left, &limit); err != nil {
			return fmt.Errorf("error checking the capacity of cluster %d: %w", cluster, err)
		}
		switch kind {
		case "quorum":
			return fault.Field("input.hostIds", "removing %d hosts would leave service %s on cluster %s with %d started hosts, under its quorum of %d",
				len(ids), what, name, left, limit)
		default:
			return fault.Field("input.hostIds", "removing %d hosts would leave cluster %s with %d %s in service, under its minimum of %d",
				len(ids), name, left, what, limit)
		}
	}
	return rows.Err()
}

// ClusterPolicy is what a cluster's decommissions must leave and how it
// scales out on its own.
type ClusterPolicy struct {
	ClusterID int64 `json:"clusterId"`
	MinHosts  int32 `json:"minHosts"`
	MinCores  int32 `json:"minCores"`
	// AutoscaleMode is OFF, PROPOSE or AUTO.
	AutoscaleMode     string `json:"autoscaleMode"`
	AutoscaleMaxHosts int32  `json:"autoscaleMaxHosts"`
	// Quorums are the minimum hosts running each service (STARTED).
	Quorums map[string]int32 `json:"quorums"`
}

// LoadClusterPolicy reads cluster's policy with no access check.
func LoadClusterPolicy(ctx context.Context, q db.DBTX, cluster int64) (*ClusterPolicy, error) {
	p := &ClusterPolicy{ClusterID: cluster, Quorums: map[string]int32{}}
	var svcs []string
	var mins []int32
	err := q.QueryRow(ctx, `SELECT c.min_hosts, c.min_cores, c.autoscale_mode, c.autoscale_max_hosts,
			coalesce(array_agg(s.service ORDER BY s.service) FILTER (WHERE s.service IS NOT NULL), '{}'),
			coalesce(array_agg(s.min_started ORDER BY s.service) FILTER (WHERE s.service IS NOT NULL), '{}')
		FROM cluster c LEFT JOIN cluster_service_quorum s ON s.cluster_id = c.id
		WHERE c.id = $1 GROUP BY c.id`, cluster).Scan(&p.MinHosts, &p.MinCores, &p.AutoscaleMode, &p.AutoscaleMaxHosts, &svcs, &mins)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fault.NotFoundf("cluster %d not found", cluster)
	}
	if err != nil {
		return nil, fmt.Errorf("error loading policy of cluster %d: %w", cluster, err)
	}
	for i, s := range svcs {
		p.Quorums[s] = mins[i]
	}
	return p, nil
}

// ClusterPolicy returns cluster's policy. Any signed-in caller.
func (s *Service) ClusterPolicy(ctx context.Context, cluster int64) (*ClusterPolicy, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	return LoadClusterPolicy(ctx, s.dbtx, cluster)
}

// SetClusterPolicy replaces a cluster's policy (quorums included). ADMIN;
// audited as setClusterPolicy.
func (s *Service) SetClusterPolicy(ctx context.Context, in ClusterPolicy) (*ClusterPolicy, error) {
	var out *ClusterPolicy
	err := s.audit.Do(ctx, "setClusterPolicy", fmt.Sprintf("cluster:%d", in.ClusterID), in, func(tx pgx.Tx) error {
		if _, err := auth.RequireRole(ctx, auth.Admin, "changing a cluster's policy"); err != nil {
			return err
		}
		switch in.AutoscaleMode {
		case "OFF", "PROPOSE", "AUTO":
		default:
			return fault.Field("input.autoscaleMode", "the auto scale-out mode is OFF, PROPOSE or AUTO, not %q", in.AutoscaleMode)
		}
		if in.MinHosts < 0 || in.MinCores < 0 {
			return fault.Field("input.minHosts", "minimums cannot be negative")
		}
		if in.AutoscaleMaxHosts < 1 || in.AutoscaleMaxHosts > 5000 {
			return fault.Field("input.autoscaleMaxHosts", "the largest scale-out is between 1 and 5000 hosts")
		}
		svcs, mins := make([]string, 0, len(in.Quorums)), make([]int32, 0, len(in.Quorums))
		for svc, n := range in.Quorums {
			if n < 1 {
				return fault.Field("input.quorums", "the quorum of %s must be at least 1", svc)
			}
			svcs, mins = append(svcs, svc), append(mins, n)
		}
		tag, err := tx.Exec(ctx, `UPDATE cluster SET min_hosts = $2, min_cores = $3, autoscale_mode = $4, autoscale_max_hosts = $5
			WHERE id = $1`, in.ClusterID, in.MinHosts, in.MinCores, in.AutoscaleMode, in.AutoscaleMaxHosts)
		if err != nil {
			return fmt.Errorf("error updating policy of cluster %d: %w", in.ClusterID, err)
		}
		if tag.RowsAffected() == 0 {
			return fault.NotFoundf("cluster %d not found", in.ClusterID)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM cluster_service_quorum WHERE cluster_id = $1`, in.ClusterID); err != nil {
			return fmt.Errorf("error updating quorums of cluster %d: %w", in.ClusterID, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO cluster_service_quorum (cluster_id, service, min_started)
			SELECT $1, u.s, u.n FROM unnest($2::text[], $3::int[]) AS u(s, n)`, in.ClusterID, svcs, mins); err != nil {
			return fmt.Errorf("error updating quorums of cluster %d: %w", in.ClusterID, err)
		}
		out, err = LoadClusterPolicy(ctx, tx, in.ClusterID)
		return err
	})
	return out, err
}

// announceHostStates sends each host's id on HostStateChannel
// (hostStateChanged), in q's transaction, as SetHostState does: subscribers
// reload the hosts. One statement for the batch.
func announceHostStates(ctx context.Context, q db.DBTX, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	if _, err := q.Exec(ctx, `SELECT count(pg_notify($1, id::text)) FROM unnest($2::bigint[]) AS id`, HostStateChannel, ids); err != nil {
		return fmt.Errorf("error announcing host states: %w", err)
	}
	return nil
}
