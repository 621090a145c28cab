package fault_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/wasmesh/wasmesh/filters/fault"
	"github.com/wasmesh/wasmesh/filters/internal/filtertest"
	"github.com/wasmesh/wasmesh/testenv"
	"github.com/wasmesh/wasmesh/testenv/testenvtest"
)

const faultConfig = `{"services": {
	"reviews": {"rules": [
		{"name": "slow", "match": {"path": {"prefix": "/slow"}}, "delay": {"fixed": "150ms", "percentage": 100}},
		{"name": "broken", "match": {"path": {"prefix": "/broken"}}, "abort": {"httpStatus": 503, "grpcStatus": 14, "percentage": 100}},
		{"name": "slow-broken", "match": {"path": {"prefix": "/both"}}, "delay": {"fixed": "300ms"}, "abort": {"httpStatus": 500}},
		{"name": "never", "match": {"path": {"prefix": "/never"}}, "delay": {"fixed": "1s", "percentage": 0}, "abort": {"httpStatus": 500, "percentage": 0}},
		{"name": "quarter", "match": {"path": {"prefix": "/quarter"}}, "abort": {"httpStatus": 503, "percentage": 25}}],
		"triggerHeader": {"enabled": true}},
	"ratings": {"triggerHeader": {"enabled": false}},
	"details": {"triggerHeader": {"enabled": true, "name": "x-chaos"}},
	"default": {}}}`

func metric(kind string) string { return "wasmesh_faults_injected_total;service=reviews;kind=" + kind }

func grpcStatus(r testenv.Response) string {
	if s := r.Headers.Get("grpc-status"); s != "" {
		return s
	}
	return r.Trailers.Get("grpc-status")
}

func TestFaultWasm(t *testing.T) {
	tests := []struct {
		name        string
		req         testenv.Request
		wantStatus  int
		wantGRPC    string // grpc-status of the reply ("" not checked)
		wantUp      bool   // reached the upstream
		minElapsed  time.Duration
		maxElapsed  time.Duration // 0: not checked
		wantMetrics map[string]float64
	}{
		{name: "no fault", req: testenv.Request{Path: "/", Authority: "reviews"}, wantStatus: 200, wantUp: true, maxElapsed: 50 * time.Millisecond},
		{name: "delay", req: testenv.Request{Path: "/slow/1", Authority: "reviews"}, wantStatus: 200, wantUp: true,
			minElapsed: 150 * time.Millisecond, maxElapsed: 200 * time.Millisecond, wantMetrics: map[string]float64{metric("delay"): 1}},
		{name: "abort", req: testenv.Request{Path: "/broken", Authority: "reviews"}, wantStatus: 503, wantMetrics: map[string]float64{metric("abort"): 1}},
		{name: "grpc abort", req: testenv.Request{Method: "POST", Path: "/broken", Authority: "reviews", Headers: testenv.Headers{{"content-type", "application/grpc"}}},
			wantStatus: 200, wantGRPC: "14", wantMetrics: map[string]float64{metric("abort"): 1}},
		{name: "delay then abort", req: testenv.Request{Path: "/both", Authority: "reviews"}, wantStatus: 500, minElapsed: 300 * time.Millisecond,
			wantMetrics: map[string]float64{metric("delay"): 1, metric("abort"): 1}},
		{name: "percentage 0", req: testenv.Request{Path: "/never", Authority: "reviews"}, wantStatus: 200, wantUp: true, maxElapsed: 50 * time.Millisecond},
		{name: "trigger abort", req: testenv.Request{Path: "/", Authority: "reviews", Headers: testenv.Headers{{"x-wasmesh-fault", "abort=418"}}}, wantStatus: 418},
		{name: "trigger delay", req: testenv.Request{Path: "/", Authority: "reviews", Headers: testenv.Headers{{"x-wasmesh-fault", "delay=200ms"}}},
			wantStatus: 200, wantUp: true, minElapsed: 200 * time.Millisecond},
		{name: "trigger both", req: testenv.Request{Path: "/", Authority: "reviews", Headers: testenv.Headers{{"x-wasmesh-fault", "abort=503,delay=100ms"}}},
			wantStatus: 503, minElapsed: 100 * time.Millisecond},
		{name: "malformed trigger ignored", req: testenv.Request{Path: "/", Authority: "reviews", Headers: testenv.Headers{{"x-wasmesh-fault", "abort=oops"}}}, wantStatus: 200, wantUp: true},
		{name: "trigger disabled", req: testenv.Request{Path: "/", Authority: "ratings", Headers: testenv.Headers{{"x-wasmesh-fault", "abort=503"}}}, wantStatus: 200, wantUp: true},
		{name: "trigger renamed", req: testenv.Request{Path: "/", Authority: "details", Headers: testenv.Headers{{"x-chaos", "abort=451"}, {"x-wasmesh-fault", "abort=503"}}}, wantStatus: 451},
		{name: "trigger off in an empty policy", req: testenv.Request{Path: "/", Authority: "default", Headers: testenv.Headers{{"x-wasmesh-fault", "abort=503"}}}, wantStatus: 200, wantUp: true},
		{name: "triggered delay capped at 1s", req: testenv.Request{Path: "/", Authority: "reviews", Headers: testenv.Headers{{"x-wasmesh-fault", "delay=1h"}}},
			wantStatus: 200, wantUp: true, minElapsed: time.Second, maxElapsed: 1500 * time.Millisecond},
		{name: "service without policy", req: testenv.Request{Path: "/broken", Authority: "other", Headers: testenv.Headers{{"x-wasmesh-fault", "abort=503"}}}, wantStatus: 200, wantUp: true},
	}
	for _, v := range filtertest.Variants(t, fault.RootID) {
		t.Run(v.Name, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					env := testenvtest.New(t, []testenv.Filter{v.Filter(faultConfig)})
					res := env.Do(tt.req)
					require.NoError(t, res.Err)
					require.Equal(t, tt.wantStatus, res.Response.Status)
					require.Equal(t, tt.wantUp, res.Upstream != nil, "reached the upstream")
					require.Equal(t, !tt.wantUp, res.LocalReply)
					if tt.wantGRPC != "" {
						require.Equal(t, tt.wantGRPC, grpcStatus(res.Response))
					}
					require.GreaterOrEqual(t, res.Elapsed, tt.minElapsed)
					if tt.maxElapsed > 0 {
						require.LessOrEqual(t, res.Elapsed, tt.maxElapsed)
					}
					m := env.Metrics()
					for k, want := range tt.wantMetrics {
						require.Equal(t, want, m[k], k)
					}
				})
			}
		})
	}
}

// The abort percentage holds over many requests, and a delayed stream keeps the others going:
// the delay is a timer, and requests after it are not slowed down.
func TestFaultWasmRates(t *testing.T) {
	for _, v := range filtertest.Variants(t, fault.RootID) {
		t.Run(v.Name, func(t *testing.T) {
			env := testenvtest.New(t, []testenv.Filter{v.Filter(faultConfig)})
			const n = 2000
			aborted := 0
			for range n {
				res := env.Do(testenv.Request{Path: "/quarter", Authority: "reviews"})
				require.NoError(t, res.Err)
				if res.Response.Status == 503 {
					aborted++
					require.Nil(t, res.Upstream)
				}
			}
			// 4.5 binomial standard deviations (0.97 points each over 2,000 draws): ±3
			// points would fail a correct filter about once in 500 runs.
			require.InDelta(t, 25, 100*float64(aborted)/n, 4.4)
			require.Equal(t, float64(aborted), env.Metrics()[metric("abort")])

			slow := env.Do(testenv.Request{Path: "/slow", Authority: "reviews"})
			require.GreaterOrEqual(t, slow.Elapsed, 150*time.Millisecond)
			fast := env.Do(testenv.Request{Path: "/", Authority: "reviews"})
			require.Less(t, fast.Elapsed, 50*time.Millisecond, "the timer tick must stop once no stream is delayed")
		})
	}
}

// maxActiveDelays caps the streams delayed at once: with a cap of 2 and three delayed requests
// open together, two wait for the delay, the third is not delayed (delay_skipped); once the
// delays end a new request is delayed again.
func TestFaultWasmMaxActiveDelays(t *testing.T) {
	const cfg = `{"services": {"reviews": {"rules": [{"name": "slow", "delay": {"fixed": "200ms"}}], "maxActiveDelays": 2}}}`
	req := testenv.Request{Path: "/", Authority: "reviews"}
	for _, v := range filtertest.Variants(t, fault.RootID) {
		t.Run(v.Name, func(t *testing.T) {
			env := testenvtest.New(t, []testenv.Filter{v.Filter(cfg)})
			a, b, c := env.Begin(req), env.Begin(req), env.Begin(req)
			require.False(t, a.Done(), "delayed")
			require.False(t, b.Done(), "delayed")
			require.True(t, c.Done(), "over the cap: not delayed")
			require.NoError(t, c.Result().Err)
			require.Equal(t, 200, c.Result().Response.Status)
			require.Zero(t, c.Result().Elapsed)
			m := env.Metrics()
			require.Equal(t, 2.0, m[metric("delay")])
			require.Equal(t, 1.0, m[metric("delay_skipped")])

			env.Advance(199 * time.Millisecond)
			require.False(t, a.Done())
			require.False(t, b.Done())
			env.Advance(time.Millisecond)
			for _, s := range []*testenv.Stream{a, b} {
				require.True(t, s.Done(), "the delay is over")
				require.NoError(t, s.Result().Err)
				require.Equal(t, 200, s.Result().Response.Status)
				require.NotNil(t, s.Result().Upstream)
				require.Equal(t, 200*time.Millisecond, s.Result().Elapsed)
			}

			d := env.Begin(req)
			require.False(t, d.Done(), "the slots are free again: delayed")
			require.Equal(t, 3.0, env.Metrics()[metric("delay")])
			require.Equal(t, 1.0, env.Metrics()[metric("delay_skipped")])
			env.Wait(d)
			require.NoError(t, d.Result().Err)
			require.Equal(t, 200*time.Millisecond, d.Result().Elapsed)
		})
	}
}

func TestFaultRefusesBadConfig(t *testing.T) {
	bad := []string{
		`{"services": {"reviews": {"delay": {"duration": "150ms", "percentage": 100}}}}`,
		`{"services": {"reviews": {"rules": [{"name": "x", "delay": {"fixed": "soon"}, "abort": {"httpStatus": 99}}], "maxActiveDelays": -1}}}`,
	}
	for _, v := range filtertest.Variants(t, fault.RootID) {
		for _, cfg := range bad {
			t.Run(v.Name+"/"+cfg, func(t *testing.T) {
				_, err := fault.ParseConfig([]byte(cfg))
				filtertest.Refuses(t, v.Filter(cfg), err)
			})
		}
	}
}

func BenchmarkFaultStream(b *testing.B) {
	for _, v := range filtertest.Variants(b, fault.RootID) {
		b.Run(v.Name, func(b *testing.B) {
			env := testenvtest.New(b, []testenv.Filter{v.Filter(faultConfig)}, testenv.WithRealClock())
			req := testenv.Request{Path: "/", Authority: "reviews"}
			for b.Loop() {
				if res := env.Do(req); res.Err != nil {
					b.Fatal(res.Err)
				}
			}
		})
	}
}
