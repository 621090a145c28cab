package e2e

import (
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/wasmesh/wasmesh/internal/bootstrap"
)

// staticConfigs are the single-filter (and chain, bundle) configs users try without a control
// plane (docs/envoy.md).
var staticConfigs = []string{"bundle", "canary", "chain", "fault", "pipeline", "router", "telemetry"}

var wasmRef = regexp.MustCompile(`filename: (build/[a-z]+\.wasm)`)

// envoyValidate runs `envoy --mode validate` from the repository root (static configs name
// their modules relative to it) and fails with Envoy's output.
func envoyValidate(t *testing.T, args ...string) {
	t.Helper()
	cmd := exec.Command(envoyBin(t), append([]string{"--mode", "validate", "--disable-hot-restart", "--log-level", "warn"}, args...)...)
	cmd.Dir = repoRoot(t)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "envoy --mode validate %s:\n%s", strings.Join(args, " "), out)
	require.Contains(t, string(out), "OK")
}

// Every file in envoy-configs/ passes `envoy --mode validate` (which also loads the Wasm
// modules the static configs name).
func TestEnvoyConfigsValidate(t *testing.T) {
	root := repoRoot(t)
	files, err := filepath.Glob(filepath.Join(root, "envoy-configs", "static", "*.yaml"))
	require.NoError(t, err)
	var names []string
	for _, f := range files {
		names = append(names, strings.TrimSuffix(filepath.Base(f), ".yaml"))
	}
	sort.Strings(names)
	require.Equal(t, staticConfigs, names)

	t.Run("sidecar", func(t *testing.T) {
		envoyValidate(t, "-c", "envoy-configs/sidecar.yaml")
	})
	// The documented --config-yaml override (docs/envoy.md) of the checked-in sidecar.
	t.Run("sidecar with --config-yaml", func(t *testing.T) {
		envoyValidate(t, "-c", "envoy-configs/sidecar.yaml", "--config-yaml",
			`{node: {id: reviews.v2.0, cluster: reviews, metadata: {service: reviews, version: v2, app_address: "127.0.0.1:9080"}}}`)
	})
	t.Run("rendered sidecar", func(t *testing.T) {
		p := bootstrap.Params{Service: "reviews", Version: "v2", AppAddress: "127.0.0.1:9080",
			InboundAddress: "127.0.0.1:15006", OutboundAddress: "127.0.0.1:15001", AdminAddress: "127.0.0.1:19000"}
		b, err := bootstrap.Render(p)
		require.NoError(t, err)
		f := filepath.Join(t.TempDir(), "reviews.yaml")
		require.NoError(t, os.WriteFile(f, b, 0o644))
		envoyValidate(t, "-c", f)
	})
	for _, name := range staticConfigs {
		t.Run("static/"+name, func(t *testing.T) {
			rel := "envoy-configs/static/" + name + ".yaml"
			b, err := os.ReadFile(filepath.Join(root, rel))
			require.NoError(t, err)
			refs := wasmRef.FindAllStringSubmatch(string(b), -1)
			require.NotEmpty(t, refs, "%s loads no module from build/", rel)
			if os.Getenv("WASMESH_E2E_BUILD") == "" {
				for _, m := range refs {
					wasm(t, strings.TrimSuffix(filepath.Base(m[1]), ".wasm"))
				}
				envoyValidate(t, "-c", rel)
				return
			}
			cfg := string(b)
			for _, m := range refs {
				cfg = strings.ReplaceAll(cfg, m[1], wasm(t, strings.TrimSuffix(filepath.Base(m[1]), ".wasm")))
			}
			f := filepath.Join(t.TempDir(), name+".yaml")
			require.NoError(t, os.WriteFile(f, []byte(cfg), 0o644))
			envoyValidate(t, "-c", f)
		})
	}
}

// Each static config does what its header comment promises (ports moved to free ones).
func TestStaticConfigsServe(t *testing.T) {
	type check struct {
		headers map[string]string
		status  int
		body    string // substring
		header  [2]string
	}
	routed := func(h map[string]string, version string) check {
		return check{headers: h, status: 200, body: "reviews " + version}
	}
	tests := []struct {
		name   string
		checks []check
		prom   bool // wasmesh_ metrics at /stats/prometheus
	}{
		{"router", []check{routed(nil, "v1"), routed(map[string]string{"x-user": "jason"}, "v2")}, false},
		{"canary", []check{
			{headers: map[string]string{"x-canary": "always"}, status: 200, body: "reviews v2", header: [2]string{"x-wasmesh-version", "v2"}},
			routed(map[string]string{"x-canary": "never"}, "v1")}, false},
		{"fault", []check{{headers: map[string]string{"x-wasmesh-fault": "abort=418"}, status: 418}}, false},
		{"telemetry", []check{routed(nil, "v1")}, true},
		{"chain", []check{
			routed(map[string]string{"x-canary": "always"}, "v2"),
			routed(map[string]string{"x-user": "jason", "x-canary": "never"}, "v2"),
			{headers: map[string]string{"x-wasmesh-fault": "abort=418"}, status: 418}}, true},
		{"bundle", []check{
			routed(map[string]string{"x-canary": "always"}, "v2"),
			routed(map[string]string{"x-user": "jason", "x-canary": "never"}, "v2"),
			{headers: map[string]string{"x-wasmesh-fault": "abort=418"}, status: 418}}, true},
		{"pipeline", []check{
			routed(map[string]string{"x-canary": "always"}, "v2"),
			routed(map[string]string{"x-user": "jason", "x-canary": "never"}, "v2"),
			{headers: map[string]string{"x-wasmesh-fault": "abort=418"}, status: 418}}, true},
	}
	root := repoRoot(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(root, "envoy-configs", "static", tt.name+".yaml"))
			require.NoError(t, err)
			cfg := string(b)
			done := map[string]bool{} // a module named several times (the bundle) is replaced once
			for _, m := range wasmRef.FindAllStringSubmatch(cfg, -1) {
				if !done[m[1]] {
					done[m[1]] = true
					cfg = strings.ReplaceAll(cfg, m[1], wasm(t, strings.TrimSuffix(filepath.Base(m[1]), ".wasm")))
				}
			}
			ports := FreePortsT(t, 3)
			cfg = strings.ReplaceAll(cfg, "port_value: 9901", "port_value: 0")
			for i, p := range []string{"10000", "10001", "10002"} {
				require.Contains(t, cfg, "port_value: "+p)
				cfg = strings.ReplaceAll(cfg, "port_value: "+p, "port_value: "+itoa(ports[i]))
			}
			e := EnvoyT(t, EnvoyOptions{Name: tt.name, Binary: envoyBin(t), Config: []byte(cfg)})
			for _, c := range tt.checks {
				req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:"+itoa(ports[0])+"/", nil)
				req.Host = "reviews"
				for k, v := range c.headers {
					req.Header.Set(k, v)
				}
				resp, err := http.DefaultClient.Do(req)
				require.NoError(t, err)
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				require.Equal(t, c.status, resp.StatusCode, "%v: %s", c.headers, body)
				require.Contains(t, string(body), c.body, "%v", c.headers)
				if c.header[0] != "" {
					require.Equal(t, c.header[1], resp.Header.Get(c.header[0]))
				}
			}
			if tt.prom {
				prom, err := e.AdminGet("/stats/prometheus")
				require.NoError(t, err)
				require.Contains(t, prom, "wasmesh_requests_total{")
			}
		})
	}
}
