package jobs

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/teslaops/tesla/internal/configuration"
)

// configMirrorJob pushes configuration versions not yet pushed to the git
// remote, oldest first (configuration.Mirror): each a commit with its
// author, message and approving reviewers. A remote that is down leaves them
// waiting in PostgreSQL for the next run. Without a remote it does nothing
// (off in the details). Rows counts the versions pushed.
func configMirrorJob(pool *pgxpool.Pool, spec func(name, description string) Spec, cfg configuration.MirrorConfig) Job {
	return New(spec(NameConfigMirror, "Pushes each new configuration version to the git remote as a commit, so people can clone, diff and blame it with git; versions wait in PostgreSQL while the remote is down."),
		func(ctx context.Context) (Result, error) {
			if cfg.RemoteURL == "" {
				return Result{Details: map[string]any{"off": true}}, nil
			}
			res, err := configuration.NewMirror(pool, cfg, nil).RunOnce(ctx)
			if err != nil {
				return Result{}, fmt.Errorf("error pushing configuration versions: %w", err)
			}
			return Result{Rows: int64(res.Pushed), Details: map[string]any{"pushed": res.Pushed, "pending": res.Pending}}, nil
		})
}
