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
	HostID   int64   `json:"-"`
	X        float64 `json:"x"`
	Y        float64 `json:"y"`
	Group    int     `json:"group"`
	Distance float64 `json:"distance"`
	Outlier  bool    `json:"outlier"`
}
