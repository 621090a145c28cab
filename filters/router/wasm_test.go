package router_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/wasmesh/wasmesh/filters/internal/filtertest"
	"github.com/wasmesh/wasmesh/filters/router"
	"github.com/wasmesh/wasmesh/testenv"
	"github.com/wasmesh/wasmesh/testenv/testenvtest"
)

const routerConfig = `{"services": {"reviews": {"rules": [
	{"name": "jason", "match": {"headers": [{"name": "x-user", "exact": "jason"}]}, "destination": {"version": "v2"},
	 "requestHeaders": {"add": {"x-route": "jason"}, "remove": ["x-debug"]}},
	{"name": "api", "match": {"path": {"prefix": "/api/"}, "method": "POST", "query": [{"name": "preview", "present": true}]},
	 "destination": {"version": "v3"}, "rewrite": {"pathPrefix": "/v3/"}},
	{"name": "tag-only", "match": {"path": {"regex": "^/tag/[0-9]+$"}}, "requestHeaders": {"add": {"x-tagged": "yes"}}}]},
  "ratings": {"defaultVersion": "v1"}}}`

// Every router behaviour on the compiled module (standalone and bundle), with the strict
// route cache: a routing change only takes effect because the router clears the route cache.
func TestRouterWasm(t *testing.T) {
	tests := []struct {
		name        string
		req         testenv.Request
		wantCluster string
		wantPath    string
		wantHeaders map[string]string // "" = must be absent
		wantClears  int               // clear_route_cache calls
	}{
		{name: "header rule", req: testenv.Request{Path: "/r/1", Authority: "reviews", Headers: testenv.Headers{{"x-user", "jason"}, {"x-debug", "1"}}},
			wantCluster: "reviews|v2", wantPath: "/r/1", wantHeaders: map[string]string{"x-wasmesh-cluster": "reviews|v2", "x-route": "jason", "x-debug": ""}, wantClears: 1},
		{name: "path, method and query rule with rewrite", req: testenv.Request{Method: "POST", Path: "/api/items?preview=1", Authority: "reviews:9080"},
			wantCluster: "reviews|v3", wantPath: "/v3/items?preview=1", wantHeaders: map[string]string{"x-wasmesh-cluster": "reviews|v3"}, wantClears: 1},
		{name: "query missing: no rule", req: testenv.Request{Method: "POST", Path: "/api/items", Authority: "reviews"},
			wantCluster: "default", wantPath: "/api/items", wantHeaders: map[string]string{"x-wasmesh-cluster": ""}},
		{name: "header edits only", req: testenv.Request{Path: "/tag/12", Authority: "reviews"},
			wantCluster: "default", wantPath: "/tag/12", wantHeaders: map[string]string{"x-tagged": "yes", "x-wasmesh-cluster": ""}, wantClears: 1},
		{name: "client routing header removed", req: testenv.Request{Path: "/", Authority: "reviews", Headers: testenv.Headers{{"x-wasmesh-cluster", "reviews|v9"}}},
			wantCluster: "default", wantPath: "/", wantHeaders: map[string]string{"x-wasmesh-cluster": ""}, wantClears: 1},
		{name: "client routing header replaced by the rule", req: testenv.Request{Path: "/", Authority: "reviews", Headers: testenv.Headers{{"x-wasmesh-cluster", "reviews|v9"}, {"x-user", "jason"}}},
			wantCluster: "reviews|v2", wantPath: "/", wantHeaders: map[string]string{"x-wasmesh-cluster": "reviews|v2"}, wantClears: 1},
		{name: "default version", req: testenv.Request{Path: "/", Authority: "ratings"},
			wantCluster: "ratings|v1", wantPath: "/", wantHeaders: map[string]string{"x-wasmesh-cluster": "ratings|v1"}, wantClears: 1},
		{name: "service without policy", req: testenv.Request{Path: "/", Authority: "details", Headers: testenv.Headers{{"x-user", "jason"}}},
			wantCluster: "default", wantPath: "/", wantHeaders: map[string]string{"x-wasmesh-cluster": ""}},
	}
	for _, v := range filtertest.Variants(t, router.RootID) {
		t.Run(v.Name, func(t *testing.T) {
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					env := testenvtest.New(t, []testenv.Filter{v.Filter(routerConfig)}, testenv.WithStrictRouteCache())
					res := env.Do(tt.req)
					require.NoError(t, res.Err)
					require.NotNil(t, res.Upstream)
					require.Equal(t, tt.wantCluster, res.Upstream.Cluster)
					require.Equal(t, tt.wantPath, res.Upstream.Path)
					for k, want := range tt.wantHeaders {
						if want == "" {
							require.Empty(t, res.Upstream.Headers.Values(k), "header %s", k)
						} else {
							require.Equal(t, []string{want}, res.Upstream.Headers.Values(k), "header %s", k)
						}
					}
					require.Equal(t, tt.wantClears, env.ClearRouteCacheCalls())
					require.Equal(t, 200, res.Response.Status)
				})
			}
		})
	}
}

func TestRouterRefusesBadConfig(t *testing.T) {
	bad := []string{
		`{"services": {"reviews": {"rules": [{}, {}, {"match": {"headers": [{"name": "x", "regex": "(a"}]}}]}}}`,
		`{"rules": [{"destination": {}}], "defaultVersion": 1, "colour": "red"}`,
		`{"rules": `,
	}
	for _, v := range filtertest.Variants(t, router.RootID) {
		for _, cfg := range bad {
			t.Run(v.Name+"/"+cfg, func(t *testing.T) {
				_, err := router.ParseConfig([]byte(cfg))
				filtertest.Refuses(t, v.Filter(cfg), err)
			})
		}
	}
}

func BenchmarkRouterStream(b *testing.B) {
	for _, v := range filtertest.Variants(b, router.RootID) {
		b.Run(v.Name, func(b *testing.B) {
			env := testenvtest.New(b, []testenv.Filter{v.Filter(routerConfig)}, testenv.WithRealClock())
			req := testenv.Request{Path: "/r/1", Authority: "reviews", Headers: testenv.Headers{{"x-user", "jason"}}}
			for b.Loop() {
				if res := env.Do(req); res.Err != nil {
					b.Fatal(res.Err)
				}
			}
		})
	}
}
