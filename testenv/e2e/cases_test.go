package e2e

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/wasmesh/wasmesh/testenv/replay"
)

func TestRunCaseFile(t *testing.T) {
	wasm(t, "hello")
	f, err := ReadCaseFile(filepath.Join("testdata", "hello.yaml"))
	require.NoError(t, err)
	require.Equal(t, []string{"reviews|v2"}, f.Clusters())
	res, err := RunCaseFile(t.Context(), f, envoyBin(t))
	require.NoError(t, err)
	var out bytes.Buffer
	require.Equal(t, 0, Report(&out, res), out.String())
	require.Equal(t, "PASS  routed by header to reviews v2\nPASS  upstream status passes through\n", out.String())

	// The same file with wrong expectations reports each difference.
	f.Cases[0].Expect.UpstreamRequest, f.Cases[0].Expect.NoUpstream = nil, true
	body := "nope"
	f.Cases[1].Expect.Response.Body = &body
	f.Cases[1].Expect.Response.Headers = map[string]string{"x-hello": "mars"}
	f.Cases[1].Expect.Metrics = map[string]float64{"hello_total": 1}
	f.Cases[1].Expect.UpstreamRequest.Cluster = "reviews|v1"
	res, err = RunCaseFile(t.Context(), f, envoyBin(t))
	require.NoError(t, err)
	out.Reset()
	require.Equal(t, 2, Report(&out, res))
	require.Equal(t, `FAIL  routed by header to reviews v2
      upstreamRequest: want none, got one to cluster "reviews|v2"
FAIL  upstream status passes through
      upstreamRequest.cluster: want "reviews|v1", got "default"
      response.headers.x-hello: want "mars", got "world"
      response.body: want "nope", got "down"
      metrics.hello_total: want 1, Envoy has no wasmcustom.hello_total
`, out.String())
}

// ReadCaseFile is replay.ReadFile: errors name file:line and key (the format's own tests are
// in testenv/replay).
func TestReadCaseFileErrors(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f.yaml")
	tests := []struct{ name, yaml, want string }{
		{"unknown key", "filters: [{wasm: a.wasm, wsam: b}]\ncases: [{name: x}]\n",
			p + ":1: filters[0].wsam: unknown key (known: wasm, config, rootId)"},
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
