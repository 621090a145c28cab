// Package sdk is wasmesh's filter-authoring kit on top of the proxy-wasm Go SDK
// (github.com/proxy-wasm/proxy-wasm-go-sdk), for filters built with the upstream Go toolchain
// (GOOS=wasip1 GOARCH=wasm -buildmode=c-shared).
//
// The root package holds the typed HTTP surface: a Request view, a Decision a filter returns,
// and NewHTTPFilter, which turns a pure function from Request to Decision into a proxy-wasm
// plugin. The subpackages are the parts a filter needs:
//
//   - config: strict JSON decoding (its own small parser), every error naming its JSON path;
//   - match: request matchers (path, method, headers, query), compiled once;
//   - split: deterministic weighted selection, sticky by consistent hashing;
//   - timer: timers for paused streams, driven by the root context's tick;
//   - metrics: counters, gauges and histograms with tags, cached per tag set;
//   - accesslog: allocation-light JSON log lines;
//   - tracecontext: W3C traceparent and x-request-id helpers;
//   - bundle: one module holding several plugins, picked by root_id.
//
// Every package compiles natively and for wasip1, so filter logic is table-tested with plain
// `go test`, and the compiled module is tested under testenv.
package sdk
