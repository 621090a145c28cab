// Command sdkex_metrics behaves like the proxy-wasm Go SDK's metrics example (written anew for
// wasmesh): it counts requests by the value of their "my-custom-header" header, one counter per
// value, named "custom_header_value_counts_value=<value>_reporter=wasmgosdk" so that a stats
// tag rule can turn value and reporter into Prometheus labels. Requests without the header are
// not counted.
package main

import (
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

func main() {}

func init() {
	proxywasm.SetHttpContext(func(uint32) types.HttpContext { return &stream{} })
}

// counters holds the counter of each header value seen so far (defined once per VM).
var counters = map[string]proxywasm.MetricCounter{}

type stream struct{ types.DefaultHttpContext }

func (*stream) OnHttpRequestHeaders(int, bool) types.Action {
	v, err := proxywasm.GetHttpRequestHeader("my-custom-header")
	if err != nil {
		return types.ActionContinue
	}
	c, ok := counters[v]
	if !ok {
		c = proxywasm.DefineCounterMetric("custom_header_value_counts_value=" + v + "_reporter=wasmgosdk")
		counters[v] = c
	}
	c.Increment(1)
	return types.ActionContinue
}
