// Package docs holds the tests that keep the prose in docs/ true to the code.
package docs

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var (
	// A path in backticks: `controlplane/ir/ir.go`, `filters/cmd/wasmesh`.
	pathRE = regexp.MustCompile("`((?:cmd|controlplane|filters|sdk|testenv|internal|sandbox|docs)/[A-Za-z0-9_./-]+)`")
	// A symbol named with its file: `ir.Build` (`controlplane/ir/ir.go`).
	symbolRE = regexp.MustCompile("`(?:[A-Za-z]+\\.)?([A-Z][A-Za-z]*)` \\(`([A-Za-z0-9_./-]+\\.go)`")
)

// docs/architecture.md names a file at each step of a resource's way to Envoy and of a request
// through the chain: every file it names exists, and every function or type it names with its
// file is declared in that file. A rename that leaves the page behind fails here.
func TestArchitectureDoc(t *testing.T) {
	root := filepath.Join("..", "..")
	page, err := os.ReadFile(filepath.Join(root, "docs", "architecture.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(page)
	paths := pathRE.FindAllStringSubmatch(text, -1)
	if len(paths) < 20 {
		t.Fatalf("found %d file names in docs/architecture.md; the pattern no longer matches the page", len(paths))
	}
	for _, m := range paths {
		if _, err := os.Stat(filepath.Join(root, m[1])); err != nil {
			t.Errorf("docs/architecture.md names %s: %v", m[1], err)
		}
	}
	symbols := symbolRE.FindAllStringSubmatch(text, -1)
	if len(symbols) < 8 {
		t.Fatalf("found %d symbols with their file in docs/architecture.md; the pattern no longer matches the page", len(symbols))
	}
	for _, m := range symbols {
		name, file := m[1], m[2]
		src, err := os.ReadFile(filepath.Join(root, file))
		if err != nil {
			continue // reported above
		}
		decl := regexp.MustCompile(`(?m)^(func (\([^)]*\) )?` + name + `\b|(type|const|var) ` + name + `\b|\t` + name + `\b.*=)`)
		if !decl.Match(src) && !strings.Contains(string(src), "func "+name+"[") {
			t.Errorf("docs/architecture.md says %s is in %s, which does not declare it", name, file)
		}
	}
}
