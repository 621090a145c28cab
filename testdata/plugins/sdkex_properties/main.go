// Command sdkex_properties behaves like the proxy-wasm Go SDK's properties example (written
// anew for wasmesh): the route's metadata (property
// route_metadata.filter_metadata."envoy.filters.http.wasm".auth) names the header a request
// must carry; without it the request gets 401. Routes without that metadata let everything
// through. It logs which header it checked and "<context id> finished" for each stream.
package main

import (
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

func main() {}

func init() {
	proxywasm.SetHttpContext(func(id uint32) types.HttpContext { return &stream{id: id} })
}

// authProperty is where the route says which header authenticates a request.
var authProperty = []string{"route_metadata", "filter_metadata", "envoy.filters.http.wasm", "auth"}

type stream struct {
	types.DefaultHttpContext
	id uint32
}

func (s *stream) OnHttpRequestHeaders(int, bool) types.Action {
	name, err := proxywasm.GetProperty(authProperty)
	if err == types.ErrorStatusNotFound {
		proxywasm.LogInfo("no auth header for route")
		return types.ActionContinue
	}
	if err != nil {
		proxywasm.LogCriticalf("reading the route's auth property: %v", err)
		return types.ActionContinue
	}
	proxywasm.LogInfof("auth header is %q", name)
	if _, err := proxywasm.GetHttpRequestHeader(string(name)); err == nil {
		return types.ActionContinue
	}
	if err := proxywasm.SendHttpResponse(401, nil, nil, -1); err != nil {
		proxywasm.LogErrorf("sending 401: %v", err)
	}
	return types.ActionPause
}

func (s *stream) OnHttpStreamDone() { proxywasm.LogInfof("%d finished", s.id) }
