package model

import (
	"time"

	"github.com/teslaops/tesla/internal/workload"
)

// JobScore is a job's analysis score; its job is resolved through a loader.
type JobScore struct {
	JobID                 int64
	Score                 float64
	WorstSeverity         JobFindingSeverity
	WastedCoreHoursPerDay float64
	WastedGbHoursPerDay   float64
	Waste                 float64
	RunsAnalyzed          int
	HoursAnalyzed         int
	AnalyzedAt            time.Time
}

// FromJobScore maps a score.
func FromJobScore(s *workload.JobScore) *JobScore {
	if s == nil {
		return nil
	}
	return &JobScore{JobID: s.JobID, Score: s.Score, WorstSeverity: JobFindingSeverity(s.WorstSeverity.String()),
		WastedCoreHoursPerDay: s.WastedCoreHoursPerDay, WastedGbHoursPerDay: s.WastedGBHoursPerDay, Waste: s.Waste,
		RunsAnalyzed: s.RunsAnalyzed, HoursAnalyzed: s.HoursAnalyzed, AnalyzedAt: s.AnalyzedAt}
}
