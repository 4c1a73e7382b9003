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

// mayManagePeople tests the credential's role itself: an OPERATOR passes
// Is(BUAdmin) but manages nobody, whatever BUs its principal carries.
func TestMayManagePeople(t *testing.T) {
	const ads, search, platform = 2, 3, 4
	buAdmin := &auth.Principal{Role: auth.BUAdmin, BUSubtree: []int64{ads, search}}
	cases := []struct {
		name  string
		p     *auth.Principal
		roles []auth.Role
		bus   []int64
		ok    bool
	}{
		{"admin anywhere", &auth.Principal{Role: auth.Admin}, []auth.Role{auth.Admin}, []int64{platform}, true},
		{"bu admin inside", buAdmin, []auth.Role{auth.Viewer}, []int64{search}, true},
		{"bu admin up to own role", buAdmin, []auth.Role{auth.BUAdmin}, []int64{ads}, true},
		{"bu admin outside", buAdmin, []auth.Role{auth.Viewer}, []int64{platform}, false},
		{"bu admin, new BU outside", buAdmin, []auth.Role{auth.Viewer}, []int64{search, platform}, false},
		{"bu admin granting operator", buAdmin, []auth.Role{auth.Operator}, []int64{ads}, false},
		{"bu admin granting admin", buAdmin, []auth.Role{auth.Viewer, auth.Admin}, []int64{ads}, false},
		{"operator with a subtree", &auth.Principal{Role: auth.Operator, BUSubtree: []int64{ads}}, []auth.Role{auth.Viewer}, []int64{ads}, false},
		{"viewer", &auth.Principal{Role: auth.Viewer, BUSubtree: []int64{ads}}, []auth.Role{auth.Viewer}, []int64{ads}, false},
	}
	for _, tc := range cases {
		err := mayManagePeople(tc.p, tc.roles, tc.bus...)
		if tc.ok {
			require.NoError(t, err, tc.name)
		} else {
			require.True(t, fault.Is(err, fault.Forbidden), "%s: %v", tc.name, err)
		}
	}
}
