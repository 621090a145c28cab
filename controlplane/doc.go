// Package controlplane runs the wasmesh control plane in one process: the resource store
// (controlplane/store), the xDS server fed by the translator (controlplane/xds,
// controlplane/translate), the module server (controlplane/modules) and the HTTP API
// (controlplane/api). `wasmesh serve`, the sandbox and end-to-end tests start it with Start.
//
// Subpackages:
//   - crd: the wasmesh.io/v1alpha1 resource types, strict decoding, validation;
//   - store: the embedded bbolt store (atomic applies, generations, subscriptions);
//   - api: the HTTP API and its Go client;
//   - ir, translate: resources → per-node xDS resources (pure, deterministic);
//   - xds: the go-control-plane ADS server with ACK/NACK tracking per node;
//   - modules: the content-addressed module server.
package controlplane
