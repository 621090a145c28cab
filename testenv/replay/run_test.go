package replay

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/wasmesh/wasmesh/testenv/testenvtest"
)

// module returns build/<name>.wasm (absolute) and fails the test when it is missing.
func module(t *testing.T, name string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join("..", "..", "build", name+".wasm"))
	require.NoError(t, err)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s missing: run make build (%v)", p, err)
	}
	return p
}

// Every replay file of the repository passes under testenv (testenv/e2e runs the same files in
// real Envoy).
func TestRunReplayFiles(t *testing.T) {
	var files []string
	for _, pattern := range []string{"../../filters/*/testdata/*.yaml", "../../examples/filters/*/testdata/*.yaml", "../../testdata/replay/*.yaml"} {
		m, err := filepath.Glob(pattern)
		require.NoError(t, err)
		files = append(files, m...)
	}
	require.NotEmpty(t, files)
	for _, path := range files {
		t.Run(path, func(t *testing.T) {
			f, err := ReadFile(path)
			require.NoError(t, err, "run make build if a module is missing")
			res, err := Run(testenvtest.Runtime(t), f)
			require.NoError(t, err)
			var out bytes.Buffer
			require.Zero(t, Report(&out, res), out.String())
			require.Len(t, res, len(f.Cases))
		})
	}
}

var durationTail = regexp.MustCompile(`(?m)  \([^)\n]*\)$`)

func TestRunReportsDifferences(t *testing.T) {
	p := filepath.Join(t.TempDir(), "cases.yaml")
	require.NoError(t, os.WriteFile(p, []byte(`filters:
- wasm: `+module(t, "sdkex_json_validation")+`
  config: {requiredKeys: [id]}
- wasm: `+module(t, "sdkex_metrics")+`
cases:
- name: passes
  request: {method: POST, headers: {content-type: application/json, my-custom-header: a}, body: '{"id": 1}'}
  upstream: {status: 200, headers: {x-up: yes}, body: fine}
  expect:
    upstreamRequest: {body: '{"id": 1}', cluster: default, method: POST}
    response: {status: 200, headers: {x-up: "yes"}, body: fine}
    metrics: {custom_header_value_counts_value=a_reporter=wasmgosdk: 1}
- name: everything differs (the local reply stops the chain before the metrics filter)
  request: {method: POST, headers: {content-type: text/plain, my-custom-header: a}, body: '{}'}
  upstream: {status: 200, body: fine}
  expect:
    upstreamRequest: {body: '{}'}
    response: {status: 200, headers: {x-up: "yes", content-type: application/json}, body: fine}
    metrics: {custom_header_value_counts_value=a_reporter=wasmgosdk: 2, custom_header_value_counts_value=b_reporter=wasmgosdk: 1}
- name: long bodies get their own lines
  request: {method: POST, headers: {content-type: application/json}, body: '{"id": 2}'}
  upstream: {status: 200, body: "a long answer from the upstream, long enough to be shown on its own line\nwith a second line"}
  expect:
    response: {body: "a long answer from the upstream, long enough to be shown on its own line\nwith a 2nd line"}
- name: must not reach the upstream
  request: {method: POST, headers: {content-type: application/json}, body: '{"id": 3}'}
  expect: {upstreamRequest: null}
`), 0o644))
	f, err := ReadFile(p)
	require.NoError(t, err)
	res, err := Run(testenvtest.Runtime(t), f)
	require.NoError(t, err)
	var out bytes.Buffer
	require.Equal(t, 3, Report(&out, res))
	require.Equal(t, `PASS  passes
FAIL  everything differs (the local reply stops the chain before the metrics filter)
      upstreamRequest: want one, none reached an upstream
      response.status: want 200, got 403
      response.headers.content-type: want "application/json", got "text/plain"
      response.headers.x-up: want "yes", absent
      response.body: want "fine", got "content-type must be provided"
      metrics.custom_header_value_counts_value=a_reporter=wasmgosdk: want 2, got 1
      metrics.custom_header_value_counts_value=b_reporter=wasmgosdk: want 1, no plugin defined custom_header_value_counts_value=b_reporter=wasmgosdk
FAIL  long bodies get their own lines
      response.body: differs from byte 80 (want 88 bytes, got 91)
        want: "a long answer from the upstream, long enough to be shown on its own line\nwith a 2nd line"
        got:  "a long answer from the upstream, long enough to be shown on its own line\nwith a second line"
FAIL  must not reach the upstream
      upstreamRequest: want none, got one to cluster "default"
`, durationTail.ReplaceAllString(out.String(), ""))
	require.Regexp(t, `(?m)^PASS  passes  \([0-9.]+[µm]?s\)$`, out.String(), "each case line has its duration")
}

// advance is how long (simulated) the upstream takes to answer: the postpone plugin holds a request
// until its next one-second tick.
func TestRunAdvance(t *testing.T) {
	p := filepath.Join(t.TempDir(), "cases.yaml")
	require.NoError(t, os.WriteFile(p, []byte(`filters: [{wasm: `+module(t, "sdkex_postpone_requests")+`}]
cases:
- {name: held until the first tick then a slow upstream, advance: 300ms}
- {name: held the rest of the period}
- {name: held a whole period then a slower upstream, advance: 1.75s}
`), 0o644))
	f, err := ReadFile(p)
	require.NoError(t, err)
	res, err := Run(testenvtest.Runtime(t), f)
	require.NoError(t, err)
	var got []time.Duration
	for _, r := range res {
		require.True(t, r.Passed(), r.Name)
		got = append(got, r.Simulated)
	}
	// The plugin holds each request until its next 1s tick; advance is how long the upstream
	// then takes to answer. Case 1: tick at 1s + 300ms; case 2 starts at 1.3s, tick at 2s;
	// case 3 starts at 2s, tick at 3s + 1.75s.
	require.Equal(t, []time.Duration{1300 * time.Millisecond, 700 * time.Millisecond, 2750 * time.Millisecond}, got)
	var out bytes.Buffer
	Report(&out, res[:1])
	require.Regexp(t, `^PASS  held until the first tick then a slow upstream  \([0-9.]+[µm]?s, simulated 1.3s\)\n$`, out.String())
}

func TestRunRefusedConfig(t *testing.T) {
	f := &File{Path: "cases.yaml", Filters: []Filter{{Wasm: module(t, "sdkex_http_headers"), Config: []byte(`{"header": "x"}`)}},
		Cases: []Case{{Name: "a", Request: Request{Method: "GET", Path: "/"}, Upstream: Upstream{Status: 200}}}}
	_, err := Run(testenvtest.Runtime(t), f)
	require.ErrorContains(t, err, "cases.yaml: ")
	require.ErrorContains(t, err, `configuration: want {"header": "<name>", "value": "<value>"}`)
}

// The assertions of the format under testenv: each fails when it should (absent header,
// regex, contains, absent metric) and passes when it should.
func TestRunAssertions(t *testing.T) {
	p := filepath.Join(t.TempDir(), "cases.yaml")
	require.NoError(t, os.WriteFile(p, []byte(`filters:
- wasm: `+module(t, "hello")+`
- wasm: `+module(t, "sdkex_metrics")+`
cases:
- name: every assertion holds
  request: {method: POST, headers: {host: reviews, my-custom-header: a}, body: "some data"}
  upstream: {body: hello there}
  expect:
    upstreamRequest:
      headers: {x-request-id: {regex: '^[0-9a-f]{8}-[0-9a-f]{4}-4'}, x-debug: null}
      body: {contains: "me da"}
    response: {headers: {x-hello: {contains: orl}, x-other: null}, body: {regex: "^hello"}}
    metrics: {custom_header_value_counts_value=b_reporter=wasmgosdk: null}
- name: every assertion fails
  request: {method: POST, headers: {host: reviews, my-custom-header: a, x-request-id: given}, body: "some data"}
  upstream: {body: hello there}
  expect:
    upstreamRequest:
      headers: {x-request-id: {regex: '^[0-9a-f]{8}-'}, x-hello: null}
      body: {contains: "mars"}
    response: {headers: {x-hello: null}, body: {regex: "^there"}}
    metrics: {custom_header_value_counts_value=a_reporter=wasmgosdk: null}
`), 0o644))
	f, err := ReadFile(p)
	require.NoError(t, err)
	res, err := Run(testenvtest.Runtime(t), f)
	require.NoError(t, err)
	var out bytes.Buffer
	require.Equal(t, 1, Report(&out, res))
	require.Equal(t, `PASS  every assertion holds
FAIL  every assertion fails
      upstreamRequest.headers.x-hello: want absent, got "request"
      upstreamRequest.headers.x-request-id: want a match of /^[0-9a-f]{8}-/, got "given"
      upstreamRequest.body: want a value containing "mars", got "some data"
      response.headers.x-hello: want absent, got "world"
      response.body: want a match of /^there/, got "hello there"
      metrics.custom_header_value_counts_value=a_reporter=wasmgosdk: want no such metric, got 2
`, durationTail.ReplaceAllString(out.String(), ""))
}
