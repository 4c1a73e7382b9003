package inventory

import (
	"context"
	"fmt"

	"github.com/teslaops/tesla/internal/db"
)

// ConfigStamp says that the components of one service on one host now run
// configuration version Version of their cluster.
type ConfigStamp struct {
	HostID  int64
	Service string
	Version int64
}

// StampConfigVersions records a batch of stamps in one statement, in q (the
// transaction that records what wrote the files, so both commit together).
// A stamp never lowers a component's version: a late report of an older
// rollout cannot mark a host current that is not. It returns the components
// changed.
func StampConfigVersions(ctx context.Context, q db.DBTX, stamps []ConfigStamp) (int64, error) {
	if len(stamps) == 0 {
		return 0, nil
	}
	hosts := make([]int64, len(stamps))
	services := make([]string, len(stamps))
	versions := make([]int64, len(stamps))
	for i, s := range stamps {
		hosts[i], services[i], versions[i] = s.HostID, s.Service, s.Version
	}
	tag, err := q.Exec(ctx, `UPDATE host_component c SET config_version = u.version
		FROM unnest($1::bigint[], $2::text[], $3::bigint[]) AS u(host_id, service, version)
		WHERE c.host_id = u.host_id AND c.service = u.service AND c.config_version < u.version`, hosts, services, versions)
	if err != nil {
		return 0, fmt.Errorf("error stamping configuration versions: %w", err)
	}
	return tag.RowsAffected(), nil
}

// LowerConfigVersions marks components as behind: each named service's
// components on the host drop to Version when they are above it. A config
// group's membership change does this for the hosts whose effective files
// it changed, so they are listed stale until a CONFIG_APPLY writes the
// files they should now have. It returns the components changed.
func LowerConfigVersions(ctx context.Context, q db.DBTX, stamps []ConfigStamp) (int64, error) {
	if len(stamps) == 0 {
		return 0, nil
	}
	hosts := make([]int64, len(stamps))
	services := make([]string, len(stamps))
	versions := make([]int64, len(stamps))
	for i, s := range stamps {
		hosts[i], services[i], versions[i] = s.HostID, s.Service, s.Version
	}
	tag, err := q.Exec(ctx, `UPDATE host_component c SET config_version = u.version
		FROM unnest($1::bigint[], $2::text[], $3::bigint[]) AS u(host_id, service, version)
		WHERE c.host_id = u.host_id AND c.service = u.service AND c.config_version > u.version`, hosts, services, versions)
	if err != nil {
		return 0, fmt.Errorf("error marking configuration versions behind: %w", err)
	}
	return tag.RowsAffected(), nil
}
