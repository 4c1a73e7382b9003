package inventory

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/fault"
)

func TestCanSeePerson(t *testing.T) {
	const self, other, ownBU, childBU, foreignBU = 1, 2, 10, 11, 20
	lead := &auth.Principal{PersonID: self, Role: auth.BUAdmin, BUID: ownBU, BUSubtree: []int64{ownBU, childBU}}
	tests := []struct {
		name   string
		p      *auth.Principal
		person int64
		bu     int64
		want   bool
	}{
		{"admin reads anyone", &auth.Principal{PersonID: self, Role: auth.Admin}, other, foreignBU, true},
		{"operator reads anyone", &auth.Principal{PersonID: self, Role: auth.Operator}, other, foreignBU, true},
		{"viewer reads self", &auth.Principal{PersonID: self, Role: auth.Viewer}, self, ownBU, true},
		{"viewer cannot read a colleague", &auth.Principal{PersonID: self, Role: auth.Viewer, BUID: ownBU}, other, ownBU, false},
		{"BU admin reads own BU", lead, other, ownBU, true},
		{"BU admin reads sub-BU", lead, other, childBU, true},
		{"BU admin cannot read another BU", lead, other, foreignBU, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, canSeePerson(tt.p, tt.person, tt.bu))
		})
	}
}

func TestLikePatternEscapesWildcards(t *testing.T) {
	require.Equal(t, `%50\%\_a\\b%`, likePattern(`50%_a\b`))
}

func TestOrderSQLIsWhitelisted(t *testing.T) {
	sql, err := orderSQL(clusterOrders, Order{Field: "KIND", Desc: true}, "c.name", "c.id")
	require.NoError(t, err)
	require.Equal(t, "c.kind DESC, c.id DESC", sql)
	_, err = orderSQL(clusterOrders, Order{Field: "c.id; DROP TABLE cluster"}, "c.name", "c.id")
	require.Error(t, err)
}

func TestHostKeysetIsWhitelisted(t *testing.T) {
	ks, err := hostKeyset(Order{Field: "CPU_CORES", Desc: true})
	require.NoError(t, err)
	require.Equal(t, "hosts/CPU_CORES/DESC", ks.Tag)
	require.Equal(t, "h.cpu_cores", ks.Cols[0].Expr)
	_, err = hostKeyset(Order{Field: "h.id; DROP TABLE host"})
	require.True(t, fault.Is(err, fault.Invalid), "want BAD_USER_INPUT, got %v", err)
}
