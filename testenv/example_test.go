package testenv_test

import (
	"context"
	"fmt"
	"os"

	"github.com/wasmesh/wasmesh/testenv"
)

// A program loads the compiled module on a Runtime it owns and sends a request through it
// (a test does the same in one line with testenvtest.New).
func Example() {
	ctx := context.Background()
	rt, err := testenv.NewRuntime(ctx, testenv.RuntimeConfig{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer rt.Close(ctx)
	module, err := os.ReadFile("../build/hello.wasm")
	if err != nil {
		fmt.Println(err)
		return
	}
	env, err := rt.Start([]testenv.Filter{{Name: "hello", Module: module}},
		testenv.WithUpstream(func(r *testenv.UpstreamRequest) *testenv.Response {
			return &testenv.Response{Status: 200, Body: []byte("hello " + r.Headers.Get("x-hello"))}
		}))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer env.Close()
	res := env.Do(testenv.Request{Path: "/greet", Authority: "svc"})
	fmt.Println(res.Response.Status, string(res.Response.Body), res.Response.Headers.Get("x-hello"))
	for _, l := range env.Logs() {
		fmt.Println(l.Level, l.Message)
	}
	// Output:
	// 200 hello request world
	// info hello: request headers
}
