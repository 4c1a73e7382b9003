package inventory

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/teslaops/tesla/internal/audit"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/fault"
)

// The host agent's writes: a machine registering itself into a cluster, its
// heartbeats (with the state of its components), and the platform's own
// judgement that a silent host is OFFLINE. They take no principal (the agent
// endpoints check their credentials before calling), but every change of a
// host's state is announced on HostStateChannel and written to the audit log,
// with actor ActorHeartbeat when the platform decided it.

// ActorHeartbeat is the audit actor of host state changes the heartbeats
// decide: OFFLINE after silence, ONLINE again on a sign of life.
const ActorHeartbeat = "system:heartbeat"

// AgentDisk is one disk an agent reports.
type AgentDisk struct {
	Name       string `json:"name"`
	Bytes      int64  `json:"bytes"`
	Rotational bool   `json:"rotational"`
}

// AgentFacts are what an agent reads about its machine when it registers; the
// JSON names are the protocol's (docs/telemetry.md).
type AgentFacts struct {
	Hostname     string      `json:"hostname"`
	Serial       string      `json:"serial"`
	Vendor       string      `json:"vendor"`
	Model        string      `json:"model"`
	CPUCores     int         `json:"cpu_cores"`
	MemoryBytes  int64       `json:"memory_bytes"`
	DiskBytes    int64       `json:"disk_bytes"`
	Disks        []AgentDisk `json:"disks"`
	NICBps       int64       `json:"nic_bps"`
	IP           string      `json:"ip"`
	OS           string      `json:"os"`
	Kernel       string      `json:"kernel"`
	AgentVersion string      `json:"agent_version"`
}

// Validate checks the facts, naming the first field at fault as the protocol
// spells it, and trims the text fields.
func (f *AgentFacts) Validate() error {
	for _, s := range []*string{&f.Hostname, &f.Serial, &f.Vendor, &f.Model, &f.IP, &f.OS, &f.Kernel, &f.AgentVersion} {
		*s = strings.TrimSpace(*s)
	}
	if err := checkHostname("hostname", f.Hostname); err != nil {
		return err
	}
	for _, t := range []struct {
		field, v string
		max      int
	}{{"serial", f.Serial, 128}, {"vendor", f.Vendor, 200}, {"model", f.Model, 200}, {"os", f.OS, 200},
		{"kernel", f.Kernel, 200}, {"agent_version", f.AgentVersion, 64}} {
		if len(t.v) > t.max {
			return fault.Field(t.field, "%s is limited to %d characters", t.field, t.max)
		}
		if strings.ContainsFunc(t.v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return fault.Field(t.field, "%s must not contain control characters", t.field)
		}
	}
	switch {
	case f.CPUCores <= 0 || f.CPUCores > 1<<16:
		return fault.Field("cpu_cores", "cpu_cores must be between 1 and 65536, got %d", f.CPUCores)
	case f.MemoryBytes <= 0:
		return fault.Field("memory_bytes", "memory_bytes must be positive, got %d", f.MemoryBytes)
	case f.DiskBytes < 0:
		return fault.Field("disk_bytes", "disk_bytes must not be negative, got %d", f.DiskBytes)
	case f.NICBps < 0:
		return fault.Field("nic_bps", "nic_bps must not be negative, got %d", f.NICBps)
	case len(f.Disks) > 1024:
		return fault.Field("disks", "at most 1024 disks, got %d", len(f.Disks))
	}
	for i, d := range f.Disks {
		field := fmt.Sprintf("disks[%d]", i)
		if d.Name == "" || len(d.Name) > 200 {
			return fault.Field(field+".name", "a disk needs a name of at most 200 characters")
		}
		if d.Bytes < 0 {
			return fault.Field(field+".bytes", "bytes must not be negative, got %d", d.Bytes)
		}
	}
	if f.IP != "" {
		if _, err := netip.ParseAddr(f.IP); err != nil {
			return fault.Field("ip", "ip %q is not an IPv4 or IPv6 address", f.IP)
		}
	}
	return nil
}

// checkHostname accepts DNS-style host names: letters, digits, '-', '_' and
// '.', starting with a letter or digit, at most 253 characters.
func checkHostname(field, h string) error {
	if h == "" {
		return fault.Field(field, "%s is required", field)
	}
	if len(h) > 253 {
		return fault.Field(field, "%s is limited to 253 characters", field)
	}
	for i, r := range h {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || (i > 0 && (r == '-' || r == '_' || r == '.'))
		if !ok {
			return fault.Field(field, "%s %q may hold only letters, digits, '-', '_' and '.', and must start with a letter or digit", field, h)
		}
	}
	return nil
}

// AgentHost is the host a registration landed on.
type AgentHost struct {
	ID          int64
	Hostname    string
	ClusterID   int64
	ClusterName string
	// Created is true when the registration created the host.
	Created bool
}

// RegisterAgentHost registers the machine f describes into cluster, inside tx:
// the host with the same serial (when f has one), else the one with the same
// hostname, gets f's facts; without either a host is created, ONLINE. It never
// creates a second host for a machine. A host of another cluster is refused
// (Forbidden, naming host and cluster), as is a DECOMMISSIONED one; a serial
// match whose new hostname another host holds is a Conflict. Registration is a
// sign of life: last_heartbeat moves to now and an OFFLINE host comes back
// ONLINE. f must be valid (Validate).
func RegisterAgentHost(ctx context.Context, tx pgx.Tx, cluster int64, f AgentFacts, now time.Time) (AgentHost, error) {
	// Two agents registering the same machine (or name) at once queue here
	// instead of both inserting; keys in a fixed order so they cannot deadlock.
	keys := []string{"agent-host:" + f.Hostname}
	if f.Serial != "" {
		keys = append(keys, "agent-serial:"+f.Serial)
	}
	slices.Sort(keys)
	b := &pgx.Batch{}
	b.Queue(`SELECT pg_advisory_xact_lock(hashtext(k)) FROM unnest($1::text[]) WITH ORDINALITY AS u (k, n) ORDER BY n`, keys)
	// One lookup for both keys: the serial's host when there is one, else the
	// hostname's; and the token's cluster's name beside it.
	var (
		h struct {
			id, cluster               int64
			hostname, state, cluNameH string
		}
		clusterName, clusterStatus string
		found                      bool
	)
	lookup := b.Queue(`SELECT c.name, c.status, h.id, h.cluster_id, h.hostname, h.state, hc.name
		FROM cluster c
		LEFT JOIN LATERAL (
			SELECT * FROM host h WHERE (h.serial = $2 AND $2 <> '') OR h.hostname = $3
			ORDER BY (h.serial = $2 AND $2 <> '') DESC LIMIT 1
			FOR UPDATE
		) h ON true
		LEFT JOIN cluster hc ON hc.id = h.cluster_id
		WHERE c.id = $1`, cluster, f.Serial, f.Hostname)
	var (
		id, hc            *int64
		name, st, cluName *string
	)
	lookup.Query(func(rows pgx.Rows) error {
		_, err := pgx.ForEachRow(rows, []any{&clusterName, &clusterStatus, &id, &hc, &name, &st, &cluName}, func() error {
			if id != nil {
				found = true
				h.id, h.cluster, h.hostname, h.state, h.cluNameH = *id, *hc, *name, *st, *cluName
			}
			return nil
		})
		return err
	})
	// The lock and the lookup in one round trip: they run in order.
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return AgentHost{}, fmt.Errorf("error looking up host %q: %w", f.Hostname, err)
	}
	if clusterName == "" {
		return AgentHost{}, fault.NotFoundf("cluster %d not found", cluster)
	}
	if clusterStatus == "RETIRED" {
		return AgentHost{}, fault.Forbiddenf("cluster %q is retired; hosts cannot register into it", clusterName)
	}
	disks, err := json.Marshal(cmpDisks(f.Disks))
	if err != nil {
		return AgentHost{}, err
	}
	if !found {
		var id int64
		err := tx.QueryRow(ctx, `INSERT INTO host (cluster_id, hostname, ip, cpu_cores, memory_bytes, disk_bytes, nic_bps,
				os, kernel, model, serial, vendor, disks, agent_version, agent_registered_at, agent_heartbeat_at, last_heartbeat)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15, $15)
			RETURNING id`,
			cluster, f.Hostname, f.IP, f.CPUCores, f.MemoryBytes, f.DiskBytes, f.NICBps, f.OS, f.Kernel, f.Model,
			f.Serial, f.Vendor, disks, f.AgentVersion, now).Scan(&id)
		if err != nil {
			return AgentHost{}, fmt.Errorf("error registering host %q: %w", f.Hostname, db.Interpret(err, "host"))
		}
		return AgentHost{ID: id, Hostname: f.Hostname, ClusterID: cluster, ClusterName: clusterName, Created: true}, nil
	}
	if h.cluster != cluster {
		return AgentHost{}, fault.Forbiddenf("host %q belongs to cluster %q; an enrollment token of cluster %q cannot register it (move the host first)",
			h.hostname, h.cluNameH, clusterName)
	}
	if h.state == "DECOMMISSIONED" {
		return AgentHost{}, fault.Forbiddenf("host %q is decommissioned; a retired host cannot register again", h.hostname)
	}
	if h.hostname != f.Hostname {
		var other int64
		err := tx.QueryRow(ctx, `SELECT id FROM host WHERE hostname = $1`, f.Hostname).Scan(&other)
		switch {
		case err == nil:
			return AgentHost{}, fault.Field("hostname", "machine with serial %q is host %q, and hostname %q belongs to another host (id %d): rename one of them first",
				f.Serial, h.hostname, f.Hostname, other)
		case !errors.Is(err, pgx.ErrNoRows):
			return AgentHost{}, fmt.Errorf("error looking up host %q: %w", f.Hostname, err)
		}
	}
	if _, err := tx.Exec(ctx, `UPDATE host SET hostname = $2, ip = $3, cpu_cores = $4, memory_bytes = $5, disk_bytes = $6,
			nic_bps = $7, os = $8, kernel = $9, model = $10, serial = $11, vendor = $12, disks = $13, agent_version = $14,
			agent_registered_at = $15, agent_heartbeat_at = $15,
			last_heartbeat = greatest(last_heartbeat, $15)
		WHERE id = $1`,
		h.id, f.Hostname, f.IP, f.CPUCores, f.MemoryBytes, f.DiskBytes, f.NICBps, f.OS, f.Kernel, f.Model,
		f.Serial, f.Vendor, disks, f.AgentVersion, now); err != nil {
		return AgentHost{}, fmt.Errorf("error updating host %q: %w", f.Hostname, db.Interpret(err, "host"))
	}
	if h.state == "OFFLINE" {
		if err := revive(ctx, tx, []int64{h.id}, []string{f.Hostname}); err != nil {
			return AgentHost{}, err
		}
	}
	return AgentHost{ID: h.id, Hostname: f.Hostname, ClusterID: cluster, ClusterName: clusterName}, nil
}

func cmpDisks(d []AgentDisk) []AgentDisk {
	if d == nil {
		return []AgentDisk{}
	}
	return d
}

// ComponentReport is the state an agent found one component of its host in.
type ComponentReport struct {
	Service   string `json:"service"`
	Component string `json:"component"`
	State     string `json:"state"`
	Detail    string `json:"detail"`
}

// ReportedStates are the component states an agent may report.
var ReportedStates = []string{"STARTED", "STOPPED", "FAILED", "UNKNOWN"}

// AgentBeat records an agent's heartbeat at now inside tx: the host's
// last_heartbeat and agent heartbeat move to now (its agent version too, when
// given), an OFFLINE host comes back ONLINE (announced and audited), and each
// reported component of the host's inventory takes the reported actual state
// (components the inventory does not list for the host are ignored). It returns
// the host's components with their checks (ComponentChecks), read in the same
// round trip: the statements go to the server as one pipelined batch, since a
// heartbeat is the request a fleet sends most. reports must be valid (states
// among ReportedStates).
func AgentBeat(ctx context.Context, tx pgx.Tx, host int64, now time.Time, version string, reports []ComponentReport) ([]ComponentCheck, error) {
	var (
		state, hostname string
		changedAt       time.Time
		checks          []ComponentCheck
	)
	b := &pgx.Batch{}
	b.Queue(`UPDATE host SET last_heartbeat = greatest(last_heartbeat, $2), agent_heartbeat_at = $2,
			agent_version = CASE WHEN $3 = '' THEN agent_version ELSE $3 END
		WHERE id = $1
		RETURNING state, hostname, state_changed_at`, host, now, version).QueryRow(func(row pgx.Row) error {
		if err := row.Scan(&state, &hostname, &changedAt); err != nil {
			return fmt.Errorf("error recording heartbeat of host %d: %w", host, db.Interpret(err, "host"))
		}
		return nil
	})
	if len(reports) > 0 {
		svc, comp, st := make([]string, len(reports)), make([]string, len(reports)), make([]string, len(reports))
		for i, r := range reports {
			svc[i], comp[i], st[i] = r.Service, r.Component, r.State
		}
		b.Queue(`UPDATE host_component c SET actual_state = u.state, updated_at = $5
			FROM unnest($2::text[], $3::text[], $4::text[]) AS u (service, component, state)
			WHERE c.host_id = $1 AND c.service = u.service AND c.component = u.component AND c.actual_state <> u.state`,
			host, svc, comp, st, now).Exec(func(pgconn.CommandTag) error { return nil })
	}
	b.Queue(componentChecksSQL, host).Query(func(rows pgx.Rows) error {
		var err error
		checks, err = scanComponentChecks(rows)
		return err
	})
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return nil, fmt.Errorf("error recording heartbeat of host %d: %w", host, err)
	}
	if state == "OFFLINE" && now.After(changedAt) {
		if err := revive(ctx, tx, []int64{host}, []string{hostname}); err != nil {
			return nil, err
		}
	}
	return checks, nil
}

// ComponentCheck is one component a host runs and how its package says the
// agent checks it (see ComponentChecks).
type ComponentCheck struct {
	Service   string `json:"service"`
	Component string `json:"component"`
	Process   string `json:"process"`
	Unit      string `json:"unit"`
}

// packageChecks is the part of service_package.operations the agent reads:
// "process" (a regular expression matched against /proc/PID/cmdline, the
// arguments joined by spaces) and "unit" (a systemd unit name), each a template
// in which {component} stands for the component's name in lower case and
// {COMPONENT} for it as the inventory spells it; "checks" overrides either per
// component, e.g. {"checks": {"DATANODE": {"process": "proc_datanode"}}}.
type packageChecks struct {
	Process string `json:"process"`
	Unit    string `json:"unit"`
	Checks  map[string]struct {
		Process *string `json:"process"`
		Unit    *string `json:"unit"`
	} `json:"checks"`
}

// ComponentChecks lists the components of host (host_component), each with the
// process and unit its package version's operations name ("" when the package
// says nothing or is unknown), ordered by service and component.
func ComponentChecks(ctx context.Context, q db.DBTX, host int64) ([]ComponentCheck, error) {
	rows, err := q.Query(ctx, componentChecksSQL, host)
	if err != nil {
		return nil, fmt.Errorf("error loading components of host %d: %w", host, err)
	}
	out, err := scanComponentChecks(rows)
	if err != nil {
		return nil, fmt.Errorf("error loading components of host %d: %w", host, err)
	}
	return out, nil
}

const componentChecksSQL = `SELECT c.service, c.component, coalesce(sp.operations, '{}')
	FROM host_component c
	LEFT JOIN service_package sp ON sp.service = c.service AND sp.version = c.version
	WHERE c.host_id = $1
	ORDER BY c.service, c.component`

func scanComponentChecks(rows pgx.Rows) ([]ComponentCheck, error) {
	out := []ComponentCheck{}
	var (
		cc  ComponentCheck
		ops []byte
	)
	_, err := pgx.ForEachRow(rows, []any{&cc.Service, &cc.Component, &ops}, func() error {
		var pc packageChecks
		_ = json.Unmarshal(ops, &pc) // operations of another shape name no checks
		c := ComponentCheck{Service: cc.Service, Component: cc.Component, Process: pc.Process, Unit: pc.Unit}
		if o, ok := pc.Checks[cc.Component]; ok {
			if o.Process != nil {
				c.Process = *o.Process
			}
			if o.Unit != nil {
				c.Unit = *o.Unit
			}
		}
		r := strings.NewReplacer("{component}", strings.ToLower(cc.Component), "{COMPONENT}", cc.Component)
		c.Process, c.Unit = r.Replace(c.Process), r.Replace(c.Unit)
		out = append(out, c)
		return nil
	})
	return out, err
}

// RecordLiveHeartbeats moves each host's last heartbeat (ids[i]) up to at[i],
// in one statement, like RecordHeartbeats, for a live source of samples (HTTP
// ingestion): a host that was OFFLINE and whose heartbeat is newer than the
// moment it went OFFLINE comes back ONLINE, announced and audited. It returns
// how many hosts' heartbeats moved.
func RecordLiveHeartbeats(ctx context.Context, tx pgx.Tx, ids []int64, at []time.Time) (int64, error) {
	if len(ids) != len(at) {
		return 0, fmt.Errorf("error recording heartbeats: %d hosts but %d times", len(ids), len(at))
	}
	if len(ids) == 0 {
		return 0, nil
	}
	rows, err := tx.Query(ctx, `WITH beat AS (
			UPDATE host h SET last_heartbeat = u.at
			FROM unnest($1::bigint[], $2::timestamptz[]) AS u (id, at)
			WHERE h.id = u.id AND (h.last_heartbeat IS NULL OR h.last_heartbeat < u.at)
			RETURNING h.id, h.hostname, h.state, h.state_changed_at, u.at
		)
		SELECT id, hostname, state = 'OFFLINE' AND at > state_changed_at FROM beat`, ids, at)
	if err != nil {
		return 0, fmt.Errorf("error recording heartbeats: %w", err)
	}
	var (
		n         int64
		back      []int64
		backNames []string
		id        int64
		name      string
		revived   bool
	)
	if _, err := pgx.ForEachRow(rows, []any{&id, &name, &revived}, func() error {
		n++
		if revived {
			back, backNames = append(back, id), append(backNames, name)
		}
		return nil
	}); err != nil {
		return 0, fmt.Errorf("error recording heartbeats: %w", err)
	}
	if err := revive(ctx, tx, back, backNames); err != nil {
		return 0, err
	}
	return n, nil
}

// revive brings OFFLINE hosts back ONLINE after a sign of life, announcing and
// auditing each change. A host no longer OFFLINE is left alone.
func revive(ctx context.Context, tx pgx.Tx, ids []int64, names []string) error {
	for i, id := range ids {
		changed, err := TransitionHostState(ctx, tx, id, "OFFLINE", "ONLINE", "")
		if err != nil {
			return err
		}
		if !changed {
			continue
		}
		if err := audit.RecordSystem(ctx, tx, ActorHeartbeat, "hostOnline", "host:"+names[i],
			map[string]string{"from": "OFFLINE", "to": "ONLINE", "reason": "heartbeat received"}); err != nil {
			return err
		}
	}
	return nil
}

// OfflineConfig says when a silent host is OFFLINE.
type OfflineConfig struct {
	// After is how long without a heartbeat makes a host OFFLINE (the missed
	// intervals times the heartbeat interval).
	After time.Duration
	// Lookback bounds how old a last heartbeat may be for the host to be judged:
	// a host whose last sign of life is older is history (an imported trace),
	// not a host that just went silent.
	Lookback time.Duration
	// Limit bounds the hosts marked in one pass (the rest wait for the next).
	Limit int
}

// MarkSilentHostsOffline marks OFFLINE, at now, every host that beat within
// cfg.Lookback but not within cfg.After, and is ONLINE or DEGRADED in a cluster
// that is not simulated (the simulator keeps its own hosts' states). Hosts in
// MAINTENANCE, DECOMMISSIONED, REPAIRING or OFFLINE, and hosts that never beat,
// are left alone. Each change is announced on HostStateChannel and audited
// (actor ActorHeartbeat) in the same transaction. It returns the hostnames
// marked.
func MarkSilentHostsOffline(ctx context.Context, dbtx db.DBTX, cfg OfflineConfig, now time.Time) ([]string, error) {
	if cfg.After <= 0 || cfg.Lookback <= cfg.After {
		return nil, fmt.Errorf("error marking silent hosts: need 0 < after (%s) < lookback (%s)", cfg.After, cfg.Lookback)
	}
	limit := cfg.Limit
	if limit <= 0 {
		limit = 10_000
	}
	var marked []string
	err := db.InTx(ctx, dbtx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `WITH silent AS (
				SELECT h.id FROM host h JOIN cluster c ON c.id = h.cluster_id
				WHERE NOT c.simulated AND h.state IN ('ONLINE', 'DEGRADED')
					AND h.last_heartbeat < $1 AND h.last_heartbeat >= $2
				ORDER BY h.id
				LIMIT $3
				FOR UPDATE OF h SKIP LOCKED
			)
			UPDATE host h SET state = 'OFFLINE',
				state_reason = 'no heartbeat since ' || to_char(h.last_heartbeat AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') || ' UTC'
			FROM silent WHERE h.id = silent.id
			RETURNING h.id, h.hostname, h.last_heartbeat`, now.Add(-cfg.After), now.Add(-cfg.Lookback), limit)
		if err != nil {
			return fmt.Errorf("error marking silent hosts offline: %w", err)
		}
		var (
			ids   []int64
			id    int64
			name  string
			last  time.Time
			lasts []time.Time
		)
		if _, err := pgx.ForEachRow(rows, []any{&id, &name, &last}, func() error {
			ids, marked, lasts = append(ids, id), append(marked, name), append(lasts, last)
			return nil
		}); err != nil {
			return fmt.Errorf("error marking silent hosts offline: %w", err)
		}
		if len(ids) == 0 {
			return nil
		}
		if _, err := tx.Exec(ctx, `SELECT pg_notify($1, id::text) FROM unnest($2::bigint[]) AS u (id) ORDER BY id`,
			HostStateChannel, ids); err != nil {
			return fmt.Errorf("error announcing host states: %w", err)
		}
		for i, name := range marked {
			if err := audit.RecordSystem(ctx, tx, ActorHeartbeat, "hostOffline", "host:"+name, map[string]any{
				"from": "ONLINE or DEGRADED", "to": "OFFLINE", "lastHeartbeat": lasts[i], "silentFor": now.Sub(lasts[i]).Round(time.Second).String(),
			}); err != nil {
				return err
			}
		}
		return nil
	})
	return marked, err
}
