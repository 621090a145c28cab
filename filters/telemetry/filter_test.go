package telemetry

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func compiled(t *testing.T, cfg string) *Compiled {
	t.Helper()
	c, err := ParseConfig([]byte(cfg))
	require.NoError(t, err)
	f, err := New(c)
	require.NoError(t, err)
	p := f.For("reviews")
	require.NotNil(t, p)
	return p
}

var obs = Observation{
	Time: time.Date(2026, 11, 23, 9, 0, 0, 123e6, time.UTC), Method: "GET", Path: "/t/0", Authority: "reviews:9080",
	Status: 503, Duration: 12345 * time.Microsecond, RequestBytes: 10, ResponseBytes: 20,
	SourceService: "productpage", SourceVersion: "v1", DestinationService: "reviews", DestinationVer: "v2",
	Route: "outbound|reviews", RequestID: "rid", TraceID: "4bf92f3577b34da6a3ce929d0e0e4736",
}

func TestMetricName(t *testing.T) {
	tests := []struct {
		cfg, want string
	}{
		{`{}`, "wasmesh_requests_total;source_service=productpage;source_version=v1;destination_service=reviews;destination_version=v2;method=GET;response_code_class=5xx"},
		{`{"metrics":{"dimensions":["method","route"]}}`, "wasmesh_requests_total;method=GET;route=outbound|reviews"},
		{`{"metrics":{"dimensions":[]}}`, "wasmesh_requests_total"},
	}
	for _, tt := range tests {
		t.Run(tt.cfg, func(t *testing.T) {
			require.Equal(t, tt.want, compiled(t, tt.cfg).MetricName(MetricRequests, &obs))
		})
	}
	o := obs
	o.Method, o.SourceService, o.Status, o.DestinationVer = "BREW", "a;b=c", 0, ""
	require.Equal(t, "wasmesh_requests_total;source_service=a_b_c;destination_version=unknown;method=OTHER;response_code_class=unknown",
		compiled(t, `{"metrics":{"dimensions":["source_service","destination_version","method","response_code_class"]}}`).MetricName(MetricRequests, &o))
}

func TestLogLine(t *testing.T) {
	line := string(compiled(t, `{}`).AppendLogLine(nil, &obs))
	require.True(t, strings.HasPrefix(line, AccessLogPrefix))
	var got map[string]any
	require.NoError(t, json.Unmarshal([]byte(strings.TrimPrefix(line, AccessLogPrefix)), &got))
	require.Equal(t, map[string]any{"time": "2026-11-23T09:00:00.123Z", "method": "GET", "path": "/t/0", "authority": "reviews:9080",
		"status": 503.0, "duration_ms": 12.345, "request_bytes": 10.0, "response_bytes": 20.0, "source_service": "productpage",
		"destination_service": "reviews", "destination_version": "v2", "request_id": "rid", "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736"}, got)

	line = string(compiled(t, `{"accessLog":{"fields":["status","path"]}}`).AppendLogLine(nil, &obs))
	require.Equal(t, AccessLogPrefix+`{"path":"/t/0","status":503}`, line)
	o := obs
	o.Path = "/q?a=\"x\"\n"
	line = string(compiled(t, `{"accessLog":{"fields":["path"]}}`).AppendLogLine(nil, &o))
	require.Equal(t, AccessLogPrefix+`{"path":"/q?a=\"x\"\n"}`, line)
}

func TestDefaults(t *testing.T) {
	p := compiled(t, ``)
	require.True(t, p.Metrics)
	require.Equal(t, defaultDimensions, p.Dims)
	require.True(t, p.AccessLog)
	require.Equal(t, 100.0, p.Sampling)
	require.True(t, p.Propagate)
	require.True(t, p.StartWhenAbsent)
	p = compiled(t, `{"metrics":{"enabled":false},"accessLog":{"enabled":false,"sampling":5},"tracing":{"propagate":false,"startWhenAbsent":false}}`)
	require.False(t, p.Metrics || p.AccessLog || p.Propagate || p.StartWhenAbsent)
	require.Equal(t, 5.0, p.Sampling)
}

func TestSmallHelpers(t *testing.T) {
	require.Equal(t, "v2", versionOf("reviews|v2"))
	require.Equal(t, "", versionOf("reviews"))
	require.Equal(t, "2xx", CodeClass(204))
	require.Equal(t, uint64(12), DurationMS(12345*time.Microsecond))
}

func BenchmarkLogLine(b *testing.B) {
	c, _ := ParseConfig(nil)
	f, _ := New(c)
	p := f.For("reviews")
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = p.AppendLogLine(buf[:0], &obs)
	}
}
