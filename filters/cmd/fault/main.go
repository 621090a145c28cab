// Command fault builds wasmesh's fault filter alone, build/fault.wasm (docs/filters.md). The logic
// lives in the importable package filters/fault; sdk.NewPlugin carries its decisions out.
package main

import (
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/wasmesh/wasmesh/filters/fault"
)

func main() {}

func init() { proxywasm.SetPluginContext(fault.NewPluginContext) }
