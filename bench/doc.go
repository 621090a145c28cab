// Command bench measures what wasmesh filters cost inside stock Envoy, side by side with bare
// Envoy and with native Envoy doing the same job, and writes the report docs/benchmarks.md.
//
//	make bench                      # everything (about 10 minutes on 2 cores)
//	go run ./bench -quick           # short runs, for trying the harness
//
// It runs, on one machine in one go:
//   - the data path: Envoy 1.40 on loopback in front of a fortio echo server, loaded by fortio
//     (Istio's load tool) at a fixed 1,000 rps over 16 connections and at maximum rate, for
//     bare Envoy, native Envoy, each wasmesh filter alone and the full chain as separate
//     modules and as the bundle: latency percentiles, added latency, overhead ratio, max rps,
//     Envoy CPU per 1,000 rps and RSS;
//   - a soak of the full chain (1,000,000 requests by default) with Envoy's RSS at start,
//     middle and end;
//   - the Go benchmarks of testenv, the filters and the control plane (go test -bench).
//
// fortio is installed by the harness into .tools/bin (go install fortio.org/fortio@<pinned>).
package main
