//go:build !wasm

package bundle

import (
	"testing"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/proxytest"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
	"github.com/stretchr/testify/require"
)

type started struct {
	types.DefaultPluginContext
	name string
	got  *string
}

func (s *started) OnPluginStart(int) types.OnPluginStartStatus {
	*s.got = s.name
	return types.OnPluginStartStatusOK
}

func TestDispatchNative(t *testing.T) {
	var got string
	plugins := map[string]Factory{
		"router": func(uint32) types.PluginContext { return &started{name: "router", got: &got} },
		"canary": func(uint32) types.PluginContext { return &started{name: "canary", got: &got} },
	}
	tests := []struct {
		root     string
		want     types.OnPluginStartStatus
		started  string
		critical []string
	}{
		{"canary", types.OnPluginStartStatusOK, "canary", nil},
		{"router", types.OnPluginStartStatusOK, "router", nil},
		{"fault", types.OnPluginStartStatusFailed, "", []string{`wasmesh: unknown root_id "fault" (known: canary, router)`}},
	}
	for _, tt := range tests {
		t.Run(tt.root, func(t *testing.T) {
			got = ""
			opt := proxytest.NewEmulatorOption().WithPluginContext(New("wasmesh", plugins)).
				WithProperty([]string{"plugin_root_id"}, []byte(tt.root))
			host, reset := proxytest.NewHostEmulator(opt)
			defer reset()
			require.Equal(t, tt.want, host.StartPlugin())
			require.Equal(t, tt.started, got)
			require.Equal(t, tt.critical, host.GetCriticalLogs())
		})
	}
}
