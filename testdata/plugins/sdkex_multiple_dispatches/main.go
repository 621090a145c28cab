// Command sdkex_multiple_dispatches behaves like the proxy-wasm Go SDK's multiple_dispatches
// example (written anew for wasmesh): when the upstream's response headers arrive, it holds the
// response and sends 10 HTTP calls (GET /) to the cluster "httpbin" (or the one its
// configuration {"cluster": NAME} names); when the last answer is in, it adds
// "total-dispatched: 10" to the response and lets it go on. It logs
// "pending dispatched requests: N" after each answer but the last.
package main

import (
	"strconv"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
	"github.com/tidwall/gjson"
)

func main() {}

func init() {
	proxywasm.SetPluginContext(func(uint32) types.PluginContext { return &plugin{cluster: "httpbin"} })
}

// calls is how many HTTP calls each response waits for.
const calls = 10

type plugin struct {
	types.DefaultPluginContext
	cluster string
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
	return types.OnPluginStartStatusOK
}

func (p *plugin) NewHttpContext(uint32) types.HttpContext { return &stream{cluster: p.cluster} }

type stream struct {
	types.DefaultHttpContext
	cluster string
	pending int
}

func (s *stream) OnHttpResponseHeaders(int, bool) types.Action {
	headers := [][2]string{{":method", "GET"}, {":path", "/"}, {":authority", s.cluster}}
	for range calls {
		if _, err := proxywasm.DispatchHttpCall(s.cluster, headers, nil, nil, 50000, s.answered); err != nil {
			proxywasm.LogCriticalf("dispatching to %s: %v", s.cluster, err)
			continue
		}
		s.pending++
	}
	if s.pending == 0 {
		return types.ActionContinue
	}
	return types.ActionPause
}

func (s *stream) answered(int, int, int) {
	s.pending--
	if s.pending > 0 {
		proxywasm.LogInfof("pending dispatched requests: %d", s.pending)
		return
	}
	if err := proxywasm.AddHttpResponseHeader("total-dispatched", strconv.Itoa(calls)); err != nil {
		proxywasm.LogErrorf("adding total-dispatched: %v", err)
	}
	if err := proxywasm.ResumeHttpResponse(); err != nil {
		proxywasm.LogErrorf("resuming the response: %v", err)
	}
	proxywasm.LogInfof("response resumed after processed %d dispatched request", calls)
}
