package graph

import (
	"context"
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"

	"github.com/teslaops/tesla/internal/fault"
	"github.com/teslaops/tesla/internal/healing"
)

// healingAttemptsPage reads what the healingAttempts connection resolving in
// ctx selects: the page of f, and the total with f's filters when it selects
// totalCount. A connection selecting only totalCount (the Self-healing page's
// tab counts) reads no page.
func (r *Resolver) healingAttemptsPage(ctx context.Context, f healing.AttemptFilter) ([]*healing.Attempt, int, error) {
	list, count := true, false
	if graphql.HasOperationContext(ctx) && graphql.GetFieldContext(ctx) != nil {
		list, count = false, false
		for _, sel := range graphql.CollectFieldsCtx(ctx, nil) {
			switch sel.Name {
			case "totalCount":
				count = true
			case "nodes", "pageInfo":
				list = true
			}
		}
		// Selecting neither still reads the page: the domain checks the
		// caller there.
		list = list || !count
	}
	var as []*healing.Attempt
	var total int
	var err error
	if list {
		if as, err = r.Healing.Attempts(ctx, f); err != nil {
			return nil, 0, err
		}
	}
	if count {
		if total, err = r.Healing.CountAttempts(ctx, f); err != nil {
			return nil, 0, err
		}
	}
	return as, total, nil
}

// timeCursor is an opaque keyset cursor over (time, id) for listings newest
// first: base64url of "Kind:unix microseconds:id".
func timeCursor(kind string, t time.Time, id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(kind + ":" + strconv.FormatInt(t.UnixMicro(), 10) + ":" + strconv.FormatInt(id, 10)))
}

// parseTimeCursor reads a timeCursor of kind; nil is the first page (zero
// values).
func parseTimeCursor(after *string, kind string) (time.Time, int64, error) {
	if after == nil {
		return time.Time{}, 0, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(*after)
	parts := strings.Split(string(raw), ":")
	if err != nil || len(parts) != 3 || parts[0] != kind {
		return time.Time{}, 0, fault.Field("after", "after is not a cursor of this list")
	}
	us, err1 := strconv.ParseInt(parts[1], 10, 64)
	id, err2 := strconv.ParseInt(parts[2], 10, 64)
	if err1 != nil || err2 != nil || id < 1 {
		return time.Time{}, 0, fault.Field("after", "after is not a cursor of this list")
	}
	return time.UnixMicro(us).UTC(), id, nil
}

// int32Of narrows an optional GraphQL Int; the domain checks its range.
func int32Of(v *int) *int32 {
	if v == nil {
		return nil
	}
	n := int32(max(min(*v, 1<<31-1), -1<<31))
	return &n
}
