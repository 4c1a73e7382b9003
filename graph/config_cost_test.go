package graph

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// A LIST group's hosts are priced by the page asked for, up to the 5,000
// hosts a group may name (not capped at a connection page's 100), and one
// named group is priced once rather than at the nominal group count.
func TestConfigGroupPricesFollowTheirArguments(t *testing.T) {
	t.Parallel()
	ptr := func(n int) *int { return &n }
	for name, tc := range map[string]struct {
		first *int
		want  int
	}{
		"default 50":        {nil, 1 + 2*50},
		"first 20":          {ptr(20), 1 + 2*20},
		"all 5,000":         {ptr(5000), 1 + 2*5000},
		"past the bound":    {ptr(100000), 1 + 2*5000},
		"refused, at least": {ptr(0), 1 + 2*1},
	} {
		require.Equal(t, tc.want, groupHostsCost(2, tc.first), name)
	}
	one := "ssd"
	require.Equal(t, storedFigures+10, configGroupsCost(10, &one))
	require.Equal(t, storedFigures+10*nominalPerParent, configGroupsCost(10, nil))
}
