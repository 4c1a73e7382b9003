package inventory

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/internal/stack"
)

// Bulk is a whole organisation and inventory to load at once into an empty
// database (the demo fleet). Records refer to each other by natural key: BU code,
// stack name and version, package service and version, cluster name; components
// refer to hosts by index.
type Bulk struct {
	// CreatedAt is the creation time of every row.
	CreatedAt  time.Time
	BUs        []BulkBU // parents before children
	People     []BulkPerson
	Stacks     []BulkStack
	Packages   []BulkPackage
	Clusters   []BulkCluster
	Hosts      []BulkHost
	Components []BulkComponent
	// Simulated marks every cluster of the load as the simulator's
	// (cluster.simulated): only such clusters' hosts and queues does it write.
	Simulated bool
}

// BulkBU is one BU; Parent is the parent's code, empty for the root.
type BulkBU struct{ Code, Name, Parent string }

// BulkPerson is one person, in the BU with code BU.
type BulkPerson struct{ Login, Name, Email, BU, Role string }

// BulkStack is one stack and its versions (see stack.Load).
type BulkStack = stack.BulkStack

// BulkStackVersion is one version of a stack and the packages it ships.
type BulkStackVersion = stack.BulkVersion

// BulkPackageRef names a package of Bulk.Packages.
type BulkPackageRef = stack.PackageRef

// BulkPackage is one service package, registered as stack.Load says.
type BulkPackage = stack.BulkPackage

// BulkCluster is one cluster on the stack version Stack/StackVersion, owned by
// the BU with code OwnerBU.
type BulkCluster struct {
	Name, Region, Kind, Status, Stack, StackVersion, OwnerBU, Description string
}

// BulkHost is one host of the cluster named Cluster.
type BulkHost struct {
	Cluster, Hostname, Rack, IP      string
	Cores                            int32
	MemoryBytes, DiskBytes, NICBps   int64
	OS, Kernel, Model, State, Reason string
	LastHeartbeat, StateChangedAt    time.Time
}

// BulkComponent is one component of Bulk.Hosts[Host].
type BulkComponent struct {
	Host                                         int
	Service, Component, Desired, Actual, Version string
	UpdatedAt                                    time.Time
}

// BulkResult counts the rows LoadBulk inserted and gives the host ids in the
// order of Bulk.Hosts.
type BulkResult struct {
	BUs, People, Stacks, StackVersions, Packages, Clusters, Components int64
	HostIDs                                                            []int64
}

// LoadBulk inserts b in tx with one statement per table (COPY for components),
// so a fleet of thousands of hosts loads in a fraction of a second. It is for an
// empty database: the caller checks that, and a clash with existing rows fails
// the load.
func LoadBulk(ctx context.Context, tx pgx.Tx, b Bulk) (BulkResult, error) {
	var res BulkResult

	// BUs, one statement per tree level so each level can look up its parents.
	depth := map[string]int{}
	levels := [][]BulkBU{}
	for _, bu := range b.BUs {
		d := 0
		if bu.Parent != "" {
			d = depth[bu.Parent] + 1
		}
		depth[bu.Code] = d
		if d == len(levels) {
			levels = append(levels, nil)
		}
		levels[d] = append(levels[d], bu)
	}
	for _, lvl := range levels {
		var codes, names, parents []string
		for _, bu := range lvl {
			codes, names, parents = append(codes, bu.Code), append(names, bu.Name), append(parents, bu.Parent)
		}
		tag, err := tx.Exec(ctx, `
			INSERT INTO bu (parent_id, name, code, created_at)
			SELECT p.id, u.name, u.code, $4
			FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS u(code, name, parent, ord)
			LEFT JOIN bu p ON p.code = u.parent
			ORDER BY u.ord`, codes, names, parents, b.CreatedAt)
		if err != nil {
			return res, fmt.Errorf("error inserting BUs: %w", err)
		}
		res.BUs += tag.RowsAffected()
	}

	{
		var logins, names, emails, bus, roles []string
		for _, p := range b.People {
			logins, names, emails = append(logins, p.Login), append(names, p.Name), append(emails, p.Email)
			bus, roles = append(bus, p.BU), append(roles, p.Role)
		}
		tag, err := tx.Exec(ctx, `
			INSERT INTO person (login, name, email, bu_id, role, created_at)
			SELECT u.login, u.name, u.email, b.id, u.role, $6
			FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])
			     WITH ORDINALITY AS u(login, name, email, bu, role, ord)
			JOIN bu b ON b.code = u.bu
			ORDER BY u.ord`, logins, names, emails, bus, roles, b.CreatedAt)
		if err != nil {
			return res, fmt.Errorf("error inserting people: %w", err)
		}
		res.People = tag.RowsAffected()
	}

	// Stacks and packages belong to internal/stack, which validates them.
	sres, err := stack.Load(ctx, tx, b.CreatedAt, b.Stacks, b.Packages)
	if err != nil {
		return res, err
	}
	res.Stacks, res.StackVersions, res.Packages = sres.Stacks, sres.Versions, sres.Packages

	{
		var names, regions, kinds, statuses, stacks, versions, owners, descs []string
		for _, c := range b.Clusters {
			names, regions, kinds, statuses = append(names, c.Name), append(regions, c.Region), append(kinds, c.Kind), append(statuses, c.Status)
			stacks, versions, owners, descs = append(stacks, c.Stack), append(versions, c.StackVersion), append(owners, c.OwnerBU), append(descs, c.Description)
		}
		tag, err := tx.Exec(ctx, `
			INSERT INTO cluster (name, region, kind, status, stack_version_id, owner_bu_id, description, created_at, simulated)
			SELECT u.name, u.region, u.kind, u.status, sv.id, b.id, u.description, $9, $10
			FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])
			     WITH ORDINALITY AS u(name, region, kind, status, stack, version, owner, description, ord)
			JOIN stack s ON s.name = u.stack
			JOIN stack_version sv ON sv.stack_id = s.id AND sv.version = u.version
			JOIN bu b ON b.code = u.owner
			ORDER BY u.ord`, names, regions, kinds, statuses, stacks, versions, owners, descs, b.CreatedAt, b.Simulated)
		if err != nil {
			return res, fmt.Errorf("error inserting clusters: %w", err)
		}
		res.Clusters = tag.RowsAffected()
	}

	ids, err := insertBulkHosts(ctx, tx, b)
	if err != nil {
		return res, err
	}
	res.HostIDs = ids

	rows := make([][]any, 0, len(b.Components))
	for _, c := range b.Components {
		rows = append(rows, []any{ids[c.Host], c.Service, c.Component, c.Desired, c.Actual, c.Version, c.UpdatedAt})
	}
	n, err := tx.CopyFrom(ctx, pgx.Identifier{"host_component"},
		[]string{"host_id", "service", "component", "desired_state", "actual_state", "version", "updated_at"},
		pgx.CopyFromRows(rows))
	if err != nil {
		return res, fmt.Errorf("error inserting host components: %w", err)
	}
	res.Components = n
	return res, nil
}

// insertBulkHosts COPYs all hosts in and returns their ids in the order of
// b.Hosts (matched by hostname). COPY, because the fleet benchmark loads 250,000
// hosts, where an INSERT from arrays spends most of its time building them.
func insertBulkHosts(ctx context.Context, tx pgx.Tx, b Bulk) ([]int64, error) {
	names := make([]string, 0, len(b.Clusters))
	for _, c := range b.Clusters {
		names = append(names, c.Name)
	}
	clusterIDs := make(map[string]int64, len(names))
	crows, err := tx.Query(ctx, `SELECT id, name FROM cluster WHERE name = ANY($1)`, names)
	if err != nil {
		return nil, fmt.Errorf("error inserting hosts: %w", err)
	}
	var id int64
	var name string
	if _, err := pgx.ForEachRow(crows, []any{&id, &name}, func() error {
		clusterIDs[name] = id
		return nil
	}); err != nil {
		return nil, fmt.Errorf("error inserting hosts: %w", err)
	}
	hostnames := make([]string, len(b.Hosts))
	i := 0
	src := pgx.CopyFromFunc(func() ([]any, error) {
		if i >= len(b.Hosts) {
			return nil, nil
		}
		h := &b.Hosts[i]
		hostnames[i] = h.Hostname
		i++
		cid, ok := clusterIDs[h.Cluster]
		if !ok {
			return nil, fmt.Errorf("host %s is in cluster %s, which is not in the bulk", h.Hostname, h.Cluster)
		}
		var beat *time.Time
		if !h.LastHeartbeat.IsZero() {
			beat = &h.LastHeartbeat
		}
		return []any{cid, h.Hostname, h.Rack, h.IP, h.Cores, h.MemoryBytes, h.DiskBytes, h.NICBps,
			h.OS, h.Kernel, h.Model, h.State, h.Reason, beat, b.CreatedAt, h.StateChangedAt}, nil
	})
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"host"},
		[]string{"cluster_id", "hostname", "rack", "ip", "cpu_cores", "memory_bytes", "disk_bytes", "nic_bps",
			"os", "kernel", "model", "state", "state_reason", "last_heartbeat", "created_at", "state_changed_at"},
		src); err != nil {
		return nil, fmt.Errorf("error inserting hosts: %w", err)
	}
	rows, err := tx.Query(ctx, `SELECT id, hostname FROM host WHERE hostname = ANY($1)`, hostnames)
	if err != nil {
		return nil, fmt.Errorf("error inserting hosts: %w", err)
	}
	byName := make(map[string]int64, len(b.Hosts))
	if _, err := pgx.ForEachRow(rows, []any{&id, &name}, func() error {
		byName[name] = id
		return nil
	}); err != nil {
		return nil, fmt.Errorf("error inserting hosts: %w", err)
	}
	ids := make([]int64, len(b.Hosts))
	for i, h := range b.Hosts {
		got, ok := byName[h.Hostname]
		if !ok {
			return nil, fmt.Errorf("error inserting hosts: host %s was not inserted", h.Hostname)
		}
		ids[i] = got
	}
	return ids, nil
}
