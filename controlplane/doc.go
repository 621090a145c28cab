// Package controlplane runs the wasmesh control plane in one process: the resource store
// (controlplane/store), the admission of every apply and delete (controlplane/admission), the
// xDS server fed by the translator (controlplane/xds, controlplane/translate), the module
// server (modules.go) and the HTTP API (controlplane/api). `wasmesh serve`, the sandbox and
// end-to-end tests start it with Start; docs/architecture.md follows one resource through it.
//
// Subpackages:
//   - crd: the wasmesh.io/v1alpha1 resource types, strict decoding, validation;
//   - admission: the one admission pipeline (decode → structure → references → policy →
//     filter parsers → module fetch → WasmPlugin dry run), outside the store's write lock,
//     committing optimistically (admission/dryrun: the DryRunner on testenv);
//   - store: the embedded bbolt store (atomic applies, generations, subscriptions);
//   - api: the HTTP API and its Go client;
//   - ir: the intermediate representation between resources and xDS (per-Service policies in
//     the filters' own types, each with the resource and field it came from);
//   - translate: resources → IR → per-node xDS resources (pure, deterministic, golden-tested);
//   - xds: the go-control-plane ADS server with per-node snapshots and ACK/NACK tracking
//     (xds/xdstest: an in-process ADS client for tests and benchmarks).
//
// This package wires them (serve_xds.go: the store's changes → translate → xds;
// filterstage.go: the built-in filters' parsers on the IR as admission's filter parsers
// stage) and serves the modules (modules.go: content-addressed
// by sha256, the built-in ones from the modules directory).
package controlplane
