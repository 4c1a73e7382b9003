// Package platform is the platform-wide picture: inventory totals, every
// cluster's water level, risks and sick hosts, gathered from the inventory and
// watermark services into a View whose figures are each computed only when asked,
// and at most once per View. A query gets a View of its own; a platform pulse
// gets one per beat, shared by every subscriber of the replica (see Pulse).
//
// Every figure is platform data every signed-in role may see, which is what makes
// sharing one computation between subscribers safe: each caller is still checked
// for a principal, but no caller can see more than another.
package platform

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/inventory"
	"github.com/teslaops/tesla/internal/notify"
	"github.com/teslaops/tesla/internal/watermark"
)

// Inventory is what a View reads of the inventory (an *inventory.Service).
type Inventory interface {
	ClusterCount(ctx context.Context) (int, error)
	BUCount(ctx context.Context) (int, error)
	PersonCount(ctx context.Context) (int, error)
	ClustersByKind(ctx context.Context) ([]inventory.KindCount, error)
	HostTotals(ctx context.Context) (inventory.ClusterStats, error)
	AllClusters(ctx context.Context) ([]*inventory.Cluster, error)
	RecentSickHosts(ctx context.Context, n int) ([]*inventory.Host, error)
}

// Watermarks is what a View reads of the water levels (a *watermark.Service).
type Watermarks interface {
	Platform(ctx context.Context, clusterIDs []int64, dims []watermark.Dimension) ([]watermark.ClusterLevels, error)
	Now(ctx context.Context, clusterIDs []int64, dims []watermark.Dimension) (map[int64][]watermark.Level, error)
	Series(ctx context.Context, clusterID int64, dims []watermark.Dimension, from, to time.Time, step time.Duration, maxPoints int) ([]watermark.Series, error)
	ClustersAtRisk(ctx context.Context, horizon time.Duration) ([]watermark.Risk, error)
}

// Events is where the pulse hears of changes (a *notify.Listener).
type Events interface {
	Subscribe(ctx context.Context, channel string) <-chan notify.Event
}

// Service hands out Views and runs the replica's platform pulse.
type Service struct {
	inv    Inventory
	wm     Watermarks
	events Events
	logger *slog.Logger
	clock  notify.Clock
	// minGap and maxGap bound the pulse: see Pulse.
	minGap, maxGap time.Duration

	mu     sync.Mutex
	subs   map[*pulseSub]struct{}
	stop   context.CancelFunc // ends the running beat loop; nil when none runs
	latest Pulse              // the latest pulse sent, or made for a new subscriber
	madeAt time.Time          // when latest was made, by clock
}

// Pulse defaults: at most one beat per PulseMinGap however busy the platform, at
// least one per PulseMaxGap however quiet.
const (
	PulseMinGap = 2 * time.Second
	PulseMaxGap = 30 * time.Second
)

// NewService returns a Service reading inv and wm, whose pulse follows events.
func NewService(inv Inventory, wm Watermarks, events Events, logger *slog.Logger) *Service {
	return &Service{inv: inv, wm: wm, events: events, logger: logger, clock: notify.SystemClock{},
		minGap: PulseMinGap, maxGap: PulseMaxGap, subs: map[*pulseSub]struct{}{}}
}

// View returns a new View for the caller: nothing is computed until asked.
func (s *Service) View(ctx context.Context) (*View, error) {
	if _, err := auth.Require(ctx); err != nil {
		return nil, err
	}
	return s.newView(), nil
}

func (s *Service) newView() *View { return &View{svc: s, memo: map[string]*entry{}} }

// View is the platform as seen at one moment: each figure is computed on the
// first ask and remembered, so every field and every subscriber sharing the View
// pays for it once. Each method checks its own caller for a principal.
type View struct {
	svc  *Service
	mu   sync.Mutex
	memo map[string]*entry
}

// entry is one figure: computed by one caller while the others wait for it.
type entry struct {
	done chan struct{}
	val  any
	err  error
}

// once returns the figure under key, computing it with f if no one has. A failed
// computation is not remembered: it may have failed because its caller's context
// ended, so whoever asks next (or is waiting) computes it again under their own.
func once[T any](ctx context.Context, v *View, key string, f func(context.Context) (T, error)) (T, error) {
	var zero T
	if _, err := auth.Require(ctx); err != nil {
		return zero, err
	}
	for {
		v.mu.Lock()
		e, ok := v.memo[key]
		if !ok {
			e = &entry{done: make(chan struct{})}
			v.memo[key] = e
			v.mu.Unlock()
			return compute(ctx, v, key, e, f)
		}
		v.mu.Unlock()
		select {
		case <-e.done:
			if e.err == nil {
				return e.val.(T), nil
			}
		case <-ctx.Done():
			return zero, ctx.Err()
		}
	}
}

// compute fills e with f's result; on an error (or a panic) it forgets e, and
// wakes whoever waits for it either way.
func compute[T any](ctx context.Context, v *View, key string, e *entry, f func(context.Context) (T, error)) (val T, err error) {
	e.err = errFailed
	defer func() {
		if e.err != nil {
			v.mu.Lock()
			delete(v.memo, key)
			v.mu.Unlock()
		}
		close(e.done)
	}()
	val, err = f(ctx)
	e.val, e.err = val, err
	return val, err
}

// errFailed stands for a computation that never returned.
var errFailed = errors.New("platform figure not computed")

// ClusterCount counts the clusters.
func (v *View) ClusterCount(ctx context.Context) (int, error) {
	return once(ctx, v, "clusterCount", v.svc.inv.ClusterCount)
}

// BUCount counts the business units.
func (v *View) BUCount(ctx context.Context) (int, error) {
	return once(ctx, v, "buCount", v.svc.inv.BUCount)
}

// PersonCount counts the people.
func (v *View) PersonCount(ctx context.Context) (int, error) {
	return once(ctx, v, "personCount", v.svc.inv.PersonCount)
}

// ClustersByKind counts clusters and hosts per cluster kind.
func (v *View) ClustersByKind(ctx context.Context) ([]inventory.KindCount, error) {
	return once(ctx, v, "clustersByKind", v.svc.inv.ClustersByKind)
}

// HostTotals counts hosts by state and sums their hardware: host counts and
// capacity come from the same figure.
func (v *View) HostTotals(ctx context.Context) (inventory.ClusterStats, error) {
	return once(ctx, v, "hostTotals", v.svc.inv.HostTotals)
}

// ClusterWatermarks are every cluster's current levels, most at risk first, with
// the clusters themselves (by id), which a caller has at hand for free.
type ClusterWatermarks struct {
	Ranked   []watermark.ClusterLevels
	Clusters map[int64]*inventory.Cluster
}

// Watermarks returns every cluster's current levels in dims (empty: all), most at
// risk first, clusters equally at risk by name.
func (v *View) Watermarks(ctx context.Context, dims []watermark.Dimension) (ClusterWatermarks, error) {
	return once(ctx, v, fmt.Sprint("watermarks", dims), func(ctx context.Context) (ClusterWatermarks, error) {
		clusters, err := v.svc.inv.AllClusters(ctx)
		if err != nil {
			return ClusterWatermarks{}, err
		}
		out := ClusterWatermarks{Clusters: make(map[int64]*inventory.Cluster, len(clusters))}
		ids := make([]int64, len(clusters))
		for i, c := range clusters {
			ids[i] = c.ID
			out.Clusters[c.ID] = c
		}
		out.Ranked, err = v.svc.wm.Platform(ctx, ids, dims)
		return out, err
	})
}

// Levels returns the platform-wide current level in dims (empty: all).
func (v *View) Levels(ctx context.Context, dims []watermark.Dimension) ([]watermark.Level, error) {
	return once(ctx, v, fmt.Sprint("levels", dims), func(ctx context.Context) ([]watermark.Level, error) {
		now, err := v.svc.wm.Now(ctx, []int64{watermark.PlatformID}, dims)
		return now[watermark.PlatformID], err
	})
}

// WatermarkSeries returns the platform-wide series; see watermark.Service.Series.
func (v *View) WatermarkSeries(ctx context.Context, dims []watermark.Dimension, from, to time.Time, step time.Duration, maxPoints int) ([]watermark.Series, error) {
	key := fmt.Sprint("watermarkSeries", dims, from.UnixNano(), to.UnixNano(), step, maxPoints)
	return once(ctx, v, key, func(ctx context.Context) ([]watermark.Series, error) {
		return v.svc.wm.Series(ctx, watermark.PlatformID, dims, from, to, step, maxPoints)
	})
}

// ClustersAtRisk returns the clusters over a threshold or forecast to cross one
// within horizon.
func (v *View) ClustersAtRisk(ctx context.Context, horizon time.Duration) ([]watermark.Risk, error) {
	return once(ctx, v, fmt.Sprint("clustersAtRisk", horizon), func(ctx context.Context) ([]watermark.Risk, error) {
		return v.svc.wm.ClustersAtRisk(ctx, horizon)
	})
}

// RecentSickHosts returns the n hosts that most recently left ONLINE.
func (v *View) RecentSickHosts(ctx context.Context, n int) ([]*inventory.Host, error) {
	return once(ctx, v, fmt.Sprint("recentSickHosts", n), func(ctx context.Context) ([]*inventory.Host, error) {
		return v.svc.inv.RecentSickHosts(ctx, n)
	})
}
