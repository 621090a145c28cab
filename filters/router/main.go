// Command router builds wasmesh's router filter, build/router.wasm (docs/filters.md). The logic lives in
// the importable package filters/router/router; this file only wires it.
package main

import (
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/wasmesh/wasmesh/filters/router/router"
)

func main() {}

func init() { proxywasm.SetPluginContext(router.NewPluginContext) }
