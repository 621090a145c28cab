// Command sdkex_http_routing behaves like the proxy-wasm Go SDK's http_routing example (written
// anew for wasmesh): it sends about half of the requests to the canary by appending "-canary"
// to the :authority header (a virtual host "<name>-canary" then routes them). The coin is a
// random number, even = canary; a plugin configuration {"dice": N} fixes the number, so tests
// can choose the outcome.
package main

import (
	"crypto/rand"
	"encoding/binary"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
	"github.com/tidwall/gjson"
)

func main() {}

func init() {
	proxywasm.SetPluginContext(func(uint32) types.PluginContext { return &plugin{} })
}

type plugin struct {
	types.DefaultPluginContext
	dice    uint32
	hasDice bool
}

func (p *plugin) OnPluginStart(int) types.OnPluginStartStatus {
	cfg, err := proxywasm.GetPluginConfiguration()
	if err != nil && err != types.ErrorStatusNotFound {
		proxywasm.LogCriticalf("reading the configuration: %v", err)
		return types.OnPluginStartStatusFailed
	}
	if len(cfg) == 0 {
		return types.OnPluginStartStatusOK
	}
	d := gjson.GetBytes(cfg, "dice")
	if !gjson.ValidBytes(cfg) || d.Type != gjson.Number || d.Num < 0 || d.Num != float64(uint32(d.Num)) {
		proxywasm.LogCriticalf(`configuration: want {"dice": <unsigned integer>}, got %s`, cfg)
		return types.OnPluginStartStatusFailed
	}
	p.dice, p.hasDice = uint32(d.Num), true
	return types.OnPluginStartStatusOK
}

func (p *plugin) NewHttpContext(uint32) types.HttpContext { return &stream{plugin: p} }

type stream struct {
	types.DefaultHttpContext
	plugin *plugin
}

func (s *stream) roll() uint32 {
	if s.plugin.hasDice {
		return s.plugin.dice
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	return binary.LittleEndian.Uint32(b[:])
}

func (s *stream) OnHttpRequestHeaders(int, bool) types.Action {
	n := s.roll()
	proxywasm.LogInfof("dice: %d", n)
	if n%2 != 0 {
		return types.ActionContinue // primary
	}
	authority, err := proxywasm.GetHttpRequestHeader(":authority")
	if err != nil {
		proxywasm.LogCriticalf("reading :authority: %v", err)
		return types.ActionContinue
	}
	if err := proxywasm.ReplaceHttpRequestHeader(":authority", authority+"-canary"); err != nil {
		proxywasm.LogCriticalf("setting :authority: %v", err)
	}
	return types.ActionContinue
}
