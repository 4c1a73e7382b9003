package app

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// scrapeSeries returns the series lines of one metric from /metrics.
func scrapeSeries(t *testing.T, base, metric string) []string {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, metric+"{") {
			out = append(out, line)
		}
	}
	return out
}

// TestMetricsLabelsAreBounded sends requests with made-up methods and an
// unparseable GraphQL document: every label value stays in a fixed set, so the
// number of series does not grow with what clients send.
func TestMetricsLabelsAreBounded(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	send := func(n int) {
		for i := range n {
			req, _ := http.NewRequest(fmt.Sprintf("MADEUP%d", i), e.srv.URL+"/healthz", nil)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
		}
	}
	send(5)
	scrapeSeries(t, e.srv.URL, "tesla_http_requests_total") // the scrape's own series
	before := scrapeSeries(t, e.srv.URL, "tesla_http_requests_total")
	send(50)
	after := scrapeSeries(t, e.srv.URL, "tesla_http_requests_total")
	require.Equal(t, len(before), len(after), "made-up methods added series:\n%s", strings.Join(after, "\n"))

	e.gql(t, e.as("alice"), `{ not graphql`, nil)
	label := regexp.MustCompile(`(\w+)="([^"]*)"`)
	allowed := map[string]*regexp.Regexp{
		"method":  regexp.MustCompile(`^(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS|CONNECT|TRACE|other)$`),
		"code":    regexp.MustCompile(`^([1-5]\d\d|other)$`),
		"route":   regexp.MustCompile(`^((GET|POST|DELETE) )?/[\w/.-]*$|^$`),
		"type":    regexp.MustCompile(`^(query|mutation|subscription|unknown)$`),
		"outcome": regexp.MustCompile(`^(ok|error)$`),
	}
	for _, metric := range []string{"tesla_http_requests_total", "tesla_http_request_duration_seconds_count",
		"tesla_graphql_operations_total", "tesla_graphql_operation_duration_seconds_count"} {
		series := scrapeSeries(t, e.srv.URL, metric)
		require.NotEmpty(t, series, metric)
		for _, s := range series {
			for _, m := range label.FindAllStringSubmatch(s, -1) {
				re, ok := allowed[m[1]]
				require.True(t, ok, "unexpected label %s in %s", m[1], s)
				require.Regexp(t, re, m[2], s)
			}
		}
	}
	require.Contains(t, strings.Join(scrapeSeries(t, e.srv.URL, "tesla_http_requests_total"), "\n"), `method="other"`)
}
