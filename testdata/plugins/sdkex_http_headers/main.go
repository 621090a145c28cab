// Command sdkex_http_headers behaves like the proxy-wasm Go SDK's http_headers example (written
// anew for wasmesh): it sets the request header "test: best", logs every request and response
// header, adds "x-proxy-wasm-go-sdk-example: http_headers" and the header named by its
// configuration ({"header": NAME, "value": VALUE}) to every response, and logs
// "<context id> finished" when a stream ends. A configuration without both keys is refused.
package main

import (
	"strings"

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
	name, value string // the configured response header; "" = none
}

const usage = `configuration: want {"header": "<name>", "value": "<value>"}`

func (p *plugin) OnPluginStart(int) types.OnPluginStartStatus {
	cfg, err := proxywasm.GetPluginConfiguration()
	if err != nil && err != types.ErrorStatusNotFound {
		proxywasm.LogCriticalf("reading the configuration: %v", err)
		return types.OnPluginStartStatusFailed
	}
	if len(cfg) == 0 {
		return types.OnPluginStartStatusOK
	}
	if !gjson.ValidBytes(cfg) {
		proxywasm.LogCritical(usage + ": not JSON")
		return types.OnPluginStartStatusFailed
	}
	p.name = strings.TrimSpace(gjson.GetBytes(cfg, "header").String())
	p.value = strings.TrimSpace(gjson.GetBytes(cfg, "value").String())
	if p.name == "" || p.value == "" {
		proxywasm.LogCritical(usage)
		return types.OnPluginStartStatusFailed
	}
	proxywasm.LogInfof("response header from the configuration: %s=%s", p.name, p.value)
	return types.OnPluginStartStatusOK
}

func (p *plugin) NewHttpContext(id uint32) types.HttpContext {
	return &stream{id: id, plugin: p}
}

type stream struct {
	types.DefaultHttpContext
	id     uint32
	plugin *plugin
}

func logHeaders(prefix string, hs [][2]string, err error) {
	if err != nil {
		proxywasm.LogCriticalf("%s: %v", prefix, err)
		return
	}
	for _, h := range hs {
		proxywasm.LogInfof("%s %s: %s", prefix, h[0], h[1])
	}
}

func (s *stream) OnHttpRequestHeaders(int, bool) types.Action {
	if err := proxywasm.ReplaceHttpRequestHeader("test", "best"); err != nil {
		proxywasm.LogCriticalf("setting the request header test: %v", err)
	}
	hs, err := proxywasm.GetHttpRequestHeaders()
	logHeaders("request header -->", hs, err)
	return types.ActionContinue
}

func (s *stream) OnHttpResponseHeaders(int, bool) types.Action {
	if err := proxywasm.AddHttpResponseHeader("x-proxy-wasm-go-sdk-example", "http_headers"); err != nil {
		proxywasm.LogCriticalf("adding the example header: %v", err)
	}
	if s.plugin.name != "" {
		if err := proxywasm.AddHttpResponseHeader(s.plugin.name, s.plugin.value); err != nil {
			proxywasm.LogCriticalf("adding the configured header: %v", err)
		}
	}
	hs, err := proxywasm.GetHttpResponseHeaders()
	logHeaders("response header <--", hs, err)
	return types.ActionContinue
}

func (s *stream) OnHttpStreamDone() { proxywasm.LogInfof("%d finished", s.id) }
