package lineage

import (
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseTimesAndKinds(t *testing.T) {
	t.Parallel()
	base := `"run":{"runId":"0d1b6a55-7b1e-4a52-9d38-7a8c2c1f3a01"},"job":{"namespace":"n","name":"j"},"producer":"p","schemaURL":"s"`
	for _, c := range []struct {
		at   string
		want time.Time
	}{
		{"2024-05-01T10:00:00", time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)},                    // no zone: UTC
		{"2024-05-01T12:00:00+02:00", time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)},              // a zone
		{"2024-05-01T10:00:00.123456789Z", time.Date(2024, 5, 1, 10, 0, 0, 123457000, time.UTC)}, // microseconds, as stored
		{"2021-11-03T10:53:52.427343", time.Date(2021, 11, 3, 10, 53, 52, 427343000, time.UTC)},  // the Python client's form
	} {
		ev, err := Parse([]byte(`{"eventType":"START","eventTime":"` + c.at + `",` + base + `}`))
		require.NoError(t, err, c.at)
		require.True(t, c.want.Equal(ev.Time), "%s: %v", c.at, ev.Time)
		require.Equal(t, time.UTC, ev.Time.Location())
		require.Equal(t, RunEvent, ev.Kind)
		require.Equal(t, "RUNNING", ev.State())
	}
	ev, err := Parse([]byte(`{"eventTime":"2024-05-01T10:00:00Z",` + base + `}`))
	require.NoError(t, err)
	require.Equal(t, "OTHER", ev.Type, "a RunEvent without eventType is OTHER")
	require.Equal(t, "", ev.State())

	_, err = Parse([]byte(`{"eventTime":"2024-05-01T10:00:00Z","eventType":"START","job":{"namespace":"n","name":"j"},"producer":"p","schemaURL":"s"}`))
	require.Equal(t, &FieldError{Field: "eventType", Message: "only a RunEvent has an eventType (this event has no run)"}, err)
	_, err = Parse([]byte(`{"eventTime":"2024-05-01T10:00:00Z","dataset":{"namespace":"n","name":"d"},"job":{"namespace":"n","name":"j"},"producer":"p","schemaURL":"s"}`))
	require.Equal(t, "job", err.(*FieldError).Field)
}

// TestFacetChecks: the facet rules follow the schemas: required fields, types,
// nested objects and array items, deletion markers, custom facets.
func TestFacetChecks(t *testing.T) {
	t.Parallel()
	check := func(rules map[string]facetRule, name, body string) error {
		return CheckFacet("f."+name, rules[name], json.RawMessage(body))
	}
	const base = `"_producer":"p","_schemaURL":"s"`
	require.NoError(t, check(runFacetRules, "nominalTime", `{`+base+`,"nominalStartTime":"2020-01-01T00:00:00Z"}`))
	require.EqualError(t, check(runFacetRules, "nominalTime", `{`+base+`}`), "f.nominalTime.nominalStartTime: required")
	require.EqualError(t, check(runFacetRules, "parent", `{`+base+`,"run":{"runId":"x"},"job":{"namespace":"n","name":"j"}}`),
		`f.parent.run.runId: expected uuid, got "x"`)
	require.EqualError(t, check(datasetFacetRules, "schema", `{`+base+`,"fields":[{"name":"a"},{"type":"int"}]}`),
		"f.schema.fields[1].name: required")
	require.EqualError(t, check(outputFacetRules, "outputStatistics", `{`+base+`,"rowCount":1.5}`),
		"f.outputStatistics.rowCount: expected integer, got 1.5")
	require.EqualError(t, check(jobFacetRules, "custom", `{"x":1}`), "f.custom._producer: required")
	require.EqualError(t, check(jobFacetRules, "custom", `[1]`), "f.custom: a facet must be a JSON object")
	require.NoError(t, check(jobFacetRules, "sql", `{"_deleted":true}`))
	require.NoError(t, check(jobFacetRules, "custom", `{`+base+`,"anything":[1,2]}`))

	// The spec's nominal_time_without_end example is a facet, not an event: a
	// valid NominalTimeRunFacet.
	body, err := os.ReadFile("../../../shared/data/openlineage/events/nominal_time_without_end.client-python.json")
	if err != nil {
		t.Skipf("OpenLineage examples absent: %v", err)
	}
	require.NoError(t, CheckFacet("nominalTime", runFacetRules["nominalTime"], body))
}
