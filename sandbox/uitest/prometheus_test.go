package uitest

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/wasmesh/wasmesh/controlplane/api"
	"github.com/wasmesh/wasmesh/controlplane/observe"
	"github.com/wasmesh/wasmesh/internal/envoybin"
	"github.com/wasmesh/wasmesh/sandbox"
)

// TestSandboxPrometheus runs the process sandbox as `make sandbox` does when prometheus is on
// PATH: it starts Prometheus with a scrape config for every sidecar, and the control plane's
// graph asks it (PromQL) instead of scraping the sidecars itself.
func TestSandboxPrometheus(t *testing.T) {
	bin, err := sandbox.FindPrometheus("auto")
	require.NoError(t, err)
	if bin == "" {
		msg := "no prometheus on PATH: install it (Debian: apt-get install prometheus; `make test` under CI=true does)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	_, err = sandbox.FindPrometheus("no-such-prometheus")
	require.ErrorContains(t, err, "--prometheus no-such-prometheus: exec: \"no-such-prometheus\": executable file not found")
	envoy, err := envoybin.Find("")
	if err != nil {
		t.Fatalf("%v (make test installs it)", err)
	}
	if _, err := os.Stat(filepath.Join("..", "..", "build", "wasmesh.wasm")); err != nil {
		t.Fatal("build/wasmesh.wasm missing: run make build")
	}
	var out strings.Builder
	sb, err := sandbox.Start(t.Context(), sandbox.Options{BasePort: freeBase(t), Root: "../..", Envoy: envoy.Path, NoBuild: true,
		Out: &out, ReadyTimeout: 5 * time.Minute, Prometheus: bin})
	require.NoError(t, err, out.String())
	defer func() { require.NoError(t, sb.Stop()) }()
	topo := sb.Topology()
	t.Log(out.String())
	require.Contains(t, out.String(), "prometheus     http://"+topo.Addr(topo.Prometheus)+" scraping every sidecar every 2s")
	cfg, err := os.ReadFile(filepath.Join(sb.DataDir(), "prometheus", "prometheus.yml"))
	require.NoError(t, err)
	for _, in := range topo.Instances {
		require.Contains(t, string(cfg), fmt.Sprintf("targets: [%q]", in.AdminAddress()))
	}

	ctx, stop := context.WithCancel(t.Context())
	defer stop()
	m := &mesh{sb: sb, base: "http://" + topo.HTTPAddress()}
	m.token, err = api.ReadToken(filepath.Join(sb.DataDir(), "controlplane"))
	require.NoError(t, err)
	m.traffic(ctx, t)
	var g observe.Graph
	waitFor(t, "the graph from prometheus", func() error {
		m.get(t, "/api/v1/graph?window=30s", &g)
		for _, id := range []string{"frontend:v1->reviews:v1", "reviews:v1->ratings:v1"} {
			if e, ok := edgeByID(g, id); !ok || e.RPS <= 0 {
				return fmt.Errorf("%s in %+v (problems %v)", id, g.Edges, g.Problems)
			}
		}
		return nil
	})
	require.Equal(t, "prometheus http://"+topo.Addr(topo.Prometheus), g.Source)
	require.Empty(t, g.Problems)

	// Envoy 1.40 takes the OpenTelemetry tracer too: every sidecar ACKs the listeners and the
	// collector cluster (OTLP/gRPC; no collector runs here, spans are dropped). apply waits
	// for every sidecar to run it; a NACK would keep it from "acked".
	m.client = &api.Client{BaseURL: m.base, Token: m.token}
	m.apply(t, `apiVersion: wasmesh.io/v1alpha1
kind: Telemetry
metadata: {name: mesh}
spec:
  metrics: {}
  tracing:
    startWhenAbsent: true
    provider:
      opentelemetry: {collector: "127.0.0.1:4317"}
`)

	// Stopping the sandbox stops Prometheus too.
	stop()
	require.NoError(t, sb.Stop())
	_, err = http.Get("http://" + topo.Addr(topo.Prometheus) + "/-/ready")
	require.Error(t, err, "prometheus still answers after Stop")
}
