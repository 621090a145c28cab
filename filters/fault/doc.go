// Package fault is the logic of wasmesh's fault-injection filter (docs/filters.md, root_id
// "fault"): delays (the stream is paused and a timer resumes it) and aborts (HTTP status, or
// gRPC status for gRPC requests), scoped by match rules or forced by a trigger header, with a
// cap on concurrently delayed streams. config.go parses and validates the configuration (the
// control plane imports ParseConfig), filter.go holds the pure decision, plugin.go the
// proxy-wasm wiring.
package fault
