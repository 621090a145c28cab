// Command telemetry builds wasmesh's telemetry filter alone, build/telemetry.wasm (docs/filters.md). The logic
// lives in the importable package filters/telemetry; sdk.NewPlugin carries its decisions out.
package main

import (
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/wasmesh/wasmesh/filters/telemetry"
)

func main() {}

func init() { proxywasm.SetPluginContext(telemetry.NewPluginContext) }
