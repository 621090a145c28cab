package main

import (
	"sort"
	"testing"

	"github.com/wasmesh/wasmesh/filters/canary/canary"
	"github.com/wasmesh/wasmesh/filters/internal/filtertest"
	"github.com/wasmesh/wasmesh/testenv"
)

// BenchmarkHostCalls is BenchmarkCanaryStream's exchange reporting the proxy-wasm host calls per
// stream (hostcalls/op; -v logs them by function).
func BenchmarkHostCalls(b *testing.B) {
	for _, v := range filtertest.Variants(b, canary.RootID) {
		b.Run(v.Name, func(b *testing.B) {
			env := testenv.New(b, []testenv.Filter{v.Filter(canaryConfig)}, testenv.WithRealClock())
			req := testenv.Request{Authority: "reviews", Headers: testenv.Headers{{"x-user", "user-1"}}}
			before := env.HostCalls()
			n := 0
			for b.Loop() {
				if res := env.Do(req); res.Err != nil {
					b.Fatal(res.Err)
				}
				n++
			}
			after := env.HostCalls()
			total := 0
			var names []string
			for name, c := range after {
				if d := c - before[name]; d > 0 {
					total += d
					names = append(names, name)
				}
			}
			sort.Strings(names)
			for _, name := range names {
				b.Logf("%s: %.3f/op", name, float64(after[name]-before[name])/float64(n))
			}
			b.ReportMetric(float64(total)/float64(n), "hostcalls/op")
		})
	}
}
