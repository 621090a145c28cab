package router

import (
	"github.com/wasmesh/wasmesh/sdk"
	"github.com/wasmesh/wasmesh/sdk/config"
)

// Parse parses and compiles the router's configuration (the pipeline stage and the
// standalone module both start here).
var Parse = config.Compiler(ParseConfig, New)

var _ sdk.HTTPFilter = (*Filter)(nil)

// OnRequest is the router as a stage: a routing header sent by the client goes (only the
// filters choose the cluster), then the first matching rule's edits, rewrite and destination
// apply.
func (f *Filter) OnRequest(r *sdk.Request) sdk.Decision {
	d := sdk.Continue()
	if _, ok := r.Headers.Get(RoutingHeader); ok {
		d = d.RemoveHeader(RoutingHeader)
		clean := *r
		clean.Headers = withoutHeader(append(sdk.Headers(nil), r.Headers...), RoutingHeader)
		r = &clean
	}
	dec, ok := f.Decide(r)
	if !ok {
		return d
	}
	for _, k := range dec.RemoveHeaders {
		d = d.RemoveHeader(k)
	}
	for _, kv := range dec.SetHeaders {
		d = d.SetHeader(kv[0], kv[1])
	}
	if dec.Path != "" && dec.Path != r.Path {
		d = d.Rewrite(dec.Path)
	}
	if dec.Cluster != "" {
		d = d.RouteTo(dec.Cluster)
	}
	return d
}

// NewPluginContext creates the router's plugin context: the standalone module, or the bundle
// under root_id "router".
var NewPluginContext = sdk.NewPlugin(RootID, Parse)
