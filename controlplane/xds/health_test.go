package xds

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseHealth(t *testing.T) {
	body := `wasm.wasmesh.plugin.auth.vm_reload: 3
wasm.wasmesh.plugin.auth.vm_reload_backoff: 2
wasm.wasmesh.plugin.auth.vm_reload_failure: 1
wasm.wasmesh.plugin.auth.vm_reload_success: 2
wasm.wasmesh.plugin.ns.other.vm_reload_success: 0
wasmcustom.wasmesh_plugin_panics_total;plugin=wasmesh.plugin.auth;stage=auth: 4
wasmcustom.wasmesh_plugin_panics_total;plugin=wasmesh.plugin.auth;stage=audit: 1
garbage line
wasm.envoy.wasm.runtime.v8.active: 2
`
	got := parseHealth(body)
	require.Equal(t, map[string]pluginStats{
		"wasmesh.plugin.auth":     {Panics: 5, Reloads: 2, ReloadFailures: 1, ReloadBackoffs: 2},
		"wasmesh.plugin.ns.other": {},
	}, got)
	require.Equal(t, "crashed 5 time(s), each failing one request (panics recovered); Envoy reloaded its VM 2 time(s) after a trap; 1 reload(s) failed; 2 request(s) failed while a reload backed off",
		got["wasmesh.plugin.auth"].String())
	require.Empty(t, pluginStats{}.String())
}

func TestHealthReadsLoopbackAdminsOnly(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:15000": true, "[::1]:15000": true, "127.9.0.3:1": true,
		"10.0.0.1:15000": false, "example.com:15000": false, "": false, "127.0.0.1": false,
	} {
		require.Equal(t, want, loopback(addr), addr)
	}
}
