package telemetry

import (
	"errors"
	"time"
	"unsafe"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
	"github.com/wasmesh/wasmesh/sdk"
	"github.com/wasmesh/wasmesh/sdk/metrics"
	"github.com/wasmesh/wasmesh/sdk/split"
	"github.com/wasmesh/wasmesh/sdk/tracecontext"
)

// NewPluginContext creates the telemetry filter's plugin context (proxywasm.SetPluginContext,
// or the bundle under root_id "telemetry").
func NewPluginContext(uint32) types.PluginContext {
	return &pluginContext{ids: map[string]*metricIDs{}}
}

type pluginContext struct {
	types.DefaultPluginContext
	filter        *Filter
	sourceService string
	sourceVersion string
	nodeRead      bool
	ids           map[string]*metricIDs // by tag key (dimension values)
	key           []byte                // reused tag-key buffer
	line          []byte                // reused access-log buffer
}

// metricIDs are the four request metrics of one tag set, defined once.
type metricIDs struct{ requests, duration, requestBytes, responseBytes uint32 }

var (
	_ types.PluginContext = (*pluginContext)(nil)
	_ types.HttpContext   = (*httpContext)(nil)
)

func (p *pluginContext) OnPluginStart(int) types.OnPluginStartStatus {
	return sdk.Configure("telemetry", func(data []byte) error {
		cfg, err := ParseConfig(data)
		if err != nil {
			return err
		}
		p.filter, err = New(cfg)
		return err
	})
}

// node reads the sidecar's own service and version from node metadata, once.
func (p *pluginContext) node() {
	if p.nodeRead {
		return
	}
	p.nodeRead = true
	if b, err := proxywasm.GetProperty([]string{"node", "metadata", "service"}); err == nil {
		p.sourceService = string(b)
	}
	if b, err := proxywasm.GetProperty([]string{"node", "metadata", "version"}); err == nil {
		p.sourceVersion = string(b)
	}
}

func (p *pluginContext) NewHttpContext(uint32) types.HttpContext { return &httpContext{plugin: p} }

type httpContext struct {
	types.DefaultHttpContext
	plugin   *pluginContext
	policy   *Compiled
	start    time.Time
	obs      Observation
	gotReply bool
}

func (h *httpContext) OnHttpRequestHeaders(int, bool) types.Action {
	req, err := sdk.RequestFromHost()
	if err != nil {
		proxywasm.LogError("telemetry: read request headers: " + err.Error())
		return types.ActionContinue
	}
	service := req.Service()
	h.policy = h.plugin.filter.For(service)
	if h.policy == nil {
		return types.ActionContinue
	}
	h.start = time.Now()
	h.plugin.node()
	o := &h.obs
	o.Method, o.Path, o.Authority, o.DestinationService = req.Method, req.Path, req.Authority, service
	o.SourceService, o.SourceVersion = h.plugin.sourceService, h.plugin.sourceVersion
	o.RequestID, _ = req.Headers.Get(tracecontext.RequestID)
	if tp, ok := req.Headers.Get(tracecontext.TraceParent); ok && !h.policy.Propagate {
		if p, ok := tracecontext.Parse(tp); ok {
			o.TraceID = p.TraceIDString()
		}
	}
	if h.policy.Propagate {
		h.propagate(&req)
	}
	return types.ActionContinue
}

// propagate continues or starts the W3C trace and sets a missing x-request-id.
func (h *httpContext) propagate(req *sdk.Request) {
	var out tracecontext.Parent
	ok := false
	if tp, has := req.Headers.Get(tracecontext.TraceParent); has {
		if in, valid := tracecontext.Parse(tp); valid {
			out, ok = in.Child(), true
		}
	}
	if !ok && h.policy.StartWhenAbsent {
		out, ok = tracecontext.New(), true
	}
	if ok {
		if err := proxywasm.ReplaceHttpRequestHeader(tracecontext.TraceParent, out.String()); err != nil {
			proxywasm.LogError("telemetry: set traceparent: " + err.Error())
		}
		h.obs.TraceID = out.TraceIDString()
	}
	if h.obs.RequestID == "" {
		h.obs.RequestID = tracecontext.NewRequestID()
		if err := proxywasm.ReplaceHttpRequestHeader(tracecontext.RequestID, h.obs.RequestID); err != nil {
			proxywasm.LogError("telemetry: set x-request-id: " + err.Error())
		}
	}
}

func (h *httpContext) OnHttpRequestBody(size int, _ bool) types.Action {
	if h.policy != nil {
		h.obs.RequestBytes += int64(size)
	}
	return types.ActionContinue
}

func (h *httpContext) OnHttpResponseHeaders(int, bool) types.Action {
	if h.policy == nil {
		return types.ActionContinue
	}
	h.gotReply = true
	if s, err := proxywasm.GetHttpResponseHeader(":status"); err == nil {
		h.obs.Status = atoi(s)
	}
	h.obs.DestinationVer = h.destinationVersion()
	if h.policy.NeedsRoute {
		if b, err := proxywasm.GetProperty([]string{"xds", "route_name"}); err == nil {
			h.obs.Route = string(b)
		}
	}
	return types.ActionContinue
}

// destinationVersion is the version the routing header chose, else the upstream cluster's
// `<service>|<version>` suffix, else "".
func (h *httpContext) destinationVersion() string {
	if v, err := proxywasm.GetHttpRequestHeader(sdk.RoutingHeader); err == nil && v != "" {
		return versionOf(v)
	}
	if b, err := proxywasm.GetProperty([]string{"xds", "cluster_name"}); err == nil && len(b) > 0 {
		return versionOf(string(b))
	} else if err != nil && !errors.Is(err, types.ErrorStatusNotFound) {
		proxywasm.LogDebug("telemetry: cluster_name: " + err.Error())
	}
	return ""
}

func (h *httpContext) OnHttpResponseBody(size int, _ bool) types.Action {
	if h.policy != nil {
		h.obs.ResponseBytes += int64(size)
	}
	return types.ActionContinue
}

// OnHttpStreamDone records the metrics and the access-log line (also for streams answered
// locally or reset).
func (h *httpContext) OnHttpStreamDone() {
	pol := h.policy
	if pol == nil {
		return
	}
	now := time.Now()
	o := &h.obs
	o.Duration, o.Time = now.Sub(h.start), h.start
	p := h.plugin
	if pol.Metrics {
		ids := p.metricIDs(pol, o)
		metrics.Increment(ids.requests, 1)
		metrics.Record(ids.duration, DurationMS(o.Duration))
		if o.RequestBytes > 0 {
			metrics.Increment(ids.requestBytes, uint64(o.RequestBytes))
		}
		if o.ResponseBytes > 0 {
			metrics.Increment(ids.responseBytes, uint64(o.ResponseBytes))
		}
	}
	if pol.AccessLog && split.Chance(pol.Sampling) {
		p.line = pol.AppendLogLine(p.line[:0], o)
		// The host copies the message: no need to copy the reused buffer into a string first.
		proxywasm.LogInfo(unsafe.String(&p.line[0], len(p.line)))
	}
}

// metricIDs returns the metric IDs for the observation's tag set, defining them on first use.
func (p *pluginContext) metricIDs(pol *Compiled, o *Observation) *metricIDs {
	p.key = pol.AppendTagKey(p.key[:0], o)
	p.key = append(p.key, 0)
	p.key = append(p.key, dimsKey(pol)...)
	if ids, ok := p.ids[string(p.key)]; ok {
		return ids
	}
	ids := &metricIDs{
		requests:      metrics.Define(metrics.Counter, pol.MetricName(MetricRequests, o)),
		duration:      metrics.Define(metrics.Histogram, pol.MetricName(MetricRequestDuration, o)),
		requestBytes:  metrics.Define(metrics.Counter, pol.MetricName(MetricRequestBytes, o)),
		responseBytes: metrics.Define(metrics.Counter, pol.MetricName(MetricResponseBytes, o)),
	}
	p.ids[string(p.key)] = ids
	return ids
}
