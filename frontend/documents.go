package frontend

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// Document is one GraphQL operation the web app sends, with the fragments it
// spreads (transitively) appended, so it can be parsed, priced or sent alone.
type Document struct {
	// Name is the operation's name; Kind is query, mutation or subscription.
	Name, Kind string
	// File is where it is written, relative to the source directory's parent
	// (e.g. "src/pages/ClusterPage.tsx").
	File string
	Text string
}

var (
	// tadaCall is a document of the web app: gql.tada's graphql(`…`) call, whose
	// fragments are passed beside it and are found here by name.
	tadaCall     = regexp.MustCompile("(?s)graphql\\(\\s*`([^`]*)`")
	fragmentName = regexp.MustCompile(`^\s*fragment\s+(\w+)\s+on\b`)
	spread       = regexp.MustCompile(`\.\.\.\s*([_A-Za-z]\w*)`)
	operation    = regexp.MustCompile(`^\s*(?:#[^\n]*\n\s*)*(query|mutation|subscription)\s+(\w+)`)
)

// Documents reads every GraphQL operation under srcDir (frontend/src), sorted by
// name. The server's tests price them and the fleet bench sends them, so both
// follow the web app as it changes rather than a copy that drifts. Test files are
// left out.
func Documents(srcDir string) ([]Document, error) {
	fragments := map[string]string{}
	type op struct{ text, file string }
	var ops []op
	err := filepath.WalkDir(srcDir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !(strings.HasSuffix(path, ".ts") || strings.HasSuffix(path, ".tsx")) ||
			strings.Contains(path, ".test.") {
			return err
		}
		body, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(filepath.Dir(srcDir), path)
		for _, m := range tadaCall.FindAllStringSubmatch(string(body), -1) {
			if f := fragmentName.FindStringSubmatch(m[1]); f != nil {
				fragments[f[1]] = m[1]
			} else {
				ops = append(ops, op{m[1], filepath.ToSlash(rel)})
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("error reading the web app's documents: %w", err)
	}
	out := make([]Document, 0, len(ops))
	for _, o := range ops {
		m := operation.FindStringSubmatch(o.text)
		if m == nil {
			return nil, fmt.Errorf("%s: an operation without a name: %.60q", o.file, o.text)
		}
		text, added := strings.TrimSpace(o.text), map[string]bool{}
		for {
			missing := ""
			for _, sp := range spread.FindAllStringSubmatch(text, -1) {
				if sp[1] != "on" && !added[sp[1]] {
					missing = sp[1]
					break
				}
			}
			if missing == "" {
				break
			}
			f, ok := fragments[missing]
			if !ok {
				return nil, fmt.Errorf("%s: %s spreads fragment %s, which the web app does not define", o.file, m[2], missing)
			}
			added[missing] = true
			text += "\n" + strings.TrimSpace(f)
		}
		out = append(out, Document{Name: m[2], Kind: m[1], File: o.file, Text: text})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
