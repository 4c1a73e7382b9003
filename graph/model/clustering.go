package model

import (
	"time"

	"github.com/teslaops/tesla/internal/clustering"
)

// MachineClustering is a clustering view: its figures are the view's; its
// points and outliers are read through the same view when asked.
type MachineClustering struct {
	View              *clustering.View `json:"-"`
	ComputedAt        time.Time        `json:"computedAt"`
	WindowFrom        time.Time        `json:"windowFrom"`
	WindowTo          time.Time        `json:"windowTo"`
	ChosenK           int              `json:"chosenK"`
	Quality           float64          `json:"quality"`
	Candidates        []*ClusteringCandidate
	HostCount         int       `json:"hostCount"`
	FleetHostCount    int       `json:"fleetHostCount"`
	ExplainedVariance []float64 `json:"explainedVariance"`
	Groups            []*MachineGroup
}

// MachinePoint is a host on the distribution chart; the host itself is loaded
// when asked.
type MachinePoint struct {
	HostID      int64   `json:"-"`
	Hostname    string  `json:"hostname"`
	ClusterName string  `json:"clusterName"`
	X           float64 `json:"x"`
	Y           float64 `json:"y"`
	Group       int     `json:"group"`
	Distance    float64 `json:"distance"`
	Outlier     bool    `json:"outlier"`
}

// Anomaly is an anomaly episode; its host, cluster and acknowledging person
// are loaded when asked.
type Anomaly struct {
	ID               string          `json:"id"`
	DBID             int64           `json:"-"`
	HostID           int64           `json:"-"`
	ClusterID        int64           `json:"-"`
	AcknowledgedByID *int64          `json:"-"`
	Metric           AnomalyMetric   `json:"metric"`
	Kind             AnomalyKind     `json:"kind"`
	Status           AnomalyStatus   `json:"status"`
	Severity         AnomalySeverity `json:"severity"`
	StartedAt        time.Time       `json:"startedAt"`
	LastSeenAt       time.Time       `json:"lastSeenAt"`
	EndedAt          *time.Time
	Points           int     `json:"points"`
	PeakScore        float64 `json:"peakScore"`
	PeakAt           time.Time
	PeakValue        *float64
	Expected         *float64
	AcknowledgedAt   *time.Time
	Note             string `json:"note"`
}

// IsNode marks Anomaly as a Node.
func (Anomaly) IsNode() {}

// GetID returns the global id.
func (a Anomaly) GetID() string { return a.ID }

// AnomalyOnset is a correlated onset; its hosts are loaded when asked.
type AnomalyOnset struct {
	Metric    AnomalyMetric `json:"metric"`
	Start     time.Time     `json:"start"`
	End       time.Time     `json:"end"`
	HostIDs   []int64       `json:"-"`
	Scope     OnsetScope    `json:"scope"`
	Rack      *string       `json:"rack,omitempty"`
	Component *string       `json:"component,omitempty"`
	Version   *string       `json:"version,omitempty"`
}
