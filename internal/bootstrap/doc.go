// Package bootstrap renders the Envoy bootstrap of a wasmesh sidecar: node id, cluster and
// metadata (docs/conventions.md), admin on loopback, ADS to the control plane for listeners
// and clusters (routes, endpoints and ECDS filter configs ride the same ADS stream), the static
// clusters wasmesh-xds (gRPC over HTTP/2) and wasmesh-modules (module fetches), and one
// stats_config.stats_tags rule per metric tag key so plugin metrics get Prometheus labels.
//
// Envoy has no environment substitution in YAML, so the bootstrap is rendered from Params
// (Render), which can be filled from WASMESH_* environment variables (FromEnv). The checked-in
// envoy-configs/sidecar.yaml is Render(Defaults()); `go run ./envoy-configs/render` renders
// one for other values.
package bootstrap
