package graph

import (
	"context"
	"errors"

	"github.com/vikstrous/dataloadgen"

	"github.com/teslaops/tesla/graph/model"
	"github.com/teslaops/tesla/internal/configuration"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/inventory"
)

// clusterByID loads a cluster through the request's loader.
func (r *Resolver) clusterByID(ctx context.Context, id int64) (*model.Cluster, error) {
	c, err := r.loaders(ctx).Cluster.Load(ctx, id)
	if err = notFound(err, "cluster"); err != nil {
		return nil, err
	}
	return model.FromCluster(c), nil
}

// optionalHost loads a host through the request's loader; a host retired
// since is null.
func (r *Resolver) optionalHost(ctx context.Context, id int64) (*model.Host, error) {
	h, err := r.loaders(ctx).Host.Load(ctx, id)
	if errors.Is(err, dataloadgen.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return model.FromHost(h), nil
}

// hostsByIDs loads hosts in one batch, leaving out those gone.
func (r *Resolver) hostsByIDs(ctx context.Context, ids []int64) ([]*model.Host, error) {
	thunks := make([]func() (*inventory.Host, error), len(ids))
	for i, id := range ids {
		thunks[i] = r.loaders(ctx).Host.LoadThunk(ctx, id)
	}
	out := make([]*model.Host, 0, len(ids))
	for _, th := range thunks {
		h, err := th()
		if errors.Is(err, dataloadgen.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, model.FromHost(h))
	}
	return out, nil
}

// configGroups lists a cluster's config groups in overlay order, or only
// the one named (none when no group has the name).
func (r *Resolver) configGroups(ctx context.Context, cluster int64, name *string) ([]*model.ConfigGroup, error) {
	gs, err := r.Config.Groups(ctx, cluster)
	if err != nil {
		return nil, err
	}
	out := make([]*model.ConfigGroup, 0, len(gs))
	for i := range gs {
		if name == nil || gs[i].Name == *name {
			out = append(out, model.FromConfigGroup(&gs[i]))
		}
	}
	return out, nil
}

// maxGroupHosts is the most hosts ConfigGroup.hosts returns: all a LIST
// group may name (configuration.SetGroup's bound).
const maxGroupHosts = 5000

// configGroupHosts loads the first hosts a LIST group names (default 50,
// 1..5,000), in one batch: the page a screen shows, priced by first
// (config_cost.go), rather than every listed host of every group.
func (r *Resolver) configGroupHosts(ctx context.Context, obj *model.ConfigGroup, first *int) ([]*model.Host, error) {
	n := orDefault(first, 50)
	if n < 1 || n > maxGroupHosts {
		return nil, fault.Field("first", "first must be between 1 and %d, got %d", maxGroupHosts, n)
	}
	return r.hostsByIDs(ctx, obj.HostIDs[:min(n, len(obj.HostIDs))])
}

// configChanges maps a listing's changes (read without files and diffs).
func (r *Resolver) configChanges(_ context.Context, chs []*configuration.Change) ([]*model.ConfigChange, error) {
	out := make([]*model.ConfigChange, len(chs))
	for i, ch := range chs {
		out[i] = model.FromConfigChange(ch, false)
	}
	return out, nil
}

// wholeChange returns the change with its files, reviews and diffs: as it
// was read, or read once now for a listing's.
func (r *Resolver) wholeChange(ctx context.Context, obj *model.ConfigChange) (*configuration.Change, error) {
	return obj.Whole.Get(func() (*configuration.Change, error) { return r.Config.Change(ctx, obj.DBID) })
}

func configChangePayload(ch *configuration.Change, err error) (*model.ConfigChangePayload, error) {
	if err != nil {
		ues, err := userErrors(err)
		return &model.ConfigChangePayload{UserErrors: ues}, err
	}
	return &model.ConfigChangePayload{Change: model.FromConfigChange(ch, true), UserErrors: []*model.UserError{}}, nil
}

// configVersionPayload maps a new version and its rollout's operation.
func (r *Resolver) configVersionPayload(ctx context.Context, a *configuration.Applied, err error) (*model.ConfigVersionPayload, error) {
	if err != nil {
		ues, err := userErrors(err)
		return &model.ConfigVersionPayload{UserErrors: ues}, err
	}
	out := &model.ConfigVersionPayload{UserErrors: []*model.UserError{}}
	if a.RolloutError != "" {
		out.RolloutError = &a.RolloutError
	}
	vs, err := r.Config.Versions(ctx, a.ClusterID, 1)
	if err != nil {
		return nil, err
	}
	if len(vs) > 0 && vs[0].Version == a.Version {
		out.Version = model.FromConfigVersion(vs[0])
	}
	if a.OperationID != 0 {
		op, err := r.loaders(ctx).Operation.Load(ctx, a.OperationID)
		if err = notFound(err, "operation"); err != nil {
			return nil, err
		}
		out.Operation = model.FromOperation(op)
	}
	return out, nil
}
