package configuration

import (
	"context"
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/internal/audit"
	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/fault"
)

// Service is the access-checked, audited face of configuration as code:
// what resolvers call. Every method checks the caller's role itself (see
// docs/configuration.md "Roles"); every mutation is audited, refusals
// included.
type Service struct {
	db       db.DBTX
	audit    *audit.Log
	registry *Registry
	rollout  Rollouter
	now      func() time.Time
}

// Rollouter starts the CONFIG_APPLY operation that writes a new version's
// files through the agents and restarts the affected components in rolling
// batches (internal/aquila). It is called after the version committed, so an
// operation never refers to a version that does not exist.
type Rollouter interface {
	SubmitConfigApply(ctx context.Context, r *Rollout) (operationID int64, err error)
}

// NewService returns a Service on q (a pool), recording through log and
// validating files with registry (DefaultRegistry when nil).
func NewService(q db.DBTX, log *audit.Log, registry *Registry) *Service {
	if registry == nil {
		registry = DefaultRegistry()
	}
	return &Service{db: q, audit: log, registry: registry, now: time.Now}
}

// WithRollouter sets what Apply and Rollback hand the rollout to; without
// one they create the version and return the rollout for the caller to run.
func (s *Service) WithRollouter(r Rollouter) *Service { s.rollout = r; return s }

// WithClock sets the service's clock (tests).
func (s *Service) WithClock(now func() time.Time) *Service { s.now = now; return s }

// configLock serialises the version-changing actions of one cluster
// (propose, review, apply, rollback) so that "the current version" read at
// the start of one stays current until it commits.
const configLock = 7305_3200

func lockCluster(ctx context.Context, tx pgx.Tx, cluster int64) error {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, $2::int)`, configLock, cluster); err != nil {
		return fmt.Errorf("error locking the configuration of cluster %d: %w", cluster, err)
	}
	return nil
}

func currentVersion(ctx context.Context, q db.DBTX, cluster int64) (int64, error) {
	var exists bool
	var v int64
	err := q.QueryRow(ctx, sqlCurrentVersion, cluster).Scan(&exists, &v)
	if err != nil {
		return 0, fmt.Errorf("error loading the configuration version of cluster %d: %w", cluster, err)
	}
	if !exists {
		return 0, fault.NotFoundf("cluster %d not found", cluster)
	}
	return v, nil
}

// staleBase is the CONFLICT of a change written against a version that is
// not current any more; it names the newer version.
func staleBase(cluster, base, current int64) error {
	return fault.New(fault.Conflict, "the configuration of cluster %d is at version %d, not %d: a newer version (%d) was made since; propose the change again against version %d",
		cluster, current, base, current, current)
}

// ChangeState is where a change is in its workflow.
type ChangeState string

// The change states.
const (
	ChangeProposed ChangeState = "PROPOSED"
	ChangeApproved ChangeState = "APPROVED"
	ChangeRejected ChangeState = "REJECTED"
	ChangeApplied  ChangeState = "APPLIED"
)

// FileChange sets (Content) or removes (Content nil) one file of the
// cluster default (Group "") or of a group.
type FileChange struct {
	Group   string  `json:"group,omitempty"`
	Service string  `json:"service"`
	Path    string  `json:"path"`
	Content *string `json:"-"`
}

// ProposeInput is a proposed change.
type ProposeInput struct {
	ClusterID int64 `json:"clusterId"`
	// BaseVersion is the version the change was written against (0 for a
	// cluster without configuration yet); it must be the current one.
	BaseVersion int64        `json:"baseVersion"`
	Message     string       `json:"message"`
	Files       []FileChange `json:"files"`
}

// FileDiff is one file's unified diff from the base version to the change.
type FileDiff struct {
	Group   string
	Service string
	Path    string
	Diff    string
}

// Review is one person's verdict on a change.
type Review struct {
	ReviewerID int64
	Reviewer   string
	Approve    bool
	Comment    string
	At         time.Time
}

// Change is a proposed change with its reviews and diff.
type Change struct {
	ID                int64
	ClusterID         int64
	BaseVersion       int64
	State             ChangeState
	AuthorID          int64
	Author            string
	Message           string
	RequiredApprovals int
	Approvals         int
	AppliedVersion    *int64
	CreatedAt         time.Time
	Files             []FileChange
	Reviews           []Review
	// Diffs are against the base version, one per file, in the change's order.
	Diffs []FileDiff
}

var serviceRe = regexp.MustCompile(`^[A-Z][A-Z0-9_]{0,39}$`)

// Bounds of one change: enough for a whole service's configuration, small
// enough to validate, diff and review in one request.
const (
	maxFiles       = 200
	maxChangeBytes = 16 << 20
)

// checkPath refuses paths that could leave the service's configuration
// directory when an agent writes them.
func checkPath(field, p string) error {
	switch {
	case p == "" || len(p) > 255:
		return fault.Field(field, "give a relative file path of 1 to 255 characters")
	case strings.HasPrefix(p, "/") || path.Clean(p) != p || strings.HasPrefix(p, "../") || p == ".." || p == ".":
		return fault.Field(field, "path %q must be relative and clean (no leading /, no .., no //)", p)
	case strings.ContainsAny(p, "\x00\\\n"):
		return fault.Field(field, "path %q holds a character a file name cannot", p)
	}
	return nil
}

// auditedFile is what the audit log keeps of a file change: not the content
// (configuration may hold credentials, and a file may be megabytes).
type auditedFile struct {
	Group   string `json:"group,omitempty"`
	Service string `json:"service"`
	Path    string `json:"path"`
	Removed bool   `json:"removed,omitempty"`
	Bytes   int    `json:"bytes,omitempty"`
}

type auditedProposal struct {
	ClusterID   int64         `json:"clusterId"`
	BaseVersion int64         `json:"baseVersion"`
	Message     string        `json:"message"`
	Files       []auditedFile `json:"files"`
	ChangeID    int64         `json:"changeId,omitempty"`
}

func proposalRecord(in ProposeInput) auditedProposal {
	rec := auditedProposal{ClusterID: in.ClusterID, BaseVersion: in.BaseVersion, Message: in.Message}
	for _, f := range in.Files {
		af := auditedFile{Group: f.Group, Service: f.Service, Path: f.Path, Removed: f.Content == nil}
		if f.Content != nil {
			af.Bytes = len(*f.Content)
		}
		rec.Files = append(rec.Files, af)
	}
	return rec
}

// ProposalAudit is what the audit log keeps of a proposal: its files'
// paths and sizes, never their content. Audit rows outlive the change and
// are read by other people than its reviewers, so a proposal refused
// before Propose (an id that does not parse) is recorded with this too.
func ProposalAudit(in ProposeInput) any {
	rec := proposalRecord(in)
	return &rec
}

// Propose records a change against the current version after validating
// every file: OPERATOR or ADMIN. A file that would fail (syntax, unknown
// key) is refused here, naming the file and the line, before anyone spends
// a review on it. A base that is not current is a CONFLICT naming the newer
// version. The change's diff against the current version is returned.
func (s *Service) Propose(ctx context.Context, in ProposeInput) (*Change, error) {
	rec := proposalRecord(in)
	var id int64
	err := s.audit.Do(ctx, "proposeConfigChange", fmt.Sprintf("cluster:%d", in.ClusterID), &rec, func(tx pgx.Tx) error {
		p, err := auth.RequireRole(ctx, auth.Operator, "proposing a configuration change")
		if err != nil {
			return err
		}
		if err := s.checkProposal(in); err != nil {
			return err
		}
		if err := lockCluster(ctx, tx, in.ClusterID); err != nil {
			return err
		}
		cur, err := currentVersion(ctx, tx, in.ClusterID)
		if err != nil {
			return err
		}
		if in.BaseVersion > cur || in.BaseVersion < 0 {
			return fault.Field("input.baseVersion", "cluster %d has no configuration version %d; the current one is %d", in.ClusterID, in.BaseVersion, cur)
		}
		if in.BaseVersion != cur {
			return staleBase(in.ClusterID, in.BaseVersion, cur)
		}
		scopes, err := groupScopes(ctx, tx, in.ClusterID)
		if err != nil {
			return err
		}
		keys := make([]fileKey, len(in.Files))
		for i, f := range in.Files {
			sc, ok := scopes[f.Group]
			if !ok {
				return fault.Field(fmt.Sprintf("input.files[%d].group", i), "cluster %d has no config group %q", in.ClusterID, f.Group)
			}
			keys[i] = fileKey{sc, f.Service, f.Path}
		}
		old, err := loadContents(ctx, tx, in.ClusterID, cur, keys)
		if err != nil {
			return err
		}
		changed := false
		for i, f := range in.Files {
			prev, had := old[keys[i]]
			if f.Content == nil && !had {
				return fault.Field(fmt.Sprintf("input.files[%d].path", i), "version %d has no file %s %s to remove", cur, f.Service, f.Path)
			}
			if f.Content == nil || !had || prev != *f.Content {
				changed = true
			}
		}
		if !changed {
			return fault.Field("input.files", "the change leaves every file as version %d has it", cur)
		}
		var required int
		if err := tx.QueryRow(ctx, `SELECT coalesce((SELECT required_approvals FROM config_policy WHERE cluster_id = $1), 1)`, in.ClusterID).Scan(&required); err != nil {
			return fmt.Errorf("error loading the approval policy of cluster %d: %w", in.ClusterID, err)
		}
		if err := tx.QueryRow(ctx, sqlChangeInsert, in.ClusterID, cur, p.PersonID, p.Login, in.Message, required).Scan(&id); err != nil {
			return db.Interpret(err, "configuration change")
		}
		scs, svcs, paths := make([]int64, len(keys)), make([]string, len(keys)), make([]string, len(keys))
		contents := make([]*string, len(keys))
		for i, k := range keys {
			scs[i], svcs[i], paths[i], contents[i] = k.scope, k.service, k.path, in.Files[i].Content
		}
		if _, err := tx.Exec(ctx, sqlChangeFilesInsert, id, scs, svcs, paths, contents); err != nil {
			return fmt.Errorf("error storing the files of configuration change %d: %w", id, err)
		}
		rec.ChangeID = id
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.loadChange(ctx, s.db, id, true)
}

func (s *Service) checkProposal(in ProposeInput) error {
	msg := strings.TrimSpace(in.Message)
	if msg == "" || len(msg) > 4000 {
		return fault.Field("input.message", "say what the change does and why, in 1 to 4,000 characters")
	}
	if len(in.Files) == 0 || len(in.Files) > maxFiles {
		return fault.Field("input.files", "give 1 to %d files, not %d", maxFiles, len(in.Files))
	}
	seen := map[string]int{}
	total := 0
	for i, f := range in.Files {
		field := fmt.Sprintf("input.files[%d]", i)
		if f.Content != nil {
			total += len(*f.Content)
			if total > maxChangeBytes {
				return fault.Field(field+".content", "a change carries at most %d bytes of files; split it", maxChangeBytes)
			}
		}
		if !serviceRe.MatchString(f.Service) {
			return fault.Field(field+".service", "service %q is not a service name (upper case, e.g. HDFS)", f.Service)
		}
		if err := checkPath(field+".path", f.Path); err != nil {
			return err
		}
		k := f.Group + "\x00" + f.Service + "\x00" + f.Path
		if j, ok := seen[k]; ok {
			return fault.Field(field+".path", "file %s %s is given twice (also input.files[%d])", f.Service, f.Path, j)
		}
		seen[k] = i
		if f.Content == nil {
			continue
		}
		if probs := s.registry.Validate(f.Service, f.Path, *f.Content); len(probs) > 0 {
			parts := make([]string, len(probs))
			for j, pr := range probs {
				parts[j] = pr.String()
			}
			return fault.Field(field+".content", "%s %s is not valid: %s", f.Service, f.Path, strings.Join(parts, "; "))
		}
	}
	return nil
}

type fileKey struct {
	scope   int64
	service string
	path    string
}

// groupScopes maps a cluster's group names to their scope ids ("" is the
// cluster default).
func groupScopes(ctx context.Context, q db.DBTX, cluster int64) (map[string]int64, error) {
	rows, err := q.Query(ctx, `SELECT name, id FROM config_group WHERE cluster_id = $1`, cluster)
	if err != nil {
		return nil, fmt.Errorf("error loading the config groups of cluster %d: %w", cluster, err)
	}
	out := map[string]int64{"": DefaultScope}
	var name string
	var id int64
	_, err = pgx.ForEachRow(rows, []any{&name, &id}, func() error { out[name] = id; return nil })
	if err != nil {
		return nil, fmt.Errorf("error loading the config groups of cluster %d: %w", cluster, err)
	}
	return out, nil
}

// loadContents reads the contents of some files of a version in one query.
func loadContents(ctx context.Context, q db.DBTX, cluster, version int64, keys []fileKey) (map[fileKey]string, error) {
	out := map[fileKey]string{}
	if version == 0 || len(keys) == 0 {
		return out, nil
	}
	scs, svcs, paths := make([]int64, len(keys)), make([]string, len(keys)), make([]string, len(keys))
	for i, k := range keys {
		scs[i], svcs[i], paths[i] = k.scope, k.service, k.path
	}
	rows, err := q.Query(ctx, sqlFileContents, cluster, version, scs, svcs, paths)
	if err != nil {
		return nil, fmt.Errorf("error loading files of version %d of cluster %d: %w", version, cluster, err)
	}
	var k fileKey
	var content string
	_, err = pgx.ForEachRow(rows, []any{&k.scope, &k.service, &k.path, &content}, func() error { out[k] = content; return nil })
	if err != nil {
		return nil, fmt.Errorf("error loading files of version %d of cluster %d: %w", version, cluster, err)
	}
	return out, nil
}

// ReviewInput is one reviewer's verdict.
type ReviewInput struct {
	ChangeID int64  `json:"changeId"`
	Approve  bool   `json:"approve"`
	Comment  string `json:"comment"`
}

// Review records a verdict on a change: OPERATOR or ADMIN, never the change's
// author approving their own change. One rejection rejects the change (its
// author proposes a new one); approvals from distinct people other than the
// author make it APPROVED once they reach the cluster's required number. A
// change whose base is not current any more is a CONFLICT naming the newer
// version. Reviewing again replaces the reviewer's earlier verdict.
func (s *Service) Review(ctx context.Context, in ReviewInput) (*Change, error) {
	target := fmt.Sprintf("configChange:%d", in.ChangeID)
	err := s.audit.Do(ctx, "reviewConfigChange", target, in, func(tx pgx.Tx) error {
		p, err := auth.RequireRole(ctx, auth.Operator, "reviewing a configuration change")
		if err != nil {
			return err
		}
		in.Comment = strings.TrimSpace(in.Comment)
		if len(in.Comment) > 4000 {
			return fault.Field("input.comment", "a comment has at most 4,000 characters")
		}
		if !in.Approve && in.Comment == "" {
			return fault.Field("input.comment", "say why the change is rejected")
		}
		ch, err := s.lockChange(ctx, tx, in.ChangeID)
		if err != nil {
			return err
		}
		if in.Approve && ch.AuthorID == p.PersonID {
			return fault.Forbiddenf("the author of configuration change %d cannot approve it: another person must", ch.ID)
		}
		if ch.State != ChangeProposed && ch.State != ChangeApproved {
			return fault.New(fault.Conflict, "configuration change %d is %s and takes no more reviews", ch.ID, ch.State)
		}
		cur, err := currentVersion(ctx, tx, ch.ClusterID)
		if err != nil {
			return err
		}
		if cur != ch.BaseVersion {
			return staleBase(ch.ClusterID, ch.BaseVersion, cur)
		}
		if _, err := tx.Exec(ctx, sqlReviewUpsert,
			ch.ID, p.PersonID, p.Login, in.Approve, in.Comment, s.now()); err != nil {
			return db.Interpret(err, "review")
		}
		// The state follows the reviews: any rejection rejects; enough
		// approvals from people other than the author approve.
		if _, err := tx.Exec(ctx, sqlChangeState, ch.ID, s.now()); err != nil {
			return fmt.Errorf("error updating configuration change %d: %w", ch.ID, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.loadChange(ctx, s.db, in.ChangeID, false)
}

// lockChange loads a change's row for update, after locking its cluster's
// configuration.
func (s *Service) lockChange(ctx context.Context, tx pgx.Tx, id int64) (*Change, error) {
	var cluster int64
	err := tx.QueryRow(ctx, `SELECT cluster_id FROM config_change WHERE id = $1`, id).Scan(&cluster)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fault.NotFoundf("configuration change %d not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("error loading configuration change %d: %w", id, err)
	}
	if err := lockCluster(ctx, tx, cluster); err != nil {
		return nil, err
	}
	ch := &Change{ID: id, ClusterID: cluster}
	err = tx.QueryRow(ctx, `SELECT base_version, state, author_id, author, message, required_approvals, applied_version
		FROM config_change WHERE id = $1 FOR UPDATE`, id).Scan(&ch.BaseVersion, &ch.State, &ch.AuthorID, &ch.Author,
		&ch.Message, &ch.RequiredApprovals, &ch.AppliedVersion)
	if err != nil {
		return nil, fmt.Errorf("error loading configuration change %d: %w", id, err)
	}
	return ch, nil
}

// Change returns one change with its reviews and its diff against its base:
// OPERATOR or ADMIN (configuration files can hold credentials).
func (s *Service) Change(ctx context.Context, id int64) (*Change, error) {
	if _, err := auth.RequireRole(ctx, auth.Operator, "reading configuration changes"); err != nil {
		return nil, err
	}
	return s.loadChange(ctx, s.db, id, true)
}

func (s *Service) loadChange(ctx context.Context, q db.DBTX, id int64, withDiff bool) (*Change, error) {
	ch := &Change{ID: id}
	err := q.QueryRow(ctx, sqlChangeByID, id).Scan(&ch.ClusterID, &ch.BaseVersion, &ch.State, &ch.AuthorID, &ch.Author,
		&ch.Message, &ch.RequiredApprovals, &ch.AppliedVersion, &ch.CreatedAt, &ch.Approvals)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fault.NotFoundf("configuration change %d not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("error loading configuration change %d: %w", id, err)
	}
	rows, err := q.Query(ctx, sqlChangeFiles, id)
	if err != nil {
		return nil, fmt.Errorf("error loading configuration change %d: %w", id, err)
	}
	var keys []fileKey
	var fc FileChange
	var scope int64
	if _, err := pgx.ForEachRow(rows, []any{&fc.Group, &scope, &fc.Service, &fc.Path, &fc.Content}, func() error {
		ch.Files = append(ch.Files, fc)
		keys = append(keys, fileKey{scope, fc.Service, fc.Path})
		return nil
	}); err != nil {
		return nil, fmt.Errorf("error loading configuration change %d: %w", id, err)
	}
	rows, err = q.Query(ctx, sqlChangeReviews, id)
	if err != nil {
		return nil, fmt.Errorf("error loading the reviews of configuration change %d: %w", id, err)
	}
	var r Review
	if _, err := pgx.ForEachRow(rows, []any{&r.ReviewerID, &r.Reviewer, &r.Approve, &r.Comment, &r.At}, func() error {
		ch.Reviews = append(ch.Reviews, r)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("error loading the reviews of configuration change %d: %w", id, err)
	}
	if withDiff {
		old, err := loadContents(ctx, q, ch.ClusterID, ch.BaseVersion, keys)
		if err != nil {
			return nil, err
		}
		for i, f := range ch.Files {
			prev := old[keys[i]]
			next := ""
			if f.Content != nil {
				next = *f.Content
			}
			ch.Diffs = append(ch.Diffs, FileDiff{Group: f.Group, Service: f.Service, Path: f.Path,
				Diff: UnifiedDiff(diffName(f.Group, f.Service, f.Path), prev, next)})
		}
	}
	return ch, nil
}

// diffName is a file's path in the git mirror, relative to its cluster.
func diffName(group, service, p string) string {
	if group == "" {
		return "default/" + service + "/" + p
	}
	return "groups/" + group + "/" + service + "/" + p
}

// SetRequiredApprovals sets how many approvals a cluster's changes need
// (1 to 10): ADMIN only, as it is the review policy itself. It applies to
// changes proposed from then on.
func (s *Service) SetRequiredApprovals(ctx context.Context, cluster int64, n int) error {
	return s.audit.Do(ctx, "setRequiredConfigApprovals", fmt.Sprintf("cluster:%d", cluster), map[string]int{"requiredApprovals": n}, func(tx pgx.Tx) error {
		if _, err := auth.RequireRole(ctx, auth.Admin, "setting the approvals configuration changes need"); err != nil {
			return err
		}
		if n < 1 || n > 10 {
			return fault.Field("input.requiredApprovals", "give 1 to 10 approvals, not %d", n)
		}
		if _, err := currentVersion(ctx, tx, cluster); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, sqlPolicyUpsert, cluster, n)
		if err != nil {
			return fmt.Errorf("error setting the approval policy of cluster %d: %w", cluster, err)
		}
		return nil
	})
}
