// Command setroute is a test plugin for Envoy's route-cache behaviour (testenv/e2e
// TestEnvoyRouteCache): on request headers it reads the route Envoy picked (property
// xds.route_name, echoed in the x-route-before response header), then copies the request
// header x-want into x-wasmesh-cluster, and calls the foreign function clear_route_cache only
// when the request carries x-clear.
package main

import (
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

func main() {}

func init() {
	proxywasm.SetHttpContext(func(uint32) types.HttpContext { return &httpContext{} })
}

type httpContext struct {
	types.DefaultHttpContext
	routeBefore string
}

func (h *httpContext) OnHttpRequestHeaders(int, bool) types.Action {
	if name, err := proxywasm.GetProperty([]string{"xds", "route_name"}); err == nil {
		h.routeBefore = string(name)
	}
	want, err := proxywasm.GetHttpRequestHeader("x-want")
	if err != nil || want == "" {
		return types.ActionContinue
	}
	if err := proxywasm.ReplaceHttpRequestHeader("x-wasmesh-cluster", want); err != nil {
		proxywasm.LogCriticalf("setroute: set x-wasmesh-cluster: %v", err)
	}
	if c, _ := proxywasm.GetHttpRequestHeader("x-clear"); c != "" {
		if _, err := proxywasm.CallForeignFunction("clear_route_cache", nil); err != nil {
			proxywasm.LogCriticalf("setroute: clear_route_cache: %v", err)
		}
	}
	return types.ActionContinue
}

func (h *httpContext) OnHttpResponseHeaders(int, bool) types.Action {
	_ = proxywasm.AddHttpResponseHeader("x-route-before", h.routeBefore)
	return types.ActionContinue
}
