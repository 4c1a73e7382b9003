package yarn

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/teslaops/tesla/internal/audit"
	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db"
	"github.com/teslaops/tesla/internal/fault"
)

// TargetInput names a cluster and the base URL of its ResourceManager, e.g.
// http://rm.example.com:8088.
type TargetInput struct {
	Cluster string `json:"cluster"`
	URL     string `json:"url"`
}

// Target is a cluster's ResourceManager and the poller's state.
type Target struct {
	ClusterID         int64
	Cluster           string
	URL               string
	Status            string
	Failures          int
	NextAttemptAt     time.Time
	LastSuccessAt     *time.Time
	LastError         string
	FinishedWatermark *time.Time
}

// Service sets and lists the ResourceManagers polled, checking the caller.
type Service struct {
	dbtx db.DBTX
}

// NewService returns a Service over dbtx.
func NewService(dbtx db.DBTX) *Service { return &Service{dbtx: dbtx} }

// checkURL accepts an http(s) base URL without query or fragment and returns
// it without a trailing slash. User information is refused: the URL is shown
// to operators and kept in the audit log.
func checkURL(raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return "", fault.Field("input.url", "url must be the ResourceManager's http(s) address, e.g. http://rm.example.com:8088, not %q", clip(raw, 100))
	case u.User != nil:
		return "", fault.Field("input.url", "url must not carry credentials")
	case u.RawQuery != "" || u.Fragment != "":
		return "", fault.Field("input.url", "url must be the ResourceManager's base address, without query or fragment")
	}
	return strings.TrimRight(u.String(), "/"), nil
}

// SetTarget sets the ResourceManager of a cluster (operators and admins). A
// new or changed URL is polled at once; the finished-application watermark is
// kept, so pointing a cluster at its standby ResourceManager re-reads nothing.
// Audited as setYarnTarget.
func (s *Service) SetTarget(ctx context.Context, log *audit.Log, in TargetInput) (*Target, error) {
	var out *Target
	err := log.Do(ctx, "setYarnTarget", "cluster:"+in.Cluster, in, func(tx pgx.Tx) error {
		if _, err := auth.RequireRole(ctx, auth.Operator, "setting a cluster's ResourceManager"); err != nil {
			return err
		}
		var err error
		out, err = setTarget(ctx, tx, in)
		return err
	})
	return out, err
}

// SetTargetAsOperator is SetTarget for the operator of the machine (`tesla
// yarn add`), who holds the database and so every right; audited as
// cli.setYarnTarget.
func (s *Service) SetTargetAsOperator(ctx context.Context, log *audit.Log, in TargetInput) (*Target, error) {
	var out *Target
	err := log.Do(ctx, "cli.setYarnTarget", "cluster:"+in.Cluster, in, func(tx pgx.Tx) error {
		var err error
		out, err = setTarget(ctx, tx, in)
		return err
	})
	return out, err
}

func setTarget(ctx context.Context, tx pgx.Tx, in TargetInput) (*Target, error) {
	u, err := checkURL(in.URL)
	if err != nil {
		return nil, err
	}
	var clusterID int64
	if err := tx.QueryRow(ctx, `SELECT id FROM cluster WHERE name = $1`, in.Cluster).Scan(&clusterID); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, fault.Field("input.cluster", "cluster %q not found", in.Cluster)
		}
		return nil, fmt.Errorf("error loading cluster: %w", err)
	}
	if _, err := tx.Exec(ctx, `
INSERT INTO yarn_target (cluster_id, url) VALUES ($1, $2)
ON CONFLICT (cluster_id) DO UPDATE SET url = EXCLUDED.url, status = 'PENDING', failures = 0,
    last_error = '', next_attempt_at = now(), updated_at = now()
WHERE yarn_target.url <> EXCLUDED.url`, clusterID, u); err != nil {
		return nil, fmt.Errorf("error saving ResourceManager: %w", db.Interpret(err, "yarn target"))
	}
	ts, err := loadTargets(ctx, tx, &clusterID)
	if err != nil || len(ts) == 0 {
		return nil, cmpErr(err, errors.New("ResourceManager missing after saving"))
	}
	return ts[0], nil
}

func cmpErr(err, def error) error {
	if err != nil {
		return err
	}
	return def
}

// RemoveTarget stops polling a cluster (operators and admins); what was
// stored stays. Audited as removeYarnTarget.
func (s *Service) RemoveTarget(ctx context.Context, log *audit.Log, cluster string) error {
	return log.Do(ctx, "removeYarnTarget", "cluster:"+cluster, map[string]string{"cluster": cluster}, func(tx pgx.Tx) error {
		if _, err := auth.RequireRole(ctx, auth.Operator, "removing a cluster's ResourceManager"); err != nil {
			return err
		}
		return removeTarget(ctx, tx, cluster)
	})
}

// RemoveTargetAsOperator is RemoveTarget for `tesla yarn remove`.
func (s *Service) RemoveTargetAsOperator(ctx context.Context, log *audit.Log, cluster string) error {
	return log.Do(ctx, "cli.removeYarnTarget", "cluster:"+cluster, map[string]string{"cluster": cluster}, func(tx pgx.Tx) error {
		return removeTarget(ctx, tx, cluster)
	})
}

func removeTarget(ctx context.Context, tx pgx.Tx, cluster string) error {
	tag, err := tx.Exec(ctx, `DELETE FROM yarn_target t USING cluster c WHERE c.id = t.cluster_id AND c.name = $1`, cluster)
	if err != nil {
		return fmt.Errorf("error removing ResourceManager: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fault.NotFoundf("cluster %q has no ResourceManager set", cluster)
	}
	return nil
}

// Targets lists the ResourceManagers polled and their state (operators and
// admins: the URLs are infrastructure addresses).
func (s *Service) Targets(ctx context.Context) ([]*Target, error) {
	if _, err := auth.RequireRole(ctx, auth.Operator, "reading the ResourceManagers polled"); err != nil {
		return nil, err
	}
	return loadTargets(ctx, s.dbtx, nil)
}

// ListTargets is Targets for the machine's operator (`tesla yarn list`).
func (s *Service) ListTargets(ctx context.Context) ([]*Target, error) {
	return loadTargets(ctx, s.dbtx, nil)
}

func loadTargets(ctx context.Context, q db.DBTX, clusterID *int64) ([]*Target, error) {
	rows, err := q.Query(ctx, `
SELECT t.cluster_id, c.name, t.url, t.status, t.failures, t.next_attempt_at, t.last_success_at, t.last_error, t.finished_watermark
FROM yarn_target t JOIN cluster c ON c.id = t.cluster_id
WHERE $1::bigint IS NULL OR t.cluster_id = $1
ORDER BY c.name`, clusterID)
	if err != nil {
		return nil, fmt.Errorf("error loading ResourceManagers: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*Target, error) {
		var t Target
		err := row.Scan(&t.ClusterID, &t.Cluster, &t.URL, &t.Status, &t.Failures, &t.NextAttemptAt,
			&t.LastSuccessAt, &t.LastError, &t.FinishedWatermark)
		return &t, err
	})
	if err != nil {
		return nil, fmt.Errorf("error loading ResourceManagers: %w", err)
	}
	return out, nil
}
