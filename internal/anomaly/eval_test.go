package anomaly

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNABEvaluation(t *testing.T) {
	c := loadNABOrSkip(t)
	m, err := NewModel(DefaultConfig())
	require.NoError(t, err)
	scores, alerts := c.Detect(m)
	opt, err := c.Score(scores, StandardProfile, 0, true)
	require.NoError(t, err)
	al, err := c.Score(AlertScores(alerts), StandardProfile, 0.5, false)
	require.NoError(t, err)
	for i, f := range opt.Files {
		t.Logf("%-60s opt %7.3f (TP %3d FP %3d)  alerts %7.3f (TP %3d FP %3d)", f.File, f.Score, f.TP, f.FP, al.Files[i].Score, al.Files[i].TP, al.Files[i].FP)
	}
	t.Logf("optimised threshold %.4f: normalised %.2f; alerts: normalised %.2f", opt.Threshold, opt.Normalized, al.Normalized)
	require.GreaterOrEqual(t, al.Normalized, 60.0)
}
