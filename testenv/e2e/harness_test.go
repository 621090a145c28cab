package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/wasmesh/wasmesh/controlplane/ca"
	"github.com/wasmesh/wasmesh/internal/envoybin"
	"github.com/wasmesh/wasmesh/testenv"
)

// repoRoot is the repository root (this file is testenv/e2e/harness_test.go).
func repoRoot(t testing.TB) string {
	_, file, _, ok := runtime.Caller(0)
	require.True(t, ok)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// wasm returns the path of build/<name>.wasm (or $WASMESH_E2E_BUILD/<name>.wasm) and fails the
// test when it is missing.
func wasm(t testing.TB, name string) string {
	t.Helper()
	dir := filepath.Join(repoRoot(t), "build")
	if d := os.Getenv("WASMESH_E2E_BUILD"); d != "" { // modules from another build directory
		dir = d
	}
	p := filepath.Join(dir, name+".wasm")
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s missing: run make build (%v)", p, err)
	}
	return p
}

// envoyBin finds Envoy and fails (never skips) when it is missing.
func envoyBin(t testing.TB) string {
	t.Helper()
	b, err := envoybin.Find(repoRoot(t))
	if err != nil {
		t.Fatal(err)
	}
	return b.Path
}

// The harness starts Envoy with a Wasm filter in front of a loopback upstream, the request
// reaches the upstream through Envoy, and Stop leaves no process behind.
func TestHarnessEnvoyUpstream(t *testing.T) {
	up := UpstreamT(t, UpstreamOptions{Service: "reviews", Version: "v2"})
	ports := FreePortsT(t, 1)
	cfg, err := StaticConfig{
		ListenPort: ports[0],
		Filters:    []WasmFilter{{Name: "hello", File: wasm(t, "hello")}},
		Clusters:   []Cluster{{Name: "reviews|v2", Address: up.Addr()}},
	}.YAML()
	require.NoError(t, err)
	e, err := startEnvoyForTest(t, cfg)
	require.NoError(t, err)

	req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:"+itoa(ports[0])+"/hi", nil)
	req.Host = "reviews"
	req.Header.Set(testenv.RoutingHeader, "reviews|v2")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	require.Equal(t, "reviews-v2", resp.Header.Get(HeaderServedBy))
	var echo Echo
	require.NoError(t, json.Unmarshal(body, &echo))
	require.Equal(t, "/hi", echo.Path)
	require.Len(t, up.Received(), 1)

	// Without the routing header the default route answers 404 (no default cluster).
	resp, err = http.Get("http://127.0.0.1:" + itoa(ports[0]) + "/")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode)

	rss, err := e.RSS()
	require.NoError(t, err)
	require.Greater(t, rss, int64(1<<20))

	pid := e.PID()
	e.Stop()
	require.True(t, e.Exited())
	require.ErrorIs(t, syscall.Kill(pid, 0), syscall.ESRCH, "envoy still running after Stop")
}

// A config Envoy refuses fails StartEnvoy with Envoy's own reason, and nothing keeps running.
func TestHarnessStartFailure(t *testing.T) {
	_, err := StartEnvoy(t.Context(), EnvoyOptions{Name: "broken", Binary: envoyBin(t), Config: []byte("static_resources: {listeners: [{name: x}]}\n")})
	require.Error(t, err)
	require.Contains(t, err.Error(), "envoy broken: exited before ready")
	require.Contains(t, err.Error(), "--- broken log problems")
	require.Contains(t, err.Error(), "error adding listener named 'x': address is necessary")
}

func startEnvoyForTest(t *testing.T, cfg []byte) (*Envoy, error) {
	return EnvoyT(t, EnvoyOptions{Name: t.Name(), Binary: envoyBin(t), Config: cfg}), nil
}

// A Replayer sends a request through Envoy and reports which cluster's upstream got it and
// what it answered.
func TestReplayerRoutesByHeader(t *testing.T) {
	r, err := StartReplayer(t.Context(), ReplayOptions{
		Filters:  []WasmFilter{{Name: "hello", File: wasm(t, "hello")}},
		Clusters: []string{"reviews|v1", "reviews|v2"}, Binary: envoyBin(t), Dir: t.TempDir(),
	})
	require.NoError(t, err)
	t.Cleanup(r.Stop)
	res, err := r.Do(t.Context(), ReplayRequest{Method: "POST", Path: "/p", Headers: map[string]string{"host": "reviews", testenv.RoutingHeader: "reviews|v2"}, Body: "hi"},
		Answer{Status: 201, Header: map[string]string{"x-a": "b"}, Body: "ok"})
	require.NoError(t, err)
	require.Equal(t, 201, res.Status)
	require.Equal(t, "ok", res.Body)
	require.Equal(t, "b", res.Headers["x-a"])
	require.NotNil(t, res.Upstream)
	require.Equal(t, "reviews|v2", res.Upstream.Cluster)
	require.Equal(t, "hi", res.Upstream.Body)
	require.Equal(t, "reviews", res.Upstream.Host)
	require.Equal(t, "POST", res.Upstream.Method)
	require.Equal(t, "via_upstream", res.Details)
	require.Equal(t, "reviews|v2", res.Cluster)
	require.Equal(t, []string{"[info] hello: hello: request headers"}, res.Logs)

	res, err = r.Do(t.Context(), ReplayRequest{Path: "/", Headers: map[string]string{"host": "reviews"}}, Answer{Body: ""})
	require.NoError(t, err)
	require.Equal(t, 200, res.Status)
	require.Equal(t, "default", res.Upstream.Cluster)
	require.Empty(t, res.Body)
}

func writeFile(p, s string) error { return os.WriteFile(p, []byte(s), 0o644) }

// testCA is a mesh CA for the mTLS replay cases (CaseOptions.Certs).
func testCA(t testing.TB) *ca.CA {
	t.Helper()
	c, err := ca.Load(t.TempDir(), ca.Options{TTL: time.Hour})
	require.NoError(t, err)
	return c
}
