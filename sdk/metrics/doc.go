// Package metrics defines proxy-wasm metrics (counter, gauge, histogram) with tags, named by
// wasmesh's scheme `<name>;<key>=<value>;...` (docs/conventions.md): Envoy shows them as
// `wasmcustom.<name>;...`, and the sidecar bootstrap's tag-extraction rules turn each `;key=`
// into a Prometheus label. A Vec defines each tag set once and caches its metric ID, so the
// request path costs one map lookup and one host call.
package metrics
