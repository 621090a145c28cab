package testenv

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// testenv's own tests cannot import testenvtest (it imports testenv): these are its helpers,
// on a Runtime the test binary shares.
var testRT struct {
	once sync.Once
	rt   *Runtime
	err  error
}

func testRuntime(t testing.TB) *Runtime {
	t.Helper()
	testRT.once.Do(func() {
		testRT.rt, testRT.err = NewRuntime(context.Background(), RuntimeConfig{CacheDir: DefaultCacheDir()})
	})
	if testRT.err != nil {
		t.Fatal(testRT.err)
	}
	return testRT.rt
}

// newEnv starts filters on the shared Runtime, failing the test if they do not start.
func newEnv(t testing.TB, filters []Filter, opts ...Option) *Env {
	t.Helper()
	e, err := testRuntime(t).Start(filters, opts...)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

// startEnv is newEnv for a test that expects an error.
func startEnv(t testing.TB, filters []Filter, opts ...Option) (*Env, error) {
	t.Helper()
	e, err := testRuntime(t).Start(filters, opts...)
	if e != nil {
		t.Cleanup(func() { _ = e.Close() })
	}
	return e, err
}

// module returns build/<name>.wasm, failing the test when it is missing.
func module(t testing.TB, name string) []byte {
	t.Helper()
	p := filepath.Join("..", "build", name+".wasm")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%s is missing: run make build", p)
	}
	return b
}

// filter is build/<name>.wasm as a filter named name.
func filter(t testing.TB, name string) Filter {
	t.Helper()
	return Filter{Name: name, Module: module(t, name)}
}

// newPool is newEnv for a Pool.
func newPool(t testing.TB, size int, filters []Filter, opts ...Option) *Pool {
	t.Helper()
	p, err := testRuntime(t).StartPool(size, filters, opts...)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}
