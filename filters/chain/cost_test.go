package chain_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/wasmesh/wasmesh/filters/internal/filtertest"
	"github.com/wasmesh/wasmesh/testenv"
	"github.com/wasmesh/wasmesh/testenv/testenvtest"
)

// The crossing budget of the pipeline (issue: "one pass through one VM"): a GET through the
// whole chain, metrics and access log on, answered with a one-chunk body. Counts, not timings.
//
// The aim was 10 host calls; the pipeline makes 11 and this test holds it there. The 11 are
// the floor of what the chain does with the documented route-cache contract: read the request
// headers (1), the clock as telemetry starts (1), write routing header and traceparent in one
// proxy_set_header_map_pairs (1), clear_route_cache (1), the canary counter (1), read :status
// (1), the clock at the end (1), requests/duration/response-bytes metrics (3), the access-log
// line (1). Envoy 1.40 re-picks the route on any request-header write by itself (measured,
// TestEnvoyRouteCache), so the clear_route_cache call is redundant there; it stays because
// the documented contract (envoy PR #36671) says header writes no longer clear the cache.
func TestPipelineCrossingBudget(t *testing.T) {
	body := &testenv.Response{Status: 200, Body: []byte(`{"reviews":[]}`)}
	env := testenvtest.New(t, budgetChain(t), testenv.WithStrictRouteCache(),
		testenv.WithUpstream(func(*testenv.UpstreamRequest) *testenv.Response { return body }))
	req := testenv.Request{Method: "GET", Path: "/reviews/1", Authority: "reviews",
		Headers: testenv.Headers{{"x-request-id", "7f1b6c1e-2d4a-4d5e-9c1a-3b2e1f0a9d8c"}, {"x-user", "bob"}}} // sticky: one version, one tag set
	filtertest.Measure(t, env, req) // first request: metric definitions, node metadata
	c := filtertest.Measure(t, env, req)
	t.Logf("host calls %d %v; event callbacks %d %v; allocation callbacks %d", c.HostCalls, c.HostByName, c.Events, c.EventByName, c.Allocs)
	require.LessOrEqual(t, c.HostCalls, 11, "host calls per request: %v", c.HostByName)
	require.Equal(t, 1, c.HostByName["proxy_get_header_map_pairs"], "request headers read once")
	require.LessOrEqual(t, c.HostByName["proxy_call_foreign_function"], 1, "clear_route_cache at most once")
	require.LessOrEqual(t, c.HostByName["wasi_snapshot_preview1.clock_time_get"], 2, "one clock read per phase")
	require.LessOrEqual(t, c.Events, 7, "event callbacks per request: %v", c.EventByName)
	returning := 0
	for _, name := range []string{"proxy_get_header_map_pairs", "proxy_get_header_map_value", "proxy_get_property", "proxy_get_buffer_bytes"} {
		returning += c.HostByName[name]
	}
	require.LessOrEqual(t, c.Allocs, returning, "at most one allocation callback per host call that returns data")
}

// budgetChain is the pipeline of chainConfigs without the canary's response header (an
// opt-in that costs one host call more; TestPipelineResponseHeaderCost).
func budgetChain(t testing.TB) []testenv.Filter {
	f := chain(t, "pipeline")
	f[0].Config = []byte(strings.Replace(string(f[0].Config), `, "responseHeader": "x-wasmesh-version"`, "", 1))
	require.NotContains(t, string(f[0].Config), "responseHeader")
	return f
}

// Each standalone filter stays at or below the host calls it made before the pipeline
// (router 5, canary 5, fault 1, telemetry 13: docs/filters.md).
func TestStandaloneCrossings(t *testing.T) {
	before := map[string]int{"router": 5, "canary": 5, "fault": 1, "telemetry": 13}
	req := testenv.Request{Method: "GET", Path: "/reviews/1", Authority: "reviews", Headers: testenv.Headers{{"x-user", "bob"}}}
	for _, c := range chainConfigs {
		t.Run(c.name, func(t *testing.T) {
			env := testenvtest.New(t, []testenv.Filter{{Name: c.name, Module: filtertest.Module(t, c.name), Config: []byte(c.config)}}, testenv.WithStrictRouteCache())
			filtertest.Measure(t, env, req)
			got := filtertest.Measure(t, env, req)
			t.Logf("%s: %d host calls %v, %d event callbacks", c.name, got.HostCalls, got.HostByName, got.Events)
			require.LessOrEqual(t, got.HostCalls, before[c.name], "%v", got.HostByName)
		})
	}
}
