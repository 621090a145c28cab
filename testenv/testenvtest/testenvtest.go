package testenvtest

import (
	"context"
	"os"
	"sync"
	"testing"

	"github.com/wasmesh/wasmesh/testenv"
)

// shared is the test binary's Runtime, made at the first use and never closed (the process
// ends with the tests).
var shared struct {
	once sync.Once
	rt   *testenv.Runtime
	err  error
}

// Runtime returns the Runtime the test binary shares: compiled code is cached by module
// content in memory and in testenv.DefaultCacheDir on disk (none when it cannot be found). It
// is not interruptible: a test of testenv.WithContext makes its own with testenv.NewRuntime.
func Runtime(t testing.TB) *testenv.Runtime {
	t.Helper()
	shared.once.Do(func() {
		shared.rt, shared.err = testenv.NewRuntime(context.Background(), testenv.RuntimeConfig{CacheDir: testenv.DefaultCacheDir()})
	})
	if shared.err != nil {
		t.Fatalf("testenv: %v", shared.err)
	}
	return shared.rt
}

// New starts the chain on the shared Runtime and fails the test, quoting the plugins'
// refusal, if it does not start. The Env is closed in t.Cleanup.
func New(t testing.TB, filters []testenv.Filter, opts ...testenv.Option) *testenv.Env {
	t.Helper()
	env, err := Runtime(t).Start(filters, opts...)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(func() { _ = env.Close() })
	return env
}

// Start is New for a test that expects an error: it returns Start's result; an Env that
// starts is closed in t.Cleanup.
func Start(t testing.TB, filters []testenv.Filter, opts ...testenv.Option) (*testenv.Env, error) {
	t.Helper()
	env, err := Runtime(t).Start(filters, opts...)
	if env != nil {
		t.Cleanup(func() { _ = env.Close() })
	}
	return env, err
}

// NewPool starts size Envs on the shared Runtime (testenv.Runtime.StartPool) and fails the
// test if any refuses; the Pool is closed in t.Cleanup.
func NewPool(t testing.TB, size int, filters []testenv.Filter, opts ...testenv.Option) *testenv.Pool {
	t.Helper()
	p, err := Runtime(t).StartPool(size, filters, opts...)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// Module reads the compiled filter at path (a .wasm file), failing the test when it cannot:
// a missing module fails, it does not skip (`make build` writes build/*.wasm).
func Module(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("testenv: %v (run make build)", err)
	}
	return b
}
