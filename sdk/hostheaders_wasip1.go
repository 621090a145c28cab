//go:build wasip1

package sdk

import (
	"unsafe"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
)

//go:wasmimport env proxy_get_header_map_pairs
func proxyGetHeaderMapPairs(mapType int32, returnData unsafe.Pointer, returnSize *int32) uint32

// requestHeaders reads the request headers in one host call, like
// proxywasm.GetHttpRequestHeaders, without copying: names and values are views into the
// buffer the host filled (one allocation for the list instead of two per header).
func requestHeaders() ([][2]string, error) {
	var raw *byte
	var size int32
	if st := proxyGetHeaderMapPairs(0, unsafe.Pointer(&raw), &size); st != 0 {
		return proxywasm.GetHttpRequestHeaders() // let the SDK name the status
	}
	if raw == nil || size < 4 {
		return nil, nil
	}
	return parsePairs(unsafe.Slice(raw, size))
}
