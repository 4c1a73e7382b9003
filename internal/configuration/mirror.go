package configuration

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/go-git/go-billy/v5/memfs"
	"github.com/go-git/go-billy/v5/util"
	"github.com/go-git/go-git/v5"
	gitconfig "github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/storage/memory"
	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/internal/db"
)

// MirrorConfig says where the git mirror pushes.
type MirrorConfig struct {
	// RemoteURL is the git remote: a bare repository's path on one machine
	// (pushed through git's own upload-pack and receive-pack, so git must be
	// installed), or any git server's URL in production.
	RemoteURL string
	// Branch is the branch versions are committed to (default "main").
	Branch string
	// Auth authenticates to the remote (nil: none, e.g. a path).
	Auth transport.AuthMethod
	// BatchSize bounds the versions pushed per run (default 100).
	BatchSize int
	// Timeout bounds a run (default 2 minutes).
	Timeout time.Duration
}

// Mirror pushes every configuration version as a commit to a git remote, so
// people can clone, diff and blame configuration with ordinary git. It
// reads the config_git_outbox in id order; a version is marked pushed only
// after the remote accepted its commit, so a remote that is down only
// delays the mirror: the versions wait in PostgreSQL, and the next run
// after the remote returns pushes them all, in order.
//
// Each run clones the branch into memory (replicas keep no state), finds
// the last outbox id the remote has from the Tesla-Outbox trailer of its
// head commit, commits the pending versions on top and pushes once. Runs
// are serialised across replicas by an advisory lock.
type Mirror struct {
	db     db.DBTX
	cfg    MirrorConfig
	logger *slog.Logger
	// remote names the remote in messages, secrets the credentials its URL
	// may carry (https://user:token@host/…), which no message may.
	remote  string
	secrets []string
}

// NewMirror returns a mirror of the versions in q to cfg.RemoteURL.
func NewMirror(q db.DBTX, cfg MirrorConfig, logger *slog.Logger) *Mirror {
	cfg.Branch = cmp.Or(cfg.Branch, "main")
	cfg.BatchSize = cmp.Or(cfg.BatchSize, 100)
	cfg.Timeout = cmp.Or(cfg.Timeout, 2*time.Minute)
	m := &Mirror{db: q, cfg: cfg, logger: logger, remote: cfg.RemoteURL}
	if u, err := url.Parse(cfg.RemoteURL); err == nil && u.User != nil {
		// A run's error is logged, kept on the outbox rows and in the
		// scheduler's runs, which anyone signed in reads.
		u2 := *u
		u2.User = url.User("xxxxx")
		m.remote = u2.String()
		if pw, ok := u.User.Password(); ok && pw != "" {
			m.secrets = append(m.secrets, pw)
		} else if u.Scheme == "http" || u.Scheme == "https" {
			// A token given as the user name, as some git servers take it.
			m.secrets = append(m.secrets, u.User.Username())
		}
		m.secrets = append(m.secrets, u.User.String())
	}
	return m
}

// redact returns err with the remote's credentials cut from its text,
// whichever layer (ours, go-git's, net/http's) put them there.
func (m *Mirror) redact(err error) error {
	if err == nil || len(m.secrets) == 0 {
		return err
	}
	s := err.Error()
	for _, secret := range m.secrets {
		if secret != "" {
			s = strings.ReplaceAll(s, secret, "xxxxx")
		}
	}
	if s == err.Error() {
		return err
	}
	return errors.New(s)
}

// MirrorResult counts what a run did.
type MirrorResult struct {
	Pushed  int
	Pending int
}

// mirrorLock serialises mirror runs across replicas.
const mirrorLock = 7305_3201

// trailerOutbox is the trailer that ties a commit to its outbox row.
const trailerOutbox = "Tesla-Outbox: "

type pendingVersion struct {
	outboxID int64
	cluster  int64
	version  int64
}

// RunOnce pushes the pending versions (at most BatchSize). When the remote
// cannot be reached it records the error on the pending rows and returns
// it; nothing is lost.
func (m *Mirror) RunOnce(ctx context.Context) (MirrorResult, error) {
	if m.cfg.RemoteURL == "" {
		return MirrorResult{}, errors.New("the git mirror has no remote URL configured")
	}
	ctx, cancel := context.WithTimeout(ctx, m.cfg.Timeout)
	defer cancel()
	var res MirrorResult
	var runErr error
	err := db.InTx(ctx, m.db, func(tx pgx.Tx) error {
		var got bool
		if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1)`, int64(mirrorLock)).Scan(&got); err != nil {
			return fmt.Errorf("error locking the git mirror: %w", err)
		}
		if !got {
			return nil
		}
		rows, err := tx.Query(ctx, sqlOutboxPending, m.cfg.BatchSize)
		if err != nil {
			return fmt.Errorf("error loading the git outbox: %w", err)
		}
		var pending []pendingVersion
		var p pendingVersion
		if _, err := pgx.ForEachRow(rows, []any{&p.outboxID, &p.cluster, &p.version}, func() error {
			pending = append(pending, p)
			return nil
		}); err != nil {
			return fmt.Errorf("error loading the git outbox: %w", err)
		}
		res.Pending = len(pending)
		if len(pending) == 0 {
			return nil
		}
		hashes, err := m.push(ctx, tx, pending)
		err = m.redact(err)
		if err != nil {
			// Recorded in this transaction, which commits: the rows stay
			// pending with their error for the next run and the UI.
			runErr = err
			ids := make([]int64, len(pending))
			for i, p := range pending {
				ids[i] = p.outboxID
			}
			_, uerr := tx.Exec(ctx, sqlOutboxFailed,
				ids, truncateError(err.Error()))
			if uerr != nil {
				return fmt.Errorf("error recording a failed push: %w", uerr)
			}
			return nil
		}
		ids := make([]int64, 0, len(hashes))
		hs := make([]string, 0, len(hashes))
		for id, h := range hashes {
			ids, hs = append(ids, id), append(hs, h)
		}
		if _, err := tx.Exec(ctx, sqlOutboxPushed, ids, hs); err != nil {
			return fmt.Errorf("error marking versions pushed: %w", err)
		}
		res.Pushed = len(ids)
		res.Pending -= len(ids)
		return nil
	})
	if err == nil {
		err = runErr
	}
	level := slog.LevelInfo
	if err != nil {
		level = slog.LevelWarn
	}
	m.logger.Log(ctx, level, "config git mirror run", "pushed", res.Pushed, "pending", res.Pending, "error", errString(err))
	return res, err
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func truncateError(s string) string {
	if len(s) > 2000 {
		return s[:2000]
	}
	return s
}

// push commits the pending versions the remote lacks and pushes them; it
// returns the commit of every pending outbox row (rows the remote had
// already get the remote's head).
func (m *Mirror) push(ctx context.Context, q db.DBTX, pending []pendingVersion) (map[int64]string, error) {
	branch := plumbing.NewBranchReferenceName(m.cfg.Branch)
	fs := memfs.New()
	repo, err := git.CloneContext(ctx, memory.NewStorage(), fs, &git.CloneOptions{
		URL: m.cfg.RemoteURL, Auth: m.cfg.Auth, ReferenceName: branch, SingleBranch: true,
	})
	empty := errors.Is(err, transport.ErrEmptyRemoteRepository) ||
		(err != nil && strings.Contains(err.Error(), "couldn't find remote ref"))
	if empty {
		repo, err = git.Init(memory.NewStorage(), fs)
		if err == nil {
			_, err = repo.CreateRemote(&gitconfig.RemoteConfig{Name: "origin", URLs: []string{m.cfg.RemoteURL}})
		}
		if err == nil {
			// The first commit goes to the configured branch.
			err = repo.Storer.SetReference(plumbing.NewSymbolicReference(plumbing.HEAD, branch))
		}
	}
	if err != nil {
		return nil, fmt.Errorf("git remote %s: %w", m.remote, err)
	}
	var last int64
	var headHash string
	if !empty {
		head, err := repo.Head()
		if err != nil {
			return nil, fmt.Errorf("git remote %s: reading its head: %w", m.remote, err)
		}
		c, err := repo.CommitObject(head.Hash())
		if err != nil {
			return nil, fmt.Errorf("git remote %s: reading its head: %w", m.remote, err)
		}
		last = outboxTrailer(c.Message)
		headHash = head.Hash().String()
	}
	w, err := repo.Worktree()
	if err != nil {
		return nil, fmt.Errorf("git worktree: %w", err)
	}
	out := map[int64]string{}
	committed := 0
	for _, p := range pending {
		if p.outboxID <= last {
			// Pushed by an earlier run whose mark did not commit.
			out[p.outboxID] = headHash
			continue
		}
		meta, err := loadCommitMeta(ctx, q, p)
		if err != nil {
			return nil, err
		}
		files, err := versionFiles(ctx, q, p.cluster, p.version)
		if err != nil {
			return nil, err
		}
		dir := meta.cluster
		if err := util.RemoveAll(fs, dir); err != nil {
			return nil, fmt.Errorf("git worktree: %w", err)
		}
		for _, f := range files {
			name := path.Join(dir, diffName(f.Group, f.Service, f.Path))
			if f.Group == "" && f.Scope != DefaultScope {
				// A deleted group's files stay under its id.
				name = path.Join(dir, "groups", "group-"+strconv.FormatInt(f.Scope, 10), f.Service, f.Path)
			}
			if err := util.WriteFile(fs, name, []byte(f.Content), 0o644); err != nil {
				return nil, fmt.Errorf("git worktree: %w", err)
			}
		}
		if err := w.AddWithOptions(&git.AddOptions{All: true}); err != nil {
			return nil, fmt.Errorf("git add: %w", err)
		}
		h, err := w.Commit(meta.message(p.outboxID), &git.CommitOptions{
			All:               true,
			AllowEmptyCommits: true,
			Author:            &object.Signature{Name: meta.authorName, Email: meta.authorEmail, When: meta.at},
			Committer:         &object.Signature{Name: "Tesla", Email: "tesla@localhost", When: meta.at},
		})
		if err != nil {
			return nil, fmt.Errorf("git commit: %w", err)
		}
		out[p.outboxID] = h.String()
		committed++
	}
	if committed > 0 {
		err := repo.PushContext(ctx, &git.PushOptions{
			RemoteName: "origin", Auth: m.cfg.Auth,
			RefSpecs: []gitconfig.RefSpec{gitconfig.RefSpec(branch + ":" + branch)},
		})
		if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
			return nil, fmt.Errorf("git push to %s: %w", m.remote, err)
		}
	}
	return out, nil
}

// outboxTrailer returns the outbox id a commit message carries (0: none).
func outboxTrailer(msg string) int64 {
	for _, l := range strings.Split(msg, "\n") {
		if v, ok := strings.CutPrefix(l, trailerOutbox); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}

type commitMeta struct {
	cluster     string
	version     int64
	changeID    *int64
	rollbackOf  *int64
	authorName  string
	authorEmail string
	text        string
	at          time.Time
	approvals   []string
}

func loadCommitMeta(ctx context.Context, q db.DBTX, p pendingVersion) (*commitMeta, error) {
	m := &commitMeta{version: p.version}
	err := q.QueryRow(ctx, sqlCommitMeta, p.cluster, p.version).Scan(&m.cluster, &m.changeID, &m.rollbackOf,
		&m.authorName, &m.authorEmail, &m.text, &m.at)
	if err != nil {
		return nil, fmt.Errorf("error loading version %d of cluster %d: %w", p.version, p.cluster, err)
	}
	if m.changeID != nil {
		rows, err := q.Query(ctx, sqlCommitApprovals, *m.changeID)
		if err != nil {
			return nil, fmt.Errorf("error loading the reviews of version %d of cluster %d: %w", p.version, p.cluster, err)
		}
		m.approvals, err = pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return nil, fmt.Errorf("error loading the reviews of version %d of cluster %d: %w", p.version, p.cluster, err)
		}
	}
	return m, nil
}

// message is the commit message: the version's own message, then trailers
// naming the cluster, version, change, approving reviewers and the outbox
// row (how the next run knows what the remote has).
func (m *commitMeta) message(outbox int64) string {
	var b strings.Builder
	b.WriteString(strings.TrimSpace(m.text))
	b.WriteString("\n\n")
	fmt.Fprintf(&b, "Tesla-Cluster: %s\nTesla-Config-Version: %d\n", m.cluster, m.version)
	if m.changeID != nil {
		fmt.Fprintf(&b, "Tesla-Change: %d\n", *m.changeID)
	}
	if m.rollbackOf != nil {
		fmt.Fprintf(&b, "Tesla-Rollback-Of: %d\n", *m.rollbackOf)
	}
	for _, a := range m.approvals {
		fmt.Fprintf(&b, "Approved-by: %s\n", a)
	}
	fmt.Fprintf(&b, "%s%d\n", trailerOutbox, outbox)
	return b.String()
}
