// Package translate turns the stored wasmesh resources (a crd.Set) into the xDS resources of
// each sidecar: a pure, deterministic function (same input → byte-identical output) with no
// I/O and no package-level state.
//
// Translation has two stages. Build computes what every sidecar shares from the resources
// alone: the clusters `<service>|<version>` with their endpoints (EDS), the outbound route
// configuration (RDS), the built-in filters' ECDS config (`wasmesh.chain`, the bundle's
// pipeline running telemetry → fault → router → canary as stages, each stage's configuration
// the per-service map `{"services": {...}}` covering every Service; `wasmesh.telemetry`,
// `wasmesh.fault`, `wasmesh.router`, `wasmesh.canary` when they run separately) and the WasmPlugins' ECDS
// configs (`wasmesh.plugin.<name>`). Mesh.ForNode then adds what depends on the sidecar (its
// node metadata): the `inbound` listener and its `inbound|app` cluster, and the `outbound`
// listener whose filter chain is fixed (plugins before, the pipeline, plugins after,
// envoy.filters.http.router), so applying configuration changes ECDS and RDS,
// never the listener — except adding or removing a WasmPlugin.
//
// The built-in filters run from one module (the bundle build/wasmesh.wasm, vm_id `wasmesh`,
// one VM per worker for the whole chain) or, without it, from the four standalone modules
// (vm_id `wasmesh.<filter>`); either way vm_id and code depend only on the module's sha256,
// so a configuration change reconfigures the running VM instead of restarting it.
//
// Security (security.go, docs/security.md): the callers' endpoints clusters of a Service
// whose TransportPolicy is not DISABLE originate mTLS and verify its SPIFFE ID; a sidecar's
// inbound listener has the filter chains of its Service's mode (STRICT: `mtls`; PERMISSIVE:
// `mtls` and `plaintext`; DISABLE: one plaintext chain) and runs the `wasmesh.authz` filter
// configured from the AuthorizationPolicies. TLS material is referenced by SDS name
// (`wasmesh.identity`, `wasmesh.ca`); the xDS server adds each node's secrets
// (Resources.WithSecrets, IdentitySecrets).
//
// Every resource name follows docs/conventions.md. Resources.Check verifies a node's
// resources reference only what they define, ECDS names included (go-control-plane's
// Snapshot.Consistent does not look at ECDS).
package translate
