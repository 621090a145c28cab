package telemetry

import (
	"github.com/wasmesh/wasmesh/sdk"
	"github.com/wasmesh/wasmesh/sdk/config"
	"github.com/wasmesh/wasmesh/sdk/metrics"
	"github.com/wasmesh/wasmesh/sdk/split"
	"github.com/wasmesh/wasmesh/sdk/tracecontext"
)

// Parse parses and compiles the telemetry filter's configuration (the pipeline stage and the
// standalone module both start here).
var Parse = config.Compiler(ParseConfig, New)

var _ sdk.Observer = (*Filter)(nil)

// OnRequest is telemetry as a stage: for a service with a policy it continues or starts the
// W3C trace and sets a missing x-request-id (when propagating), and asks to observe the
// stream.
func (f *Filter) OnRequest(r *sdk.Request) sdk.Decision {
	pol := f.For(r.Service())
	if pol == nil {
		return sdk.Continue()
	}
	d := sdk.Continue()
	if pol.Propagate {
		var out tracecontext.Parent
		ok := false
		if tp, has := r.Headers.Get(tracecontext.TraceParent); has {
			if in, valid := tracecontext.Parse(tp); valid {
				out, ok = in.Child(), true
			}
		}
		if !ok && pol.StartWhenAbsent {
			out, ok = tracecontext.New(), true
		}
		if ok {
			d = d.SetHeader(tracecontext.TraceParent, out.String())
		}
		if id, _ := r.Headers.Get(tracecontext.RequestID); id == "" {
			d = d.SetHeader(tracecontext.RequestID, tracecontext.NewRequestID())
		}
	}
	return d.Observe(pol, pol.NeedsRoute)
}

// OnDone records the request metrics and the access-log line of a finished stream (also of
// streams answered locally or reset).
func (f *Filter) OnDone(state any, so *sdk.Observation, out sdk.Out) {
	pol, _ := state.(*Compiled)
	if pol == nil {
		return
	}
	o := Observation{
		Time: so.Start, Duration: so.Duration,
		Method: so.Method, Path: so.Path, Authority: so.Authority,
		Status: so.Status, RequestBytes: so.RequestBytes, ResponseBytes: so.ResponseBytes,
		SourceService: so.SourceService, SourceVersion: so.SourceVersion,
		DestinationService: sdk.ServiceOf(so.Authority), DestinationVer: versionOf(so.Cluster),
		Route: so.Route, RequestID: so.RequestID,
	}
	if p, ok := tracecontext.Parse(so.TraceParent); ok {
		o.TraceID = p.TraceIDString()
	}
	if pol.Metrics {
		ids := f.metricIDs(pol, &o, out)
		out.Increment(ids.requests, 1)
		out.Record(ids.duration, DurationMS(o.Duration))
		if o.RequestBytes > 0 {
			out.Increment(ids.requestBytes, uint64(o.RequestBytes))
		}
		if o.ResponseBytes > 0 {
			out.Increment(ids.responseBytes, uint64(o.ResponseBytes))
		}
	}
	if pol.AccessLog && split.Chance(pol.Sampling) {
		f.line = pol.AppendLogLine(f.line[:0], &o)
		out.Log(f.line)
	}
}

// metricIDs are the four request metrics of one tag set, defined once.
type metricIDs struct{ requests, duration, requestBytes, responseBytes uint32 }

// metricIDs returns the metric IDs for the observation's tag set, defining them on first use.
func (f *Filter) metricIDs(pol *Compiled, o *Observation, out sdk.Out) *metricIDs {
	f.key = pol.AppendTagKey(f.key[:0], o)
	f.key = append(f.key, 0)
	f.key = append(f.key, dimsKey(pol)...)
	if ids, ok := f.ids[string(f.key)]; ok {
		return ids
	}
	ids := &metricIDs{
		requests:      out.Define(metrics.Counter, pol.MetricName(MetricRequests, o)),
		duration:      out.Define(metrics.Histogram, pol.MetricName(MetricRequestDuration, o)),
		requestBytes:  out.Define(metrics.Counter, pol.MetricName(MetricRequestBytes, o)),
		responseBytes: out.Define(metrics.Counter, pol.MetricName(MetricResponseBytes, o)),
	}
	f.ids[string(f.key)] = ids
	return ids
}

// NewPluginContext creates the telemetry's plugin context: the standalone module, or the bundle
// under root_id "telemetry".
var NewPluginContext = sdk.NewPlugin(RootID, Parse)
