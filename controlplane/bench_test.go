package controlplane

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/wasmesh/wasmesh/controlplane/crd"
	"github.com/wasmesh/wasmesh/controlplane/translate"
	"github.com/wasmesh/wasmesh/controlplane/xds/xdstest"
)

// BenchmarkApplyToAllACK measures, with N simulated sidecars (in-process ADS clients over
// loopback gRPC, each on its own connection), the time from `wasmesh apply` of new canary
// weights (HTTP API: validation with the filters' parsers, bbolt commit) until every sidecar
// has acknowledged the new configuration. Reported: p50-ms, p99-ms (and the mean as ns/op).
//
//	go test ./controlplane -run '^$' -bench ApplyToAllACK -benchtime 50x
func BenchmarkApplyToAllACK(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("clients=%d", n), func(b *testing.B) {
			cp := benchControlPlane(b)
			ctx := context.Background()
			apply(b, cp, benchServices(10))
			clients := connectSidecars(b, cp, n)
			defer func() {
				for _, c := range clients {
					_ = c.Close()
				}
			}()
			rev, err := cp.Store.Revision()
			require.NoError(b, err)
			wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
			require.NoError(b, cp.XDS.WaitAcked(wctx, rev))
			cancel()

			var lat []time.Duration
			b.ResetTimer()
			for i := range b.N {
				v2 := uint32(i%99 + 1)
				start := time.Now()
				res := apply(b, cp, fmt.Sprintf(`apiVersion: wasmesh.io/v1alpha1
kind: TrafficRoute
metadata: {name: svc-0}
spec:
  service: svc-0
  split: {weights: {v1: %d, v2: %d}}
`, 100-v2, v2))
				wctx, cancel := context.WithTimeout(ctx, time.Minute)
				err := cp.XDS.WaitAcked(wctx, res)
				cancel()
				require.NoError(b, err)
				lat = append(lat, time.Since(start))
			}
			b.StopTimer()
			for _, c := range clients {
				if s := c.State(xdstestECDS).NACK; s != "" {
					b.Fatalf("a sidecar rejected the config: %s", s)
				}
			}
			// A sidecar that dropped out would have stopped counting: every one must still be
			// connected, so that each latency is that of all n.
			nodes := cp.XDS.Nodes()
			require.Len(b, nodes, n)
			for _, nd := range nodes {
				require.True(b, nd.Connected, "%s disconnected during the benchmark", nd.ID)
			}
			slices.Sort(lat)
			b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
			b.ReportMetric(ms(lat[(len(lat)*99)/100]), "p99-ms")
		})
	}
}

const xdstestECDS = "type.googleapis.com/envoy.config.core.v3.TypedExtensionConfig"

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func benchControlPlane(b *testing.B) *ControlPlane {
	b.Helper()
	modDir := b.TempDir()
	require.NoError(b, os.WriteFile(filepath.Join(modDir, translate.BundleFile), []byte("\x00asm\x01\x00\x00\x00bundle"), 0o644))
	cp, err := Start(context.Background(), Config{DataDir: b.TempDir(), HTTPAddress: "127.0.0.1:0", XDSAddress: "127.0.0.1:0", ModulesDir: modDir})
	require.NoError(b, err)
	b.Cleanup(func() { require.NoError(b, cp.Close()) })
	return cp
}

// benchServices returns n Services svc-<i> with two versions each.
func benchServices(n int) string {
	var sb strings.Builder
	for i := range n {
		fmt.Fprintf(&sb, `---
apiVersion: wasmesh.io/v1alpha1
kind: Service
metadata: {name: svc-%d}
spec:
  port: 9080
  versions:
  - {name: v1, endpoints: ["10.0.%d.%d:15006"]}
  - {name: v2, endpoints: ["10.1.%d.%d:15006"]}
`, i, i/250, i%250+1, i/250, i%250+1)
	}
	return sb.String()
}

// apply applies YAML through the API and returns the store revision it made.
func apply(b *testing.B, cp *ControlPlane, yaml string) uint64 {
	b.Helper()
	docs, err := crd.Decode("bench.yaml", []byte(yaml))
	require.NoError(b, err)
	res, err := cp.Client().Apply(context.Background(), docs, false)
	require.NoError(b, err)
	return res.Revision
}

// connectSidecars dials n ADS clients (xdstest.FleetNode sidecars) and waits until each
// holds all five xDS types.
func connectSidecars(b *testing.B, cp *ControlPlane, n int) []*xdstest.Client {
	b.Helper()
	clients, err := xdstest.DialFleet(cp.XDSAddr, cp.SidecarToken, n, 2*time.Minute)
	require.NoError(b, err)
	return clients
}
