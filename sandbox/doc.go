// Package sandbox runs the local wasmesh mesh as plain processes on loopback: the control plane
// (in-process), the demo services (sandbox/demo, in-process) and one stock Envoy sidecar per
// service instance, bootstrapped from envoy-configs against the control plane, with the sample
// resources in sandbox/crds applied. `wasmesh sandbox` is its command; docs/sandbox.md the guide.
//
// The mesh layout comes from one description, NewTopology, which also generates
// docker-compose.yaml (ComposeFile), so the process sandbox and the Docker variant cannot drift.
package sandbox
