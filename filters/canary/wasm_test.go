package canary_test

import (
	"math"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/wasmesh/wasmesh/filters/canary"
	"github.com/wasmesh/wasmesh/filters/internal/filtertest"
	"github.com/wasmesh/wasmesh/testenv"
	"github.com/wasmesh/wasmesh/testenv/testenvtest"
)

const canaryConfig = `{"services": {"reviews": {
	"weights": {"v1": 90, "v2": 10},
	"overrides": [
		{"match": {"headers": [{"name": "x-canary", "exact": "always"}]}, "version": "v2"},
		{"match": {"headers": [{"name": "x-canary", "exact": "never"}]}, "version": "v1"}],
	"sticky": {"header": "x-user"},
	"responseHeader": "x-wasmesh-version"}}}`

const (
	counterV1 = "wasmesh_canary_requests_total;service=reviews;version=v1"
	counterV2 = "wasmesh_canary_requests_total;service=reviews;version=v2"
)

func TestCanaryWasm(t *testing.T) {
	for _, v := range filtertest.Variants(t, canary.RootID) {
		t.Run(v.Name, func(t *testing.T) {
			newEnv := func(t *testing.T) *testenv.Env {
				return testenvtest.New(t, []testenv.Filter{v.Filter(canaryConfig)}, testenv.WithStrictRouteCache())
			}
			t.Run("overrides", func(t *testing.T) {
				env := newEnv(t)
				tests := []struct {
					header, want string
				}{{"always", "v2"}, {"never", "v1"}, {"always", "v2"}}
				for _, tt := range tests {
					res := env.Do(testenv.Request{Authority: "reviews", Headers: testenv.Headers{{"x-canary", tt.header}, {"x-user", "user-7"}}})
					require.NoError(t, res.Err)
					require.Equal(t, "reviews|"+tt.want, res.Upstream.Cluster)
					require.Equal(t, "reviews|"+tt.want, res.Upstream.Headers.Get("x-wasmesh-cluster"))
					require.Equal(t, tt.want, res.Response.Headers.Get("x-wasmesh-version"))
				}
				require.Equal(t, 3, env.ClearRouteCacheCalls())
				m := env.Metrics()
				require.Equal(t, 2.0, m[counterV2])
				require.Equal(t, 1.0, m[counterV1])
			})
			t.Run("sticky keys keep their version and split by the weights", func(t *testing.T) {
				env := newEnv(t)
				const n = 2000
				v2 := 0
				for i := range n {
					key := "user-" + strconv.Itoa(i)
					first := env.Do(testenv.Request{Authority: "reviews", Headers: testenv.Headers{{"x-user", key}}})
					again := env.Do(testenv.Request{Path: "/again", Authority: "reviews:9080", Headers: testenv.Headers{{"x-user", key}}})
					require.Equal(t, first.Upstream.Cluster, again.Upstream.Cluster, "key %s moved", key)
					if first.Upstream.Cluster == "reviews|v2" {
						v2++
					}
				}
				pct := 100 * float64(v2) / n
				t.Logf("sticky: %.2f%% of %d keys on v2", pct, n)
				require.LessOrEqual(t, math.Abs(pct-10), 3.0)
				m := env.Metrics()
				require.Equal(t, float64(2*n), m[counterV1]+m[counterV2])
				require.Equal(t, float64(2*v2), m[counterV2])
			})
			t.Run("random split without a sticky key", func(t *testing.T) {
				env := newEnv(t)
				const n = 2000
				v2 := 0
				for range n {
					res := env.Do(testenv.Request{Authority: "reviews"})
					require.NoError(t, res.Err)
					if res.Upstream.Cluster == "reviews|v2" {
						v2++
					}
					require.Equal(t, res.Upstream.Cluster, "reviews|"+res.Response.Headers.Get("x-wasmesh-version"))
				}
				require.LessOrEqual(t, math.Abs(100*float64(v2)/n-10), 3.0)
			})
			t.Run("another service passes through", func(t *testing.T) {
				env := newEnv(t)
				res := env.Do(testenv.Request{Authority: "ratings", Headers: testenv.Headers{{"x-canary", "always"}}})
				require.Equal(t, "default", res.Upstream.Cluster)
				require.Empty(t, res.Response.Headers.Get("x-wasmesh-version"))
				require.Zero(t, env.ClearRouteCacheCalls())
			})
		})
	}
}

// The canary leaves a routing header the router set (chain router → canary).
func TestCanaryLeavesRouterChoice(t *testing.T) {
	const routerConfig = `{"services": {"reviews": {"rules": [{"name": "jason", "match": {"headers": [{"name": "x-user", "exact": "jason"}]}, "destination": {"version": "v3"}}]}}}`
	bundle := filtertest.Module(t, "wasmesh")
	chains := map[string][]testenv.Filter{
		"standalone": {
			{Name: "router", Module: filtertest.Module(t, "router"), Config: []byte(routerConfig)},
			{Name: "canary", Module: filtertest.Module(t, "canary"), Config: []byte(canaryConfig)},
		},
		"bundle": {
			{Name: "router", Module: bundle, RootID: "router", Config: []byte(routerConfig)},
			{Name: "canary", Module: bundle, RootID: "canary", Config: []byte(canaryConfig)},
		},
	}
	for name, chain := range chains {
		t.Run(name, func(t *testing.T) {
			env := testenvtest.New(t, chain, testenv.WithStrictRouteCache())
			res := env.Do(testenv.Request{Authority: "reviews", Headers: testenv.Headers{{"x-user", "jason"}, {"x-canary", "always"}}})
			require.NoError(t, res.Err)
			require.Equal(t, "reviews|v3", res.Upstream.Cluster)
			require.Empty(t, res.Response.Headers.Get("x-wasmesh-version"))
			require.Zero(t, env.Metrics()[counterV2])
			res = env.Do(testenv.Request{Authority: "reviews", Headers: testenv.Headers{{"x-user", "maria"}, {"x-canary", "always"}}})
			require.Equal(t, "reviews|v2", res.Upstream.Cluster)
		})
	}
}

func TestCanaryRefusesBadConfig(t *testing.T) {
	bad := []string{
		`{"services": {"reviews": {"weights": {"v1": 90, "v2": 20}}}}`,
		`{"weights": {"v1": 100}, "overrides": [{"version": "v2"}], "sticky": {"header": "x-user", "cookie": "c"}}`,
	}
	for _, v := range filtertest.Variants(t, canary.RootID) {
		for _, cfg := range bad {
			t.Run(v.Name+"/"+cfg, func(t *testing.T) {
				_, err := canary.ParseConfig([]byte(cfg))
				filtertest.Refuses(t, v.Filter(cfg), err)
			})
		}
	}
}

func BenchmarkCanaryStream(b *testing.B) {
	for _, v := range filtertest.Variants(b, canary.RootID) {
		b.Run(v.Name, func(b *testing.B) {
			env := testenvtest.New(b, []testenv.Filter{v.Filter(canaryConfig)}, testenv.WithRealClock())
			req := testenv.Request{Authority: "reviews", Headers: testenv.Headers{{"x-user", "user-1"}}}
			for b.Loop() {
				if res := env.Do(req); res.Err != nil {
					b.Fatal(res.Err)
				}
			}
		})
	}
}
