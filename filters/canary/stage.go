package canary

import (
	"github.com/wasmesh/wasmesh/sdk"
	"github.com/wasmesh/wasmesh/sdk/config"
)

// Parse parses and compiles the canary's configuration (the pipeline stage and the
// standalone module both start here).
var Parse = config.Compiler(ParseConfig, New)

var _ sdk.HTTPFilter = (*Filter)(nil)

// OnRequest is the canary as a stage: unless an earlier filter chose the cluster, it picks the
// version, counts the choice, and asks for the response header reporting it.
func (f *Filter) OnRequest(r *sdk.Request) sdk.Decision {
	routed, _ := r.Headers.Get(RoutingHeader)
	dd := f.Decide(r, routed)
	if dd.Cluster == "" {
		return sdk.Continue()
	}
	d := sdk.Continue().RouteTo(dd.Cluster).Count(f.requests, 1, dd.Service, dd.Version)
	if dd.ResponseHeader != "" {
		d = d.SetResponseHeader(dd.ResponseHeader, dd.Version)
	}
	return d
}

// NewPluginContext creates the canary's plugin context: the standalone module, or the bundle
// under root_id "canary".
var NewPluginContext = sdk.NewPlugin(RootID, Parse)
