package telemetry_test

import (
	"testing"

	"github.com/wasmesh/wasmesh/filters/internal/filtertest"
	"github.com/wasmesh/wasmesh/filters/telemetry"
	"github.com/wasmesh/wasmesh/testenv"
	"github.com/wasmesh/wasmesh/testenv/testenvtest"
)

// BenchmarkHostCalls is BenchmarkTelemetryStream's exchange reporting the proxy-wasm host calls per
// stream (hostcalls/op; -v logs them by function).
func BenchmarkHostCalls(b *testing.B) {
	for _, v := range filtertest.Variants(b, telemetry.RootID) {
		b.Run(v.Name, func(b *testing.B) {
			env := testenvtest.New(b, []testenv.Filter{v.Filter(telemetryConfig)}, testenv.WithRealClock(), testenv.WithNodeMetadata(node))
			req := testenv.Request{Authority: "reviews", Headers: testenv.Headers{{"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}}}
			filtertest.HostCalls(b, env, req)
		})
	}
}
