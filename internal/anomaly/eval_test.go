package anomaly

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestNABEvaluation runs the detector, with its one default configuration, over
// the shared NAB series and scores it with NAB's standard profile: both at
// NAB's optimised threshold and as the alerts it raises itself. Below 60 the
// detector has regressed (it measured 71.0 and 69.5; docs/anomaly.md).
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
	require.GreaterOrEqual(t, opt.Normalized, 60.0)
	require.GreaterOrEqual(t, al.Normalized, 60.0)
}
