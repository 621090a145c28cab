// Package e2e is the end-to-end harness for wasmesh in stock Envoy: it starts Envoy processes
// (unique dynamic --base-id, free loopback ports, readiness by polling admin /ready, the whole
// process group stopped on cleanup, the log printed when a test fails), upstream services on
// loopback that echo what reached them and name the version that served, and a Replayer that
// runs replay cases through Envoy. Its tests are the Envoy-level evidence of the built-in
// filters, of the control plane (mesh_test.go starts one in-process, with sidecars) and the
// validation of every file in envoy-configs/; they fail, never skip, when Envoy or a built
// .wasm is missing (`make envoy`, `make build`).
//
// The package does not import the control plane (it sits below it: the control plane's dry
// run uses testenv): only its tests do, and an mTLS replay takes its certificates from a
// CertIssuer, which the mesh's CA (controlplane/ca) is.
//
// The process API (StartEnvoy, StartUpstream) needs no *testing.T, so `wasmesh replay --envoy`
// uses it too; the T-suffixed helpers (EnvoyT, UpstreamT) add t.Cleanup and log dumping.
package e2e
