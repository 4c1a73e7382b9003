package graph

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/vektah/gqlparser/v2"

	"github.com/teslaops/tesla/graph/generated"
)

// TestDocumentedQueriesAreValid keeps the documentation honest: every ```graphql
// block in the README and docs/ must validate against the schema the server
// serves.
func TestDocumentedQueriesAreValid(t *testing.T) {
	schema := generated.NewExecutableSchema(generated.Config{Resolvers: &Resolver{}}).Schema()
	files, err := filepath.Glob(filepath.Join("..", "docs", "*.md"))
	require.NoError(t, err)
	files = append(files, filepath.Join("..", "README.md"))
	block := regexp.MustCompile("(?s)```graphql\n(.*?)```")
	checked := 0
	for _, f := range files {
		body, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, m := range block.FindAllStringSubmatch(string(body), -1) {
			for _, op := range operations(m[1]) {
				_, errs := gqlparser.LoadQuery(schema, op)
				require.Empty(t, errs, "%s: a documented query does not validate:\n%s", f, op)
				checked++
			}
		}
	}
	require.Greater(t, checked, 10, "expected the guides to hold example queries")
}

var opStart = regexp.MustCompile(`^(\{|query\b|mutation\b|subscription\b)`)

// operations splits a block holding several examples into one document each: an
// operation starts at a line beginning with {, query, mutation or subscription.
func operations(block string) []string {
	var (
		out     []string
		cur     []string
		hasCode bool
	)
	for _, line := range strings.Split(block, "\n") {
		if opStart.MatchString(line) && hasCode {
			out = append(out, strings.Join(cur, "\n"))
			cur, hasCode = nil, false
		}
		cur = append(cur, line)
		if t := strings.TrimSpace(line); t != "" && !strings.HasPrefix(t, "#") {
			hasCode = true
		}
	}
	if hasCode {
		out = append(out, strings.Join(cur, "\n"))
	}
	return out
}
