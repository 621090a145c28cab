package testenv

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/wasmesh/wasmesh/sdk"
)

// Issue 10, item 3, in the compiled module: a filter built on the sdk that panics on one
// request fails that request only (500, naming the stage); the VM keeps serving and counts
// the panic.
func TestSDKPanicCostsOneRequest(t *testing.T) {
	env := newEnv(t, []Filter{filter(t, "sdkpanic")})
	res := env.Do(Request{Path: "/", Authority: "reviews", Headers: Headers{{"x-trap", "1"}}})
	require.NoError(t, res.Err)
	require.Equal(t, 500, res.Response.Status)
	require.True(t, res.LocalReply)
	require.Equal(t, "sdkpanic", res.Response.Headers.Get("x-wasmesh-plugin-error"))
	for range 50 {
		res := env.Do(Request{Path: "/", Authority: "reviews"})
		require.NoError(t, res.Err)
		require.Equal(t, 200, res.Response.Status)
		require.NotNil(t, res.Upstream)
		require.Equal(t, "ok", res.Upstream.Headers.Get("x-sdkpanic"))
	}
	require.Equal(t, 1.0, env.Metrics()[sdk.PanicsMetric+";plugin=sdkpanic;stage=sdkpanic"], "%v", env.Metrics())
}
