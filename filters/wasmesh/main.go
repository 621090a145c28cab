// Command wasmesh builds the bundle module build/wasmesh.wasm: the router, canary, fault and
// telemetry filters in one module, picked by the plugin's root_id, so an Envoy worker runs one
// VM (vm_id "wasmesh") for the whole chain. An unknown root_id refuses to start, naming the
// known ones.
package main

import (
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/wasmesh/wasmesh/filters/canary/canary"
	"github.com/wasmesh/wasmesh/filters/fault/fault"
	"github.com/wasmesh/wasmesh/filters/router/router"
	"github.com/wasmesh/wasmesh/filters/telemetry/telemetry"
	"github.com/wasmesh/wasmesh/sdk/bundle"
)

func main() {}

func init() {
	proxywasm.SetPluginContext(bundle.New("wasmesh", map[string]bundle.Factory{
		router.RootID:    router.NewPluginContext,
		canary.RootID:    canary.NewPluginContext,
		fault.RootID:     fault.NewPluginContext,
		telemetry.RootID: telemetry.NewPluginContext,
	}))
}
