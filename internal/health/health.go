// Package health scores hosts, clusters, jobs, people and BUs from 0 to 100:
// each score is the sum of named, weighted components (weights.go), each
// component says why it lost points, and the `health` job stores the latest
// score and a daily history (docs/health.md). Pages, rankings and the
// leaderboards read the stored scores; nothing scores per request.
package health

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/teslaops/tesla/internal/fault"
)

// Level is what a score is about.
type Level string

// The levels, in the order the job scores them (clusters need their hosts'
// scores; people and BUs their jobs').
const (
	Host    Level = "HOST"
	Cluster Level = "CLUSTER"
	Job     Level = "JOB"
	Person  Level = "PERSON"
	BU      Level = "BU"
)

// Levels are all levels, in scoring order.
var Levels = []Level{Host, Cluster, Job, Person, BU}

// ParseLevel checks a level given by a caller.
func ParseLevel(field, s string) (Level, error) {
	l := Level(strings.ToUpper(s))
	if !slices.Contains(Levels, l) {
		return "", fault.Field(field, "unknown level %q: use HOST, CLUSTER, JOB, PERSON or BU", s)
	}
	return l, nil
}

// Component is one part of a score.
type Component struct {
	Name   string  `json:"name"`
	Weight float64 `json:"weight"`
	// Score is the component's own 0–100.
	Score float64 `json:"score"`
	// Reason says why points were lost, with the figures; empty when none were
	// (or a note, such as "no budget", that costs nothing).
	Reason string `json:"reason"`
}

// LostPoints is what the component cost the total: weight × (100 − score).
func (c Component) LostPoints() float64 { return c.Weight * (100 - c.Score) }

// Grade names a score: GOOD (≥ 80), FAIR (≥ 60) or POOR.
func Grade(score float64) string {
	switch {
	case score >= GoodFrom:
		return "GOOD"
	case score >= FairFrom:
		return "FAIR"
	}
	return "POOR"
}

// combine weighs components into a score, rounded to a tenth. components
// must name level's components in weights' order.
func combine(level Level, comps []Component) (float64, []Component) {
	ws := weights[level]
	if len(ws) != len(comps) {
		panic(fmt.Sprintf("health: %s has %d components, %d weights", level, len(comps), len(ws)))
	}
	total := 100.0
	for i := range comps {
		comps[i].Name, comps[i].Weight = ws[i].name, ws[i].weight
		comps[i].Score = round1(clamp(comps[i].Score))
		total -= comps[i].LostPoints()
	}
	return round1(clamp(total)), comps
}

// worst returns the component that lost the most points (the first of equals)
// and its reason; empty when none lost any.
func worst(comps []Component) (name, reason string) {
	best := 0.0
	for _, c := range comps {
		if lp := c.LostPoints(); lp > best+1e-9 {
			best, name, reason = lp, c.Name, c.Reason
		}
	}
	return name, reason
}

func clamp(v float64) float64 { return math.Max(0, math.Min(100, v)) }

func round1(v float64) float64 { return math.Round(v*10) / 10 }

// pct formats a share as a percentage.
func pct(share float64) string { return fmt.Sprintf("%.0f%%", 100*share) }
