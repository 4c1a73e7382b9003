package graph

import (
	"github.com/teslaops/tesla/graph/model"
	"github.com/teslaops/tesla/internal/ingest/yarn"
)

func yarnTarget(t *yarn.Target) *model.YarnTarget {
	return &model.YarnTarget{ClusterID: t.ClusterID, URL: t.URL, Status: t.Status, Failures: t.Failures,
		NextAttemptAt: t.NextAttemptAt, LastSuccessAt: t.LastSuccessAt, LastError: t.LastError,
		FinishedWatermark: t.FinishedWatermark}
}
