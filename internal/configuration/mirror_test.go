package configuration_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/configuration"
)

// Every version becomes a commit on the remote with its author, message and
// approving reviews. While the remote is unreachable the versions stay
// pending in PostgreSQL with the error recorded; when it returns, one run
// pushes them all, in order, and ordinary git can read them.
func TestMirrorPushesVersionsAndSurvivesADownRemote(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	remote := filepath.Join(t.TempDir(), "config.git")
	// As `git init --bare --initial-branch=main`: a clone checks out main.
	_, err := git.PlainInitWithOptions(remote, &git.PlainInitOptions{Bare: true, InitOptions: git.InitOptions{DefaultBranch: plumbing.Main}})
	require.NoError(t, err)
	m := configuration.NewMirror(e.pool, configuration.MirrorConfig{RemoteURL: remote}, slog.New(slog.DiscardHandler))

	res, err := m.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, configuration.MirrorResult{}, res, "nothing to push")

	v1 := hdfsSite("dfs.replication", "3")
	e.ship(t, 0, configuration.FileChange{Service: "HDFS", Path: "hdfs-site.xml", Content: &v1})
	res, err = m.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, configuration.MirrorResult{Pushed: 1}, res)

	// The remote goes away; two more versions are made meanwhile.
	require.NoError(t, os.Rename(remote, remote+".away"))
	v2 := hdfsSite("dfs.replication", "2")
	e.ship(t, 1, configuration.FileChange{Service: "HDFS", Path: "hdfs-site.xml", Content: &v2},
		configuration.FileChange{Service: "YARN", Path: "yarn-site.xml", Content: ptr("<configuration/>\n")})
	_, err = e.svc.Rollback(e.ops, configuration.RollbackInput{ClusterID: e.cluster, ToVersion: 1, Reason: "blocks under-replicated"})
	require.NoError(t, err)
	res, err = m.RunOnce(ctx)
	require.Error(t, err)
	require.Equal(t, 2, res.Pending)
	var attempts int
	var lastErr string
	require.NoError(t, e.pool.QueryRow(ctx, `SELECT min(attempts), min(last_error) FROM config_git_outbox WHERE pushed_at IS NULL`).Scan(&attempts, &lastErr))
	require.Equal(t, 1, attempts)
	require.Contains(t, lastErr, remote)

	// It returns: both are pushed in one run.
	require.NoError(t, os.Rename(remote+".away", remote))
	res, err = m.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, configuration.MirrorResult{Pushed: 2}, res)
	res, err = m.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, configuration.MirrorResult{}, res)

	// A run whose push succeeded but whose marks were lost is repaired from
	// the head commit's trailer, without committing twice.
	_, err = e.pool.Exec(ctx, `UPDATE config_git_outbox SET pushed_at = NULL WHERE version > 1`)
	require.NoError(t, err)
	res, err = m.RunOnce(ctx)
	require.NoError(t, err)
	require.Equal(t, configuration.MirrorResult{Pushed: 2}, res)

	// A clone with ordinary git shows three commits, newest first.
	clone := filepath.Join(t.TempDir(), "clone")
	repo, err := git.PlainClone(clone, false, &git.CloneOptions{URL: remote})
	require.NoError(t, err)
	iter, err := repo.Log(&git.LogOptions{})
	require.NoError(t, err)
	var commits []*object.Commit
	require.NoError(t, iter.ForEach(func(c *object.Commit) error { commits = append(commits, c); return nil }))
	require.Len(t, commits, 3)
	require.Equal(t, "Otto Operator", commits[0].Author.Name, "the rollback's author")
	require.Contains(t, commits[0].Message, "Roll back to version 1\n\nblocks under-replicated\n")
	require.Contains(t, commits[0].Message, "Tesla-Config-Version: 3\nTesla-Rollback-Of: 1\n")
	require.Equal(t, "Otto Operator", commits[1].Author.Name)
	require.Equal(t, "ops@example.com", commits[1].Author.Email)
	require.Contains(t, commits[1].Message, "tune\n\nTesla-Cluster: batch-wh-1\nTesla-Config-Version: 2\n")
	require.Contains(t, commits[1].Message, "Approved-by: Ada Admin <admin@example.com>\n")
	// Version 3 restores version 1: its tree is version 1's.
	require.Equal(t, commits[2].TreeHash, commits[0].TreeHash)
	content, err := os.ReadFile(filepath.Join(clone, "batch-wh-1", "default", "HDFS", "hdfs-site.xml"))
	require.NoError(t, err)
	require.Equal(t, v1, string(content))
	_, err = os.Stat(filepath.Join(clone, "batch-wh-1", "default", "YARN", "yarn-site.xml"))
	require.True(t, os.IsNotExist(err), "the rollback removed the file version 2 added")
	// And git diff between the commits is the change.
	patch, err := commits[2].Patch(commits[1])
	require.NoError(t, err)
	require.True(t, strings.Contains(patch.String(), "-    <value>3</value>\n+    <value>2</value>"), patch.String())
}

// A remote URL may carry the git server's credentials
// (https://user:token@host/…). A run's error is logged, kept on the outbox
// rows and in the scheduler's runs, which anyone signed in reads: none of
// them may hold the token, whichever layer wrote the message.
func TestMirrorErrorsDoNotCarryTheRemotesCredentials(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down for maintenance", http.StatusInternalServerError)
	}))
	defer down.Close()
	v1 := hdfsSite("dfs.replication", "3")
	e.ship(t, 0, configuration.FileChange{Service: "HDFS", Path: "hdfs-site.xml", Content: &v1})
	host := strings.TrimPrefix(down.URL, "http://")
	for _, remote := range []string{
		"http://tesla:s3cret-token@" + host + "/config.git",
		"http://s3cret-token@" + host + "/config.git",
		"http://tesla:s3cret-token@127.0.0.1:1/config.git",
	} {
		m := configuration.NewMirror(e.pool, configuration.MirrorConfig{RemoteURL: remote}, slog.New(slog.DiscardHandler))
		_, err := m.RunOnce(ctx)
		require.Error(t, err, remote)
		require.NotContains(t, err.Error(), "s3cret-token", remote)
		var lastErr string
		require.NoError(t, e.pool.QueryRow(ctx, `SELECT last_error FROM config_git_outbox WHERE pushed_at IS NULL`).Scan(&lastErr))
		require.NotContains(t, lastErr, "s3cret-token", remote)
		require.Contains(t, lastErr, "/config.git", "the remote is still named")
	}
}
