// Package canary is the logic of wasmesh's canary filter (docs/filters.md, root_id "canary"):
// a weighted split of a service's traffic across its versions, header overrides, sticky
// selection by header or cookie (consistent hashing, sdk/split), per-version counters and an
// optional response header naming the chosen version. config.go parses and validates the
// configuration (the control plane imports ParseConfig), filter.go holds the pure decision,
// plugin.go the proxy-wasm wiring.
package canary
