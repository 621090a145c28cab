package fault

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
		{name: "documented", in: `{"rules":[{"name":"slow-ratings","match":{"path":{"prefix":"/ratings"}},"delay":{"fixed":"200ms","percentage":50},"abort":{"httpStatus":503,"grpcStatus":14,"percentage":10}}],"triggerHeader":{"enabled":true,"name":"x-wasmesh-fault"},"maxActiveDelays":0}`},
		{name: "services", in: `{"services":{"reviews":{"rules":[{"name":"d","delay":{"fixed":"150ms","percentage":100}}]}}}`},
		{name: "grpc ok status", in: `{"rules":[{"abort":{"grpcStatus":0,"percentage":12.5}}],"triggerHeader":{"enabled":false}}`},
		{name: "nothing to inject", in: `{"rules":[{"name":"x"}]}`, wantErr: "rules[0]: want delay, abort or both"},
		{name: "bad duration", in: `{"services":{"reviews":{"rules":[{"delay":{"fixed":"soon"}}]}}}`,
			wantErr: `services.reviews.rules[0].delay.fixed: invalid duration "soon" (want a Go duration such as "200ms")`},
		{name: "old shape", in: `{"services":{"reviews":{"delay":{"duration":"150ms","percentage":100}}}}`, wantErr: "services.reviews.delay: unknown key"},
		{name: "every problem", in: `{"rules":[{"delay":{"percentage":120},"abort":{"httpStatus":99,"grpcStatus":17}}],"maxActiveDelays":-1,"triggerHeader":{"name":""}}`,
			wantErr: "rules[0].delay: fixed: required\n" +
				"rules[0].delay.percentage: want a percentage 0..100, got 120\n" +
				"rules[0].abort.httpStatus: want an HTTP status 200..599, got 99\n" +
				"rules[0].abort.grpcStatus: want a gRPC status 0..16, got 17\n" +
				"triggerHeader.name: must not be empty\n" +
				"maxActiveDelays: must be 0 (no cap) or more, got -1"},
		{name: "abort without status", in: `{"rules":[{"abort":{"percentage":10}}]}`, wantErr: "rules[0].abort: want httpStatus, grpcStatus or both"},
		{name: "negative delay", in: `{"rules":[{"delay":{"fixed":"-1s"}}]}`, wantErr: "rules[0].delay.fixed: want a duration above 0 and at most 1h0m0s, got -1s"},
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
