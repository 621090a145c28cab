// Command sdkex_dispatch_call_on_tick behaves like the proxy-wasm Go SDK's dispatch_call_on_tick
// example (written anew for wasmesh): every 100 ms the plugin sends an HTTP call (GET /ok or
// GET /fail at random, authority "some_authority") to the cluster "web_service" (or the one
// its configuration {"cluster": NAME} names) and logs "called N for contextID=ID" and the
// response headers and trailers of each answer.
package main

import (
	"crypto/rand"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
	"github.com/tidwall/gjson"
)

func main() {}

func init() {
	proxywasm.SetPluginContext(func(id uint32) types.PluginContext { return &plugin{id: id, cluster: "web_service"} })
}

// tick is the period of the calls.
const tick = 100 // ms

type plugin struct {
	types.DefaultPluginContext
	id      uint32
	cluster string
	answers int
}

func (p *plugin) OnPluginStart(int) types.OnPluginStartStatus {
	cfg, err := proxywasm.GetPluginConfiguration()
	if err != nil && err != types.ErrorStatusNotFound {
		proxywasm.LogCriticalf("reading the configuration: %v", err)
		return types.OnPluginStartStatusFailed
	}
	if len(cfg) > 0 {
		c := gjson.GetBytes(cfg, "cluster")
		if !gjson.ValidBytes(cfg) || c.Type != gjson.String || c.Str == "" {
			proxywasm.LogCriticalf(`configuration: want {"cluster": "<name>"}, got %s`, cfg)
			return types.OnPluginStartStatusFailed
		}
		p.cluster = c.Str
	}
	if err := proxywasm.SetTickPeriodMilliSeconds(tick); err != nil {
		proxywasm.LogCriticalf("setting the tick period: %v", err)
		return types.OnPluginStartStatusFailed
	}
	proxywasm.LogInfof("tick period: %d ms", tick)
	return types.OnPluginStartStatusOK
}

func (p *plugin) OnTick() {
	path := "/ok"
	var b [1]byte
	if _, _ = rand.Read(b[:]); b[0]%2 == 1 {
		path = "/fail"
	}
	headers := [][2]string{{":method", "GET"}, {":authority", "some_authority"}, {":path", path}, {"accept", "*/*"}}
	if _, err := proxywasm.DispatchHttpCall(p.cluster, headers, nil, nil, 5000, p.answered); err != nil {
		proxywasm.LogCriticalf("dispatching to %s: %v", p.cluster, err)
	}
}

func (p *plugin) answered(int, int, int) {
	p.answers++
	proxywasm.LogInfof("called %d for contextID=%d", p.answers, p.id)
	hs, err := proxywasm.GetHttpCallResponseHeaders()
	if err != nil && err != types.ErrorStatusNotFound {
		proxywasm.LogErrorf("reading the call's response headers: %v", err)
	}
	for _, h := range hs {
		proxywasm.LogInfof("response header for the dispatched call: %s: %s", h[0], h[1])
	}
	ts, err := proxywasm.GetHttpCallResponseTrailers()
	if err != nil && err != types.ErrorStatusNotFound {
		proxywasm.LogErrorf("reading the call's response trailers: %v", err)
	}
	for _, t := range ts {
		proxywasm.LogInfof("response trailer for the dispatched call: %s: %s", t[0], t[1])
	}
}
