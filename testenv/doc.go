// Package testenv runs compiled proxy-wasm filters (.wasm) on wazero the way stock Envoy 1.40
// runs them, so a filter's tests exercise the real binary.
//
// What it models (proxy-wasm-cpp-host as Envoy 1.40 pins it, and Envoy's wasm context):
//
//   - Loading: a Runtime, which the caller makes with NewRuntime and closes, compiles each
//     module (the bytes of a .wasm) once, keeping wazero's compilation cache on disk when
//     RuntimeConfig.CacheDir names a directory (DefaultCacheDir: $WASMESH_CACHE_DIR, else
//     <user cache dir>/wasmesh/wazero); Runtime.Start instantiates it per VM. The
//     ABI version comes from the proxy_abi_version_* export (0.2.1 and 0.2.0 run; the Go SDK
//     emits 0.2.0). A module importing anything Envoy does not provide for its ABI version, or
//     with another signature, is refused at load with every offending import listed (Inspect
//     does the same statically for `wasmesh check`). The reactor's _initialize runs under
//     Envoy's start-up allowlist; proxy_on_memory_allocate runs under Envoy's allocation
//     allowlist (proxy_log, fd_write, clock_time_get, poll_oneoff); other calls trap there.
//   - Start: per filter a root context, proxy_on_vm_start, proxy_on_configure; a refusal fails
//     Start quoting the plugin's error and critical log lines. Filters with the same module,
//     VMID and VMConfig share one VM, as in Envoy.
//   - Streams: Env.Do sends a request through the chain and the response back (last filter
//     first), with Envoy's iteration rules: StopIteration holds headers (data still reaches the
//     filter), StopAllIteration holds everything, StopIterationAndBuffer accumulates the body and
//     offers it whole with the next chunk, continue_stream releases what was held, a local reply
//     stops the request and runs every filter's response callbacks (filters after the replying
//     one see only those), proxy_on_done/log/delete end each context. Continue and local replies
//     act after the VM call returns, as Envoy's after-call actions do.
//   - Concurrent streams: Env.Begin starts a stream and runs it until it completes or pauses
//     (it never moves the clock); several may be open at once, each with its own contexts, as
//     on one Envoy worker. Stream.Done and Stream.Result (nil while open) read its state;
//     Advance moves every open stream on after each tick or timed event; Env.Wait(streams...)
//     runs like Do until the given ones complete (the others move with the clock). Do is Begin
//     then Wait. A trap outside a stream callback (a tick, an HTTP call response) fails every
//     open stream; Close resets the open streams.
//   - Routing: the upstream cluster is the x-wasmesh-cluster header or the default cluster. By
//     default any request-header change by a filter re-picks the route (Envoy 1.40 as measured);
//     WithStrictRouteCache re-picks it only after clear_route_cache.
//   - Time: a simulated clock (WASI clocks, proxy_get_current_time_nanoseconds, ticks). Do
//     and Wait advance it tick by tick while a stream waits; Advance moves it and fires ticks in
//     order.
//     WithRealClock uses wall time (benchmarks). random_get is real randomness.
//   - Host calls: logs (captured per Env with level; stdout/stderr become info/error lines),
//     header maps incl. pseudo-headers, buffers, properties (request.*, response.*,
//     source/destination, connection.mtls and connection.uri_san_peer_certificate (from
//     Request.Connection), plugin_name, plugin_root_id, node.metadata.*, xds.route_name,
//     xds.cluster_name, and any path set with WithProperty), metrics (Metrics, Histogram),
//     shared data with CAS, shared queues, ticks, HTTP calls to WithCluster handlers,
//     set_effective_context, proxy_done and the foreign functions Envoy registers
//     (clear_route_cache, compress, uncompress; the others answer Unimplemented).
//     Env.HostCalls counts the calls by function name (host calls per request in benchmarks).
//   - Envoy's connection manager and codecs (issue 15, each checked in real Envoy by a case of
//     testdata/replay): a request whose method Envoy's HTTP/1 codec does not know ("get"
//     included) is answered 400 "Bad Request" before any filter runs (Result.Details
//     http1.codec_error); before the filters, x-forwarded-proto is added, and a random UUID v4
//     x-request-id when the request has none (WithoutRequestID turns that off); a local reply
//     to a gRPC request is HTTP 200 with one content-type (application/grpc), grpc-status and
//     the percent-encoded body as grpc-message; responses to HEAD carry no body (a local
//     reply keeps its content-length); a request whose headers went upstream before a filter
//     answered on its body is reset on its way (UpstreamRequest.Reset); with
//     WithOnlyClusters, a route to a cluster that does not exist is Envoy's 503
//     cluster_not_found.
//
// Not modelled: gRPC calls (they fail as calls to an unknown cluster), TCP filters, the
// headers Envoy's router adds upstream (x-envoy-expected-rq-timeout-ms) and its codecs add on
// the wire (date, server, content-length: 0), HTTP call timeouts.
//
// An Env is single-threaded like an Envoy worker; a Pool runs several Envs for parallel streams
// (metrics and shared data shared, as Envoy shares them process-wide).
//
// The package has no package-level mutable state and does not import testing: Go tests use
// testenv/testenvtest (a Runtime shared by the test binary, helpers that take a testing.TB),
// programs make their own Runtime:
//
//	rt, err := testenv.NewRuntime(ctx, testenv.RuntimeConfig{CacheDir: testenv.DefaultCacheDir()})
//	...
//	defer rt.Close(ctx)
//	env, err := rt.Start([]testenv.Filter{{Name: "hello", Module: wasm}}, testenv.WithUpstream(h))
package testenv
