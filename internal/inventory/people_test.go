package inventory

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/auth"
	"github.com/teslaops/tesla/internal/db/dbtest"
	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/fixture"
	"github.com/teslaops/tesla/internal/page"
)

// PeopleInBUs decides access per BU: the BUs a caller may list are answered, the
// others refused one by one, each refusal naming its BU.
func TestPeopleInBUsRefusesEachBUOnItsOwn(t *testing.T) {
	t.Parallel()
	pool := dbtest.New(t)
	f := fixture.New(t, pool)
	s := NewService(pool, nil)
	ads, search, platform := f.BUs["ADS"], f.BUs["ADS-SEARCH"], f.BUs["PLATFORM"]
	bus := []int64{ads, platform, search}
	as := func(role auth.Role, bu int64, subtree ...int64) context.Context {
		return auth.WithPrincipal(context.Background(), &auth.Principal{PersonID: 1, Login: "x", Role: role, BUID: bu, BUSubtree: subtree})
	}

	pages, refused, err := s.PeopleInBUs(as(auth.BUAdmin, ads, ads, search), bus, page.Args{})
	require.NoError(t, err)
	require.Len(t, pages, 2)
	require.Equal(t, 1, pages[ads].Info.Total)
	require.Equal(t, "lead", pages[ads].Items[0].Login)
	require.Equal(t, 1, pages[search].Info.Total)
	require.Len(t, refused, 1)
	require.True(t, fault.Is(refused[platform], fault.Forbidden))
	require.Contains(t, refused[platform].Error(), "BU PLATFORM:")

	pages, refused, err = s.PeopleInBUs(as(auth.Viewer, search), bus, page.Args{})
	require.NoError(t, err)
	require.Empty(t, pages)
	require.Len(t, refused, 3)

	pages, refused, err = s.PeopleInBUs(as(auth.Operator, platform), bus, page.Args{})
	require.NoError(t, err)
	require.Empty(t, refused)
	require.Equal(t, 3, pages[platform].Info.Total)

	// Arguments wrong for every BU still fail the whole batch.
	_, _, err = s.PeopleInBUs(as(auth.Operator, platform), bus, page.Args{First: new(int)})
	require.True(t, fault.Is(err, fault.Invalid), "%v", err)
}
