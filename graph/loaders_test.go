package graph

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/vikstrous/dataloadgen"

	"github.com/teslaops/tesla/internal/fault"
)

// A batch that refuses some keys answers the others: each Load gets its own value
// or its own error, whichever keys shared the batch.
func TestPerKeyRefusalFailsOnlyItsKey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	batches := 0
	ld := dataloadgen.NewMappedLoader(perKey(func(_ context.Context, keys []int64) (map[int64]string, map[int64]error, error) {
		batches++
		vals, refused := map[int64]string{}, map[int64]error{}
		for _, k := range keys {
			if k%2 == 0 {
				refused[k] = fault.Forbiddenf("no %d", k)
			} else {
				vals[k] = "v"
			}
		}
		return vals, refused, nil
	}))
	vals, err := ld.LoadAll(ctx, []int64{1, 2, 3, 4})
	require.Equal(t, 1, batches, "one batch for all keys")
	require.Equal(t, []string{"v", "", "v", ""}, vals)
	var errs dataloadgen.ErrorSlice
	require.True(t, errors.As(err, &errs))
	require.NoError(t, errs[0])
	require.NoError(t, errs[2])
	require.True(t, fault.Is(errs[1], fault.Forbidden))
	require.EqualError(t, errs[3], "no 4", "each key has its own error")

	// A failure of the whole batch still reaches every key.
	boom := errors.New("database down")
	ld = dataloadgen.NewMappedLoader(perKey(func(context.Context, []int64) (map[int64]string, map[int64]error, error) {
		return nil, nil, boom
	}))
	_, err = ld.LoadAll(ctx, []int64{1, 2})
	require.True(t, errors.As(err, &errs))
	require.ErrorIs(t, errs[0], boom)
	require.ErrorIs(t, errs[1], boom)
}

// A prefetch primes the keys a per-key fetch answered and leaves the refused ones
// to their own fields, instead of failing the list that prefetched them.
func TestPrimeLeavesRefusedKeysToTheirFields(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	calls := 0
	fetch := perKey(func(_ context.Context, keys []int64) (map[int64]string, map[int64]error, error) {
		calls++
		return map[int64]string{1: "one"}, map[int64]error{2: fault.Forbiddenf("no 2")}, nil
	})
	ld := dataloadgen.NewMappedLoader(fetch)
	require.NoError(t, prime(ctx, ld, []int64{1, 2}, fetch))
	v, err := ld.Load(ctx, 1)
	require.NoError(t, err)
	require.Equal(t, "one", v)
	require.Equal(t, 1, calls, "key 1 came from the cache")
	_, err = ld.Load(ctx, 2)
	require.True(t, fault.Is(err, fault.Forbidden), "%v", err)

	boom := errors.New("database down")
	require.ErrorIs(t, prime(ctx, ld, []int64{3}, func(context.Context, []int64) (map[int64]string, error) { return nil, boom }), boom)
}
