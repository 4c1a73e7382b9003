package graph

import (
	"github.com/teslaops/tesla/graph/generated"
	"github.com/teslaops/tesla/graph/model"
)

// perHostRead prices a read made once per parent object, not batched: a host
// list selecting it pays for every host.
const perHostRead = storedFigures

// diffCost prices a diff computed on demand: a change's files (up to 16 MB)
// or two versions' compared line by line, tens of milliseconds each.
const diffCost = 100

// attemptCountCost prices healingAttempts' totalCount: one count over
// healing_attempt by state and cluster (indexed by cluster and start).
const attemptCountCost = storedFigures

// setConfigComplexity prices configuration as code, keep-alive and
// self-healing: a cluster's configuration and healing policy are a read per
// cluster, a version's or change's files and a change's reviews a read per
// element, diffs a computation each, lists at their page size.
func setConfigComplexity(c *generated.ComplexityRoot) {
	c.Cluster.Config = func(child int) int { return storedFigures + child }
	c.ClusterConfig.Groups = configGroupsCost
	c.ClusterConfig.Files = func(child int, _ *int) int { return storedFigures + child*nominalPerParent }
	c.ClusterConfig.Versions = func(child int, first *int) int { return listCost(child, first, 50) }
	c.ClusterConfig.Changes = func(child int, _ *model.ConfigChangeState, first *int) int { return listCost(child, first, 50) }
	c.ClusterConfig.Diff = func(child int, _ int, _ int) int { return diffCost + child*nominalPerParent }
	c.ClusterConfig.Stale = func(child int, first *int) int { return storedFigures + listCost(child, first, 200) }
	c.ConfigChange.Files = func(child int) int { return storedFigures + child*nominalPerParent }
	c.ConfigChange.Reviews = func(child int) int { return storedFigures + child*nominalPerParent }
	c.ConfigChange.Diffs = func(child int) int { return diffCost + child*nominalPerParent }
	c.ConfigVersion.Files = func(child int) int { return storedFigures + child*nominalPerParent }
	c.ConfigVersion.Change = func(child int) int { return storedFigures + child }
	c.ConfigGroup.Hosts = groupHostsCost

	c.Cluster.HealingPolicy = func(child int) int { return storedFigures + child }
	// totalCount is one count over the list's filters: priced once here,
	// selected or not (a field's price cannot see its siblings, and a price
	// on totalCount itself would be multiplied by the page size).
	c.Query.HealingAttempts = func(child int, _ *model.HealingState, _ *string, first *int, _ *string) int {
		return attemptCountCost + listCost(child, first, 50)
	}
	c.Query.HealingWaiting = func(child int, _ *string, first *int) int { return listCost(child, first, 100) }
	c.Query.HealingRate = func(child int, days *int, _ *string) int { return 1 + child*max(orDefault(days, 30), 1) }
	c.Query.KeepAliveAlerts = func(child int, _ *bool, _ *string, first *int, _ *string) int { return listCost(child, first, 50) }
	c.Host.Restarts = func(child int, first *int) int { return perHostRead + listCost(child, first, 20) }
	c.Host.KeepAliveAlerts = func(child int, _ *bool, first *int) int { return perHostRead + listCost(child, first, 20) }
}

// configGroupsCost prices ClusterConfig.groups: every group at a nominal
// count, or the one named once.
func configGroupsCost(child int, name *string) int {
	if name != nil {
		return storedFigures + child
	}
	return storedFigures + child*nominalPerParent
}

// groupHostsCost prices ConfigGroup.hosts by its first (default 50, up to
// the 5,000 hosts a LIST group may name): listCost stops at a page's 100,
// and a 5,000-host list must pay for 5,000.
func groupHostsCost(child int, first *int) int {
	return 1 + child*min(max(orDefault(first, 50), 1), maxGroupHosts)
}
