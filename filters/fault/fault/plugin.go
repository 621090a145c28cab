package fault

import (
	"strconv"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
	"github.com/wasmesh/wasmesh/sdk"
	"github.com/wasmesh/wasmesh/sdk/metrics"
	"github.com/wasmesh/wasmesh/sdk/timer"
)

// NewPluginContext creates the fault filter's plugin context (proxywasm.SetPluginContext, or
// the bundle under root_id "fault").
func NewPluginContext(uint32) types.PluginContext { return &pluginContext{} }

type pluginContext struct {
	types.DefaultPluginContext
	filter   *Filter
	injected *metrics.Vec
	ticker   timer.Ticker
}

var (
	_ types.PluginContext = (*pluginContext)(nil)
	_ types.HttpContext   = (*httpContext)(nil)
)

// Fault kinds counted in wasmesh_faults_injected_total.
const (
	kindDelay        = "delay"
	kindAbort        = "abort"
	kindDelaySkipped = "delay_skipped"
)

func (p *pluginContext) OnPluginStart(int) types.OnPluginStartStatus {
	return sdk.Configure("fault", func(data []byte) error {
		cfg, err := ParseConfig(data)
		if err != nil {
			return err
		}
		p.filter, err = New(cfg)
		p.injected = metrics.NewVec(metrics.Counter, "wasmesh_faults_injected_total", "service", "kind")
		return err
	})
}

// OnTick fires due delay timers (the tick runs only while a stream is delayed).
func (p *pluginContext) OnTick() { p.ticker.OnTick() }

func (p *pluginContext) NewHttpContext(id uint32) types.HttpContext {
	return &httpContext{plugin: p, id: id}
}

type httpContext struct {
	types.DefaultHttpContext
	plugin  *pluginContext
	id      uint32
	service string
	fault   Fault
	timer   timer.ID
}

func (h *httpContext) OnHttpRequestHeaders(int, bool) types.Action {
	req, err := sdk.RequestFromHost()
	if err != nil {
		proxywasm.LogError("fault: read request headers: " + err.Error())
		return types.ActionContinue
	}
	p := h.plugin
	flt, terr := p.filter.DecideErr(&req, nil)
	if terr != nil {
		proxywasm.LogDebug("fault: ignored trigger header: " + terr.Error())
	}
	if !flt.Any() {
		return types.ActionContinue
	}
	h.service, h.fault = req.Service(), flt
	if flt.Delay > 0 {
		if !p.filter.TryDelay(flt) {
			p.injected.Add(1, h.service, kindDelaySkipped)
		} else {
			p.injected.Add(1, h.service, kindDelay)
			h.timer = p.ticker.After(flt.Delay, h.resume)
			return types.ActionPause
		}
	}
	if flt.Abort {
		h.abort()
		return types.ActionPause
	}
	return types.ActionContinue
}

// OnHttpRequestBody holds the body of a delayed stream: in Envoy, a body callback returning
// Continue would resume the headers the delay stopped.
func (h *httpContext) OnHttpRequestBody(int, bool) types.Action {
	if h.timer != 0 {
		return types.ActionPause
	}
	return types.ActionContinue
}

// resume runs on the root context's tick when the delay is over.
func (h *httpContext) resume() {
	h.timer = 0
	h.plugin.filter.DoneDelay(h.fault)
	if err := proxywasm.SetEffectiveContext(h.id); err != nil {
		return // the stream ended meanwhile
	}
	if h.fault.Abort {
		h.abort()
		return
	}
	if err := proxywasm.ResumeHttpRequest(); err != nil {
		proxywasm.LogError("fault: resume request: " + err.Error())
	}
}

func (h *httpContext) abort() {
	h.plugin.injected.Add(1, h.service, kindAbort)
	f := h.fault
	var err error
	if f.GRPC >= 0 {
		// Envoy answers a gRPC request with HTTP 200 and this grpc-status (trailers-only).
		err = proxywasm.SendHttpResponse(uint32(httpFromGRPC(f.GRPC)), [][2]string{{"x-wasmesh-fault", "abort"}}, nil, int32(f.GRPC))
	} else {
		err = proxywasm.SendHttpResponse(uint32(f.Status), [][2]string{{"content-type", "text/plain"}, {"x-wasmesh-fault", "abort"}},
			[]byte("fault filter abort ("+strconv.Itoa(f.Status)+")\n"), -1)
	}
	if err != nil {
		proxywasm.LogError("fault: send local reply: " + err.Error())
	}
}

// OnHttpStreamDone releases a delay whose stream ended while paused (client gone).
func (h *httpContext) OnHttpStreamDone() {
	if h.timer != 0 {
		h.plugin.ticker.Cancel(h.timer)
		h.plugin.filter.DoneDelay(h.fault)
		h.timer = 0
	}
}
