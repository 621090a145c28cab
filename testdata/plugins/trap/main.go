// Command trap is a test plugin that traps (a Go panic: the VM aborts) on a request carrying
// the header x-trap, and answers every other request normally, adding x-trap-plugin: ok to the
// response. The failure-policy tests use it.
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

func (*httpContext) OnHttpRequestHeaders(int, bool) types.Action {
	if _, err := proxywasm.GetHttpRequestHeader("x-trap"); err == nil {
		panic("trap: x-trap")
	}
	return types.ActionContinue
}

func (*httpContext) OnHttpResponseHeaders(int, bool) types.Action {
	_ = proxywasm.AddHttpResponseHeader("x-trap-plugin", "ok")
	return types.ActionContinue
}
