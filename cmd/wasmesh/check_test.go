package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// builtModule returns build/<name>.wasm and fails the test when it is missing.
func builtModule(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join("..", "..", "build", name+".wasm")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s missing: run make build (%v)", p, err)
	}
	return p
}

// wasmModule assembles a small module importing each module.name function (type () -> ()) and
// exporting nothing: not a proxy-wasm plugin.
func wasmModule(imports ...[2]string) []byte {
	b := []byte("\x00asm\x01\x00\x00\x00")
	section := func(id byte, payload []byte) {
		b = append(b, id, byte(len(payload))) // payloads stay under 128 bytes
		b = append(b, payload...)
	}
	section(1, []byte{1, 0x60, 0, 0})
	imp := []byte{byte(len(imports))}
	for _, im := range imports {
		imp = append(imp, byte(len(im[0])))
		imp = append(imp, im[0]...)
		imp = append(imp, byte(len(im[1])))
		imp = append(imp, im[1]...)
		imp = append(imp, 0, 0) // a function of type 0
	}
	section(2, imp)
	return b
}

func TestCheck(t *testing.T) {
	hello := builtModule(t, "hello")
	data, err := os.ReadFile(hello)
	require.NoError(t, err)
	sum := sha256.Sum256(data)

	var stdout, stderr bytes.Buffer
	require.Equal(t, 0, run([]string{"check", hello}, &stdout, &stderr), stderr.String())
	out := stdout.String()
	require.Empty(t, stderr.String())
	require.True(t, strings.HasPrefix(out, hello+"\n"), out)
	require.Contains(t, out, "  sha256   "+hex.EncodeToString(sum[:])+"\n")
	require.Contains(t, out, " bytes)\n")
	require.Contains(t, out, "  abi      0.2.0\n")
	require.Contains(t, out, "  reactor  yes (_initialize)\n")
	require.Contains(t, out, "    env.proxy_log\n")
	require.Contains(t, out, "    proxy_on_request_headers\n")
	require.True(t, strings.HasSuffix(out, "  envoy    loads in stock Envoy 1.40\n"), out)

	stdout.Reset()
	require.Equal(t, 0, run([]string{"check", "-q", hello}, &stdout, &stderr), stderr.String())
	require.Equal(t, hello+": loads in stock Envoy 1.40\n", stdout.String())
}

func TestCheckRefused(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.wasm")
	require.NoError(t, os.WriteFile(bad, wasmModule([2]string{"wasi_snapshot_preview1", "sock_accept"}, [2]string{"env", "proxy_log"}), 0o644))
	var stdout, stderr bytes.Buffer
	require.Equal(t, 1, run([]string{"check", bad}, &stdout, &stderr))
	require.Equal(t, "wasmesh check: "+bad+": stock Envoy 1.40 cannot load it\n", stderr.String())
	out := stdout.String()
	require.Contains(t, out, "  abi      none (no proxy_abi_version_* export)\n")
	require.Contains(t, out, "  reactor  no (no _initialize export: not built with -buildmode=c-shared)\n")
	require.Contains(t, out, "  imports  2\n    env.proxy_log\n    wasi_snapshot_preview1.sock_accept\n  exports  0\n")
	verdict, reasons, ok := strings.Cut(out, "  envoy    stock Envoy 1.40 cannot load it (")
	require.True(t, ok, out)
	require.NotEmpty(t, verdict)
	require.Contains(t, reasons, "sock_accept", "the reasons name the import Envoy does not provide")
	for _, line := range strings.Split(strings.TrimSpace(reasons), "\n")[1:] {
		require.True(t, strings.HasPrefix(line, "    - "), "one reason per line: %q", line)
	}

	// Two modules, one refused: both are reported and the exit code is 1.
	stdout.Reset()
	stderr.Reset()
	require.Equal(t, 1, run([]string{"check", "-q", builtModule(t, "hello"), bad}, &stdout, &stderr))
	require.True(t, strings.HasPrefix(stdout.String(), builtModule(t, "hello")+": loads in stock Envoy 1.40\n"+bad+": stock Envoy 1.40 cannot load it ("), stdout.String())
	require.Equal(t, "wasmesh check: "+bad+": stock Envoy 1.40 cannot load it\n", stderr.String())
}

func TestCheckBadInput(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.txt")
	require.NoError(t, os.WriteFile(text, []byte("hello"), 0o644))
	empty := filepath.Join(dir, "empty.wasm")
	require.NoError(t, os.WriteFile(empty, nil, 0o644))
	truncated := filepath.Join(dir, "truncated.wasm")
	require.NoError(t, os.WriteFile(truncated, wasmModule()[:10], 0o644))
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"no file", []string{"check"}, 2, "wasmesh check: no module given (usage: wasmesh check FILE.wasm...)\n"},
		{"missing file", []string{"check", filepath.Join(dir, "nope.wasm")}, 1, "wasmesh check: stat " + filepath.Join(dir, "nope.wasm") + ": no such file or directory\n"},
		{"directory", []string{"check", dir}, 1, "wasmesh check: " + dir + ": is a directory, not a .wasm file\n"},
		{"not wasm", []string{"check", text}, 1, "wasmesh check: " + text + ": not a WebAssembly module: it does not start with \\0asm\n"},
		{"empty", []string{"check", empty}, 1, "wasmesh check: " + empty + ": not a WebAssembly module: the file is empty\n"},
		{"unknown flag after the file", []string{"check", text, "-x"}, 2, "-x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			require.Equal(t, tt.code, run(tt.args, &stdout, &stderr), stderr.String())
			require.Empty(t, stdout.String())
			if tt.stderr == "-x" {
				require.True(t, strings.HasSuffix(stderr.String(), "\nwasmesh check: flag provided but not defined: -x\n"), stderr.String())
				require.Contains(t, stderr.String(), "usage: wasmesh check [-q] FILE.wasm...")
				return
			}
			require.Equal(t, tt.stderr, stderr.String())
		})
	}

	// A module wazero cannot decode is an error naming the file, not a verdict.
	var stdout, stderr bytes.Buffer
	require.Equal(t, 1, run([]string{"check", truncated}, &stdout, &stderr))
	require.Empty(t, stdout.String())
	require.True(t, strings.HasPrefix(stderr.String(), "wasmesh check: "+truncated+": "), stderr.String())
}
