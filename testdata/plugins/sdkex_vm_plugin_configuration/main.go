// Command sdkex_vm_plugin_configuration behaves like the proxy-wasm Go SDK's
// vm_plugin_configuration example (written anew for wasmesh): it logs the VM configuration
// when the VM starts ("vm config: ...") and the plugin configuration when the plugin starts
// ("plugin config: ...").
package main

import (
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

func main() {}

func init() { proxywasm.SetVMContext(vm{}) }

type vm struct{ types.DefaultVMContext }

func (vm) OnVMStart(int) types.OnVMStartStatus {
	cfg, err := proxywasm.GetVMConfiguration()
	if err != nil && err != types.ErrorStatusNotFound {
		proxywasm.LogCriticalf("reading the vm configuration: %v", err)
	}
	proxywasm.LogInfof("vm config: %s", cfg)
	return types.OnVMStartStatusOK
}

func (vm) NewPluginContext(uint32) types.PluginContext { return &plugin{} }

type plugin struct{ types.DefaultPluginContext }

func (*plugin) OnPluginStart(int) types.OnPluginStartStatus {
	cfg, err := proxywasm.GetPluginConfiguration()
	if err != nil && err != types.ErrorStatusNotFound {
		proxywasm.LogCriticalf("reading the plugin configuration: %v", err)
	}
	proxywasm.LogInfof("plugin config: %s", cfg)
	return types.OnPluginStartStatusOK
}
