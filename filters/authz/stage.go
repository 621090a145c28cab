package authz

import (
	"github.com/wasmesh/wasmesh/sdk"
	"github.com/wasmesh/wasmesh/sdk/config"
)

// Parse parses and compiles the authz filter's configuration (the pipeline stage and the
// standalone module both start here).
var Parse = config.Compiler(ParseConfig, New)

// Decisions counted in wasmesh_authz_requests_total.
const (
	decisionAllow = "allow"
	decisionDeny  = "deny"
)

// DeniedHeader is set on a denial's 403: the policy that denied the request.
const DeniedHeader = "x-wasmesh-denied-by"

// OnRequest is the authz filter as a stage: a request a policy denies gets 403 with a body
// naming it; every decision a policy made is counted by policy.
func (f *Filter) OnRequest(r *sdk.Request) sdk.Decision {
	v := f.Decide(r)
	if v.Policy == "" {
		return sdk.Continue()
	}
	if v.Allowed {
		return sdk.Continue().Count(f.requests, 1, f.service, v.Policy, decisionAllow)
	}
	caller := r.Connection.PeerURISAN
	if caller == "" {
		caller = "a caller without a mesh certificate"
	}
	return sdk.Reply(403, "RBAC: access denied: "+caller+" by AuthorizationPolicy "+v.Policy+"\n",
		[2]string{"content-type", "text/plain"}, [2]string{DeniedHeader, v.Policy}).
		Count(f.requests, 1, f.service, v.Policy, decisionDeny)
}

// NewPluginContext creates the authz plugin context: the standalone module, or the bundle
// under root_id "authz".
var NewPluginContext = sdk.NewPlugin(RootID, Parse)
