package graph

import (
	"time"

	"github.com/teslaops/tesla/graph/generated"
	"github.com/teslaops/tesla/graph/model"
	"github.com/teslaops/tesla/internal/lineage"
	"github.com/teslaops/tesla/internal/workload"
)

// lineageCost prices a lineage walk before it runs: each of depth levels reads
// at most lineage.FanoutBound × maxNodes edges (priced per rowsPerUnit rows),
// and up to maxNodes nodes come back at their selection's cost. Out-of-range
// arguments are clamped: the resolver refuses them with BAD_USER_INPUT, the
// clearer answer. The defaults (depth 3, 500 nodes) price a walk returning
// names at about 1,500; the largest (depth 20, 5,000 nodes) about 14,000.
func lineageCost(child, depth, maxNodes int) int {
	depth = min(max(depth, 1), lineage.MaxDepth)
	maxNodes = min(max(maxNodes, 1), lineage.MaxNodes)
	reads := int(ceilDiv(int64(lineage.FanoutBound*maxNodes), rowsPerUnit))
	return 1 + depth*reads + maxNodes*child
}

// setWorkloadComplexity prices the workload schema's fields that read more than
// one object.
func setWorkloadComplexity(c *generated.ComplexityRoot, now func() time.Time) {
	setJobAPIComplexity(c, now)
	c.Query.Lineage = func(child int, _ string, _ *model.LineageDirection, depth *int, maxNodes *int) int {
		return lineageCost(child, orDefault(depth, lineage.DefaultDepth), orDefault(maxNodes, lineage.DefaultMaxNodes))
	}
	c.Query.Impact = func(child int, _ string) int {
		return lineageCost(child, lineage.ImpactDepth, lineage.DefaultMaxNodes)
	}
	c.Query.Datasets = func(child int, first *int, _ *string, _ *string) int { return 1 + child*pageCost(first, nil) }
	c.Job.LastRuns = func(child int, first *int) int { return listCost(child, first, 5) }
	// Job analysis: a job has at most one finding per heuristic.
	c.Job.Findings = func(child int) int { return listCost(child, nil, jobHeuristics) }
	c.AnalyzeJobPayload.Findings = func(child int) int { return listCost(child, nil, jobHeuristics) }
	c.Query.WorstJobs = func(child int, _ *model.WorstJobsBy, first *int, _ *string, _ *string, _ *string) int {
		return 1 + child*pageCost(first, nil)
	}
}

// jobHeuristics is how many findings a job can have at most.
const jobHeuristics = 6

// queueHeuristics is how many findings a queue can have at most (STARVED,
// HOARDED, IDLE).
const queueHeuristics = 3

// The bounds unpaged workload lists are priced at.
const (
	// nominalQueueChildren: a queue's direct children.
	nominalQueueChildren = nominalPerParent
)

// jobUsageCost prices Job.usage: one row per hour of the window (clamped to
// the longest the resolver accepts), as a list of that many objects.
func jobUsageCost(child int, from, to time.Time) int {
	span := min(to.Sub(from).Abs(), workload.MaxUsageRange)
	hours := ceilDiv(int64(span), int64(time.Hour))
	return saturate(1 + ceilDiv(hours, rowsPerUnit) + hours*int64(child))
}

// queueUsageCost prices Queue.usage: the snapshots of the window (about one a
// minute, read per rowsPerUnit) and the points returned.
func queueUsageCost(now time.Time, child int, from, to *time.Time, maxPoints *int) int {
	span := timeRange(now, from, to, defaultQueueUsageRange, workload.MaxUsageRange)
	points := int64(workload.DefaultQueuePoints)
	if maxPoints != nil && *maxPoints > 0 {
		points = int64(min(*maxPoints, workload.MaxQueuePoints))
	}
	rows := int64(span / time.Minute)
	return saturate(1 + ceilDiv(rows, rowsPerUnit) + min(points, max(rows, 1))*int64(child))
}

// setJobAPIComplexity prices the job, run and queue listings: connections at
// their page size times their node's cost, unpaged lists at their bound.
func setJobAPIComplexity(c *generated.ComplexityRoot, now func() time.Time) {
	conn := func(child int, first *int) int { return 1 + child*pageCost(first, nil) }
	c.Query.Jobs = func(child int, _ *model.JobFilter, first *int, _ *string, _ *model.JobOrder) int {
		return conn(child, first)
	}
	c.Query.Queues = func(child int, _ *string, first *int, _ *string) int { return conn(child, first) }
	c.Person.Jobs = func(child int, first *int, _ *string, _ *model.JobOrder) int { return conn(child, first) }
	c.BU.Jobs = func(child int, first *int, _ *string, _ *model.JobOrder) int { return conn(child, first) }
	c.Job.Runs = func(child int, first *int, _ *string, _, _ *time.Time, _ *model.JobRunState) int {
		return conn(child, first)
	}
	// The share of each job reads the queue's hours once and the page's jobs'.
	c.Queue.Jobs = func(child int, first *int, _ *string, _, _ *time.Time) int { return 2 + conn(child, first) }
	c.Job.Usage = func(child int, from, to time.Time) int { return jobUsageCost(child, from, to) }
	c.Queue.Usage = func(child int, from, to *time.Time, maxPoints *int) int {
		return queueUsageCost(now(), child, from, to, maxPoints)
	}
	c.Cluster.Queues = func(child int) int { return 1 + child*workload.MaxQueuesPerCluster }
	c.Queue.Children = func(child int) int { return 1 + child*nominalQueueChildren }
	// Queue findings read a week of the queue's snapshots and its jobs' hours
	// (one unit), and come back as at most one finding per queue heuristic.
	c.Queue.Findings = func(child int) int { return 1 + listCost(child, nil, queueHeuristics) }
}
