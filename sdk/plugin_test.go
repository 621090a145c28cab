//go:build !wasm

package sdk

import (
	"errors"
	"testing"
	"time"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/proxytest"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
	"github.com/stretchr/testify/require"
)

type testFilter struct{ body bool }

func (f testFilter) WantsBody() bool { return f.body }

func (testFilter) OnRequest(r *Request) Decision {
	switch r.PathOnly() {
	case "/deny":
		return Reply(403, "no\n")
	case "/slow":
		return Route("reviews", "v2").After(20 * time.Millisecond)
	case "/body":
		if string(r.Body) != "secret" {
			return Reply(400, "bad body\n")
		}
	}
	return Continue().SetHeader("x-seen", "1")
}

func start(t *testing.T, cfg string) (proxytest.HostEmulator, func()) {
	parse := func(data []byte) (testFilter, error) {
		if string(data) == "bad" {
			return testFilter{}, errors.Join(errors.New("a: unknown key"), errors.New("b: want a string"))
		}
		return testFilter{body: string(data) == "body"}, nil
	}
	opt := proxytest.NewEmulatorOption().WithPluginContext(NewPlugin("test", parse)).WithPluginConfiguration([]byte(cfg))
	host, reset := proxytest.NewHostEmulator(opt)
	host.RegisterForeignFunction("clear_route_cache", func([]byte) []byte { return []byte{0} })
	return host, reset
}

func TestNewPluginNative(t *testing.T) {
	host, reset := start(t, "")
	defer reset()
	require.Equal(t, types.OnPluginStartStatusOK, host.StartPlugin())
	hdr := func(path string) [][2]string {
		return [][2]string{{":method", "GET"}, {":path", path}, {":authority", "reviews"}}
	}

	id := host.InitializeHttpContext()
	require.Equal(t, types.ActionContinue, host.CallOnRequestHeaders(id, hdr("/"), true))
	require.Contains(t, host.GetCurrentRequestHeaders(id), [2]string{"x-seen", "1"})

	id = host.InitializeHttpContext()
	host.CallOnRequestHeaders(id, hdr("/deny"), true)
	require.Equal(t, uint32(403), host.GetSentLocalResponse(id).StatusCode)

	id = host.InitializeHttpContext()
	require.Equal(t, types.ActionPause, host.CallOnRequestHeaders(id, hdr("/slow"), true))
	require.NotZero(t, host.GetTickPeriod())
	time.Sleep(25 * time.Millisecond)
	host.Tick()
	require.Equal(t, types.ActionContinue, host.GetCurrentHttpStreamAction(id))
	require.Contains(t, host.GetCurrentRequestHeaders(id), [2]string{RoutingHeader, "reviews|v2"})
	require.Zero(t, host.GetTickPeriod())
}

func TestNewPluginBodyNative(t *testing.T) {
	host, reset := start(t, "body")
	defer reset()
	require.Equal(t, types.OnPluginStartStatusOK, host.StartPlugin())
	id := host.InitializeHttpContext()
	require.Equal(t, types.ActionPause, host.CallOnRequestHeaders(id, [][2]string{{":method", "POST"}, {":path", "/body"}, {":authority", "r"}}, false))
	require.Equal(t, types.ActionPause, host.CallOnRequestBody(id, []byte("sec"), false))
	require.Equal(t, types.ActionContinue, host.CallOnRequestBody(id, []byte("ret"), true))
	require.Nil(t, host.GetSentLocalResponse(id))
}

func TestNewPluginRefusesNative(t *testing.T) {
	host, reset := start(t, "bad")
	defer reset()
	require.Equal(t, types.OnPluginStartStatusFailed, host.StartPlugin())
	require.Equal(t, []string{"test: invalid configuration: a: unknown key; b: want a string"}, host.GetCriticalLogs())
}
