package router_test

import (
	"testing"

	"github.com/wasmesh/wasmesh/filters/internal/filtertest"
	"github.com/wasmesh/wasmesh/filters/router"
	"github.com/wasmesh/wasmesh/testenv"
	"github.com/wasmesh/wasmesh/testenv/testenvtest"
)

// BenchmarkHostCalls is BenchmarkRouterStream's exchange reporting the proxy-wasm host calls per
// stream (hostcalls/op; -v logs them by function).
func BenchmarkHostCalls(b *testing.B) {
	for _, v := range filtertest.Variants(b, router.RootID) {
		b.Run(v.Name, func(b *testing.B) {
			env := testenvtest.New(b, []testenv.Filter{v.Filter(routerConfig)}, testenv.WithRealClock())
			req := testenv.Request{Path: "/r/1", Authority: "reviews", Headers: testenv.Headers{{"x-user", "jason"}}}
			filtertest.HostCalls(b, env, req)
		})
	}
}
