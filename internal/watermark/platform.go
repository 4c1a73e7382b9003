package watermark

import (
	"context"
	"slices"
	"strconv"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/notify"
)

// ClusterLevels is one cluster's current levels and the worst of them.
type ClusterLevels struct {
	ClusterID int64
	Levels    []Level
	// Worst is the level closest to (or furthest over) its threshold, one of
	// Levels; nil when the cluster has no levels yet.
	Worst *Level
}

// Severity orders levels by how close they are to, or how far over, their
// threshold: utilisation over threshold, -1 for no level.
func Severity(l *Level) float64 {
	if l == nil || l.Threshold <= 0 {
		return -1
	}
	return l.Utilization / l.Threshold
}

// worstOf gathers a cluster's levels with the worst of them.
func worstOf(id int64, ls []Level) ClusterLevels {
	cl := ClusterLevels{ClusterID: id, Levels: ls}
	for i := range ls {
		if Severity(&ls[i]) > Severity(cl.Worst) {
			cl.Worst = &ls[i]
		}
	}
	return cl
}

// Platform returns the current levels of the given clusters (dims empty: every
// dimension), most at risk first by their worst level; clusters equally at risk
// keep the order given, so a caller listing clusters by name gets them by name.
func (s *Service) Platform(ctx context.Context, clusterIDs []int64, dims []Dimension) ([]ClusterLevels, error) {
	now, err := s.Now(ctx, clusterIDs, dims)
	if err != nil {
		return nil, err
	}
	out := make([]ClusterLevels, len(clusterIDs))
	for i, id := range clusterIDs {
		out[i] = worstOf(id, now[id])
	}
	slices.SortStableFunc(out, func(a, b ClusterLevels) int {
		switch sa, sb := Severity(a.Worst), Severity(b.Worst); {
		case sa > sb:
			return -1
		case sa < sb:
			return 1
		}
		return 0
	})
	return out, nil
}

// Cluster returns one cluster's current levels in every dimension with the worst
// of them.
func (s *Service) Cluster(ctx context.Context, clusterID int64) (ClusterLevels, error) {
	now, err := s.Now(ctx, []int64{clusterID}, nil)
	if err != nil {
		return ClusterLevels{}, err
	}
	return worstOf(clusterID, now[clusterID]), nil
}

// Watch sends the cluster's current levels at once, then again after each rollup
// that touched the cluster (and after a resync of the events, which may have lost
// one), until ctx ends: a screen never waits a rollup interval for its first
// picture. A failed reload is logged and skipped; the next rollup tries again.
func (s *Service) Watch(ctx context.Context, clusterID int64) (<-chan ClusterLevels, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	// Listen before loading, so a rollup between the two is not missed.
	events := s.events.Subscribe(ctx, ChannelWatermark)
	first, err := s.Cluster(ctx, clusterID)
	if err != nil {
		return nil, err
	}
	want := strconv.FormatInt(clusterID, 10)
	out := make(chan ClusterLevels, 1)
	out <- first
	go func() {
		defer close(out)
		for ev := range events {
			if !ev.Resync && ev.Payload != want {
				continue
			}
			cl, err := s.Cluster(ctx, clusterID)
			if err != nil {
				if ctx.Err() == nil {
					s.logger.WarnContext(ctx, "watermark subscription update failed", "cluster_id", clusterID, "error", err)
				}
				continue
			}
			select {
			case out <- cl:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

// Events is where a Service hears of rollups: the replica's notify.Listener.
type Events interface {
	Subscribe(ctx context.Context, channel string) <-chan notify.Event
}
