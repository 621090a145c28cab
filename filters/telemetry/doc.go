// Package telemetry is the logic of wasmesh's telemetry filter (docs/filters.md, root_id
// "telemetry"): request metrics by configurable dimensions, a sampled JSON access-log line per
// request, W3C trace-context propagation and x-request-id. config.go parses and validates the
// configuration (the control plane imports ParseConfig), filter.go holds the pure parts
// (dimension values, metric names, the log line), plugin.go the proxy-wasm wiring.
package telemetry
