// Command authz builds wasmesh's authorization filter alone, build/authz.wasm
// (docs/filters.md). The logic lives in the importable package filters/authz; sdk.NewPlugin
// carries its decisions out.
package main

import (
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/wasmesh/wasmesh/filters/authz"
)

func main() {}

func init() { proxywasm.SetPluginContext(authz.NewPluginContext) }
