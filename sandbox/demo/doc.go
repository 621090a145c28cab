// Package demo is the sandbox's demo application: a tiny HTTP service that answers JSON naming
// its service and version and, unless it is a leaf, calls the next service through its own
// Envoy sidecar's outbound listener (Host: <next service>), so every hop crosses the mesh.
//
// It propagates the trace and request headers (traceparent, tracestate, x-request-id) and the
// headers the mesh acts on (x-canary, x-wasmesh-fault, x-user) to the next hop, so a header a
// user sends to the frontend reaches the sidecar that routes or faults the inner call.
package demo
