package e2e

import (
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
var staticConfigs = []string{"bundle", "canary", "chain", "fault", "router", "telemetry"}

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
			for _, m := range refs {
				wasm(t, strings.TrimSuffix(filepath.Base(m[1]), ".wasm"))
			}
			envoyValidate(t, "-c", rel)
		})
	}
}
