package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/wasmesh/wasmesh/testenv/replay"
)

// durations are the "  (1.2ms)" tails of case lines.
var durations = regexp.MustCompile(`(?m)  \([^)\n]*\)$`)

func TestRunCaseFile(t *testing.T) {
	wasm(t, "hello")
	f, err := ReadCaseFile(filepath.Join("testdata", "hello.yaml"))
	require.NoError(t, err)
	require.Equal(t, []string{"reviews|v2"}, f.Clusters())
	dir := t.TempDir()
	res, err := RunCaseFile(t.Context(), f, CaseOptions{Binary: envoyBin(t), Dir: dir})
	require.NoError(t, err)
	var out bytes.Buffer
	require.Equal(t, 0, replay.ReportWith(&out, res, replay.ReportOptions{Logs: true}), out.String())
	require.Regexp(t, `^PASS  routed by header to reviews v2  \([0-9.]+[µm]?s\)\n`, out.String(), "each case line has its duration")
	require.Equal(t, `PASS  routed by header to reviews v2
      log: [info] hello.0: hello: request headers
PASS  upstream status passes through
      log: [info] hello.0: hello: request headers
`, durations.ReplaceAllString(out.String(), ""))
	for _, name := range []string{"envoy.yaml", "envoy.log", "access.log"} {
		_, err := os.Stat(filepath.Join(dir, name))
		require.NoError(t, err, "CaseOptions.Dir keeps %s", name)
	}

	// The same file with wrong expectations reports each difference, the assertions of the
	// format included (absent, regex, contains, absent metric).
	f.Cases[0].Expect.UpstreamRequest, f.Cases[0].Expect.NoUpstream = nil, true
	f.Cases[0].Expect.Response.Headers = map[string]replay.Value{"x-hello": replay.Absent()}
	body := replay.Is("nope")
	f.Cases[1].Expect.Response.Body = &body
	f.Cases[1].Expect.Response.Headers = map[string]replay.Value{"x-hello": replay.Is("mars")}
	f.Cases[1].Expect.Metrics = map[string]replay.Metric{"hello_total": {Value: 1}}
	f.Cases[1].Expect.UpstreamRequest.Cluster = "reviews|v1"
	f.Cases[1].Expect.UpstreamRequest.Headers = map[string]replay.Value{"x-request-id": replay.Match(`^nope$`), "x-hello": replay.Absent()}
	contains := replay.Contain("mars")
	f.Cases[1].Expect.UpstreamRequest.Body = &contains
	res, err = RunCaseFile(t.Context(), f, CaseOptions{Binary: envoyBin(t)})
	require.NoError(t, err)
	out.Reset()
	require.Equal(t, 2, Report(&out, res))
	got := durations.ReplaceAllString(out.String(), "")
	got = regexp.MustCompile(`x-request-id: want a match of /\^nope\$/, got "[0-9a-f-]{36}"`).ReplaceAllString(got, `x-request-id: want a match of /^nope$/, got "<uuid>"`)
	require.Equal(t, `FAIL  routed by header to reviews v2
      upstreamRequest: want none, got one to cluster "reviews|v2"
      response.headers.x-hello: want absent, got "world"
FAIL  upstream status passes through
      upstreamRequest.cluster: want "reviews|v1", got "default"
      upstreamRequest.headers.x-hello: want absent, got "request"
      upstreamRequest.headers.x-request-id: want a match of /^nope$/, got "<uuid>"
      upstreamRequest.body: want a value containing "mars", got "data"
      response.headers.x-hello: want "mars", got "world"
      response.body: want "nope", got "down"
      metrics.hello_total: want 1, Envoy has no wasmcustom.hello_total
`, got)
	require.False(t, strings.Contains(out.String(), "log:"), "logs only when asked")
}

// ReadCaseFile is replay.ReadFile: errors name file:line and key (the format's own tests are
// in testenv/replay).
func TestReadCaseFileErrors(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f.yaml")
	tests := []struct{ name, yaml, want string }{
		{"unknown key", "filters: [{wasm: a.wasm, wsam: b}]\ncases: [{name: x}]\n",
			p + `:1: filters[0].wsam: unknown field (did you mean "wasm"?)`},
		{"no filters", "cases: [{name: x}]\n", p + ":1: filters: required"},
		{"missing names", "filters: [{config: {}}]\ncases: [{request: {}}]\n",
			p + ":1: filters[0].wasm: required\n" + p + ":2: cases[0].name: required"},
		{"missing module", "filters: [{wasm: a.wasm}]\ncases: [{name: x}]\n",
			p + ":1: filters[0].wasm: a.wasm: " + replay.ErrMissingModule.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.NoError(t, writeFile(p, tt.yaml))
			_, err := ReadCaseFile(p)
			require.EqualError(t, err, tt.want)
		})
	}
}

// Each case gets its own plugin log lines in Envoy, those written at the end of its stream
// (proxy_on_log) included: telemetry's access-log line of each request is under that request.
func TestRunCaseFileLogsPerCase(t *testing.T) {
	f, err := ReadCaseFile(filepath.Join(repoRoot(t), "filters", "telemetry", "testdata", "telemetry.yaml"))
	require.NoError(t, err)
	res, err := RunCaseFile(t.Context(), f, CaseOptions{Binary: envoyBin(t)})
	require.NoError(t, err)
	require.Len(t, res, len(f.Cases))
	for i, r := range res {
		require.True(t, r.Passed(), "%s: %v %v", r.Name, r.Err, r.Problems)
		var access []string
		for _, l := range r.Logs {
			if strings.Contains(l, "wasmesh-access ") {
				access = append(access, l)
			}
		}
		require.Len(t, access, 1, "case %d %q: %v", i, r.Name, r.Logs)
		require.Contains(t, access[0], `"path":"`+f.Cases[i].Request.Path+`"`)
	}
}

// A file with an mTLS case needs certificates: RunCaseFile says so before it starts Envoy.
func TestRunCaseFileNeedsCerts(t *testing.T) {
	wasm(t, "authz")
	f, err := ReadCaseFile(filepath.Join(repoRoot(t), "filters", "authz", "testdata", "authz-mtls.yaml"))
	require.NoError(t, err)
	_, err = RunCaseFile(t.Context(), f, CaseOptions{Binary: "/nonexistent/envoy"})
	require.ErrorContains(t, err, "has an mTLS connection: CaseOptions.Certs is required")
}
