//go:build !wasm

package fault

import (
	"testing"
	"time"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/proxytest"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
	"github.com/stretchr/testify/require"
)

// The delay pauses the stream, the tick resumes it once due, and the tick switches off again.
func TestPluginDelayNative(t *testing.T) {
	opt := proxytest.NewEmulatorOption().WithPluginContext(NewPluginContext).
		WithPluginConfiguration([]byte(`{"rules":[{"delay":{"fixed":"30ms"}}],"maxActiveDelays":1}`))
	host, reset := proxytest.NewHostEmulator(opt)
	defer reset()
	require.Equal(t, types.OnPluginStartStatusOK, host.StartPlugin())
	req := [][2]string{{":method", "GET"}, {":path", "/"}, {":authority", "reviews"}}

	a := host.InitializeHttpContext()
	require.Equal(t, types.ActionPause, host.CallOnRequestHeaders(a, req, true))
	require.NotZero(t, host.GetTickPeriod(), "the tick runs while a stream is delayed")
	b := host.InitializeHttpContext()
	require.Equal(t, types.ActionContinue, host.CallOnRequestHeaders(b, req, true), "over maxActiveDelays the delay is skipped")

	host.Tick()
	require.Equal(t, types.ActionPause, host.GetCurrentHttpStreamAction(a), "not due yet")
	time.Sleep(35 * time.Millisecond)
	host.Tick()
	require.Equal(t, types.ActionContinue, host.GetCurrentHttpStreamAction(a))
	require.Zero(t, host.GetTickPeriod(), "no delayed stream, no tick")
	n, err := host.GetCounterMetric("wasmesh_faults_injected_total;service=reviews;kind=delay")
	require.NoError(t, err)
	require.Equal(t, uint64(1), n)
	n, err = host.GetCounterMetric("wasmesh_faults_injected_total;service=reviews;kind=delay_skipped")
	require.NoError(t, err)
	require.Equal(t, uint64(1), n)
}

func TestPluginAbortNative(t *testing.T) {
	opt := proxytest.NewEmulatorOption().WithPluginContext(NewPluginContext).
		WithPluginConfiguration([]byte(`{"services":{"reviews":{"rules":[{"abort":{"httpStatus":503}}]}}}`))
	host, reset := proxytest.NewHostEmulator(opt)
	defer reset()
	require.Equal(t, types.OnPluginStartStatusOK, host.StartPlugin())
	id := host.InitializeHttpContext()
	host.CallOnRequestHeaders(id, [][2]string{{":method", "GET"}, {":path", "/"}, {":authority", "reviews:9080"}}, true)
	resp := host.GetSentLocalResponse(id)
	require.NotNil(t, resp)
	require.Equal(t, uint32(503), resp.StatusCode)
}

// A body arriving while the stream is delayed is held: continuing it would resume the stream.
func TestPluginDelayHoldsBodyNative(t *testing.T) {
	opt := proxytest.NewEmulatorOption().WithPluginContext(NewPluginContext).
		WithPluginConfiguration([]byte(`{"rules":[{"delay":{"fixed":"20ms"}}]}`))
	host, reset := proxytest.NewHostEmulator(opt)
	defer reset()
	require.Equal(t, types.OnPluginStartStatusOK, host.StartPlugin())
	id := host.InitializeHttpContext()
	require.Equal(t, types.ActionPause, host.CallOnRequestHeaders(id, [][2]string{{":method", "POST"}, {":path", "/"}, {":authority", "reviews"}}, false))
	require.Equal(t, types.ActionPause, host.CallOnRequestBody(id, []byte("data"), true))
	time.Sleep(25 * time.Millisecond)
	host.Tick()
	require.Equal(t, types.ActionContinue, host.GetCurrentHttpStreamAction(id))
}
