package router

import (
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
	"github.com/wasmesh/wasmesh/sdk"
)

// NewPluginContext creates the router's plugin context (proxywasm.SetPluginContext, or the
// bundle under root_id "router").
func NewPluginContext(uint32) types.PluginContext { return &pluginContext{} }

type pluginContext struct {
	types.DefaultPluginContext
	filter *Filter
}

var (
	_ types.PluginContext = (*pluginContext)(nil)
	_ types.HttpContext   = (*httpContext)(nil)
)

func (p *pluginContext) OnPluginStart(int) types.OnPluginStartStatus {
	return sdk.Configure("router", func(data []byte) error {
		cfg, err := ParseConfig(data)
		if err != nil {
			return err
		}
		p.filter, err = New(cfg)
		return err
	})
}

func (p *pluginContext) NewHttpContext(uint32) types.HttpContext {
	return &httpContext{filter: p.filter}
}

type httpContext struct {
	types.DefaultHttpContext
	filter *Filter
}

func (h *httpContext) OnHttpRequestHeaders(int, bool) types.Action {
	req, err := sdk.RequestFromHost()
	if err != nil {
		proxywasm.LogError("router: read request headers: " + err.Error())
		return types.ActionContinue
	}
	changed := false
	// Only the filters choose the cluster: a routing header sent by the client goes.
	if _, ok := req.Headers.Get(RoutingHeader); ok {
		if err := proxywasm.RemoveHttpRequestHeader(RoutingHeader); err != nil {
			proxywasm.LogError("router: remove client routing header: " + err.Error())
		}
		req.Headers = withoutHeader(req.Headers, RoutingHeader)
		changed = true
	}
	if d, ok := h.filter.Decide(&req); ok {
		for _, k := range d.RemoveHeaders {
			if err := proxywasm.RemoveHttpRequestHeader(k); err != nil {
				proxywasm.LogError("router: remove header " + k + ": " + err.Error())
			}
			changed = true
		}
		for _, kv := range d.SetHeaders {
			if err := proxywasm.ReplaceHttpRequestHeader(kv[0], kv[1]); err != nil {
				proxywasm.LogError("router: set header " + kv[0] + ": " + err.Error())
			}
			changed = true
		}
		if d.Path != "" && d.Path != req.Path {
			if err := proxywasm.ReplaceHttpRequestHeader(":path", d.Path); err != nil {
				proxywasm.LogError("router: rewrite path: " + err.Error())
			}
			changed = true
		}
		if d.Cluster != "" {
			if err := proxywasm.ReplaceHttpRequestHeader(RoutingHeader, d.Cluster); err != nil {
				proxywasm.LogError("router: set routing header: " + err.Error())
			}
			changed = true
		}
	}
	if changed {
		if err := sdk.ClearRouteCache(); err != nil {
			proxywasm.LogError("router: clear_route_cache: " + err.Error())
		}
	}
	return types.ActionContinue
}
