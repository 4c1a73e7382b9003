package healing

import (
	"cmp"
	"time"
)

// Policy is how cautiously a kind of cluster heals.
type Policy struct {
	// MaxAtOnce is the most hosts of a cluster healing at once.
	MaxAtOnce int
	// MaxAtOncePct caps MaxAtOnce as a share of the cluster's hosts (at least
	// one host); it is also the SELF_HEAL's out-of-service share.
	MaxAtOncePct int
	// MaxPerDay is the most hosts of a cluster whose healing (or hand-over)
	// starts within 24 hours.
	MaxPerDay int
	// AllowReboot lets a host that stopped beating be rebooted through its
	// agent; without it such a host goes to a person (a repair ticket).
	AllowReboot bool
	// AnomalySeverity is the least severity of an open anomaly episode that
	// makes a host sick (HIGH or CRITICAL).
	AnomalySeverity string
	// SickFor is how long a host must have been seen sick before healing
	// starts: passes in between record it waiting, "confirming".
	SickFor time.Duration
}

// DefaultPolicies are the policies per cluster kind. Streaming clusters heal
// most cautiously: a streaming host carries partitions and their leaders, so
// one host at a time, a few a day, only after its signals held for ten
// minutes, only on critical anomalies, and never rebooted automatically (a
// person decides). Online clusters serve requests: a few at once. Batch
// clusters re-run lost work: the most at once.
var DefaultPolicies = map[string]Policy{
	"BATCH":     {MaxAtOnce: 5, MaxAtOncePct: 10, MaxPerDay: 50, AllowReboot: true, AnomalySeverity: "HIGH"},
	"ONLINE":    {MaxAtOnce: 3, MaxAtOncePct: 5, MaxPerDay: 20, AllowReboot: true, AnomalySeverity: "HIGH", SickFor: 2 * time.Minute},
	"STREAMING": {MaxAtOnce: 1, MaxAtOncePct: 5, MaxPerDay: 5, AllowReboot: false, AnomalySeverity: "CRITICAL", SickFor: 10 * time.Minute},
}

// withDefaults fills p's zero fields from def.
func (p Policy) withDefaults(def Policy) Policy {
	p.MaxAtOnce = cmp.Or(p.MaxAtOnce, def.MaxAtOnce, 1)
	p.MaxAtOncePct = cmp.Or(p.MaxAtOncePct, def.MaxAtOncePct, 10)
	p.MaxPerDay = cmp.Or(p.MaxPerDay, def.MaxPerDay, 10)
	p.AnomalySeverity = cmp.Or(p.AnomalySeverity, def.AnomalySeverity, "HIGH")
	p.SickFor = cmp.Or(p.SickFor, def.SickFor)
	return p
}

// atOnce is the most hosts of a cluster of n hosts healing at once.
func (p Policy) atOnce(n int) int {
	return max(min(p.MaxAtOnce, n*p.MaxAtOncePct/100), 1)
}

// severityRank orders severities.
func severityRank(s string) int {
	switch s {
	case "CRITICAL":
		return 4
	case "HIGH":
		return 3
	case "MEDIUM":
		return 2
	case "LOW":
		return 1
	}
	return 0
}
