package testenv_test

import (
	"fmt"

	"github.com/wasmesh/wasmesh/testenv"
)

// A filter's test loads the compiled module and sends a request through it.
func Example() {
	env, err := testenv.Start([]testenv.Filter{{Wasm: "../build/hello.wasm"}},
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
