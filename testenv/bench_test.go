//go:build !wasm

package testenv

import (
	"context"
	"testing"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/proxytest"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

// BenchmarkStream is one full exchange through a header-modifying filter (build/hello.wasm:
// adds a request and a response header, logs once) on the real clock.
func BenchmarkStream(b *testing.B) {
	env := newEnv(b, []Filter{filter(b, "hello")}, WithRealClock())
	req := Request{Authority: "svc", Headers: Headers{{"x-user", "u1"}}}
	for b.Loop() {
		if res := env.Do(req); res.Err != nil {
			b.Fatal(res.Err)
		}
	}
}

// BenchmarkLoadWarm loads and starts a module whose compilation is cached (in process and on
// disk): instantiate, _initialize, vm start, configure.
func BenchmarkLoadWarm(b *testing.B) {
	filters := []Filter{filter(b, "hello")}
	rt := testRuntime(b)
	e, err := rt.Start(filters)
	if err != nil {
		b.Fatal(err)
	}
	_ = e.Close()
	for b.Loop() {
		e, err := rt.Start(filters)
		if err != nil {
			b.Fatal(err)
		}
		_ = e.Close()
	}
}

// BenchmarkLoadWarmDisk is a load as a new process does it with a warm on-disk compilation
// cache: a fresh wazero runtime (host modules), the module compiled from the cache, then
// instantiate, _initialize, vm start and configure.
func BenchmarkLoadWarmDisk(b *testing.B) {
	filters := []Filter{filter(b, "hello")}
	dir := DefaultCacheDir()
	if e, err := testRuntime(b).Start(filters); err != nil { // fills the disk cache
		b.Fatal(err)
	} else {
		_ = e.Close()
	}
	for b.Loop() {
		rt, err := NewRuntime(context.Background(), RuntimeConfig{CacheDir: dir})
		if err != nil {
			b.Fatal(err)
		}
		e, err := rt.Start(filters)
		if err != nil {
			b.Fatal(err)
		}
		_ = e.Close()
		_ = rt.Close(context.Background())
	}
}

// BenchmarkProxytestWasm is the SDK's proxytest running the same hello.wasm (its wasm mode,
// proxytest.NewWasmVMContext, on its own wazero host) through the same exchange, for comparison.
func BenchmarkProxytestWasm(b *testing.B) {
	wasm := module(b, "hello")
	vm, err := proxytest.NewWasmVMContext(wasm)
	if err != nil {
		b.Fatal(err)
	}
	defer vm.Close()
	host, reset := proxytest.NewHostEmulator(proxytest.NewEmulatorOption().WithVMContext(vm))
	defer reset()
	if host.StartVM() != types.OnVMStartStatusOK || host.StartPlugin() != types.OnPluginStartStatusOK {
		b.Fatal("start")
	}
	hdrs := [][2]string{{":authority", "svc"}, {":path", "/"}, {":method", "GET"}, {":scheme", "http"}, {"x-user", "u1"}}
	for b.Loop() {
		id := host.InitializeHttpContext()
		if a := host.CallOnRequestHeaders(id, hdrs, true); a != types.ActionContinue {
			b.Fatal(a)
		}
		if a := host.CallOnResponseHeaders(id, [][2]string{{":status", "200"}}, true); a != types.ActionContinue {
			b.Fatal(a)
		}
		host.CompleteHttpContext(id)
	}
}
