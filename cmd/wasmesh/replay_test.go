package main

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// durations are the "(1.2ms)" / "(1.2ms, simulated 1s)" tails of case lines.
var durations = regexp.MustCompile(`(?m)  \([^)\n]*\)$`)

func TestReplay(t *testing.T) {
	builtModule(t, "sdkex_http_headers")
	var stdout, stderr bytes.Buffer
	code := run([]string{"replay", "../../testdata/replay/sdkex_http_headers.yaml"}, &stdout, &stderr)
	require.Equal(t, 0, code, stdout.String()+stderr.String())
	require.Empty(t, stderr.String())
	require.Regexp(t, `^PASS  response gets the configured and the example header  \([0-9.]+[µm]?s\)\n`, stdout.String(), "each line has the case's duration")
	require.Equal(t, "PASS  response gets the configured and the example header\nPASS  request header test is replaced\n",
		durations.ReplaceAllString(stdout.String(), ""))
}

func TestReplayFailureShowsDiff(t *testing.T) {
	wasm, err := filepath.Abs(builtModule(t, "sdkex_http_headers"))
	require.NoError(t, err)
	p := filepath.Join(t.TempDir(), "wrong.yaml")
	require.NoError(t, os.WriteFile(p, []byte(`filters:
- wasm: `+wasm+`
  config: {header: x-wasm-header, value: demo-wasm}
cases:
- name: right
  request: {headers: {host: reviews}}
  expect: {response: {status: 200, headers: {x-wasm-header: demo-wasm}}}
- name: wrong
  request: {method: POST, path: /p, headers: {host: reviews, test: worst}, body: data}
  upstream: {status: 201, body: made}
  expect:
    upstreamRequest: {headers: {test: worst, x-missing: here}, body: other, cluster: reviews|v1, path: /q}
    response: {status: 200, headers: {x-wasm-header: demo}, body: made!}
    metrics: {requests_total: 1}
- name: should not reach the upstream
  request: {headers: {host: reviews}}
  expect: {upstreamRequest: null}
`), 0o644))
	var stdout, stderr bytes.Buffer
	require.Equal(t, 1, run([]string{"replay", p}, &stdout, &stderr))
	require.Equal(t, "2 of 3 case(s) failed\n", stderr.String())
	require.Equal(t, `PASS  right
FAIL  wrong
      upstreamRequest.cluster: want "reviews|v1", got "default"
      upstreamRequest.path: want "/q", got "/p"
      upstreamRequest.headers.test: want "worst", got "best"
      upstreamRequest.headers.x-missing: want "here", absent
      upstreamRequest.body: want "other", got "data"
      response.status: want 200, got 201
      response.headers.x-wasm-header: want "demo", got "demo-wasm"
      response.body: want "made!", got "made"
      metrics.requests_total: want 1, no plugin defined requests_total
FAIL  should not reach the upstream
      upstreamRequest: want none, got one to cluster "default"
`, durations.ReplaceAllString(stdout.String(), ""))
}

func TestReplayErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(s), 0o644))
		return p
	}
	wasm, err := filepath.Abs(builtModule(t, "sdkex_http_headers"))
	require.NoError(t, err)
	badYAML := write("bad.yaml", "filters:\n- wasm: a.wasm\n  config: {a: 1\ncases: []\n")
	badKey := write("key.yaml", "filters: [{wasm: "+wasm+"}]\ncases:\n- name: a\n  expect: {response: {staus: 200}}\n")
	noModule := write("module.yaml", "filters: [{wasm: ../nope/x.wasm}]\ncases: [{name: a}]\n")
	refused := write("refused.yaml", "filters: [{wasm: "+wasm+", config: {header: x}}]\ncases: [{name: a}]\n")
	tests := []struct {
		name     string
		args     []string
		code     int
		stderr   string
		stderrIn []string
	}{
		{"no file", []string{"replay"}, 2, "wasmesh replay: no replay file given (usage: wasmesh replay [--envoy] [--logs] CASES.yaml...)\n", nil},
		{"no file for envoy", []string{"replay", "--envoy"}, 2, "wasmesh replay: no replay file given (usage: wasmesh replay [--envoy] [--logs] CASES.yaml...)\n", nil},
		{"bad flag", []string{"replay", "--nope", badKey}, 2, "", []string{"flag provided but not defined: -nope"}},
		// Exit 3: the cases could not run (distinct from 1, cases that ran and failed).
		{"missing file", []string{"replay", filepath.Join(dir, "nope.yaml")}, 3, "wasmesh replay: open " + filepath.Join(dir, "nope.yaml") + ": no such file or directory\n", nil},
		{"bad yaml", []string{"replay", badYAML}, 3, "wasmesh replay: " + badYAML + ":3: invalid YAML: did not find expected ',' or '}'\n", nil},
		{"unknown key", []string{"replay", badKey}, 3, "wasmesh replay: " + badKey + ":4: cases[0].expect.response.staus: unknown field (did you mean \"status\"?)\n", nil},
		{"missing module", []string{"replay", noModule}, 3, "wasmesh replay: " + noModule + ":1: filters[0].wasm: ../nope/x.wasm: no such module (run make build or wasmesh build)\n", nil},
		{"every file is checked first", []string{"replay", badKey, noModule}, 3, "wasmesh replay: " + badKey + ":4: cases[0].expect.response.staus: unknown field (did you mean \"status\"?)\n" +
			noModule + ":1: filters[0].wasm: ../nope/x.wasm: no such module (run make build or wasmesh build)\n", nil},
		{"envoy: every file is checked first", []string{"replay", "--envoy", noModule}, 3, "wasmesh replay: " + noModule + ":1: filters[0].wasm: ../nope/x.wasm: no such module (run make build or wasmesh build)\n", nil},
		{"plugin refuses its config", []string{"replay", refused}, 3, "", []string{"wasmesh replay: " + refused + ": ", `want {"header": "<name>", "value": "<value>"}`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			require.Equal(t, tt.code, run(tt.args, &stdout, &stderr), stderr.String())
			require.Empty(t, stdout.String())
			if tt.stderr != "" {
				require.Equal(t, tt.stderr, stderr.String())
			}
			for _, s := range tt.stderrIn {
				require.Contains(t, stderr.String(), s)
			}
		})
	}
}

// --logs prints each case's plugin log lines under it.
func TestReplayLogs(t *testing.T) {
	builtModule(t, "sdkex_http_headers")
	var stdout, stderr bytes.Buffer
	require.Equal(t, 0, run([]string{"replay", "--logs", "../../testdata/replay/sdkex_http_headers.yaml"}, &stdout, &stderr), stderr.String())
	out := durations.ReplaceAllString(stdout.String(), "")
	i := strings.Index(out, "PASS  request header test is replaced\n")
	require.Positive(t, i, out)
	require.Contains(t, out[i:], "\n      log: [info] sdkex_http_headers.0: request header --> test: best\n")
	stdout.Reset()
	require.Equal(t, 0, run([]string{"replay", "../../testdata/replay/sdkex_http_headers.yaml"}, &stdout, &stderr), stderr.String())
	require.NotContains(t, stdout.String(), "log:")
}

// --cost prints each case's crossings; --pipeline runs a chain of built-in filters as one
// pipeline plugin, which costs fewer crossings for the same cases.
func TestReplayCost(t *testing.T) {
	builtModule(t, "wasmesh")
	crossings := func(args ...string) (host, callbacks int) {
		var stdout, stderr bytes.Buffer
		code := run(append([]string{"replay", "--cost"}, append(args, "../../filters/chain/testdata/chain.yaml")...), &stdout, &stderr)
		require.Equal(t, 0, code, stdout.String()+stderr.String())
		require.Contains(t, stdout.String(), "case                                         host calls  callbacks  allocs  host calls by name\n")
		m := regexp.MustCompile(`(?m)^no rule, the canary override decides\s+(\d+)\s+(\d+)\s+\d+  .*proxy_get_header_map_pairs \d`).FindStringSubmatch(stdout.String())
		require.NotNil(t, m, stdout.String())
		h, _ := strconv.Atoi(m[1])
		c, _ := strconv.Atoi(m[2])
		return h, c
	}
	sepHost, sepCallbacks := crossings()
	pipeHost, pipeCallbacks := crossings("--pipeline")
	require.Less(t, pipeHost, sepHost, "host calls: pipeline vs four filters")
	require.Less(t, pipeCallbacks, sepCallbacks, "callbacks: pipeline vs four filters")

	var stdout, stderr bytes.Buffer
	require.Equal(t, 2, run([]string{"replay", "--cost", "--envoy", "x.yaml"}, &stdout, &stderr))
	require.Contains(t, stderr.String(), "--cost works under testenv only")
}
