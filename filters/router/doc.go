// Package router is the logic of wasmesh's router filter (docs/filters.md, root_id "router"):
// ordered match rules choose a destination version, written into the routing header
// x-wasmesh-cluster (`<service>|<version>`), plus request header edits and a path-prefix
// rewrite. config.go parses and validates the JSON configuration (the control plane imports
// ParseConfig), filter.go holds the pure decision, plugin.go the proxy-wasm wiring.
package router
