// Command wasmesh builds the bundle module build/wasmesh.wasm: the pipeline (root_id "chain",
// filters/chain) and each built-in filter alone (root_ids router, canary, fault, telemetry, and
// authz, which runs on the inbound listener),
// picked by the plugin's root_id, so an Envoy worker runs one VM (vm_id "wasmesh"). An
// unknown root_id refuses to start, naming the known ones.
package main

import (
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/wasmesh/wasmesh/filters/authz"
	"github.com/wasmesh/wasmesh/filters/canary"
	"github.com/wasmesh/wasmesh/filters/chain"
	"github.com/wasmesh/wasmesh/filters/fault"
	"github.com/wasmesh/wasmesh/filters/router"
	"github.com/wasmesh/wasmesh/filters/telemetry"
	"github.com/wasmesh/wasmesh/sdk/bundle"
)

func main() {}

func init() {
	proxywasm.SetPluginContext(bundle.New("wasmesh", map[string]bundle.Factory{
		chain.RootID:     chain.NewPluginContext,
		router.RootID:    router.NewPluginContext,
		canary.RootID:    canary.NewPluginContext,
		fault.RootID:     fault.NewPluginContext,
		telemetry.RootID: telemetry.NewPluginContext,
		authz.RootID:     authz.NewPluginContext,
	}))
}
