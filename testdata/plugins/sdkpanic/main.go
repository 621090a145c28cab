// Command sdkpanic is a test plugin built on the wasmesh sdk (sdk.NewPlugin) whose filter
// panics on a request carrying the header x-trap and lets every other request through with
// x-sdkpanic: ok. The failure-policy tests use it: the adapter recovers the panic, so only
// that request fails.
package main

import (
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"

	"github.com/wasmesh/wasmesh/sdk"
)

func main() {}

func init() {
	proxywasm.SetPluginContext(sdk.NewPlugin("sdkpanic", func([]byte) (filter, error) { return filter{}, nil }))
}

type filter struct{}

func (filter) OnRequest(r *sdk.Request) sdk.Decision {
	if _, ok := r.Headers.Get("x-trap"); ok {
		var m map[string]int
		m["boom"]++ // a nil map write: a runtime panic, as a real bug would be
	}
	return sdk.Continue().SetHeader("x-sdkpanic", "ok")
}
