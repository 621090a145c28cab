package router

import (
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/wasmesh/wasmesh/sdk"
)

func TestDecide(t *testing.T) {
	const cfg = `{"services":{"reviews":{"rules":[
		{"name":"jason","match":{"headers":[{"name":"x-user","exact":"jason"}]},"destination":{"version":"v2"},
		 "requestHeaders":{"add":{"x-route":"jason","x-b":"2"},"remove":["x-debug"]}},
		{"name":"api","match":{"path":{"prefix":"/api/"},"method":"POST"},"destination":{"version":"v3"},"rewrite":{"pathPrefix":"/v3/"}},
		{"name":"edit-only","match":{"query":[{"name":"trace","present":true}]},"requestHeaders":{"add":{"x-trace":"1"}}},
		{"name":"other-service","match":{"path":{"exact":"/preview"}},"destination":{"service":"reviews-preview","version":"v1"}},
		{"name":"root","match":{"path":{"prefix":"/old"}},"rewrite":{"pathPrefix":"/new"}}]},
	  "ratings":{"defaultVersion":"v1"}}}`
	c, err := ParseConfig([]byte(cfg))
	require.NoError(t, err)
	f, err := New(c)
	require.NoError(t, err)
	tests := []struct {
		name string
		req  sdk.Request
		ok   bool
		want Decision
	}{
		{"header rule", sdk.Request{Method: "GET", Path: "/", Authority: "reviews:9080", Headers: sdk.Headers{{"x-user", "jason"}}}, true,
			Decision{Rule: "jason", Cluster: "reviews|v2", SetHeaders: [][2]string{{"x-b", "2"}, {"x-route", "jason"}}, RemoveHeaders: []string{"x-debug"}}},
		{"rewrite with prefix", sdk.Request{Method: "POST", Path: "/api/items?x=1", Authority: "reviews"}, true,
			Decision{Rule: "api", Cluster: "reviews|v3", Path: "/v3/items?x=1"}},
		{"method mismatch falls through", sdk.Request{Method: "GET", Path: "/api/items", Authority: "reviews"}, true, Decision{}},
		{"edit without destination", sdk.Request{Method: "GET", Path: "/x?trace", Authority: "reviews"}, true,
			Decision{Rule: "edit-only", SetHeaders: [][2]string{{"x-trace", "1"}}}},
		{"another service", sdk.Request{Method: "GET", Path: "/preview", Authority: "reviews"}, true,
			Decision{Rule: "other-service", Cluster: "reviews-preview|v1"}},
		{"rewrite without destination", sdk.Request{Method: "GET", Path: "/old/a", Authority: "reviews"}, true,
			Decision{Rule: "root", Path: "/new/a"}},
		{"default version", sdk.Request{Method: "GET", Path: "/", Authority: "ratings:9080"}, true, Decision{Cluster: "ratings|v1"}},
		{"unknown service", sdk.Request{Method: "GET", Path: "/", Authority: "details"}, false, Decision{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, ok := f.Decide(&tt.req)
			require.Equal(t, tt.ok, ok)
			require.Equal(t, tt.want, d)
		})
	}
}

func TestRewriteRootPrefix(t *testing.T) {
	c, err := ParseConfig([]byte(`{"rules":[{"rewrite":{"pathPrefix":"/v2/"}}]}`))
	require.NoError(t, err)
	f, err := New(c)
	require.NoError(t, err)
	d, ok := f.Decide(&sdk.Request{Path: "/items", Authority: "reviews"})
	require.True(t, ok)
	require.Equal(t, "/v2/items", d.Path)
}

func BenchmarkDecide(b *testing.B) {
	c, _ := ParseConfig([]byte(`{"services":{"reviews":{"rules":[{"match":{"headers":[{"name":"x-user","regex":"^tester-"}]},"destination":{"version":"v3"}},{"match":{"headers":[{"name":"x-user","exact":"jason"}]},"destination":{"version":"v2"}}]}}}`))
	f, _ := New(c)
	req := sdk.Request{Method: "GET", Path: "/r/1", Authority: "reviews:9080", Headers: sdk.Headers{{"user-agent", "curl"}, {"x-user", "jason"}}}
	b.ReportAllocs()
	for b.Loop() {
		f.Decide(&req)
	}
}
