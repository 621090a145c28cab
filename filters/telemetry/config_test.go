package telemetry

import (
	"testing"

	"github.com/wasmesh/wasmesh/filters/internal/configtest"
)

func TestParseConfig(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr string
	}{
		{name: "empty", in: ``},
		{name: "documented", in: `{"metrics":{"enabled":true,"dimensions":["source_service","destination_service","destination_version","method","response_code_class"]},"accessLog":{"enabled":true,"sampling":100,"fields":[]},"tracing":{"propagate":true,"startWhenAbsent":true}}`},
		{name: "sections empty", in: `{"services":{"reviews":{"metrics":{},"accessLog":{"sampling":12.5},"tracing":{}}}}`},
		{name: "no dimensions", in: `{"metrics":{"dimensions":[]}}`},
		{name: "unknown dimension", in: `{"metrics":{"dimensions":["method","verb","method"]}}`,
			wantErr: `metrics.dimensions[1]: unknown dimension "verb" (known: source_service, source_version, destination_service, destination_version, route, method, response_code_class)` + "\n" +
				`metrics.dimensions[2]: duplicate dimension "method"`},
		{name: "sampling", in: `{"services":{"reviews":{"accessLog":{"sampling":101,"fields":["time","colour"]}}}}`,
			wantErr: "services.reviews.accessLog.sampling: want a percentage 0..100, got 101\n" +
				`services.reviews.accessLog.fields[1]: unknown field "colour" (known: time, method, path, authority, status, duration_ms, request_bytes, response_bytes, source_service, destination_service, destination_version, request_id, trace_id)`},
		{name: "types", in: `{"tracing":{"propagate":"yes","start":true},"metrics":[]}`,
			wantErr: "metrics: want an object, got an array\ntracing.propagate: want a boolean, got a string\ntracing.start: unknown key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			configtest.Parse(t, ParseConfig, tt.in, tt.wantErr)
		})
	}
}

func FuzzParseConfig(f *testing.F) {
	configtest.Fuzz(f, ParseConfig, New)
}
