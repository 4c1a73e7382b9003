package model

import "time"

// HealthScore is a subject's stored health score; its history is loaded when
// asked, by level and subject.
type HealthScore struct {
	Level      string             `json:"-"`
	SubjectID  int64              `json:"-"`
	Score      float64            `json:"score"`
	Grade      string             `json:"grade"`
	ComputedAt time.Time          `json:"computedAt"`
	Components []*HealthComponent `json:"components"`
}
