package page

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/fault"
)

func ptr[T any](v T) *T { return &v }

func TestResolve(t *testing.T) {
	tests := []struct {
		name     string
		args     Args
		total    int
		from, to int
	}{
		{"default first page", Args{}, 120, 0, 50},
		{"first 10", Args{First: ptr(10)}, 120, 0, 10},
		{"first after", Args{First: ptr(10), After: ptr(Cursor(10))}, 120, 10, 20},
		{"first past end", Args{First: ptr(10), After: ptr(Cursor(115))}, 120, 115, 120},
		{"last only", Args{Last: ptr(10)}, 120, 110, 120},
		{"last more than total", Args{Last: ptr(10)}, 4, 0, 4},
		{"last before", Args{Last: ptr(10), Before: ptr(Cursor(21))}, 120, 10, 20},
		{"last before near start", Args{Last: ptr(10), Before: ptr(Cursor(4))}, 120, 0, 3},
		{"first before", Args{First: ptr(10), Before: ptr(Cursor(6))}, 120, 0, 5},
		{"after and before", Args{After: ptr(Cursor(2)), Before: ptr(Cursor(6))}, 120, 2, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := tt.args.Resolve()
			require.NoError(t, err)
			from, to := w.Bounds(tt.total)
			require.Equal(t, tt.from, from)
			require.Equal(t, tt.to, to)
		})
	}
}

func TestResolveRejectsBadArguments(t *testing.T) {
	for name, a := range map[string]Args{
		"first 0":      {First: ptr(0)},
		"first 10000":  {First: ptr(10000)},
		"last -1":      {Last: ptr(-1)},
		"both":         {First: ptr(1), Last: ptr(1)},
		"bad cursor":   {After: ptr("not-a-cursor")},
		"zero cursor":  {After: ptr(Cursor(0))},
		"forged field": {Before: ptr("cG9zOmFiYw")}, // "pos:abc"
	} {
		t.Run(name, func(t *testing.T) {
			_, err := a.Resolve()
			require.Error(t, err)
			require.True(t, fault.Is(err, fault.Invalid), "want BAD_USER_INPUT, got %v", err)
		})
	}
}

func TestInfo(t *testing.T) {
	i := NewInfo(10, 10, 25)
	require.True(t, i.HasPreviousPage)
	require.True(t, i.HasNextPage)
	require.Equal(t, Cursor(11), *i.StartCursor())
	require.Equal(t, Cursor(20), *i.EndCursor())
	empty := NewInfo(30, 0, 25)
	require.Nil(t, empty.StartCursor())
	require.False(t, empty.HasNextPage)
}
