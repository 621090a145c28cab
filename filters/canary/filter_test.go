package canary

import (
	"math"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/wasmesh/wasmesh/sdk"
)

const reviewsConfig = `{"services":{"reviews":{"weights":{"v1":90,"v2":10},
	"overrides":[{"match":{"headers":[{"name":"x-canary","exact":"always"}]},"version":"v2"},
	             {"match":{"headers":[{"name":"x-canary","exact":"never"}]},"version":"v1"}],
	"sticky":{"header":"x-user"},"responseHeader":"x-wasmesh-version"}}}`

func mustFilter(t *testing.T, cfg string) *Filter {
	t.Helper()
	c, err := ParseConfig([]byte(cfg))
	require.NoError(t, err)
	f, err := New(c)
	require.NoError(t, err)
	return f
}

func TestDecide(t *testing.T) {
	f := mustFilter(t, reviewsConfig)
	tests := []struct {
		name    string
		req     sdk.Request
		routed  string
		how     How
		cluster string
	}{
		{"override always", sdk.Request{Authority: "reviews", Headers: sdk.Headers{{"x-canary", "always"}, {"x-user", "a"}}}, "", ByOverride, "reviews|v2"},
		{"override never", sdk.Request{Authority: "reviews:9080", Headers: sdk.Headers{{"x-canary", "never"}}}, "", ByOverride, "reviews|v1"},
		{"router already chose", sdk.Request{Authority: "reviews", Headers: sdk.Headers{{"x-canary", "always"}}}, "reviews|v3", ByNone, ""},
		{"unknown service", sdk.Request{Authority: "ratings"}, "", ByNone, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := f.Decide(&tt.req, tt.routed)
			require.Equal(t, tt.how, d.How)
			require.Equal(t, tt.cluster, d.Cluster)
		})
	}
}

func TestStickyAndRandom(t *testing.T) {
	f := mustFilter(t, reviewsConfig)
	const n = 10000
	v2, v2random := 0, 0
	for i := range n {
		key := "user-" + strconv.Itoa(i)
		req := sdk.Request{Authority: "reviews", Headers: sdk.Headers{{"x-user", key}}}
		d := f.Decide(&req, "")
		require.Equal(t, BySticky, d.How)
		require.Equal(t, d.Cluster, f.Decide(&req, "").Cluster, "key %s moved", key)
		if d.Version == "v2" {
			v2++
		}
		r := f.Decide(&sdk.Request{Authority: "reviews"}, "")
		require.Equal(t, ByRandom, r.How)
		if r.Version == "v2" {
			v2random++
		}
	}
	require.LessOrEqual(t, math.Abs(100*float64(v2)/n-10), 1.5)
	require.LessOrEqual(t, math.Abs(100*float64(v2random)/n-10), 1.5)
}

func TestStickyCookieRamp(t *testing.T) {
	at := func(w int) *Filter {
		return mustFilter(t, `{"weights":{"v1":`+strconv.Itoa(100-w)+`,"v2":`+strconv.Itoa(w)+`},"sticky":{"cookie":"session"}}`)
	}
	f10, f20 := at(10), at(20)
	const n = 10000
	moved, in10, in20 := 0, 0, 0
	for i := range n {
		req := sdk.Request{Authority: "reviews", Headers: sdk.Headers{{"cookie", "theme=dark; session=s" + strconv.Itoa(i)}}}
		a, b := f10.Decide(&req, ""), f20.Decide(&req, "")
		require.Equal(t, BySticky, a.How)
		if a.Version != b.Version {
			moved++
			require.Equal(t, "v2", b.Version, "a key only moves to the version that grew")
		}
		if a.Version == "v2" {
			in10++
		}
		if b.Version == "v2" {
			in20++
		}
	}
	t.Logf("ramp 10%%→20%%: %d of %d keys moved (%.2f%%); v2 %.2f%% → %.2f%%", moved, n, 100*float64(moved)/n, 100*float64(in10)/n, 100*float64(in20)/n)
	require.LessOrEqual(t, 100*float64(moved)/n, 11.0)
	require.InDelta(t, 10, 100*float64(in10)/n, 1.5)
	require.InDelta(t, 20, 100*float64(in20)/n, 1.5)
}

func TestNoWeights(t *testing.T) {
	f := mustFilter(t, `{"overrides":[{"match":{"path":{"prefix":"/beta"}},"version":"v3"}],"responseHeader":"x-v"}`)
	d := f.Decide(&sdk.Request{Authority: "reviews", Path: "/beta/x"}, "")
	require.Equal(t, Decision{How: ByOverride, Service: "reviews", Version: "v3", Cluster: "reviews|v3", ResponseHeader: "x-v"}, d)
	d = f.Decide(&sdk.Request{Authority: "reviews", Path: "/"}, "")
	require.Equal(t, Decision{How: ByNothing, Service: "reviews"}, d)
}

func BenchmarkDecideSticky(b *testing.B) {
	c, _ := ParseConfig([]byte(reviewsConfig))
	f, _ := New(c)
	req := sdk.Request{Method: "GET", Path: "/", Authority: "reviews", Headers: sdk.Headers{{"x-user", "user-123"}}}
	b.ReportAllocs()
	for b.Loop() {
		f.Decide(&req, "")
	}
}
