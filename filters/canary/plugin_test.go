//go:build !wasm

package canary

import (
	"testing"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/proxytest"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
	"github.com/stretchr/testify/require"
)

func TestPluginNative(t *testing.T) {
	opt := proxytest.NewEmulatorOption().WithPluginContext(NewPluginContext).WithPluginConfiguration([]byte(reviewsConfig))
	host, reset := proxytest.NewHostEmulator(opt)
	defer reset()
	clears := 0
	host.RegisterForeignFunction("clear_route_cache", func([]byte) []byte { clears++; return []byte{0} }) // proxytest cannot return nothing
	require.Equal(t, types.OnPluginStartStatusOK, host.StartPlugin())

	id := host.InitializeHttpContext()
	host.CallOnRequestHeaders(id, [][2]string{{":method", "GET"}, {":path", "/"}, {":authority", "reviews"}, {"x-canary", "always"}}, true)
	require.Contains(t, host.GetCurrentRequestHeaders(id), [2]string{"x-wasmesh-cluster", "reviews|v2"})
	host.CallOnResponseHeaders(id, [][2]string{{":status", "200"}}, true)
	require.Contains(t, host.GetCurrentResponseHeaders(id), [2]string{"x-wasmesh-version", "v2"})
	require.Equal(t, 1, clears)

	id = host.InitializeHttpContext()
	host.CallOnRequestHeaders(id, [][2]string{{":method", "GET"}, {":path", "/"}, {":authority", "reviews"}, {"x-canary", "always"}, {"x-wasmesh-cluster", "reviews|v3"}}, true)
	require.Contains(t, host.GetCurrentRequestHeaders(id), [2]string{"x-wasmesh-cluster", "reviews|v3"}, "the router's choice stays")
	require.Equal(t, 1, clears)
	n, err := host.GetCounterMetric("wasmesh_canary_requests_total;service=reviews;version=v2")
	require.NoError(t, err)
	require.Equal(t, uint64(1), n)
}
