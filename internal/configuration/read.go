package configuration

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/inventory"
)

// StaleComponent is a service on a host whose components run an older
// configuration version than the cluster's current one.
type StaleComponent struct {
	HostID        int64
	Hostname      string
	Service       string
	ConfigVersion int64
}

// StaleList is a cluster's stale components, at most Limit of them.
type StaleList struct {
	Current int64
	// Total counts every stale (host, service), beyond the listed ones too.
	Total int
	Items []StaleComponent
}

// StaleHosts lists the services on live hosts of a cluster whose components
// run a configuration version below the current one, oldest version first:
// OPERATOR or ADMIN. They stay listed until a CONFIG_APPLY writes their
// files and restarts them. limit is 1..5,000 (default 500).
func (s *Service) StaleHosts(ctx context.Context, cluster int64, limit int) (*StaleList, error) {
	if _, err := auth.RequireRole(ctx, auth.Operator, "listing hosts with a stale configuration"); err != nil {
		return nil, err
	}
	if limit == 0 {
		limit = 500
	}
	if limit < 1 || limit > 5000 {
		return nil, fault.Field("limit", "give a limit of 1 to 5,000, not %d", limit)
	}
	cur, err := currentVersion(ctx, s.db, cluster)
	if err != nil {
		return nil, err
	}
	out := &StaleList{Current: cur}
	rows, err := s.db.Query(ctx, sqlStale, cluster, cur, limit)
	if err != nil {
		return nil, fmt.Errorf("error listing stale hosts of cluster %d: %w", cluster, err)
	}
	var c StaleComponent
	if _, err := pgx.ForEachRow(rows, []any{&c.HostID, &c.Hostname, &c.Service, &c.ConfigVersion, &out.Total}, func() error {
		out.Items = append(out.Items, c)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("error listing stale hosts of cluster %d: %w", cluster, err)
	}
	return out, nil
}

// Version is one version of a cluster's configuration.
type Version struct {
	ClusterID  int64
	Version    int64
	ChangeID   *int64
	RollbackOf *int64
	Author     string
	Message    string
	CreatedAt  time.Time
}

// File is one file of a version with its content.
type File struct {
	Group   string
	Scope   int64
	Service string
	Path    string
	Content string
}

// Versions lists a cluster's versions, newest first (at most limit, 1..500):
// OPERATOR or ADMIN.
func (s *Service) Versions(ctx context.Context, cluster int64, limit int) ([]*Version, error) {
	if _, err := auth.RequireRole(ctx, auth.Operator, "reading configuration versions"); err != nil {
		return nil, err
	}
	if limit < 1 || limit > 500 {
		return nil, fault.Field("limit", "give a limit of 1 to 500, not %d", limit)
	}
	if _, err := currentVersion(ctx, s.db, cluster); err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, sqlVersions, cluster, limit)
	if err != nil {
		return nil, fmt.Errorf("error listing the configuration versions of cluster %d: %w", cluster, err)
	}
	vs, err := pgx.CollectRows(rows, pgx.RowToAddrOfStructByPos[Version])
	if err != nil {
		return nil, fmt.Errorf("error listing the configuration versions of cluster %d: %w", cluster, err)
	}
	return vs, nil
}

// Files returns the files of a version (every scope) with their contents,
// by scope, service and path: OPERATOR or ADMIN.
func (s *Service) Files(ctx context.Context, cluster, version int64) ([]File, error) {
	if _, err := auth.RequireRole(ctx, auth.Operator, "reading configuration files"); err != nil {
		return nil, err
	}
	return versionFiles(ctx, s.db, cluster, version)
}

func versionFiles(ctx context.Context, q db.DBTX, cluster, version int64) ([]File, error) {
	var exists bool
	if err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM config_version WHERE cluster_id = $1 AND version = $2)`, cluster, version).Scan(&exists); err != nil {
		return nil, fmt.Errorf("error loading version %d of cluster %d: %w", version, cluster, err)
	}
	if !exists {
		return nil, fault.NotFoundf("cluster %d has no configuration version %d", cluster, version)
	}
	rows, err := q.Query(ctx, sqlVersionFiles, cluster, version)
	if err != nil {
		return nil, fmt.Errorf("error loading version %d of cluster %d: %w", version, cluster, err)
	}
	fs, err := pgx.CollectRows(rows, pgx.RowToStructByPos[File])
	if err != nil {
		return nil, fmt.Errorf("error loading version %d of cluster %d: %w", version, cluster, err)
	}
	return fs, nil
}

// HostFile is a file a host gets: its path and content.
type HostFile struct {
	Service string
	Path    string
	Content string
	// Group is the config group whose file won ("" for the cluster default).
	Group string
}

// HostFiles returns a host's effective files of one service (all services
// when service is "") at a version: what the CONFIG_APPLY executor writes.
// It reads through q (the executor's transaction or pool) and checks no
// role: its callers are the engine and the access-checked resolvers.
func HostFiles(ctx context.Context, q db.DBTX, host int64, service string, version int64) ([]HostFile, error) {
	// One host's groups and files only: the executor calls this once per
	// task, so it must not cost a whole cluster's computation.
	var cluster int64
	var attrs HostAttrs
	err := q.QueryRow(ctx, sqlHostAttrs, host).Scan(&cluster, &attrs.ID, &attrs.Rack, &attrs.Model, &attrs.MachineGroup)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fault.NotFoundf("host %d not found", host)
	}
	if err != nil {
		return nil, fmt.Errorf("error loading host %d: %w", host, err)
	}
	groups, err := loadGroupsFor(ctx, q, cluster, &host)
	if err != nil {
		return nil, err
	}
	files, err := loadFileRefs(ctx, q, cluster, version)
	if err != nil {
		return nil, err
	}
	e := ComputeEffective([]HostAttrs{attrs}, groups, files)
	refs := e.Files(host)
	if service != "" {
		refs = e.Service(host, service)
	}
	hashes := make([][]byte, len(refs))
	for i := range refs {
		hashes[i] = refs[i].SHA[:]
	}
	rows, err := q.Query(ctx, `SELECT sha256, content FROM config_blob WHERE sha256 = ANY($1)`, hashes)
	if err != nil {
		return nil, fmt.Errorf("error loading the files of host %d: %w", host, err)
	}
	contents := map[string]string{}
	var h []byte
	var c string
	if _, err := pgx.ForEachRow(rows, []any{&h, &c}, func() error { contents[string(h)] = c; return nil }); err != nil {
		return nil, fmt.Errorf("error loading the files of host %d: %w", host, err)
	}
	names := map[int64]string{}
	for _, g := range groups {
		names[g.ID] = g.Name
	}
	out := make([]HostFile, len(refs))
	for i, f := range refs {
		out[i] = HostFile{Service: f.Service, Path: f.Path, Content: contents[string(f.SHA[:])], Group: names[f.Scope]}
	}
	return out, nil
}

// GroupInput creates or replaces a config group (by cluster and name).
type GroupInput struct {
	ClusterID int64    `json:"clusterId"`
	Name      string   `json:"name"`
	Position  int      `json:"position"`
	Rule      RuleKind `json:"rule"`
	Values    []string `json:"values,omitempty"`
	Hosts     []int64  `json:"hosts,omitempty"`
	// Hostnames name hosts too (the pages' form): each must be in the
	// cluster.
	Hostnames []string `json:"hostnames,omitempty"`
}

var groupNameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$`)

// SetGroup creates a config group or replaces its rule, position and
// members: ADMIN only. Changing who is in a group changes hosts' effective
// configuration without a reviewed change, so it takes the role that sets
// the review policy itself; the group's files still change only through
// reviewed changes. Listed hosts must belong to the cluster.
func (s *Service) SetGroup(ctx context.Context, in GroupInput) (*Group, error) {
	var id int64
	err := s.audit.Do(ctx, "setConfigGroup", fmt.Sprintf("cluster:%d", in.ClusterID), in, func(tx pgx.Tx) error {
		if _, err := auth.RequireRole(ctx, auth.Admin, "defining config groups"); err != nil {
			return err
		}
		if !groupNameRe.MatchString(in.Name) {
			return fault.Field("input.name", "a group name is 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit")
		}
		if in.Position < 1 {
			return fault.Field("input.position", "the position orders the overlay and is at least 1")
		}
		if !in.Rule.Valid() {
			return fault.Field("input.rule", "rule %q is not one of RACK, MODEL, MACHINE_GROUP, LIST", in.Rule)
		}
		if len(in.Hostnames) > 5000 {
			return fault.Field("input.hosts", "a group lists at most 5,000 hosts; select larger sets by rule")
		}
		if len(in.Hostnames) > 0 {
			var ids []int64
			var unknown []string
			if err := tx.QueryRow(ctx, `SELECT coalesce(array_agg(h.id) FILTER (WHERE h.id IS NOT NULL), '{}'),
					coalesce(array_agg(n.name ORDER BY n.name) FILTER (WHERE h.id IS NULL), '{}')
				FROM unnest($1::text[]) AS n(name) LEFT JOIN host h ON h.hostname = n.name AND h.cluster_id = $2`,
				in.Hostnames, in.ClusterID).Scan(&ids, &unknown); err != nil {
				return fmt.Errorf("error finding the hosts of config group %q: %w", in.Name, err)
			}
			if len(unknown) > 0 {
				return fault.Field("input.hosts", "not hosts of cluster %d: %s", in.ClusterID, strings.Join(unknown[:min(len(unknown), 10)], ", "))
			}
			in.Hosts = append(in.Hosts, ids...)
		}
		values := slices.Compact(slices.Sorted(slices.Values(in.Values)))
		hosts := slices.Compact(slices.Sorted(slices.Values(in.Hosts)))
		if values == nil {
			values = []string{}
		}
		if in.Rule == ByList {
			if len(values) > 0 {
				return fault.Field("input.values", "a LIST group takes hosts, not values")
			}
		} else {
			if len(hosts) > 0 {
				return fault.Field("input.hosts", "a %s group selects its hosts by rule; list hosts only in a LIST group", in.Rule)
			}
			if len(values) == 0 || slices.Contains(values, "") {
				return fault.Field("input.values", "a %s group needs at least one non-empty value", in.Rule)
			}
		}
		if err := lockCluster(ctx, tx, in.ClusterID); err != nil {
			return err
		}
		cur, err := currentVersion(ctx, tx, in.ClusterID)
		if err != nil {
			return err
		}
		var before *Effective
		if cur > 0 {
			if before, err = EffectiveConfig(ctx, tx, in.ClusterID, cur); err != nil {
				return err
			}
		}
		if len(hosts) > 0 {
			var foreign []int64
			if err := tx.QueryRow(ctx, `SELECT coalesce(array_agg(u.id ORDER BY u.id), '{}') FROM unnest($1::bigint[]) AS u(id)
				WHERE NOT EXISTS (SELECT 1 FROM host h WHERE h.id = u.id AND h.cluster_id = $2)`, hosts, in.ClusterID).Scan(&foreign); err != nil {
				return fmt.Errorf("error checking the hosts of config group %q: %w", in.Name, err)
			}
			if len(foreign) > 0 {
				return fault.Field("input.hosts", "hosts %v are not in cluster %d", foreign[:min(len(foreign), 10)], in.ClusterID)
			}
		}
		err = tx.QueryRow(ctx, sqlGroupUpsert, in.ClusterID, in.Name, in.Position, in.Rule, values).Scan(&id)
		if err != nil {
			if fe, ok := fault.As(db.Interpret(err, "")); ok && fe.Kind == fault.Conflict {
				return fault.Field("input.position", "another config group of cluster %d has position %d", in.ClusterID, in.Position)
			}
			return fmt.Errorf("error storing config group %q: %w", in.Name, err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM config_group_host WHERE group_id = $1 AND NOT (host_id = ANY($2))`, id, hosts); err != nil {
			return fmt.Errorf("error storing the hosts of config group %q: %w", in.Name, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO config_group_host (group_id, host_id) SELECT $1, unnest($2::bigint[]) ON CONFLICT DO NOTHING`, id, hosts); err != nil {
			return fmt.Errorf("error storing the hosts of config group %q: %w", in.Name, err)
		}
		if before == nil {
			return nil
		}
		return markRegrouped(ctx, tx, in.ClusterID, cur, before)
	})
	if err != nil {
		return nil, err
	}
	gs, err := loadGroups(ctx, s.db, in.ClusterID)
	if err != nil {
		return nil, err
	}
	for i := range gs {
		if gs[i].ID == id {
			return &gs[i], nil
		}
	}
	return nil, fault.NotFoundf("config group %q not found", in.Name)
}

// DeleteGroup deletes a config group and its host list: ADMIN only, as
// defining one is. A group whose files are still in the current version, or
// in a change still open (PROPOSED or APPROVED), is a CONFLICT: those files
// leave through a reviewed change first, so deleting a group never changes a
// host's effective files (nothing turns stale) and no open change names a
// group that is gone. The group's files stay in older versions as history
// (config_file has no foreign key to it). The deleted group is returned.
func (s *Service) DeleteGroup(ctx context.Context, id int64) (*Group, error) {
	var out *Group
	err := s.audit.Do(ctx, "deleteConfigGroup", fmt.Sprintf("configGroup:%d", id), map[string]int64{"id": id}, func(tx pgx.Tx) error {
		if _, err := auth.RequireRole(ctx, auth.Admin, "deleting config groups"); err != nil {
			return err
		}
		var cluster int64
		if err := tx.QueryRow(ctx, `SELECT cluster_id FROM config_group WHERE id = $1`, id).Scan(&cluster); err != nil {
			return db.Interpret(err, fmt.Sprintf("config group %d", id))
		}
		// Serialised with Apply and Propose's readers of the current
		// version: a version made meanwhile cannot add files to the group.
		if err := lockCluster(ctx, tx, cluster); err != nil {
			return err
		}
		gs, err := loadGroups(ctx, tx, cluster)
		if err != nil {
			return err
		}
		for i := range gs {
			if gs[i].ID == id {
				out = &gs[i]
			}
		}
		if out == nil {
			return fault.NotFoundf("config group %d not found", id)
		}
		cur, err := currentVersion(ctx, tx, cluster)
		if err != nil {
			return err
		}
		var inVersion, inChanges, changes int
		if err := tx.QueryRow(ctx, sqlGroupFilesInUse, cluster, cur, id).Scan(&inVersion, &inChanges, &changes); err != nil {
			return fmt.Errorf("error counting the files of config group %d: %w", id, err)
		}
		switch {
		case inVersion > 0:
			return fault.New(fault.Conflict, "config group %q still has %s in the current configuration version %d: remove them by a change first, then delete the group",
				out.Name, count(inVersion, "file"), cur)
		case inChanges > 0:
			return fault.New(fault.Conflict, "config group %q has %s in %s: apply or reject them first (what the current version then has must be removed by a change too), then delete the group",
				out.Name, count(inChanges, "file"), count(changes, "open (proposed or approved) change"))
		}
		if _, err := tx.Exec(ctx, sqlGroupDelete, id); err != nil {
			return fmt.Errorf("error deleting config group %d: %w", id, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// count says "1 file" or "n files".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// Groups lists a cluster's config groups in overlay order: OPERATOR or ADMIN.
func (s *Service) Groups(ctx context.Context, cluster int64) ([]Group, error) {
	if _, err := auth.RequireRole(ctx, auth.Operator, "reading config groups"); err != nil {
		return nil, err
	}
	if _, err := currentVersion(ctx, s.db, cluster); err != nil {
		return nil, err
	}
	return loadGroups(ctx, s.db, cluster)
}

// CurrentVersion returns a cluster's current configuration version (0 when
// it has none yet), or NOT_FOUND for an unknown cluster.
func CurrentVersion(ctx context.Context, q db.DBTX, cluster int64) (int64, error) {
	return currentVersion(ctx, q, cluster)
}

// Changes lists a cluster's changes, newest first (at most limit, 1..200),
// optionally in one state, without their files and diffs (Change has them):
// OPERATOR or ADMIN.
func (s *Service) Changes(ctx context.Context, cluster int64, state ChangeState, limit int) ([]*Change, error) {
	if _, err := auth.RequireRole(ctx, auth.Operator, "reading configuration changes"); err != nil {
		return nil, err
	}
	if limit < 1 || limit > 200 {
		return nil, fault.Field("limit", "give a limit of 1 to 200, not %d", limit)
	}
	switch state {
	case "", ChangeProposed, ChangeApproved, ChangeRejected, ChangeApplied:
	default:
		return nil, fault.Field("state", "state %q is not one of PROPOSED, APPROVED, REJECTED, APPLIED", state)
	}
	if _, err := currentVersion(ctx, s.db, cluster); err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, sqlChanges, cluster, string(state), limit)
	if err != nil {
		return nil, fmt.Errorf("error listing the configuration changes of cluster %d: %w", cluster, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*Change, error) {
		ch := &Change{ClusterID: cluster}
		err := r.Scan(&ch.ID, &ch.BaseVersion, &ch.State, &ch.AuthorID, &ch.Author, &ch.Message,
			&ch.RequiredApprovals, &ch.AppliedVersion, &ch.CreatedAt, &ch.Approvals)
		return ch, err
	})
	if err != nil {
		return nil, fmt.Errorf("error listing the configuration changes of cluster %d: %w", cluster, err)
	}
	return out, nil
}

// DiffVersions returns the unified diff of every file that differs between
// two versions of a cluster (added, removed or changed), by scope, service
// and path: OPERATOR or ADMIN.
func (s *Service) DiffVersions(ctx context.Context, cluster, from, to int64) ([]FileDiff, error) {
	if _, err := auth.RequireRole(ctx, auth.Operator, "reading configuration versions"); err != nil {
		return nil, err
	}
	a, err := versionFiles(ctx, s.db, cluster, from)
	if err != nil {
		return nil, err
	}
	b, err := versionFiles(ctx, s.db, cluster, to)
	if err != nil {
		return nil, err
	}
	type key struct {
		scope         int64
		service, path string
	}
	old := make(map[key]File, len(a))
	for _, f := range a {
		old[key{f.Scope, f.Service, f.Path}] = f
	}
	var out []FileDiff
	for _, f := range b {
		k := key{f.Scope, f.Service, f.Path}
		prev, had := old[k]
		delete(old, k)
		if had && prev.Content == f.Content {
			continue
		}
		out = append(out, FileDiff{Group: f.Group, Service: f.Service, Path: f.Path,
			Diff: UnifiedDiff(diffName(f.Group, f.Service, f.Path), prev.Content, f.Content)})
	}
	for _, f := range a {
		if _, gone := old[key{f.Scope, f.Service, f.Path}]; gone {
			out = append(out, FileDiff{Group: f.Group, Service: f.Service, Path: f.Path,
				Diff: UnifiedDiff(diffName(f.Group, f.Service, f.Path), f.Content, "")})
		}
	}
	return out, nil
}

// markRegrouped marks behind the current version the services on hosts
// whose effective files a group change altered (a host joined or left a
// group, or positions swapped): the files on those hosts are not what the
// current version now gives them, so they are stale until reapplied.
func markRegrouped(ctx context.Context, tx pgx.Tx, cluster, cur int64, before *Effective) error {
	after, err := EffectiveConfig(ctx, tx, cluster, cur)
	if err != nil {
		return err
	}
	var stamps []inventory.ConfigStamp
	for host, pa := range after.HostProfile {
		pb, ok := before.HostProfile[host]
		if !ok {
			continue
		}
		for _, svc := range changedServices(before.Profiles[pb], after.Profiles[pa]) {
			stamps = append(stamps, inventory.ConfigStamp{HostID: host, Service: svc, Version: cur - 1})
		}
	}
	_, err = inventory.LowerConfigVersions(ctx, tx, stamps)
	return err
}

// changedServices lists the services whose files differ between two
// profiles (each sorted by service, then path).
func changedServices(a, b []FileRef) []string {
	var out []string
	svcs := map[string]bool{}
	for _, f := range a {
		svcs[f.Service] = true
	}
	for _, f := range b {
		svcs[f.Service] = true
	}
	for svc := range svcs {
		if !slices.EqualFunc(serviceFiles(a, svc), serviceFiles(b, svc), sameFile) {
			out = append(out, svc)
		}
	}
	slices.Sort(out)
	return out
}

// Summary is a cluster's configuration at a glance.
type Summary struct {
	ClusterID int64
	// Version is the current version (0: none yet).
	Version           int64
	RequiredApprovals int
}

// Summary returns a cluster's current version and the approvals its changes
// need: OPERATOR or ADMIN; NOT_FOUND for an unknown cluster.
func (s *Service) Summary(ctx context.Context, cluster int64) (*Summary, error) {
	if _, err := auth.RequireRole(ctx, auth.Operator, "reading a cluster's configuration"); err != nil {
		return nil, err
	}
	cur, err := currentVersion(ctx, s.db, cluster)
	if err != nil {
		return nil, err
	}
	out := &Summary{ClusterID: cluster, Version: cur}
	if err := s.db.QueryRow(ctx, `SELECT coalesce((SELECT required_approvals FROM config_policy WHERE cluster_id = $1), 1)`,
		cluster).Scan(&out.RequiredApprovals); err != nil {
		return nil, fmt.Errorf("error reading the approvals cluster %d requires: %w", cluster, err)
	}
	return out, nil
}

// CanApprove says whether the caller may approve ch now: OPERATOR or ADMIN,
// not its author, while it is PROPOSED (Review's own rules, for the pages'
// buttons).
func CanApprove(ctx context.Context, ch *Change) bool {
	p, ok := auth.FromContext(ctx)
	return ok && p.Is(auth.Operator) && ch.State == ChangeProposed && p.PersonID != ch.AuthorID
}
