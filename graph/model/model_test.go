package model

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/teslaops/tesla/internal/fault"
)

func TestGlobalIDRoundTrip(t *testing.T) {
	gid := GlobalID(KindHost, 42)
	kind, id, err := DecodeGlobalID("id", gid)
	require.NoError(t, err)
	require.Equal(t, KindHost, kind)
	require.EqualValues(t, 42, id)
	_, err = ParseID("id", gid, KindCluster)
	require.True(t, fault.Is(err, fault.Invalid))
	for _, bad := range []string{"", "!!", GlobalID(KindHost, 0), "SG9zdDp4", "SG9zdA"} { // "Host:x", "Host"
		_, _, err := DecodeGlobalID("id", bad)
		require.True(t, fault.Is(err, fault.Invalid), bad)
	}
}

func TestScalars(t *testing.T) {
	var d Duration
	require.NoError(t, d.UnmarshalGQL("1h30m"))
	require.Equal(t, Duration(90*time.Minute), d)
	require.True(t, fault.Is(d.UnmarshalGQL("soon"), fault.Invalid))
	require.True(t, fault.Is(d.UnmarshalGQL(5), fault.Invalid))
	var buf bytes.Buffer
	d.MarshalGQL(&buf)
	require.Equal(t, `"1h30m0s"`, buf.String())

	var m Decimal
	require.NoError(t, m.UnmarshalGQL("12.50"))
	require.Equal(t, Decimal("12.50"), m)
	require.True(t, fault.Is(m.UnmarshalGQL("twelve"), fault.Invalid))
	for _, bad := range []string{"NaN", "Inf", "-Infinity", "1e400", "0x1p-2", "", "1.", ".5"} {
		require.True(t, fault.Is(m.UnmarshalGQL(bad), fault.Invalid), bad)
	}

	at, err := UnmarshalTime(context.Background(), "2026-03-01T10:00:00.25+08:00")
	require.NoError(t, err)
	require.Equal(t, time.Date(2026, 3, 1, 2, 0, 0, 250e6, time.UTC), at)
	for _, bad := range []any{"yesterday", "", "2026-03-01", "2026-03-01 10:00:00", int64(5), true, nil} {
		_, err := UnmarshalTime(context.Background(), bad)
		require.True(t, fault.Is(err, fault.Invalid), "%v", bad)
	}

	var j JSON
	require.NoError(t, j.UnmarshalGQL(map[string]any{"a": 1}))
	buf.Reset()
	j.MarshalGQL(&buf)
	require.JSONEq(t, `{"a":1}`, buf.String())
	buf.Reset()
	JSON(nil).MarshalGQL(&buf)
	require.Equal(t, "null", buf.String())
}
