package canary

import (
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
	"github.com/wasmesh/wasmesh/sdk"
	"github.com/wasmesh/wasmesh/sdk/metrics"
)

// NewPluginContext creates the canary's plugin context (proxywasm.SetPluginContext, or the
// bundle under root_id "canary").
func NewPluginContext(uint32) types.PluginContext { return &pluginContext{} }

type pluginContext struct {
	types.DefaultPluginContext
	filter   *Filter
	requests *metrics.Vec
}

var (
	_ types.PluginContext = (*pluginContext)(nil)
	_ types.HttpContext   = (*httpContext)(nil)
)

func (p *pluginContext) OnPluginStart(int) types.OnPluginStartStatus {
	return sdk.Configure("canary", func(data []byte) error {
		cfg, err := ParseConfig(data)
		if err != nil {
			return err
		}
		p.filter, err = New(cfg)
		p.requests = metrics.NewVec(metrics.Counter, "wasmesh_canary_requests_total", "service", "version")
		return err
	})
}

func (p *pluginContext) NewHttpContext(uint32) types.HttpContext { return &httpContext{plugin: p} }

type httpContext struct {
	types.DefaultHttpContext
	plugin         *pluginContext
	version        string
	responseHeader string
}

func (h *httpContext) OnHttpRequestHeaders(int, bool) types.Action {
	req, err := sdk.RequestFromHost()
	if err != nil {
		proxywasm.LogError("canary: read request headers: " + err.Error())
		return types.ActionContinue
	}
	routed, _ := req.Headers.Get(RoutingHeader)
	d := h.plugin.filter.Decide(&req, routed)
	if d.Cluster == "" {
		return types.ActionContinue
	}
	if err := proxywasm.ReplaceHttpRequestHeader(RoutingHeader, d.Cluster); err != nil {
		proxywasm.LogError("canary: set routing header: " + err.Error())
		return types.ActionContinue
	}
	if err := sdk.ClearRouteCache(); err != nil {
		proxywasm.LogError("canary: clear_route_cache: " + err.Error())
	}
	h.plugin.requests.Add(1, d.Service, d.Version)
	h.version, h.responseHeader = d.Version, d.ResponseHeader
	return types.ActionContinue
}

func (h *httpContext) OnHttpResponseHeaders(int, bool) types.Action {
	if h.responseHeader != "" {
		if err := proxywasm.ReplaceHttpResponseHeader(h.responseHeader, h.version); err != nil {
			proxywasm.LogError("canary: set response header: " + err.Error())
		}
	}
	return types.ActionContinue
}
