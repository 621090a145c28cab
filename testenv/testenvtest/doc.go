// Package testenvtest is testenv for Go tests, as net/http/httptest is net/http's: one
// Runtime shared by the test binary (compilation cache in testenv.DefaultCacheDir), and helpers
// that take a testing.TB, fail the test on an error and close what they start in t.Cleanup.
//
//	env := testenvtest.New(t, []testenv.Filter{{Name: "hello", Module: testenvtest.Module(t, "build/hello.wasm")}})
//	res := env.Do(testenv.Request{Path: "/"})
//
// Programs (the control plane's dry run, wasmesh replay) use testenv directly: they make
// their own Runtime with testenv.NewRuntime and close it.
package testenvtest
