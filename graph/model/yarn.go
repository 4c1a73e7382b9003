package model

import "time"

// YarnTarget is a cluster's ResourceManager and the poller's state; the
// cluster is resolved through the loader.
type YarnTarget struct {
	ClusterID         int64
	URL               string
	Status            string
	Failures          int
	NextAttemptAt     time.Time
	LastSuccessAt     *time.Time
	LastError         string
	FinishedWatermark *time.Time
}
