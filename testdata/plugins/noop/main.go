// Command noop is a Go proxy-wasm HTTP filter that does nothing: every callback continues
// without a host call. The benchmarks (bench/) load it to measure what any Go-compiled filter
// costs in Envoy before its own logic runs.
package main

import (
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

func main() {}

func init() {
	proxywasm.SetHttpContext(func(uint32) types.HttpContext { return &httpContext{} })
}

type httpContext struct{ types.DefaultHttpContext }

var _ types.HttpContext = (*httpContext)(nil)

func (*httpContext) OnHttpRequestHeaders(int, bool) types.Action  { return types.ActionContinue }
func (*httpContext) OnHttpResponseHeaders(int, bool) types.Action { return types.ActionContinue }
