package main

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// `wasmesh new filter` scaffolds a filter into a Go module of its own (outside this
// repository, requiring it), and the result builds to .wasm, passes its native and testenv
// tests, and passes its replay cases, with every name derived from NAME.
func TestNewFilterBuildsAndPasses(t *testing.T) {
	repo, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	mod := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(mod, "go.mod"), []byte("module example.com/edge\n\ngo 1.26\n\nrequire github.com/wasmesh/wasmesh v0.0.0\n\nreplace github.com/wasmesh/wasmesh => "+repo+"\n"), 0o644))
	sum, err := os.ReadFile(filepath.Join(repo, "go.sum"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(mod, "go.sum"), sum, 0o644))
	// Offline: every module the scaffold needs is the repository's own dependencies.
	t.Setenv("GOFLAGS", "-mod=mod")
	t.Setenv("GOPROXY", "off")
	t.Setenv("GOWORK", "off")
	t.Chdir(mod)

	var stdout, stderr bytes.Buffer
	require.Equal(t, 0, run([]string{"new", "filter", "edgeguard", "-dir", "filters/edgeguard"}, &stdout, &stderr), stderr.String())
	require.Contains(t, stdout.String(), "create "+filepath.Join("filters", "edgeguard", "edgeguard", "config.go")+"\n")
	require.Contains(t, stdout.String(), "wasmesh build filters/edgeguard -o build/edgeguard.wasm\n")

	// Every file is named after NAME and points at its own packages and module, none at the
	// example it was modelled on.
	var files []string
	require.NoError(t, filepath.WalkDir("filters", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, filepath.ToSlash(p))
			b, err := os.ReadFile(p)
			require.NoError(t, err)
			require.NotContains(t, strings.ToLower(string(b)), "apikey", p)
		}
		return err
	}))
	require.ElementsMatch(t, []string{
		"filters/edgeguard/main.go", "filters/edgeguard/wasm_test.go", "filters/edgeguard/wasmplugin.yaml",
		"filters/edgeguard/testdata/edgeguard.yaml",
		"filters/edgeguard/edgeguard/config.go", "filters/edgeguard/edgeguard/doc.go", "filters/edgeguard/edgeguard/filter.go",
		"filters/edgeguard/edgeguard/filter_test.go", "filters/edgeguard/edgeguard/plugin.go",
		"filters/edgeguard/edgeguard/testdata/config.json",
	}, files)
	main, err := os.ReadFile("filters/edgeguard/main.go")
	require.NoError(t, err)
	require.Contains(t, string(main), `"example.com/edge/filters/edgeguard/edgeguard"`)

	goCmd := func(args ...string) {
		t.Helper()
		cmd := exec.Command("go", args...)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "go %s:\n%s", strings.Join(args, " "), out)
	}
	goCmd("mod", "tidy")
	stdout.Reset()
	require.Equal(t, 0, run([]string{"build", "filters/edgeguard", "-o", "build/edgeguard.wasm"}, &stdout, &stderr), stderr.String())
	require.Contains(t, stdout.String(), "loads in stock Envoy 1.40")
	goCmd("vet", "./...")
	goCmd("test", "-count=1", "./...")
	stdout.Reset()
	require.Equal(t, 0, run([]string{"replay", "filters/edgeguard/testdata/edgeguard.yaml"}, &stdout, &stderr), stdout.String()+stderr.String())
	require.Equal(t, "PASS  a request goes upstream with the header\nPASS  a denied path is answered locally\n", durations.ReplaceAllString(stdout.String(), ""))

	// A second scaffold into the same folder is refused, and so is a bad name.
	stderr.Reset()
	require.Equal(t, 1, run([]string{"new", "filter", "edgeguard", "-dir", "filters/edgeguard"}, &stdout, &stderr))
	require.Equal(t, "wasmesh new: filters/edgeguard already exists: choose another -dir, or remove it\n", stderr.String())
	stderr.Reset()
	require.Equal(t, 2, run([]string{"new", "filter", "Edge-Guard"}, &stdout, &stderr))
	require.Equal(t, "wasmesh new: filter name \"Edge-Guard\": want lowercase letters and digits, a letter first (it names the Go package, the .wasm and the WasmPlugin), e.g. \"edgeguard\"\n", stderr.String())
}

func TestNewErrors(t *testing.T) {
	t.Chdir(t.TempDir())
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"new"}, 2, "wasmesh new: want `wasmesh new filter NAME [-dir DIR]`\n"},
		{[]string{"new", "plugin", "x"}, 2, "wasmesh new: want `wasmesh new filter NAME [-dir DIR]`\n"},
		{[]string{"new", "filter", "ok"}, 1, "wasmesh new: " + mustAbs(t, ".") + " is not inside a Go module: run `go mod init <module path>` there first, then `go get github.com/wasmesh/wasmesh`\n"},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		require.Equal(t, tt.code, run(tt.args, &stdout, &stderr), stderr.String())
		require.Equal(t, tt.want, stderr.String())
	}
}

func mustAbs(t *testing.T, p string) string {
	a, err := filepath.Abs(p)
	require.NoError(t, err)
	return a
}
