package stack

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestConstraints(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		constraint string
		allows     []string
		refuses    []string
	}{
		{">=1.2", []string{"1.2", "1.2.0", "1.10.0", "2.0.0"}, []string{"1.1.9", "1.2.0-rc1", "0.9"}},
		{"<2", []string{"1.99.99", "0.1"}, []string{"2", "2.0.0", "3.1"}},
		{"=3.1.0", []string{"3.1.0", "3.1"}, []string{"3.1.1", "3.0.9"}},
		{"=3.1", []string{"3.1.0", "3.1.7"}, []string{"3.2.0", "3.0.0", "3.1.0-rc1"}},
		{"3.3.6", []string{"3.3.6"}, []string{"3.3.5"}},
		{"^1.4", []string{"1.4.0", "1.9.3"}, []string{"1.3.9", "2.0.0"}},
		{"^0.4", []string{"0.4.0", "0.4.9"}, []string{"0.5.0", "0.3.0"}},
		{"^0.0.3", []string{"0.0.3"}, []string{"0.0.4"}},
		{"~1.4.2", []string{"1.4.2", "1.4.99"}, []string{"1.4.1", "1.5.0"}},
		{"~1", []string{"1.0", "1.9.9"}, []string{"2.0"}},
		{">=3.2, <4", []string{"3.2.0", "3.9"}, []string{"3.1.9", "4.0.0"}},
		{">1.0,<=1.2", []string{"1.0.1", "1.2.0"}, []string{"1.0.0", "1.2.1"}},
		{"*", []string{"0.0.1", "99"}, nil},
		{"", []string{"1.0"}, nil},
		{">=0.280", []string{"0.280", "0.286"}, []string{"0.28", "0.279"}},
		{">=1.0.0-rc1", []string{"1.0.0-rc1", "1.0.0-rc2", "1.0.0"}, []string{"1.0.0-beta", "0.9"}},
	} {
		c, err := ParseConstraint(tc.constraint)
		require.NoError(t, err, tc.constraint)
		for _, s := range tc.allows {
			v, err := ParseSemVer(s)
			require.NoError(t, err, s)
			require.True(t, c.Allows(v), "%q allows %s", tc.constraint, s)
		}
		for _, s := range tc.refuses {
			v, err := ParseSemVer(s)
			require.NoError(t, err, s)
			require.False(t, c.Allows(v), "%q refuses %s", tc.constraint, s)
		}
	}
}

func TestBadConstraintsAndVersions(t *testing.T) {
	t.Parallel()
	for _, s := range []string{">=", "1.2.3.4", ">=1.x", "=>1.2", ">=1.2,", ",<2", "latest", "^", "1..2"} {
		_, err := ParseConstraint(s)
		require.Error(t, err, s)
	}
	for _, s := range []string{"", "1.", "x1", "1.2.3.4", "1.2-", "v", "1 .2"} {
		_, err := ParseSemVer(s)
		require.Error(t, err, s)
	}
	v, err := ParseSemVer("v2.5.8")
	require.NoError(t, err)
	require.Equal(t, "2.5.8", v.String())
}
