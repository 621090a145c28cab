package fault_test

import (
	"testing"

	"github.com/wasmesh/wasmesh/filters/fault"
	"github.com/wasmesh/wasmesh/filters/internal/filtertest"
	"github.com/wasmesh/wasmesh/testenv"
	"github.com/wasmesh/wasmesh/testenv/testenvtest"
)

// BenchmarkHostCalls is BenchmarkFaultStream's exchange reporting the proxy-wasm host calls per
// stream (hostcalls/op; -v logs them by function).
func BenchmarkHostCalls(b *testing.B) {
	for _, v := range filtertest.Variants(b, fault.RootID) {
		b.Run(v.Name, func(b *testing.B) {
			env := testenvtest.New(b, []testenv.Filter{v.Filter(faultConfig)}, testenv.WithRealClock())
			req := testenv.Request{Path: "/", Authority: "reviews"}
			filtertest.HostCalls(b, env, req)
		})
	}
}
