package fault

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
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
			c, err := ParseConfig([]byte(tt.in))
			if tt.wantErr != "" {
				require.EqualError(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			out, err := json.Marshal(c)
			require.NoError(t, err)
			c2, err := ParseConfig(out)
			require.NoError(t, err, "%s", out)
			require.Equal(t, c, c2)
		})
	}
}

func FuzzParseConfig(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.json")
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		require.NoError(f, err)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig(data)
		if err != nil {
			return
		}
		if _, err := New(c); err != nil {
			t.Fatalf("a parsed config does not compile: %v\n%s", err, data)
		}
		out, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ParseConfig(out); err != nil {
			t.Fatalf("marshalled config refused: %v\n%s", err, out)
		}
	})
}
