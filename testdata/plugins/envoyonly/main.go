// Command envoyonly is a test plugin that passes the control plane's WasmPlugin dry run but
// fails to start in a real Envoy sidecar: it refuses to start when the node id property is set
// (Envoy provides it, the dry run does not). The end-to-end tests (testenv/e2e) use it to show
// that a filter failing only in Envoy appears as a NACK in `wasmesh status`.
package main

import (
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

func main() {}

func init() {
	proxywasm.SetVMContext(&vmContext{})
}

type vmContext struct{ types.DefaultVMContext }

func (*vmContext) NewPluginContext(uint32) types.PluginContext { return &pluginContext{} }

type pluginContext struct{ types.DefaultPluginContext }

func (*pluginContext) OnPluginStart(int) types.OnPluginStartStatus {
	// Envoy 1.40 has the node under xds.node (a bare "node" property is not found).
	id, err := proxywasm.GetProperty([]string{"xds", "node", "id"})
	if err != nil || len(id) == 0 {
		return types.OnPluginStartStatusOK
	}
	proxywasm.LogCriticalf("envoyonly: refusing to start on node %s", id)
	return types.OnPluginStartStatusFailed
}
