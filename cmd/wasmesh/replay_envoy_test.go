package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/wasmesh/wasmesh/internal/envoybin"
)

func TestReplayEnvoy(t *testing.T) {
	if _, err := envoybin.Find(""); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("../../build/hello.wasm"); err != nil {
		t.Fatal("build/hello.wasm missing: run make build")
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	hello, err := filepath.Abs("../../build/hello.wasm")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(bad, []byte(`filters: [{wasm: `+hello+`}]
cases:
- name: wrong status
  request: {path: /, headers: {host: reviews}}
  upstream: {status: 200}
  expect: {response: {status: 204}}
`), 0o644))
	tests := []struct {
		name     string
		args     []string
		code     int
		stdout   string
		stderrIn string
	}{
		{"passes", []string{"replay", "--envoy", "../../testenv/e2e/testdata/hello.yaml"}, 0,
			"PASS  routed by header to reviews v2\nPASS  upstream status passes through\n", ""},
		{"fails", []string{"replay", "--envoy", bad}, 1, "FAIL  wrong status\n      response.status: want 204, got 200\n", "1 case(s) failed in Envoy"},
		{"no file", []string{"replay", "--envoy"}, 2, "", "no replay file given"},
		{"missing file", []string{"replay", "--envoy", "nope.yaml"}, 1, "", "open nope.yaml: no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(tt.args, &out, &errb)
			require.Equal(t, tt.code, code, errb.String())
			require.Equal(t, tt.stdout, out.String())
			require.Contains(t, errb.String(), tt.stderrIn)
		})
	}
}
