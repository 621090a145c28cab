package telemetry_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/wasmesh/wasmesh/filters/internal/filtertest"
	"github.com/wasmesh/wasmesh/filters/telemetry"
	"github.com/wasmesh/wasmesh/sdk/tracecontext"
	"github.com/wasmesh/wasmesh/testenv"
	"github.com/wasmesh/wasmesh/testenv/testenvtest"
)

const telemetryConfig = `{"services": {"reviews": {
	"metrics": {"dimensions": ["source_service", "source_version", "destination_service", "destination_version", "method", "response_code_class"]},
	"accessLog": {"sampling": 100},
	"tracing": {}},
  "ratings": {"metrics": {"enabled": false}, "accessLog": {"enabled": false}, "tracing": {"propagate": false}},
  "details": {"accessLog": {"sampling": 0, "fields": ["status"]}, "tracing": {"startWhenAbsent": false}, "metrics": {"dimensions": ["route"]}}}}`

var node = map[string]string{"service": "productpage", "version": "v1"}

func accessLines(env *testenv.Env) []map[string]any {
	var out []map[string]any
	for _, l := range env.Logs() {
		if rest, ok := strings.CutPrefix(l.Message, telemetry.AccessLogPrefix); ok && l.Level == testenv.Info {
			var m map[string]any
			if json.Unmarshal([]byte(rest), &m) == nil {
				out = append(out, m)
			}
		}
	}
	return out
}

func TestTelemetryWasmMetricsAndLog(t *testing.T) {
	const tags = ";source_service=productpage;source_version=v1;destination_service=reviews;destination_version=v2;method=POST;response_code_class=5xx"
	upstream := testenv.WithUpstream(func(*testenv.UpstreamRequest) *testenv.Response {
		return &testenv.Response{Status: 503, Body: []byte("0123456789")}
	})
	for _, v := range filtertest.Variants(t, telemetry.RootID) {
		t.Run(v.Name, func(t *testing.T) {
			// telemetry → fault (delay 120ms) → router (routes to v2): the duration includes the
			// delay and the destination version is the one the router chose after telemetry ran.
			const faultCfg = `{"rules": [{"delay": {"fixed": "120ms"}}]}`
			const routerCfg = `{"rules": [{"destination": {"version": "v2"}}]}`
			chain := []testenv.Filter{
				v.Filter(telemetryConfig),
				{Name: "fault", Module: filtertest.Module(t, "fault"), Config: []byte(faultCfg)},
				{Name: "router", Module: filtertest.Module(t, "router"), Config: []byte(routerCfg)},
			}
			env := testenvtest.New(t, chain, upstream, testenv.WithNodeMetadata(node), testenv.WithStrictRouteCache())
			for range 2 {
				res := env.Do(testenv.Request{Method: "POST", Path: "/t/0?x=1", Authority: "reviews:9080", Body: []byte("hello")})
				require.NoError(t, res.Err)
				require.Equal(t, "reviews|v2", res.Upstream.Cluster)
			}
			m := env.Metrics()
			require.Equal(t, 2.0, m[telemetry.MetricRequests+tags], "metrics: %v", m)
			require.Equal(t, 10.0, m[telemetry.MetricRequestBytes+tags])
			require.Equal(t, 20.0, m[telemetry.MetricResponseBytes+tags])
			durations := env.Histogram(telemetry.MetricRequestDuration + tags)
			require.Len(t, durations, 2)
			for _, d := range durations {
				require.GreaterOrEqual(t, d, 120.0)
				require.Less(t, d, 200.0)
			}
			lines := accessLines(env)
			require.Len(t, lines, 2)
			l := lines[0]
			require.Equal(t, "POST", l["method"])
			require.Equal(t, "/t/0?x=1", l["path"])
			require.Equal(t, "reviews:9080", l["authority"])
			require.Equal(t, 503.0, l["status"])
			require.Equal(t, 5.0, l["request_bytes"])
			require.Equal(t, 10.0, l["response_bytes"])
			require.Equal(t, "productpage", l["source_service"])
			require.Equal(t, "reviews", l["destination_service"])
			require.Equal(t, "v2", l["destination_version"])
			require.GreaterOrEqual(t, l["duration_ms"], 120.0)
			require.NotEmpty(t, l["request_id"])
			require.Len(t, l["trace_id"], 32)
			_, err := time.Parse(time.RFC3339, l["time"].(string))
			require.NoError(t, err)
		})
	}
}

func TestTelemetryWasmTracing(t *testing.T) {
	const incoming = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	for _, v := range filtertest.Variants(t, telemetry.RootID) {
		t.Run(v.Name, func(t *testing.T) {
			// Without the connection manager's x-request-id, so the filter's own is what shows.
			env := testenvtest.New(t, []testenv.Filter{v.Filter(telemetryConfig)}, testenv.WithNodeMetadata(node), testenv.WithoutRequestID())
			t.Run("continues an incoming trace", func(t *testing.T) {
				res := env.Do(testenv.Request{Authority: "reviews", Headers: testenv.Headers{{"traceparent", incoming}, {"tracestate", "vendor=1"}, {"x-request-id", "rid-1"}}})
				out, ok := tracecontext.Parse(res.Upstream.Headers.Get("traceparent"))
				require.True(t, ok, res.Upstream.Headers.Get("traceparent"))
				require.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", out.TraceIDString())
				require.NotEqual(t, incoming, out.String(), "a new span id")
				require.Equal(t, byte(1), out.Flags)
				require.Equal(t, "vendor=1", res.Upstream.Headers.Get("tracestate"))
				require.Equal(t, []string{"rid-1"}, res.Upstream.Headers.Values("x-request-id"))
			})
			t.Run("starts a trace and a request id", func(t *testing.T) {
				a := env.Do(testenv.Request{Authority: "reviews"})
				b := env.Do(testenv.Request{Authority: "reviews", Headers: testenv.Headers{{"traceparent", "00-garbage"}}})
				pa, ok := tracecontext.Parse(a.Upstream.Headers.Get("traceparent"))
				require.True(t, ok)
				pb, ok := tracecontext.Parse(b.Upstream.Headers.Get("traceparent"))
				require.True(t, ok, "an invalid traceparent is replaced")
				require.NotEqual(t, pa.TraceID, pb.TraceID)
				require.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, a.Upstream.Headers.Get("x-request-id"))
				require.NotEqual(t, a.Upstream.Headers.Get("x-request-id"), b.Upstream.Headers.Get("x-request-id"))
			})
			t.Run("propagate false leaves the headers alone", func(t *testing.T) {
				res := env.Do(testenv.Request{Authority: "ratings", Headers: testenv.Headers{{"traceparent", "00-garbage"}}})
				require.Equal(t, "00-garbage", res.Upstream.Headers.Get("traceparent"))
				require.Empty(t, res.Upstream.Headers.Get("x-request-id"))
			})
			t.Run("startWhenAbsent false", func(t *testing.T) {
				res := env.Do(testenv.Request{Authority: "details"})
				require.Empty(t, res.Upstream.Headers.Get("traceparent"))
				require.NotEmpty(t, res.Upstream.Headers.Get("x-request-id"))
			})
			t.Run("no policy: untouched", func(t *testing.T) {
				res := env.Do(testenv.Request{Authority: "other"})
				require.Empty(t, res.Upstream.Headers.Get("traceparent"))
				require.Empty(t, res.Upstream.Headers.Get("x-request-id"))
			})
		})
	}
}

func TestTelemetryWasmSamplingAndDisabled(t *testing.T) {
	for _, v := range filtertest.Variants(t, telemetry.RootID) {
		t.Run(v.Name, func(t *testing.T) {
			env := testenvtest.New(t, []testenv.Filter{v.Filter(telemetryConfig)}, testenv.WithNodeMetadata(node))
			for range 20 {
				env.Do(testenv.Request{Authority: "details"})
				env.Do(testenv.Request{Authority: "ratings"})
			}
			require.Empty(t, accessLines(env), "sampling 0 and a disabled log write nothing")
			for name := range env.Metrics() {
				require.NotContains(t, name, "destination_service=ratings", "metrics disabled for ratings")
			}
			var total float64
			for name, val := range env.Metrics() {
				if strings.HasPrefix(name, telemetry.MetricRequests+";route=") {
					total += val
				}
			}
			require.Equal(t, 20.0, total, "details counts by route only: %v", env.Metrics())
		})
	}
}

func TestTelemetryRefusesBadConfig(t *testing.T) {
	bad := []string{
		`{"services": {"reviews": {"metrics": {"dimensions": ["verb"]}, "accessLog": {"sampling": 101}}}}`,
		`{"tracing": {"propagate": "yes"}}`,
	}
	for _, v := range filtertest.Variants(t, telemetry.RootID) {
		for _, cfg := range bad {
			t.Run(v.Name+"/"+cfg, func(t *testing.T) {
				_, err := telemetry.ParseConfig([]byte(cfg))
				filtertest.Refuses(t, v.Filter(cfg), err)
			})
		}
	}
}

func BenchmarkTelemetryStream(b *testing.B) {
	for _, v := range filtertest.Variants(b, telemetry.RootID) {
		b.Run(v.Name, func(b *testing.B) {
			env := testenvtest.New(b, []testenv.Filter{v.Filter(telemetryConfig)}, testenv.WithRealClock(), testenv.WithNodeMetadata(node))
			req := testenv.Request{Authority: "reviews", Headers: testenv.Headers{{"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}}}
			for b.Loop() {
				if res := env.Do(req); res.Err != nil {
					b.Fatal(res.Err)
				}
			}
		})
	}
}

// BenchmarkTelemetryStreamParts shows what each part of the policy costs per stream.
func BenchmarkTelemetryStreamParts(b *testing.B) {
	parts := []struct{ name, config string }{
		{"all", `{}`},
		{"no-log", `{"accessLog": {"enabled": false}}`},
		{"no-tracing", `{"tracing": {"propagate": false}}`},
		{"no-metrics", `{"metrics": {"enabled": false}}`},
		{"nothing", `{"accessLog": {"enabled": false}, "tracing": {"propagate": false}, "metrics": {"enabled": false}}`},
	}
	for _, p := range parts {
		b.Run(p.name, func(b *testing.B) {
			env := testenvtest.New(b, []testenv.Filter{{Module: filtertest.Module(b, "telemetry"), Config: []byte(p.config)}}, testenv.WithRealClock())
			req := testenv.Request{Authority: "reviews"}
			for b.Loop() {
				if res := env.Do(req); res.Err != nil {
					b.Fatal(res.Err)
				}
			}
		})
	}
}
