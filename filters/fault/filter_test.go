package fault

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/wasmesh/wasmesh/sdk"
)

func always(float64) bool { return true }
func never(float64) bool  { return false }

func mustFilter(t *testing.T, cfg string) *Filter {
	t.Helper()
	c, err := ParseConfig([]byte(cfg))
	require.NoError(t, err)
	f, err := New(c)
	require.NoError(t, err)
	return f
}

func TestDecide(t *testing.T) {
	f := mustFilter(t, `{"services":{"reviews":{"rules":[
		{"name":"slow","match":{"path":{"prefix":"/slow"}},"delay":{"fixed":"200ms","percentage":50}},
		{"name":"both","match":{"path":{"prefix":"/both"}},"delay":{"fixed":"1s"},"abort":{"httpStatus":503,"grpcStatus":14}},
		{"name":"grpc-only","match":{"path":{"prefix":"/grpc-only"}},"abort":{"grpcStatus":8}},
		{"name":"http-only","match":{"path":{"prefix":"/http-only"}},"abort":{"httpStatus":418}}],
		"triggerHeader":{"enabled":true}},
		"ratings":{"triggerHeader":{"enabled":false}},
		"details":{"triggerHeader":{"enabled":true,"name":"x-chaos","maxDelay":"2s"},"maxActiveDelays":1},
		"capped":{"triggerHeader":{"enabled":true}},
		"default":{},
		"named":{"triggerHeader":{"name":"x-wasmesh-fault"}},
		"callers":{"triggerHeader":{"enabled":true,"callers":["frontend"]}},
		"others":{"triggerHeader":{"enabled":true,"callers":["reviews","ratings"]}}}}`)
	f.SetNode("frontend", "v1")
	grpc := sdk.Headers{{"content-type", "application/grpc+proto"}}
	tests := []struct {
		name string
		req  sdk.Request
		draw Draw
		want Fault
	}{
		{"delay drawn", sdk.Request{Path: "/slow", Authority: "reviews"}, always, Fault{Rule: "slow", Delay: 200 * time.Millisecond, GRPC: -1}},
		{"delay not drawn", sdk.Request{Path: "/slow", Authority: "reviews"}, never, Fault{Rule: "slow", GRPC: -1}},
		{"delay and abort", sdk.Request{Path: "/both", Authority: "reviews"}, always, Fault{Rule: "both", Delay: time.Second, Abort: true, Status: 503, GRPC: -1}},
		{"grpc request gets grpc status", sdk.Request{Path: "/both", Authority: "reviews", Headers: grpc}, always, Fault{Rule: "both", Delay: time.Second, Abort: true, Status: 200, GRPC: 14}},
		{"plain request, grpc-only rule", sdk.Request{Path: "/grpc-only", Authority: "reviews"}, always, Fault{Rule: "grpc-only", Abort: true, Status: 429, GRPC: -1}},
		// A gRPC request is answered the gRPC way even by an httpStatus-only rule (as Envoy does).
		{"grpc request, http-only rule", sdk.Request{Path: "/http-only", Authority: "reviews", Headers: grpc}, always, Fault{Rule: "http-only", Abort: true, Status: 200, GRPC: 2}},
		{"no rule", sdk.Request{Path: "/", Authority: "reviews"}, always, Fault{GRPC: -1}},
		{"trigger abort", sdk.Request{Path: "/", Authority: "reviews", Headers: sdk.Headers{{"x-wasmesh-fault", "abort=503"}}}, never, Fault{Triggered: true, Abort: true, Status: 503, GRPC: -1}},
		{"trigger both", sdk.Request{Path: "/", Authority: "reviews", Headers: sdk.Headers{{"x-wasmesh-fault", "abort=503, delay=100ms"}}}, never, Fault{Triggered: true, Abort: true, Status: 503, Delay: 100 * time.Millisecond, GRPC: -1}},
		{"trigger grpc", sdk.Request{Path: "/", Authority: "reviews", Headers: sdk.Headers{{"x-wasmesh-fault", "abort=503"}, {"content-type", "application/grpc"}}}, never, Fault{Triggered: true, Abort: true, Status: 200, GRPC: 14}},
		{"malformed trigger ignored", sdk.Request{Path: "/slow", Authority: "reviews", Headers: sdk.Headers{{"x-wasmesh-fault", "abort=5o3"}}}, always, Fault{Rule: "slow", Delay: 200 * time.Millisecond, GRPC: -1}},
		{"trigger disabled", sdk.Request{Path: "/", Authority: "ratings", Headers: sdk.Headers{{"x-wasmesh-fault", "abort=503"}}}, always, Fault{GRPC: -1}},
		{"trigger renamed", sdk.Request{Path: "/", Authority: "details", Headers: sdk.Headers{{"x-chaos", "delay=1s"}, {"x-wasmesh-fault", "abort=503"}}}, never, Fault{Triggered: true, Delay: time.Second, GRPC: -1}},
		{"trigger delay capped by default", sdk.Request{Path: "/", Authority: "capped", Headers: sdk.Headers{{"x-wasmesh-fault", "delay=1h"}}}, never, Fault{Triggered: true, Delay: DefaultTriggerMaxDelay, GRPC: -1}},
		{"trigger off in an empty policy", sdk.Request{Path: "/", Authority: "default", Headers: sdk.Headers{{"x-wasmesh-fault", "abort=503"}}}, always, Fault{GRPC: -1}},
		{"trigger off unless enabled", sdk.Request{Path: "/", Authority: "named", Headers: sdk.Headers{{"x-wasmesh-fault", "abort=503"}}}, always, Fault{GRPC: -1}},
		{"trigger from a named caller", sdk.Request{Path: "/", Authority: "callers", Headers: sdk.Headers{{"x-wasmesh-fault", "abort=503"}}}, never, Fault{Triggered: true, Abort: true, Status: 503, GRPC: -1}},
		{"trigger from another caller", sdk.Request{Path: "/", Authority: "others", Headers: sdk.Headers{{"x-wasmesh-fault", "abort=503"}}}, always, Fault{GRPC: -1}},
		{"unknown service", sdk.Request{Path: "/slow", Authority: "other", Headers: sdk.Headers{{"x-wasmesh-fault", "abort=503"}}}, always, Fault{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := f.DecideWith(&tt.req, tt.draw)
			got.policy = nil
			require.Equal(t, tt.want, got)
		})
	}
}

func TestDelayCap(t *testing.T) {
	f := mustFilter(t, `{"rules":[{"delay":{"fixed":"1s"}}],"maxActiveDelays":2}`)
	req := &sdk.Request{Authority: "reviews"}
	a, b, c := f.Decide(req), f.Decide(req), f.Decide(req)
	require.True(t, f.TryDelay(a))
	require.True(t, f.TryDelay(b))
	require.False(t, f.TryDelay(c), "over the cap")
	require.Equal(t, 2, f.Active())
	f.DoneDelay(a)
	require.True(t, f.TryDelay(c))
	f.DoneDelay(b)
	f.DoneDelay(c)
	require.Equal(t, 0, f.Active())

	uncapped := mustFilter(t, `{"rules":[{"delay":{"fixed":"1s"}}]}`)
	for range 1000 {
		require.True(t, uncapped.TryDelay(uncapped.Decide(req)))
	}
}

func TestParseTrigger(t *testing.T) {
	tests := []struct {
		in      string
		want    Fault
		wantErr string
	}{
		{"abort=503", Fault{Triggered: true, Abort: true, Status: 503, GRPC: -1}, ""},
		{"delay=200ms", Fault{Triggered: true, Delay: 200 * time.Millisecond, GRPC: -1}, ""},
		{"abort=418,delay=1s", Fault{Triggered: true, Abort: true, Status: 418, Delay: time.Second, GRPC: -1}, ""},
		{"abort=99", Fault{}, "malformed fault trigger: abort=99: want an HTTP status 200..599"},
		{"delay=-1s", Fault{}, "malformed fault trigger: delay=-1s: want a duration above 0 and at most 1h0m0s"},
		{"boom", Fault{}, `malformed fault trigger: "boom": want key=value`},
		{"slow=1", Fault{}, `malformed fault trigger: unknown key "slow" (want abort, delay)`},
		{"", Fault{}, "malformed fault trigger: empty"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseTrigger(tt.in)
			if tt.wantErr != "" {
				require.EqualError(t, err, tt.wantErr)
				require.ErrorIs(t, err, ErrTrigger)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestAbortRate(t *testing.T) {
	f := mustFilter(t, `{"rules":[{"abort":{"httpStatus":503,"percentage":25}}]}`)
	n, aborted := 20000, 0
	for range n {
		if f.Decide(&sdk.Request{Authority: "reviews"}).Abort {
			aborted++
		}
	}
	require.InDelta(t, 25, 100*float64(aborted)/float64(n), 1.5)
}

func BenchmarkDecideNoFault(b *testing.B) {
	c, _ := ParseConfig([]byte(`{"services":{"reviews":{"rules":[{"match":{"path":{"prefix":"/slow"}},"delay":{"fixed":"1s"}}]}}}`))
	f, _ := New(c)
	req := sdk.Request{Method: "GET", Path: "/", Authority: "reviews", Headers: sdk.Headers{{"user-agent", "curl"}}}
	b.ReportAllocs()
	for b.Loop() {
		f.Decide(&req)
	}
}
