package frontend

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDocumentsAppendTheFragmentsTheySpread(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "src")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("fragments.ts", "export const A = graphql(`\n  fragment A on Host { hostname ...B }\n`);\n"+
		"export const B = graphql(`fragment B on Host { state }`);\nexport const C = graphql(`fragment C on Host { rack }`);\n")
	write("Page.tsx", "const Q = graphql(\n  `\n    query Page($n: String!) { host(hostname: $n) { ...A ... on Host { id } } }\n  `,\n  [A],\n);\n"+
		"const M = graphql(`mutation Set { setHostState(input: {}) { userErrors { message } } }`);\n")
	write("Page.test.ts", "graphql(`query Ignored { me { role } }`)")

	docs, err := Documents(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 2 || docs[0].Name != "Page" || docs[1].Name != "Set" {
		t.Fatalf("want Page and Set, got %+v", docs)
	}
	page := docs[0]
	if page.Kind != "query" || page.File != "src/Page.tsx" {
		t.Fatalf("kind/file: %+v", page)
	}
	for _, want := range []string{"fragment A on Host", "fragment B on Host"} {
		if !strings.Contains(page.Text, want) {
			t.Errorf("%q missing from %s", want, page.Text)
		}
	}
	if strings.Contains(page.Text, "fragment C") {
		t.Errorf("an unused fragment was appended: %s", page.Text)
	}

	write("Broken.tsx", "graphql(`query Broken { host(hostname: \"x\") { ...Nope } }`)")
	if _, err := Documents(dir); err == nil || !strings.Contains(err.Error(), "Nope") {
		t.Fatalf("an undefined fragment must be named: %v", err)
	}
}
