// Command router builds wasmesh's router filter alone, build/router.wasm (docs/filters.md). The logic
// lives in the importable package filters/router; sdk.NewPlugin carries its decisions out.
package main

import (
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/wasmesh/wasmesh/filters/router"
)

func main() {}

func init() { proxywasm.SetPluginContext(router.NewPluginContext) }
