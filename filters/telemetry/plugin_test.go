//go:build !wasm

package telemetry

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/proxytest"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
	"github.com/stretchr/testify/require"
	"github.com/wasmesh/wasmesh/sdk/tracecontext"
)

func TestPluginNative(t *testing.T) {
	opt := proxytest.NewEmulatorOption().WithPluginContext(NewPluginContext).
		WithPluginConfiguration([]byte(`{"metrics":{"dimensions":["destination_service","method","response_code_class"]}}`))
	host, reset := proxytest.NewHostEmulator(opt)
	defer reset()
	require.Equal(t, types.OnPluginStartStatusOK, host.StartPlugin())
	id := host.InitializeHttpContext()
	host.CallOnRequestHeaders(id, [][2]string{{":method", "POST"}, {":path", "/x"}, {":authority", "reviews"},
		{"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}}, false)
	host.CallOnRequestBody(id, []byte("hello"), true)
	host.CallOnResponseHeaders(id, [][2]string{{":status", "201"}}, false)
	host.CallOnResponseBody(id, []byte("0123456789"), true)
	host.CompleteHttpContext(id)

	var tp, rid string
	for _, kv := range host.GetCurrentRequestHeaders(id) {
		switch kv[0] {
		case "traceparent":
			tp = kv[1]
		case "x-request-id":
			rid = kv[1]
		}
	}
	p, ok := tracecontext.Parse(tp)
	require.True(t, ok)
	require.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", p.TraceIDString())
	require.NotEmpty(t, rid)

	const tags = ";destination_service=reviews;method=POST;response_code_class=2xx"
	for name, want := range map[string]uint64{MetricRequests: 1, MetricRequestBytes: 5, MetricResponseBytes: 10} {
		got, err := host.GetCounterMetric(name + tags)
		require.NoError(t, err, name)
		require.Equal(t, want, got, name)
	}
	_, err := host.GetHistogramMetric(MetricRequestDuration + tags)
	require.NoError(t, err)

	var lines []string
	for _, l := range host.GetInfoLogs() {
		if s, ok := strings.CutPrefix(l, AccessLogPrefix); ok {
			lines = append(lines, s)
		}
	}
	require.Len(t, lines, 1)
	var entry map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &entry))
	require.Equal(t, 201.0, entry["status"])
	require.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", entry["trace_id"])
}
