// Package authz is the logic of wasmesh's authorization filter (docs/filters.md, root_id
// "authz"), which runs on every sidecar's inbound listener: it decides by the caller's
// verified identity (the SPIFFE ID of the downstream connection's client certificate),
// the path, method and headers whether a request reaches the app. Istio's semantics: a
// request any DENY policy matches is denied; when ALLOW policies select the Service, a
// request none of them matches is denied; anything else is allowed. A denial is a 403 with a
// short body naming the policy; decisions are counted by policy
// (wasmesh_authz_requests_total{service,policy,decision}). config.go parses and validates
// the configuration (the control plane imports ParseConfig), filter.go holds the decision.
package authz
