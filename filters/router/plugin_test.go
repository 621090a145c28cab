//go:build !wasm

package router

import (
	"testing"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/proxytest"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
	"github.com/stretchr/testify/require"
)

// The plugin wiring under the SDK's native emulator (fast feedback; the behaviour tests run
// the compiled module under testenv, filters/router/wasm_test.go).
func TestPluginNative(t *testing.T) {
	opt := proxytest.NewEmulatorOption().WithPluginContext(NewPluginContext).
		WithPluginConfiguration([]byte(`{"services":{"reviews":{"rules":[{"match":{"headers":[{"name":"x-user","exact":"jason"}]},"destination":{"version":"v2"},"rewrite":{"pathPrefix":"/v2/"}}]}}}`))
	host, reset := proxytest.NewHostEmulator(opt)
	defer reset()
	clears := 0
	host.RegisterForeignFunction("clear_route_cache", func([]byte) []byte { clears++; return []byte{0} }) // proxytest cannot return nothing
	require.Equal(t, types.OnPluginStartStatusOK, host.StartPlugin())

	id := host.InitializeHttpContext()
	action := host.CallOnRequestHeaders(id, [][2]string{{":method", "GET"}, {":path", "/a"}, {":authority", "reviews"}, {"x-user", "jason"}, {"x-wasmesh-cluster", "reviews|v9"}}, true)
	require.Equal(t, types.ActionContinue, action)
	hs := host.GetCurrentRequestHeaders(id)
	require.Contains(t, hs, [2]string{"x-wasmesh-cluster", "reviews|v2"})
	require.NotContains(t, hs, [2]string{"x-wasmesh-cluster", "reviews|v9"})
	require.Contains(t, hs, [2]string{":path", "/v2/a"})
	require.Equal(t, 1, clears)

	id = host.InitializeHttpContext()
	host.CallOnRequestHeaders(id, [][2]string{{":method", "GET"}, {":path", "/a"}, {":authority", "ratings"}}, true)
	require.Equal(t, 1, clears, "nothing changed, no clear")
}

func TestPluginRefusesNative(t *testing.T) {
	opt := proxytest.NewEmulatorOption().WithPluginContext(NewPluginContext).
		WithPluginConfiguration([]byte(`{"rules":[{"match":{"path":{"regex":"(a"}}}],"x":1}`))
	host, reset := proxytest.NewHostEmulator(opt)
	defer reset()
	require.Equal(t, types.OnPluginStartStatusFailed, host.StartPlugin())
	require.Equal(t, []string{"router: invalid configuration: rules[0].match.path.regex: invalid regex \"(a\": missing closing ); x: unknown key"}, host.GetCriticalLogs())
}
