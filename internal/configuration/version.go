package configuration

import (
	"cmp"
	"context"
	"crypto/sha256"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/inventory"
)

// Target is one service on one host whose effective files changed: the
// CONFIG_APPLY operation writes Files there and restarts the service's
// components.
type Target struct {
	HostID  int64
	Service string
	Files   []FileRef
	// Remove are the paths of the service's files the host's previous
	// applied version had (its effective files, groups overlaid) that Files
	// no longer has: the executor deletes them, or the service would read a
	// removed file at its next restart.
	Remove []string
}

// Rollout is what a new version asks of the fleet.
type Rollout struct {
	ClusterID   int64
	Version     int64
	FromVersion int64
	// Targets are ordered by service, then host id.
	Targets []Target
	// Current counts the components stamped with the new version at once:
	// their effective files did not change.
	Current int64
}

// Applied is the outcome of Apply and Rollback: the new version, what it
// asks of the fleet, and the CONFIG_APPLY operation started for it (0 when
// no Rollouter is set or none was needed).
type Applied struct {
	ClusterID   int64
	Version     int64
	Rollout     *Rollout
	OperationID int64
	// RolloutError says why the operation could not be started; the version
	// exists regardless, and its hosts are listed as stale until applied.
	RolloutError string
}

// Apply turns an APPROVED change into the cluster's next version and starts
// its rollout: OPERATOR or ADMIN. A change still waiting for approvals, or
// rejected, or applied already, is a CONFLICT; so is one whose base is not
// current any more (naming the newer version). The version, its git outbox
// entry and the stamps of components whose files did not change commit
// together; the operation is started after.
func (s *Service) Apply(ctx context.Context, changeID int64) (*Applied, error) {
	var out *Applied
	rec := map[string]any{"changeId": changeID}
	err := s.audit.Do(ctx, "applyConfigChange", fmt.Sprintf("configChange:%d", changeID), rec, func(tx pgx.Tx) error {
		if _, err := auth.RequireRole(ctx, auth.Operator, "applying a configuration change"); err != nil {
			return err
		}
		ch, err := s.lockChange(ctx, tx, changeID)
		if err != nil {
			return err
		}
		switch ch.State {
		case ChangeApplied:
			return fault.New(fault.Conflict, "configuration change %d is applied already, as version %d", ch.ID, *ch.AppliedVersion)
		case ChangeRejected:
			return fault.New(fault.Conflict, "configuration change %d was rejected", ch.ID)
		case ChangeProposed:
			var n int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM config_review WHERE change_id = $1 AND approve AND reviewer_id <> $2`, ch.ID, ch.AuthorID).Scan(&n); err != nil {
				return fmt.Errorf("error counting the approvals of configuration change %d: %w", ch.ID, err)
			}
			return fault.New(fault.Conflict, "configuration change %d needs %d approvals and has %d", ch.ID, ch.RequiredApprovals, n)
		}
		cur, err := currentVersion(ctx, tx, ch.ClusterID)
		if err != nil {
			return err
		}
		if cur != ch.BaseVersion {
			return staleBase(ch.ClusterID, ch.BaseVersion, cur)
		}
		next := cur + 1
		if _, err := tx.Exec(ctx, sqlVersionFromChange, ch.ClusterID, next, ch.ID, ch.AuthorID, ch.Author, ch.Message, s.now()); err != nil {
			return db.Interpret(err, fmt.Sprintf("version %d of cluster %d", next, ch.ClusterID))
		}
		if err := copyFiles(ctx, tx, ch.ClusterID, cur, next); err != nil {
			return err
		}
		if err := applyChangeFiles(ctx, tx, ch.ClusterID, next, ch.ID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE config_change SET state = 'APPLIED', applied_version = $2, updated_at = $3 WHERE id = $1`,
			ch.ID, next, s.now()); err != nil {
			return fmt.Errorf("error marking configuration change %d applied: %w", ch.ID, err)
		}
		out, err = s.finishVersion(ctx, tx, ch.ClusterID, cur, next)
		rec["version"] = next
		return err
	})
	if err != nil {
		return nil, err
	}
	s.startRollout(ctx, out)
	return out, nil
}

// RollbackInput asks for a new version restoring an old one's files.
type RollbackInput struct {
	ClusterID int64  `json:"clusterId"`
	ToVersion int64  `json:"toVersion"`
	Reason    string `json:"reason"`
}

// Rollback makes a new version whose files are those of ToVersion, and
// starts its rollout: OPERATOR or ADMIN. It is not reviewed again — the
// content was reviewed when it became ToVersion, and a rollback is what an
// operator needs at once when a change hurts — but it is audited and its
// commit names who rolled back and why. History is never rewritten: the
// versions in between stay, and rolling forward again is one more rollback.
func (s *Service) Rollback(ctx context.Context, in RollbackInput) (*Applied, error) {
	var out *Applied
	err := s.audit.Do(ctx, "rollbackConfig", fmt.Sprintf("cluster:%d", in.ClusterID), in, func(tx pgx.Tx) error {
		p, err := auth.RequireRole(ctx, auth.Operator, "rolling back a configuration")
		if err != nil {
			return err
		}
		reason := strings.TrimSpace(in.Reason)
		if reason == "" || len(reason) > 4000 {
			return fault.Field("input.reason", "say why, in 1 to 4,000 characters")
		}
		if err := lockCluster(ctx, tx, in.ClusterID); err != nil {
			return err
		}
		cur, err := currentVersion(ctx, tx, in.ClusterID)
		if err != nil {
			return err
		}
		switch {
		case in.ToVersion < 1 || in.ToVersion > cur:
			return fault.Field("input.toVersion", "cluster %d has versions 1 to %d; there is no version %d", in.ClusterID, cur, in.ToVersion)
		case in.ToVersion == cur:
			return fault.Field("input.toVersion", "version %d is the current version already", cur)
		}
		// Files of a group deleted since would be restored for no host (and
		// could not be removed by a change, the group having no name any
		// more): refused rather than silently left out, so the rollback
		// restores exactly what version K was or nothing.
		var orphans int
		var scopes []int64
		if err := tx.QueryRow(ctx, sqlDeletedGroupFiles, in.ClusterID, in.ToVersion).Scan(&orphans, &scopes); err != nil {
			return fmt.Errorf("error loading version %d of cluster %d: %w", in.ToVersion, in.ClusterID, err)
		}
		if orphans > 0 {
			return fault.New(fault.Conflict, "version %d has %d files of config groups deleted since (group ids %v): it cannot be restored as it was; propose a change restoring its other files instead",
				in.ToVersion, orphans, scopes)
		}
		next := cur + 1
		msg := fmt.Sprintf("Roll back to version %d\n\n%s", in.ToVersion, reason)
		if _, err := tx.Exec(ctx, sqlVersionRollback, in.ClusterID, next, in.ToVersion, p.PersonID, p.Login, msg, s.now()); err != nil {
			return db.Interpret(err, fmt.Sprintf("version %d of cluster %d", next, in.ClusterID))
		}
		if err := copyFiles(ctx, tx, in.ClusterID, in.ToVersion, next); err != nil {
			return err
		}
		out, err = s.finishVersion(ctx, tx, in.ClusterID, cur, next)
		return err
	})
	if err != nil {
		return nil, err
	}
	s.startRollout(ctx, out)
	return out, nil
}

// Reapply rolls the current version out again to the components behind it:
// those whose CONFIG_APPLY task failed, whose operation could not start,
// or whose effective files a config group change altered. OPERATOR or
// ADMIN. Nothing behind is BAD_USER_INPUT.
func (s *Service) Reapply(ctx context.Context, cluster int64) (*Applied, error) {
	var out *Applied
	err := s.audit.Do(ctx, "reapplyConfig", fmt.Sprintf("cluster:%d", cluster), map[string]int64{"clusterId": cluster}, func(tx pgx.Tx) error {
		if _, err := auth.RequireRole(ctx, auth.Operator, "applying a configuration"); err != nil {
			return err
		}
		if err := lockCluster(ctx, tx, cluster); err != nil {
			return err
		}
		cur, err := currentVersion(ctx, tx, cluster)
		if err != nil {
			return err
		}
		if cur == 0 {
			return fault.New(fault.Invalid, "cluster %d has no configuration version yet", cluster)
		}
		r, err := PlanRollout(ctx, tx, cluster, cur, cur)
		if err != nil {
			return err
		}
		if len(r.Targets) == 0 {
			return fault.New(fault.Invalid, "every component of cluster %d runs configuration version %d already", cluster, cur)
		}
		out = &Applied{ClusterID: cluster, Version: cur, Rollout: r}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.startRollout(ctx, out)
	return out, nil
}

// copyFiles makes version to's files those of version from (none when from
// is 0), in one statement.
func copyFiles(ctx context.Context, tx pgx.Tx, cluster, from, to int64) error {
	if from == 0 {
		return nil
	}
	_, err := tx.Exec(ctx, sqlCopyFiles, cluster, from, to)
	if err != nil {
		return fmt.Errorf("error copying version %d of cluster %d: %w", from, cluster, err)
	}
	return nil
}

// applyChangeFiles writes a change's files into a version: contents into
// config_blob (deduplicated by hash), removals and replacements into
// config_file.
func applyChangeFiles(ctx context.Context, tx pgx.Tx, cluster, version, change int64) error {
	rows, err := tx.Query(ctx, `SELECT scope, service, path, content FROM config_change_file WHERE change_id = $1`, change)
	if err != nil {
		return fmt.Errorf("error loading the files of configuration change %d: %w", change, err)
	}
	var scs []int64
	var svcs, paths []string
	var hashes [][]byte
	var contents []*string
	var sc int64
	var svc, p string
	var content *string
	if _, err := pgx.ForEachRow(rows, []any{&sc, &svc, &p, &content}, func() error {
		scs, svcs, paths, contents = append(scs, sc), append(svcs, svc), append(paths, p), append(contents, content)
		if content == nil {
			hashes = append(hashes, nil)
		} else {
			h := sha256.Sum256([]byte(*content))
			hashes = append(hashes, h[:])
		}
		return nil
	}); err != nil {
		return fmt.Errorf("error loading the files of configuration change %d: %w", change, err)
	}
	b := &pgx.Batch{}
	b.Queue(sqlBlobsInsert, hashes, contents)
	b.Queue(sqlFilesDelete,
		cluster, version, scs, svcs, paths)
	b.Queue(sqlFilesInsert, cluster, version, scs, svcs, paths, hashes)
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("error writing version %d of cluster %d: %w", version, cluster, err)
	}
	return nil
}

// finishVersion queues the new version for the git mirror, computes its
// rollout against the previous version and stamps at once the components
// whose effective files did not change (they run the new version already).
func (s *Service) finishVersion(ctx context.Context, tx pgx.Tx, cluster, prev, next int64) (*Applied, error) {
	if _, err := tx.Exec(ctx, `INSERT INTO config_git_outbox (cluster_id, version) VALUES ($1, $2)`, cluster, next); err != nil {
		return nil, fmt.Errorf("error queueing version %d of cluster %d for the git mirror: %w", next, cluster, err)
	}
	r, err := PlanRollout(ctx, tx, cluster, prev, next)
	if err != nil {
		return nil, err
	}
	return &Applied{ClusterID: cluster, Version: next, Rollout: r}, nil
}

// startRollout hands the rollout to the Rollouter, if any, and records why
// it could not start.
func (s *Service) startRollout(ctx context.Context, a *Applied) {
	if s.rollout == nil || len(a.Rollout.Targets) == 0 {
		return
	}
	id, err := s.rollout.SubmitConfigApply(ctx, a.Rollout)
	if err != nil {
		if fe, ok := fault.As(err); ok {
			a.RolloutError = fe.Message
		} else {
			a.RolloutError = "the CONFIG_APPLY operation could not be started; apply the version again later"
		}
		return
	}
	a.OperationID = id
}

// clusterState is what effective configuration is computed from: hosts,
// groups and the files of one or two versions.
type clusterState struct {
	hosts  []HostAttrs
	groups []Group
}

// loadClusterState reads a cluster's live hosts with the attributes group
// rules look at (rack, model, machine-group label of the latest
// machine-clustering run) and its groups with their listed hosts: two
// queries whatever the cluster's size.
func loadClusterState(ctx context.Context, q db.DBTX, cluster int64) (*clusterState, error) {
	rows, err := q.Query(ctx, sqlClusterHosts, cluster)
	if err != nil {
		return nil, fmt.Errorf("error loading the hosts of cluster %d: %w", cluster, err)
	}
	st := &clusterState{}
	var h HostAttrs
	if _, err := pgx.ForEachRow(rows, []any{&h.ID, &h.Rack, &h.Model, &h.MachineGroup}, func() error {
		st.hosts = append(st.hosts, h)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("error loading the hosts of cluster %d: %w", cluster, err)
	}
	st.groups, err = loadGroups(ctx, q, cluster)
	return st, err
}

func loadGroups(ctx context.Context, q db.DBTX, cluster int64) ([]Group, error) {
	return loadGroupsFor(ctx, q, cluster, nil)
}

// loadGroupsFor loads a cluster's groups; with host set, a LIST group's
// Hosts hold that host at most (all a one-host computation needs, however
// long the list).
func loadGroupsFor(ctx context.Context, q db.DBTX, cluster int64, host *int64) ([]Group, error) {
	rows, err := q.Query(ctx, sqlGroups, cluster, host)
	if err != nil {
		return nil, fmt.Errorf("error loading the config groups of cluster %d: %w", cluster, err)
	}
	gs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Group, error) {
		var g Group
		err := r.Scan(&g.ID, &g.ClusterID, &g.Name, &g.Position, &g.Rule, &g.Values, &g.Hosts)
		return g, err
	})
	if err != nil {
		return nil, fmt.Errorf("error loading the config groups of cluster %d: %w", cluster, err)
	}
	return gs, nil
}

// loadFileRefs reads the file list (not the contents) of a version.
func loadFileRefs(ctx context.Context, q db.DBTX, cluster, version int64) ([]FileRef, error) {
	if version == 0 {
		return nil, nil
	}
	rows, err := q.Query(ctx, sqlFileRefs, cluster, version)
	if err != nil {
		return nil, fmt.Errorf("error loading version %d of cluster %d: %w", version, cluster, err)
	}
	var out []FileRef
	var f FileRef
	var h []byte
	if _, err := pgx.ForEachRow(rows, []any{&f.Scope, &f.Service, &f.Path, &h}, func() error {
		copy(f.SHA[:], h)
		out = append(out, f)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("error loading version %d of cluster %d: %w", version, cluster, err)
	}
	return out, nil
}

// EffectiveConfig computes the effective configuration of every live host
// of a cluster at a version, in three queries.
func EffectiveConfig(ctx context.Context, q db.DBTX, cluster, version int64) (*Effective, error) {
	st, err := loadClusterState(ctx, q, cluster)
	if err != nil {
		return nil, err
	}
	files, err := loadFileRefs(ctx, q, cluster, version)
	if err != nil {
		return nil, err
	}
	return ComputeEffective(st.hosts, st.groups, files), nil
}

// PlanRollout compares the effective configuration of a cluster's hosts at
// versions prev and next. A service on a host is a target when its files
// differ, or when its components are behind prev (stale already: they need
// next's files whatever changed); the other components are stamped with
// next at once, in q, and components at next already are left alone. Only
// services a host runs (host_component) count. A target's Remove lists the
// files the version its components last applied had and next has not
// (nothing for components never configured through Tesla: the files there
// came with the package).
func PlanRollout(ctx context.Context, q db.DBTX, cluster, prev, next int64) (*Rollout, error) {
	st, err := loadClusterState(ctx, q, cluster)
	if err != nil {
		return nil, err
	}
	before, err := loadFileRefs(ctx, q, cluster, prev)
	if err != nil {
		return nil, err
	}
	after, err := loadFileRefs(ctx, q, cluster, next)
	if err != nil {
		return nil, err
	}
	eb := ComputeEffective(st.hosts, st.groups, before)
	ea := ComputeEffective(st.hosts, st.groups, after)
	type component struct {
		host, have int64
		svc        string
	}
	rows, err := q.Query(ctx, sqlRolloutComponents, cluster)
	if err != nil {
		return nil, fmt.Errorf("error loading the components of cluster %d: %w", cluster, err)
	}
	var comps []component
	var c component
	if _, err := pgx.ForEachRow(rows, []any{&c.host, &c.svc, &c.have}, func() error {
		comps = append(comps, c)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("error loading the components of cluster %d: %w", cluster, err)
	}
	// The versions components last applied: usually prev alone. Stale
	// components add older ones, each computed for the hosts at it only, so
	// however many versions the stale ones spread over, every host is
	// overlaid about once.
	applied := map[int64]*Effective{prev: eb}
	attrs := make(map[int64]HostAttrs, len(st.hosts))
	for _, h := range st.hosts {
		attrs[h.ID] = h
	}
	staleHosts := map[int64][]HostAttrs{}
	type hostAt struct{ host, version int64 }
	seen := map[hostAt]bool{}
	for _, c := range comps {
		h, live := attrs[c.host]
		if c.have == prev || c.have == 0 || c.have >= next || !live || seen[hostAt{c.host, c.have}] {
			continue
		}
		seen[hostAt{c.host, c.have}] = true
		staleHosts[c.have] = append(staleHosts[c.have], h)
	}
	for v, hosts := range staleHosts {
		files, err := loadFileRefs(ctx, q, cluster, v)
		if err != nil {
			return nil, err
		}
		applied[v] = ComputeEffective(hosts, st.groups, files)
	}
	r := &Rollout{ClusterID: cluster, Version: next, FromVersion: prev}
	var stamps []inventory.ConfigStamp
	// Profiles compare once per pair of profiles and service, not per host.
	type pairKey struct {
		b, a int
		svc  string
	}
	same := map[pairKey]bool{}
	type removeKey struct {
		have   int64
		was, a int
		svc    string
	}
	removals := map[removeKey][]string{}
	for _, c := range comps {
		pb, okb := eb.HostProfile[c.host]
		pa, oka := ea.HostProfile[c.host]
		if !okb || !oka || c.have >= next {
			// Not a live host, or its components run next already (an
			// operation submitted again).
			continue
		}
		k := pairKey{pb, pa, c.svc}
		eq, ok := same[k]
		if !ok {
			eq = slices.EqualFunc(serviceFiles(eb.Profiles[pb], c.svc), serviceFiles(ea.Profiles[pa], c.svc), sameFile)
			same[k] = eq
		}
		if eq && c.have >= prev {
			stamps = append(stamps, inventory.ConfigStamp{HostID: c.host, Service: c.svc, Version: next})
			continue
		}
		t := Target{HostID: c.host, Service: c.svc, Files: serviceFiles(ea.Profiles[pa], c.svc)}
		if e := applied[c.have]; e != nil {
			// A host is in its version's profiles: it was added with it.
			pw := e.HostProfile[c.host]
			rk := removeKey{c.have, pw, pa, c.svc}
			rm, ok := removals[rk]
			if !ok {
				rm = removedPaths(serviceFiles(e.Profiles[pw], c.svc), t.Files)
				removals[rk] = rm
			}
			t.Remove = rm
		}
		r.Targets = append(r.Targets, t)
	}
	slices.SortFunc(r.Targets, func(a, b Target) int {
		return cmp.Or(strings.Compare(a.Service, b.Service), cmp.Compare(a.HostID, b.HostID))
	})
	r.Current, err = inventory.StampConfigVersions(ctx, q, stamps)
	return r, err
}

// removedPaths returns the paths of was that now lacks (both sorted by
// path, as a profile's files of one service are).
func removedPaths(was, now []FileRef) []string {
	var out []string
	for _, f := range was {
		if _, found := slices.BinarySearchFunc(now, f.Path, func(g FileRef, p string) int { return strings.Compare(g.Path, p) }); !found {
			out = append(out, f.Path)
		}
	}
	return out
}

// serviceFiles returns the files of one service from a profile (sorted by
// service, then path), sharing the profile's memory.
func serviceFiles(p []FileRef, svc string) []FileRef {
	i, _ := slices.BinarySearchFunc(p, svc, func(f FileRef, s string) int { return strings.Compare(f.Service, s) })
	j := i
	for j < len(p) && p[j].Service == svc {
		j++
	}
	return p[i:j:j]
}

// sameFile compares what a host gets: path and content, not which scope
// provided it.
func sameFile(a, b FileRef) bool { return a.Path == b.Path && a.SHA == b.SHA }

// MarkApplied stamps the targets a CONFIG_APPLY wrote and restarted with
// the rollout's version, in q (the transaction that records the tasks): the
// executor's last step. Stamps never lower a version.
func MarkApplied(ctx context.Context, q db.DBTX, version int64, targets []Target) (int64, error) {
	stamps := make([]inventory.ConfigStamp, len(targets))
	for i, t := range targets {
		stamps[i] = inventory.ConfigStamp{HostID: t.HostID, Service: t.Service, Version: version}
	}
	return inventory.StampConfigVersions(ctx, q, stamps)
}
