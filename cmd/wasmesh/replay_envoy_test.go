package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
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
		{"passes", []string{"replay", "--envoy", "--logs", "../../testenv/e2e/testdata/hello.yaml"}, 0,
			"PASS  routed by header to reviews v2\n      log: [info] hello.0: hello: request headers\nPASS  upstream status passes through\n      log: [info] hello.0: hello: request headers\n", ""},
		{"fails", []string{"replay", "--envoy", bad}, 1, "FAIL  wrong status\n      response.status: want 204, got 200\n", "1 of 1 case(s) failed in Envoy"},
		{"missing file", []string{"replay", "--envoy", "nope.yaml"}, 3, "", "open nope.yaml: no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(tt.args, &out, &errb)
			require.Equal(t, tt.code, code, errb.String())
			require.Equal(t, tt.stdout, durations.ReplaceAllString(out.String(), ""))
			require.Contains(t, errb.String(), tt.stderrIn)
			if tt.code == 1 {
				// A failed run keeps Envoy's directory and says where; its log is there.
				m := regexp.MustCompile(`access log are kept in (\S+)`).FindStringSubmatch(errb.String())
				require.NotNil(t, m, errb.String())
				t.Cleanup(func() { os.RemoveAll(m[1]) })
				log, err := os.ReadFile(filepath.Join(m[1], "envoy.log"))
				require.NoError(t, err)
				require.Contains(t, string(log), "starting main dispatch loop")
			}
		})
	}
}
