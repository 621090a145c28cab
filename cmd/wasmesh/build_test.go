package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestBuild(t *testing.T) {
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	code := run([]string{"build", "-o", out, "../../testdata/plugins/hello", "../../testdata/plugins/sdkex_metrics"}, &stdout, &stderr)
	require.Equal(t, 0, code, stderr.String())
	lines := regexp.MustCompile(`(?m)^build  (\S+) +[0-9.]+ [KM]iB +[0-9.]+s  loads in stock Envoy 1\.40$`).FindAllStringSubmatch(stdout.String(), -1)
	require.Len(t, lines, 2, "one progress line per module:\n%s", stdout.String())
	for i, name := range []string{"hello", "sdkex_metrics"} {
		want := filepath.Join(out, name+".wasm")
		require.Equal(t, want, lines[i][1])
		st, err := os.Stat(want)
		require.NoError(t, err)
		require.Greater(t, st.Size(), int64(1<<20))
	}
	entries, err := os.ReadDir(out)
	require.NoError(t, err)
	require.Len(t, entries, 2, "no temporary files left")

	// -o names the file when one directory is built; the result passes `wasmesh check`.
	file := filepath.Join(t.TempDir(), "sub", "custom.wasm")
	stdout.Reset()
	require.Equal(t, 0, run([]string{"build", "-o", file, "../../testdata/plugins/hello"}, &stdout, &stderr), stderr.String())
	require.Regexp(t, `^build  `+regexp.QuoteMeta(file)+` `, stdout.String())
	stdout.Reset()
	require.Equal(t, 0, run([]string{"check", "-q", file}, &stdout, &stderr), stderr.String())
}

func TestBuildErrors(t *testing.T) {
	broken := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(broken, "go.mod"), []byte("module broken\n\ngo 1.24\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(broken, "main.go"), []byte("package main\n\nfunc main() { undefinedCall() }\n"), 0o644))
	file := filepath.Join(broken, "main.go")
	tests := []struct {
		name     string
		args     []string
		code     int
		stderr   string
		stderrIn string
	}{
		{"missing dir", []string{"build", "-o", t.TempDir(), "nope"}, 1, "wasmesh build: stat nope: no such file or directory\n", ""},
		{"a file", []string{"build", "-o", t.TempDir(), file}, 1, "wasmesh build: " + file + ": not a directory (want a filter's main package)\n", ""},
		{"not main", []string{"build", "-o", t.TempDir(), "../../testenv/replay"}, 1,
			"wasmesh build: ../../testenv/replay: package replay is not a main package (a filter is built from package main)\n", ""},
		{"one file, two dirs", []string{"build", "-o", "x.wasm", "a", "b"}, 2,
			"wasmesh build: -o x.wasm names one file, but 2 directories were given: use an output directory\n", ""},
		{"compile error", []string{"build", "-o", t.TempDir(), broken}, 1, "", "undefined: undefinedCall"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			require.Equal(t, tt.code, run(tt.args, &stdout, &stderr), stderr.String())
			require.Empty(t, stdout.String())
			if tt.stderr != "" {
				require.Equal(t, tt.stderr, stderr.String())
			}
			require.Contains(t, stderr.String(), tt.stderrIn)
		})
	}
}
