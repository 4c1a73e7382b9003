package page

import (
	"encoding/base64"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/fault"
)

var (
	byState = Keyset{Tag: "hosts/STATE/ASC", Cols: []Col{{Expr: "h.state", Type: "text"}, {Expr: "h.id", Type: "bigint"}}}
	byRack  = Keyset{Tag: "hosts/RACK/ASC", Cols: []Col{{Expr: "h.rack", Type: "text"}, {Expr: "h.id", Type: "bigint"}}}
)

func TestKeysetCursorRoundTrips(t *testing.T) {
	for _, key := range [][]string{
		{"ONLINE", "42"},
		{"", "1"},
		{`we"ird|va,lue\`, "9223372036854775807"},
		{"2026-11-30 12:00:00.123456+00", "7"},
	} {
		got, err := byState.Decode("after", byState.Cursor(key))
		require.NoError(t, err)
		require.Equal(t, key, got)
	}
}

func TestKeysetRefusesForeignAndTamperedCursors(t *testing.T) {
	good := byState.Cursor([]string{"ONLINE", "42"})
	for name, c := range map[string]string{
		"other ordering":    byRack.Cursor([]string{"r01", "42"}),
		"position cursor":   Cursor(10),
		"not base64":        "%%%",
		"truncated":         good[:len(good)-4],
		"wrong key length":  byState.Cursor([]string{"ONLINE"}),
		"other version":     base64.RawURLEncoding.EncodeToString([]byte(`{"v":99,"o":"hosts/STATE/ASC","k":["ONLINE","42"]}`)),
		"tampered ordering": base64.RawURLEncoding.EncodeToString([]byte(`{"v":1,"o":"hosts/STATE/DESC","k":["ONLINE","42"]}`)),
		"not JSON":          base64.RawURLEncoding.EncodeToString([]byte(`v1|hosts|ONLINE`)),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Args{After: &c}.Seek(byState)
			require.True(t, fault.Is(err, fault.Invalid), "want BAD_USER_INPUT, got %v", err)
			_, err = Args{Before: &c}.Seek(byState)
			require.True(t, fault.Is(err, fault.Invalid), "want BAD_USER_INPUT, got %v", err)
		})
	}
}

func TestSeekBuildsConditionWithItsArguments(t *testing.T) {
	after := byState.Cursor([]string{"DEGRADED", "7"})
	before := byState.Cursor([]string{"ONLINE", "3"})
	s, err := Args{First: ptr(10), After: &after, Before: &before}.Seek(byState)
	require.NoError(t, err)
	c := s.Where("_k")
	require.Equal(t, "h.state >= @_ka0::text AND (h.state, h.id) > (@_ka0::text, @_ka1::text::bigint) AND "+
		"h.state <= @_kb0::text AND (h.state, h.id) < (@_kb0::text, @_kb1::text::bigint)", c.SQL)
	require.Equal(t, map[string]any{"_ka0": "DEGRADED", "_ka1": "7", "_kb0": "ONLINE", "_kb1": "3"}, map[string]any(c.Args))
	require.Equal(t, "ORDER BY h.state ASC, h.id ASC LIMIT 11", s.OrderLimit())

	// last reads backwards from the end; a descending ordering flips the comparisons.
	desc := Keyset{Tag: "audit/ID/DESC", Desc: true, Cols: []Col{{Expr: "id", Type: "bigint"}}}
	before = desc.Cursor([]string{"100"})
	s, err = Args{Last: ptr(5), Before: &before}.Seek(desc)
	require.NoError(t, err)
	require.Equal(t, "(id) > (@_kb0::text::bigint)", s.Where("_k").SQL)
	require.Equal(t, "ORDER BY id ASC LIMIT 6", s.OrderLimit())
	s, err = Args{}.Seek(desc)
	require.NoError(t, err)
	require.Equal(t, "true", s.Where("_k").SQL)
	require.Equal(t, "ORDER BY id DESC LIMIT 51", s.OrderLimit())
}

func TestKeysetPageTrimsFlipsAndReportsNeighbours(t *testing.T) {
	keys := func(ids ...string) [][]string {
		var out [][]string
		for _, id := range ids {
			out = append(out, []string{"ONLINE", id})
		}
		return out
	}
	// Forward first page with one row more than asked: there is a next page.
	s, _ := Args{First: ptr(2)}.Seek(byState)
	p := KeysetPage(s, []int{1, 2, 3}, keys("1", "2", "3"), Total{N: 9})
	require.Equal(t, []int{1, 2}, p.Items)
	require.True(t, p.Info.HasNextPage)
	require.False(t, p.Info.HasPreviousPage)
	require.Equal(t, byState.Cursor([]string{"ONLINE", "2"}), *p.Info.EndCursor())

	// Backward: rows arrive last first and are flipped; fewer than asked means no
	// previous page, and before a cursor there is always a next one.
	before := byState.Cursor([]string{"ONLINE", "9"})
	s, _ = Args{Last: ptr(3), Before: &before}.Seek(byState)
	p = KeysetPage(s, []int{8, 7}, keys("8", "7"), Total{N: 9})
	require.Equal(t, []int{7, 8}, p.Items)
	require.False(t, p.Info.HasPreviousPage)
	require.True(t, p.Info.HasNextPage)
	require.Equal(t, byState.Cursor([]string{"ONLINE", "7"}), *p.Info.StartCursor())

	empty := KeysetPage[int](s, nil, nil, Total{N: 9})
	require.Nil(t, empty.Info.StartCursor())
	require.Nil(t, empty.Info.EndCursor())
}
