// Command apikey builds the example API-key filter, build/apikey.wasm: a request must carry
// one of the configured keys in the configured header, or it is answered 401 locally. Copy
// this folder to start your own filter (docs/authoring.md).
package main

import (
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/wasmesh/wasmesh/examples/filters/apikey/apikey"
)

func main() {}

func init() { proxywasm.SetPluginContext(apikey.NewPluginContext) }
