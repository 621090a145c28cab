// Command fault builds wasmesh's fault filter, build/fault.wasm (docs/filters.md). The logic lives in
// the importable package filters/fault/fault; this file only wires it.
package main

import (
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/wasmesh/wasmesh/filters/fault/fault"
)

func main() {}

func init() { proxywasm.SetPluginContext(fault.NewPluginContext) }
