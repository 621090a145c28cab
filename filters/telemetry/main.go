// Command telemetry builds wasmesh's telemetry filter, build/telemetry.wasm (docs/filters.md). The logic lives in
// the importable package filters/telemetry/telemetry; this file only wires it.
package main

import (
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/wasmesh/wasmesh/filters/telemetry/telemetry"
)

func main() {}

func init() { proxywasm.SetPluginContext(telemetry.NewPluginContext) }
