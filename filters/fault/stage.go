package fault

import (
	"github.com/wasmesh/wasmesh/sdk/config"
	"strconv"

	"github.com/wasmesh/wasmesh/sdk"
)

// Parse parses and compiles the fault filter's configuration (the pipeline stage and the
// standalone module both start here).
var Parse = config.Compiler(ParseConfig, New)

// Fault kinds counted in wasmesh_faults_injected_total.
const (
	kindDelay        = "delay"
	kindAbort        = "abort"
	kindDelaySkipped = "delay_skipped"
)

var _ sdk.Pauser = (*Filter)(nil)

// OnRequest is the fault filter as a stage: it draws the request's fault and returns it as a
// decision: a pause (while the maxActiveDelays cap allows one), a local reply, or both; each
// injection is counted. A malformed trigger header is ignored.
func (f *Filter) OnRequest(r *sdk.Request) sdk.Decision {
	flt, _ := f.decide(r, nil)
	if !flt.Any() {
		return sdk.Continue()
	}
	svc := r.Service()
	d := sdk.Continue()
	if flt.Abort {
		d = abort(flt)
	}
	if flt.Delay > 0 {
		if f.TryDelay(flt) {
			d = d.Count(f.injected, 1, svc, kindDelay).After(flt.Delay).With(flt)
		} else {
			d = d.Count(f.injected, 1, svc, kindDelaySkipped)
		}
	}
	if flt.Abort {
		d = d.CountAfter(f.injected, 1, svc, kindAbort)
	}
	return d
}

// PauseOver frees the delay slot of a delay that ended (its time, or its stream, is over).
func (f *Filter) PauseOver(state any) {
	if flt, ok := state.(Fault); ok {
		f.DoneDelay(flt)
	}
}

// abort is the local reply of an abort: for gRPC, HTTP 200 with the grpc-status (Envoy sends
// it trailers-only); else the HTTP status with a short text body.
func abort(f Fault) sdk.Decision {
	if f.GRPC >= 0 {
		return sdk.ReplyGRPC(httpFromGRPC(f.GRPC), f.GRPC, [2]string{"x-wasmesh-fault", "abort"})
	}
	return sdk.Reply(f.Status, "fault filter abort ("+strconv.Itoa(f.Status)+")\n",
		[2]string{"content-type", "text/plain"}, [2]string{"x-wasmesh-fault", "abort"})
}

// NewPluginContext creates the fault's plugin context: the standalone module, or the bundle
// under root_id "fault".
var NewPluginContext = sdk.NewPlugin(RootID, Parse)
