// Command tenv_badimport is a testenv test plugin that imports host functions stock Envoy does
// not provide: testenv must refuse it at load and name every one.
package main

import (
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

//go:wasmimport env something_unknown
func somethingUnknown(x uint32) uint32

//go:wasmimport made_up_module do_it
func doIt()

func main() {}

func init() {
	proxywasm.SetHttpContext(func(uint32) types.HttpContext { return &httpContext{} })
}

type httpContext struct{ types.DefaultHttpContext }

func (*httpContext) OnHttpRequestHeaders(int, bool) types.Action {
	if somethingUnknown(1) == 2 {
		doIt()
	}
	return types.ActionContinue
}
