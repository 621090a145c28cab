//go:build !wasip1

package sdk

import "github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"

// requestHeaders reads the request headers (natively: through the SDK, for its emulator).
func requestHeaders() ([][2]string, error) { return proxywasm.GetHttpRequestHeaders() }
