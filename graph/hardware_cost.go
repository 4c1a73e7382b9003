package graph

import (
	"time"

	"github.com/teslaops/tesla/graph/generated"
	"github.com/teslaops/tesla/graph/model"
	"github.com/teslaops/tesla/internal/hardware"
)

// storedFigures prices a read of the figures the hardware-reliability job
// stores (a few hundred rows at most). onDemandScan prices a figure computed
// afresh over the whole fleet — a window or a minimum severity, which the stored
// figures do not hold: about a second of database time at 250,000 hosts, so one
// request may ask for only a handful, however many aliases it writes.
const (
	storedFigures = 5
	onDemandScan  = 5_000
)

// setHardwareComplexity prices the hardware schema's fields.
func setHardwareComplexity(c *generated.ComplexityRoot) {
	c.Query.HardwareFaults = func(child int, _ *model.HardwareFaultFilter, first *int, _ *string) int {
		return 1 + child*pageCost(first, nil)
	}
	c.Query.RepairTickets = func(child int, _ *model.RepairTicketFilter, first *int, _ *string) int {
		return 1 + child*pageCost(first, nil)
	}
	c.Query.HardwareReliability = func(child int, groupBy model.ReliabilityGroupBy, since, until *time.Time, minSeverity *model.FaultSeverity) int {
		groups := nominalPerParent // models; age buckets are fewer
		if groupBy == model.ReliabilityGroupByCluster {
			groups = nominalClusters
		}
		base := storedFigures
		if since != nil || until != nil || minSeverity != nil {
			base = onDemandScan
		}
		return base + child*groups
	}
	c.Query.HostsToReplace = func(child int, first *int) int {
		return storedFigures + child*min(max(orDefault(first, 10), 1), hardware.MaxCandidates)
	}
	c.Host.Faults = func(child int) int { return 1 + child*hardware.HostFaultsLimit }
	c.RepairTicket.Faults = func(child int) int { return 1 + child*nominalPerParent }
	c.RepairTicket.History = func(child int) int { return 1 + child*nominalPerParent }
}
