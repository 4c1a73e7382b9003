package graph

import (
	"time"

	"github.com/teslaops/tesla/graph/generated"
	"github.com/teslaops/tesla/graph/model"
	"github.com/teslaops/tesla/internal/hardware"
)

// reliabilityScan prices a reliability figure: computed over the whole fleet
// at most once per hardware.CacheTTL and replica, and read from the cache
// otherwise (docs/hardware.md), so a request pays for a share of the scan.
const reliabilityScan = 50

// setHardwareComplexity prices the hardware schema's fields.
func setHardwareComplexity(c *generated.ComplexityRoot) {
	c.Query.HardwareFaults = func(child int, _ *model.HardwareFaultFilter, first *int, _ *string) int {
		return 1 + child*pageCost(first, nil)
	}
	c.Query.RepairTickets = func(child int, _ *model.RepairTicketFilter, first *int, _ *string) int {
		return 1 + child*pageCost(first, nil)
	}
	c.Query.HardwareReliability = func(child int, groupBy model.ReliabilityGroupBy, _, _ *time.Time, _ *model.FaultSeverity) int {
		groups := nominalPerParent // models; age buckets are fewer
		if groupBy == model.ReliabilityGroupByCluster {
			groups = nominalClusters
		}
		return reliabilityScan + child*groups
	}
	c.Query.HostsToReplace = func(child int, first *int) int {
		return 2*reliabilityScan + child*min(max(orDefault(first, 10), 1), hardware.MaxCandidates)
	}
	c.Host.Faults = func(child int) int { return 1 + child*hardware.HostFaultsLimit }
	c.RepairTicket.Faults = func(child int) int { return 1 + child*nominalPerParent }
	c.RepairTicket.History = func(child int) int { return 1 + child*nominalPerParent }
}
