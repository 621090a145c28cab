// Command sdkex_postpone_requests behaves like the proxy-wasm Go SDK's postpone_requests
// example (written anew for wasmesh): every request is held when its headers arrive and
// resumed on the plugin's next tick (every second), so each waits up to a second. It logs
// "postpone request with contextID=N" and "resume request with contextID=N".
package main

import (
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

func main() {}

func init() {
	proxywasm.SetPluginContext(func(uint32) types.PluginContext { return &plugin{} })
}

// tick is how often held requests are released.
const tick = 1000 // ms

type plugin struct {
	types.DefaultPluginContext
	held []uint32 // context ids of the requests waiting for the next tick
}

func (p *plugin) OnPluginStart(int) types.OnPluginStartStatus {
	if err := proxywasm.SetTickPeriodMilliSeconds(tick); err != nil {
		proxywasm.LogCriticalf("setting the tick period: %v", err)
		return types.OnPluginStartStatusFailed
	}
	return types.OnPluginStartStatusOK
}

func (p *plugin) OnTick() {
	held := p.held
	p.held = nil
	for _, id := range held {
		proxywasm.LogInfof("resume request with contextID=%d", id)
		if err := proxywasm.SetEffectiveContext(id); err != nil {
			proxywasm.LogErrorf("switching to context %d: %v", id, err)
			continue
		}
		if err := proxywasm.ResumeHttpRequest(); err != nil {
			proxywasm.LogErrorf("resuming context %d: %v", id, err)
		}
	}
}

func (p *plugin) NewHttpContext(id uint32) types.HttpContext { return &stream{id: id, plugin: p} }

type stream struct {
	types.DefaultHttpContext
	id     uint32
	plugin *plugin
}

func (s *stream) OnHttpRequestHeaders(int, bool) types.Action {
	proxywasm.LogInfof("postpone request with contextID=%d", s.id)
	s.plugin.held = append(s.plugin.held, s.id)
	return types.ActionPause
}
