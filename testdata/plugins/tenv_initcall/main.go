// Command tenv_initcall is a testenv test plugin that calls proxy_get_property from a package
// init function, i.e. during _initialize, where Envoy allows only a few host calls (logging,
// clocks, random, WASI start-up calls): Envoy fails the VM start, and so must testenv.
package main

import (
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

func main() {}

func init() {
	proxywasm.LogInfo("tenv_initcall: logging is allowed during start")
	_, _ = proxywasm.GetProperty([]string{"plugin_name"})
	proxywasm.SetHttpContext(func(uint32) types.HttpContext { return &types.DefaultHttpContext{} })
}
