// Package replay owns the replay case-file format: HTTP exchanges written in YAML, each run
// through a chain of compiled proxy-wasm filters and compared with what the file expects.
//
// The same files run under testenv (Run, used by `wasmesh replay`) and in a real Envoy
// (testenv/e2e, `wasmesh replay --envoy`); this package holds what both share: parsing with
// errors that name file:line and key, the comparison of expected and observed exchanges, and
// the report (one line per case, then the differences).
//
//	filters:                              # the chain, in order
//	- wasm: ../build/canary.wasm          # relative to the YAML file
//	  config: {weights: {v1: 90, v2: 10}} # any YAML, handed over as JSON; a string as-is
//	  rootId: ""                          # optional
//	cases:
//	- name: header override goes to v2
//	  request: {method: GET, path: /, headers: {host: reviews, x-canary: always}, body: ""}
//	  upstream: {status: 200, headers: {content-type: text/plain}, body: ok}
//	  advance: 0s                         # the upstream answers after this much (simulated) time
//	  expect:                             # headers: subset; upstreamRequest: null = must not reach it
//	    upstreamRequest: {headers: {x-wasmesh-cluster: reviews|v2}, body: "", cluster: reviews|v2}
//	    response: {status: 200, headers: {x-wasmesh-version: v2}, body: ok}
//	    metrics: {some_metric_name: 1}    # value after the case
//
// upstreamRequest may also check authority, method and path. Request and upstream default to
// GET / and 200; a "host" request header is the :authority. A request with a body (or with an
// empty one, unless GET or HEAD) says content-length, and the upstream's answer too, as the HTTP
// client and server of the Envoy runner do. Unknown keys, wrong types and repeated names are
// errors; every problem of a file is reported at once.
package replay
