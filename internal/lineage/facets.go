package lineage

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
)

// facetRule is what the OpenLineage 2-0-2 facet schemas (spec/facets/*.json)
// require of one facet or of an object inside it: the fields that must be
// present, the JSON type of the fields it knows, and rules for nested objects
// and for the elements of arrays. Fields it does not name are free, as in the
// schemas (additionalProperties is true throughout).
type facetRule struct {
	required []string
	types    map[string]string // "string", "integer", "number", "boolean", "array", "object", "date-time", "uuid"
	objects  map[string]facetRule
	items    map[string]facetRule
}

var (
	keyValue = facetRule{required: []string{"key", "value"}, types: map[string]string{"key": "string", "value": "string", "source": "string"}}
	tags     = facetRule{types: map[string]string{"tags": "array"}, items: map[string]facetRule{"tags": keyValue}}
	owners   = facetRule{types: map[string]string{"owners": "array"},
		items: map[string]facetRule{"owners": {required: []string{"name"}, types: map[string]string{"name": "string", "type": "string"}}}}
	statistics = facetRule{types: map[string]string{"rowCount": "integer", "size": "integer", "fileCount": "integer"}}
	dqMetrics  = facetRule{required: []string{"columnMetrics"},
		types: map[string]string{"rowCount": "integer", "bytes": "integer", "fileCount": "integer", "lastUpdated": "date-time", "columnMetrics": "object"}}
	documentation = facetRule{required: []string{"description"}, types: map[string]string{"description": "string", "contentType": "string"}}
	assertions    = facetRule{required: []string{"assertions"}, types: map[string]string{"assertions": "array"},
		items: map[string]facetRule{"assertions": {required: []string{"assertion", "success"},
			types: map[string]string{"assertion": "string", "success": "boolean", "column": "string"}}}}
)

// runFacetRules, jobFacetRules, datasetFacetRules, inputFacetRules and
// outputFacetRules hold the standard facets by the key they are sent under.
// A facet under another key (a custom facet) is checked as a BaseFacet only.
var (
	runFacetRules = map[string]facetRule{
		"nominalTime": {required: []string{"nominalStartTime"},
			types: map[string]string{"nominalStartTime": "date-time", "nominalEndTime": "date-time"}},
		"parent": {required: []string{"run", "job"}, types: map[string]string{"run": "object", "job": "object", "root": "object"},
			objects: map[string]facetRule{
				"run": {required: []string{"runId"}, types: map[string]string{"runId": "uuid"}},
				"job": {required: []string{"namespace", "name"}, types: map[string]string{"namespace": "string", "name": "string"}},
			}},
		"errorMessage": {required: []string{"message", "programmingLanguage"},
			types: map[string]string{"message": "string", "programmingLanguage": "string", "stackTrace": "string"}},
		"externalQuery":   {required: []string{"externalQueryId", "source"}, types: map[string]string{"externalQueryId": "string", "source": "string"}},
		"extractionError": {required: []string{"totalTasks", "failedTasks", "errors"}, types: map[string]string{"totalTasks": "integer", "failedTasks": "integer", "errors": "array"}},
		"processing_engine": {required: []string{"version"},
			types: map[string]string{"version": "string", "name": "string", "openlineageAdapterVersion": "string"}},
		"environmentVariables": {required: []string{"environmentVariables"}, types: map[string]string{"environmentVariables": "array"},
			items: map[string]facetRule{"environmentVariables": {required: []string{"name", "value"}, types: map[string]string{"name": "string", "value": "string"}}}},
		"tags": tags,
		"test": {required: []string{"tests"}, types: map[string]string{"tests": "array"},
			items: map[string]facetRule{"tests": {required: []string{"name", "status"}, types: map[string]string{"name": "string", "status": "string"}}}},
	}
	jobFacetRules = map[string]facetRule{
		"documentation":      documentation,
		"ownership":          owners,
		"jobType":            {required: []string{"processingType", "integration"}, types: map[string]string{"processingType": "string", "integration": "string", "jobType": "string"}},
		"sql":                {required: []string{"query"}, types: map[string]string{"query": "string", "dialect": "string"}},
		"sourceCode":         {required: []string{"language", "sourceCode"}, types: map[string]string{"language": "string", "sourceCode": "string"}},
		"sourceCodeLocation": {required: []string{"type", "url"}, types: map[string]string{"type": "string", "url": "string"}},
		"tags":               tags,
	}
	datasetFacetRules = map[string]facetRule{
		"documentation": documentation,
		"ownership":     owners,
		"schema": {types: map[string]string{"fields": "array"},
			items: map[string]facetRule{"fields": {required: []string{"name"}, types: map[string]string{"name": "string", "type": "string", "description": "string", "fields": "array"}}}},
		"dataSource":            {types: map[string]string{"name": "string", "uri": "string"}},
		"version":               {required: []string{"datasetVersion"}, types: map[string]string{"datasetVersion": "string"}},
		"storage":               {required: []string{"storageLayer"}, types: map[string]string{"storageLayer": "string", "fileFormat": "string"}},
		"symlinks":              {types: map[string]string{"identifiers": "array"}},
		"lifecycleStateChange":  {required: []string{"lifecycleStateChange"}, types: map[string]string{"lifecycleStateChange": "string"}},
		"columnLineage":         {required: []string{"fields"}, types: map[string]string{"fields": "object", "dataset": "array"}},
		"datasetType":           {required: []string{"datasetType"}, types: map[string]string{"datasetType": "string", "subType": "string"}},
		"catalog":               {required: []string{"framework", "type", "name"}, types: map[string]string{"framework": "string", "type": "string", "name": "string"}},
		"hierarchy":             {required: []string{"hierarchy"}, types: map[string]string{"hierarchy": "array"}},
		"dataQualityMetrics":    dqMetrics,
		"dataQualityAssertions": assertions,
		"tags":                  tags,
	}
	inputFacetRules = map[string]facetRule{
		"dataQualityMetrics":    dqMetrics,
		"dataQualityAssertions": assertions,
		"inputStatistics":       statistics,
		"subset":                {required: []string{"inputCondition"}},
	}
	outputFacetRules = map[string]facetRule{
		"outputStatistics": statistics,
		"subset":           {required: []string{"outputCondition"}},
	}
)

// CheckFacet checks one facet at path against rule (the zero rule for a
// custom facet): it must be an object carrying the BaseFacet fields _producer
// and _schemaURL, unless it is a deletion marker ({"_deleted": true}), and
// must satisfy rule. The error names the first wrong field by its path.
func CheckFacet(path string, rule facetRule, raw json.RawMessage) error {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		return fmt.Errorf("%s: a facet must be a JSON object", path)
	}
	if d, ok := obj["_deleted"]; ok && bytes.Equal(bytes.TrimSpace(d), []byte("true")) {
		return nil
	}
	for _, f := range []string{"_producer", "_schemaURL"} {
		if err := checkType(path+"."+f, "string", obj[f], true); err != nil {
			return err
		}
	}
	return checkObject(path, rule, obj)
}

func checkObject(path string, rule facetRule, obj map[string]json.RawMessage) error {
	for _, f := range rule.required {
		if _, ok := obj[f]; !ok {
			return fmt.Errorf("%s.%s: required", path, f)
		}
	}
	fields := make([]string, 0, len(rule.types))
	for f := range rule.types {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	for _, f := range fields {
		v, ok := obj[f]
		if !ok {
			continue
		}
		if err := checkType(path+"."+f, rule.types[f], v, false); err != nil {
			return err
		}
		if sub, ok := rule.objects[f]; ok {
			var o map[string]json.RawMessage
			_ = json.Unmarshal(v, &o)
			if err := checkObject(path+"."+f, sub, o); err != nil {
				return err
			}
		}
		if sub, ok := rule.items[f]; ok {
			var list []json.RawMessage
			_ = json.Unmarshal(v, &list)
			for i, item := range list {
				p := fmt.Sprintf("%s.%s[%d]", path, f, i)
				var o map[string]json.RawMessage
				if err := json.Unmarshal(item, &o); err != nil || o == nil {
					return fmt.Errorf("%s: expected an object", p)
				}
				if err := checkObject(p, sub, o); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// checkType checks one value against a JSON Schema type (or the formats
// date-time and uuid, both strings). A JSON null is accepted for an optional
// field, as the clients send it for "absent".
func checkType(path, want string, raw json.RawMessage, required bool) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		if required {
			return fmt.Errorf("%s: required", path)
		}
		return nil
	}
	if bytes.Equal(raw, []byte("null")) {
		if required {
			return fmt.Errorf("%s: required, got null", path)
		}
		return nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	ok := false
	switch want {
	case "string":
		_, ok = v.(string)
	case "date-time":
		if s, isStr := v.(string); isStr {
			_, err := parseTime(path, &s)
			ok = err == nil
		}
	case "uuid":
		if s, isStr := v.(string); isStr {
			_, err := parseUUID(path, s)
			ok = err == nil
		}
	case "integer":
		f, isNum := v.(float64)
		ok = isNum && f == math.Trunc(f)
	case "number":
		_, ok = v.(float64)
	case "boolean":
		_, ok = v.(bool)
	case "array":
		_, ok = v.([]any)
	case "object":
		_, ok = v.(map[string]any)
	}
	if !ok {
		return fmt.Errorf("%s: expected %s, got %s", path, want, raw)
	}
	return nil
}
