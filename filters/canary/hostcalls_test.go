package canary_test

import (
	"testing"

	"github.com/wasmesh/wasmesh/filters/canary"
	"github.com/wasmesh/wasmesh/filters/internal/filtertest"
	"github.com/wasmesh/wasmesh/testenv"
	"github.com/wasmesh/wasmesh/testenv/testenvtest"
)

// BenchmarkHostCalls is BenchmarkCanaryStream's exchange reporting the proxy-wasm host calls per
// stream (hostcalls/op; -v logs them by function).
func BenchmarkHostCalls(b *testing.B) {
	for _, v := range filtertest.Variants(b, canary.RootID) {
		b.Run(v.Name, func(b *testing.B) {
			env := testenvtest.New(b, []testenv.Filter{v.Filter(canaryConfig)}, testenv.WithRealClock())
			req := testenv.Request{Authority: "reviews", Headers: testenv.Headers{{"x-user", "user-1"}}}
			filtertest.HostCalls(b, env, req)
		})
	}
}
