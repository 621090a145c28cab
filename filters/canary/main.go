// Command canary builds wasmesh's canary filter, build/canary.wasm (docs/filters.md). The logic lives in
// the importable package filters/canary/canary; this file only wires it.
package main

import (
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/wasmesh/wasmesh/filters/canary/canary"
)

func main() {}

func init() { proxywasm.SetPluginContext(canary.NewPluginContext) }
