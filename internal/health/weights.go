package health

import "time"

// The weights of each level's components: the one place they are set
// (docs/health.md documents them and every component's formula). Each level's
// weights add up to 1, so a score is 100 − Σ weight × (100 − component score).
var weights = map[Level][]weighted{
	Host: {
		{"utilisation", 0.20},
		{"heartbeats", 0.20},
		{"findings", 0.20},
		{"components", 0.15},
		{"state", 0.15},
		{"hardware", 0.10},
	},
	Cluster: {
		{"waterlevel", 0.35},
		{"forecast", 0.15},
		{"hosts", 0.30},
		{"components", 0.20},
	},
	Job: {
		{"success", 0.35},
		{"deadlines", 0.25},
		{"findings", 0.20},
		{"efficiency", 0.20},
	},
	Person: {
		{"jobs", 0.70},
		{"budget", 0.30},
	},
	BU: {
		{"jobs", 0.70},
		{"budget", 0.30},
	},
}

type weighted struct {
	name   string
	weight float64
}

// Weights returns a copy of the weights of level's components, by name.
func Weights(level Level) map[string]float64 {
	out := map[string]float64{}
	for _, w := range weights[level] {
		out[w.name] = w.weight
	}
	return out
}

// The thresholds of the formulas (docs/health.md).
const (
	// Grades: GOOD from 80, FAIR from 60, POOR below.
	GoodFrom = 80.0
	FairFrom = 60.0

	// pressureFrom is the utilisation (the highest of CPU, memory and disk
	// I/O, percent) from which a host loses utilisation points, all of them at
	// 100%.
	pressureFrom = 80.0
	// A host loses heartbeat points once more than freeBeats intervals passed
	// without a heartbeat or sample (4 × 15 s: the host-offline job's minute),
	// all of them at silentBeats (20 × 15 s: the machine analysis's 5 minutes).
	freeBeats   = 4.0
	silentBeats = 20.0
	// scrapeFailurePoints is what each failed node_exporter scrape in a row costs.
	scrapeFailurePoints = 20.0
	// componentPoints is what each host component not in its desired state costs.
	componentPoints = 25.0

	// waterWarn is the share of the threshold from which a cluster loses
	// water-level points (the watermark's WARN status: 85% of the threshold);
	// at the threshold it keeps waterAtThreshold, and none at 100% utilisation.
	waterWarn        = 0.85
	waterAtThreshold = 60.0
	// forecastHorizon: a forecast crossing of the threshold sooner than this
	// loses points in proportion, all of them when it is now.
	forecastHorizon = 90 * 24 * time.Hour
	// sickHostShare is the share of POOR hosts that takes all the hosts
	// points; failingComponentShare the share of failing components that takes
	// all the components points.
	sickHostShare         = 0.25
	failingComponentShare = 0.10

	// jobWindow is the window of a job's runs and usage.
	jobWindow = 7 * 24 * time.Hour
	// failurePenalty: a share f of failed (or late) runs costs 100 × penalty × f
	// points, so half of the runs failing takes them all.
	failurePenalty = 2.0
	// efficientFrom is the share of requested resources used from which a job
	// keeps all its efficiency points.
	efficientFrom = 0.6

	// costWindow is the window of the bill lines that weigh a person's or BU's jobs.
	costWindow = 7 * 24 * time.Hour
	// budgetWarn is the share of the budget spent from which points are lost;
	// at the budget 70 are kept, none at budgetZero (150%).
	budgetWarn     = 0.9
	budgetAtAmount = 70.0
	budgetZero     = 1.5
)

// severityPoints is what an open anomaly episode or hardware fault of a
// severity costs its component.
var (
	anomalyPoints = map[string]float64{"LOW": 5, "MEDIUM": 15, "HIGH": 30, "CRITICAL": 50}
	faultPoints   = map[string]float64{"LOW": 10, "MEDIUM": 25, "HIGH": 50, "CRITICAL": 100}
	// statePoints is the state component of a host in each state.
	statePoints = map[string]float64{"ONLINE": 100, "DEGRADED": 50, "MAINTENANCE": 70, "REPAIRING": 20, "OFFLINE": 0}
	// findingScore is the findings component of a job by its worst finding's
	// severity (0 NONE … 4 CRITICAL).
	findingScore = [5]float64{100, 90, 70, 40, 0}
)

// Retention of the daily history (docs/health.md).
var retention = map[Level]int{Host: 90, Job: 90, Cluster: 400, Person: 400, BU: 400}
