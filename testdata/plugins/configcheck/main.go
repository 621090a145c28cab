// Command configcheck is a test plugin that validates its configuration at plugin start: it
// wants a JSON object with a non-empty string "header". The control plane's WasmPlugin dry run
// is tested with it (a refused config must fail the apply, quoting these log lines).
package main

import (
	"encoding/json"

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

func (*pluginContext) OnPluginStart(size int) types.OnPluginStartStatus {
	proxywasm.LogInfo("configcheck: starting")
	data, err := proxywasm.GetPluginConfiguration()
	if err != nil && size > 0 {
		proxywasm.LogCriticalf("configcheck: read configuration: %v", err)
		return types.OnPluginStartStatusFailed
	}
	var cfg struct {
		Header string `json:"header"`
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		proxywasm.LogCriticalf("configcheck: configuration is not a JSON object: %v", err)
		return types.OnPluginStartStatusFailed
	}
	if cfg.Header == "" {
		proxywasm.LogCritical("configcheck: header: required")
		return types.OnPluginStartStatusFailed
	}
	proxywasm.LogInfof("configcheck: header %q", cfg.Header)
	return types.OnPluginStartStatusOK
}
