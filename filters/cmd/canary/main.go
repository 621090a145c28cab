// Command canary builds wasmesh's canary filter alone, build/canary.wasm (docs/filters.md). The logic
// lives in the importable package filters/canary; sdk.NewPlugin carries its decisions out.
package main

import (
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/wasmesh/wasmesh/filters/canary"
)

func main() {}

func init() { proxywasm.SetPluginContext(canary.NewPluginContext) }
