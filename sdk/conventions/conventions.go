// Package conventions holds the names the filters, the control plane and testenv agree on
// (docs/conventions.md), in a package that imports nothing: the host side (testenv, the
// control plane) reads them without pulling in the guest SDK and proxy-wasm.
package conventions

// RoutingHeader is the request header the router and canary filters set to
// `<service>|<version>` and the outbound route takes the cluster from (cluster_header).
const RoutingHeader = "x-wasmesh-cluster"
