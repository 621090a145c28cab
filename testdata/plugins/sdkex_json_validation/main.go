// Command sdkex_json_validation behaves like the proxy-wasm Go SDK's json_validation example
// (written anew for wasmesh): a request must say "content-type: application/json" (else 403
// "content-type must be provided") and carry a JSON body holding every key of the configured
// {"requiredKeys": [...]} (else 403 "invalid payload"); valid requests go on unchanged.
package main

import (
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
	required []string
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
	if !gjson.ValidBytes(cfg) {
		proxywasm.LogCriticalf("configuration: not JSON: %q", cfg)
		return types.OnPluginStartStatusFailed
	}
	keys := gjson.GetBytes(cfg, "requiredKeys")
	if keys.Exists() && !keys.IsArray() {
		proxywasm.LogCritical("configuration: requiredKeys: want an array of strings")
		return types.OnPluginStartStatusFailed
	}
	for i, k := range keys.Array() {
		if k.Type != gjson.String {
			proxywasm.LogCriticalf("configuration: requiredKeys[%d]: want a string, got %s", i, k.Raw)
			return types.OnPluginStartStatusFailed
		}
		p.required = append(p.required, k.Str)
	}
	return types.OnPluginStartStatusOK
}

func (p *plugin) NewHttpContext(uint32) types.HttpContext { return &stream{required: p.required} }

type stream struct {
	types.DefaultHttpContext
	required []string
}

func reject(msg string) types.Action {
	if err := proxywasm.SendHttpResponse(403, nil, []byte(msg), -1); err != nil {
		proxywasm.LogErrorf("sending 403: %v", err)
	}
	return types.ActionPause
}

func (s *stream) OnHttpRequestHeaders(int, bool) types.Action {
	if ct, err := proxywasm.GetHttpRequestHeader("content-type"); err != nil || ct != "application/json" {
		return reject("content-type must be provided")
	}
	return types.ActionContinue
}

func (s *stream) OnHttpRequestBody(size int, end bool) types.Action {
	if !end {
		return types.ActionPause // validate the whole body
	}
	body, err := proxywasm.GetHttpRequestBody(0, size)
	if err != nil && err != types.ErrorStatusNotFound {
		proxywasm.LogErrorf("reading the request body: %v", err)
		return reject("invalid payload")
	}
	if !gjson.ValidBytes(body) {
		proxywasm.LogErrorf("body is not JSON: %q", body)
		return reject("invalid payload")
	}
	for _, k := range s.required {
		if !gjson.GetBytes(body, k).Exists() {
			proxywasm.LogErrorf("required key %q is missing", k)
			return reject("invalid payload")
		}
	}
	return types.ActionContinue
}
