package cost

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/teslaops/tesla/internal/fault"
)

// CSVHandler serves GET /api/v1/bills.csv: any bill view as CSV, with the
// access rules of Bills (the server authenticates the request first, with
// the same function as every other endpoint). Parameters: groupBy (JOB,
// PERSON, BU, CLUSTER, RESOURCE); unit (DAY, WEEK, MONTH) and start
// (YYYY-MM-DD), or from and to; bu, person, cluster, job (database ids).
func (s *Service) CSVHandler(logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q, err := parseCSVQuery(r.URL.Query())
		if err == nil {
			var v *BillView
			if v, err = s.Bills(r.Context(), q); err == nil {
				name := fmt.Sprintf("bills-%s-%s-%s.csv", v.GroupBy, v.From.Format(time.DateOnly), v.To.Format(time.DateOnly))
				w.Header().Set("Content-Type", "text/csv; charset=utf-8")
				w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
				if err := WriteCSV(w, v); err != nil {
					logger.WarnContext(r.Context(), "bills CSV cut short", "error", err)
				}
				return
			}
		}
		status, code, msg, field := http.StatusInternalServerError, "INTERNAL", "internal server error", ""
		if fe, ok := fault.As(err); ok {
			code, msg, field = string(fe.Kind), fe.Message, fe.Field
			switch fe.Kind {
			case fault.Invalid:
				status = http.StatusBadRequest
			case fault.Forbidden:
				status = http.StatusForbidden
			case fault.Unauthenticated:
				status = http.StatusUnauthorized
			case fault.NotFound:
				status = http.StatusNotFound
			}
		} else {
			logger.ErrorContext(r.Context(), "bills CSV failed", "error", err)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		body := map[string]string{"code": code, "error": msg}
		if field != "" {
			body["field"] = field
		}
		_ = json.NewEncoder(w).Encode(body)
	})
}

func parseCSVQuery(v url.Values) (BillQuery, error) {
	q := BillQuery{All: true}
	var err error
	if q.GroupBy, err = ParseGroupBy("groupBy", v.Get("groupBy")); err != nil {
		return q, err
	}
	day := func(name string) (time.Time, error) {
		s := v.Get(name)
		if s == "" {
			return time.Time{}, nil
		}
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return t, fault.Field(name, "%s must be a day such as 2026-11-01, got %q", name, s)
		}
		return t, nil
	}
	q.Period.Unit = PeriodUnit(v.Get("unit"))
	if q.Period.Start, err = day("start"); err != nil {
		return q, err
	}
	if q.Period.From, err = day("from"); err != nil {
		return q, err
	}
	if q.Period.To, err = day("to"); err != nil {
		return q, err
	}
	for name, dst := range map[string]**int64{"bu": &q.Filter.BUID, "person": &q.Filter.PersonID, "cluster": &q.Filter.ClusterID, "job": &q.Filter.JobID} {
		if s := v.Get(name); s != "" {
			id, err := strconv.ParseInt(s, 10, 64)
			if err != nil || id <= 0 {
				return q, fault.Field(name, "%s must be an id, got %q", name, s)
			}
			*dst = &id
		}
	}
	return q, nil
}

// CSVPath is the path of the CSV export of a bill view.
func CSVPath(by GroupBy, from, to time.Time, f Filter) string {
	v := url.Values{"groupBy": {string(by)}, "from": {from.Format(time.DateOnly)}, "to": {to.Format(time.DateOnly)}}
	for name, id := range map[string]*int64{"bu": f.BUID, "person": f.PersonID, "cluster": f.ClusterID, "job": f.JobID} {
		if id != nil {
			v.Set(name, strconv.FormatInt(*id, 10))
		}
	}
	return "/api/v1/bills.csv?" + v.Encode()
}
