//go:build !wasip1

package metrics

import "github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"

// Natively the SDK's metric calls reach its proxytest host emulator.

func hostDefine(kind Kind, name string) uint32 {
	switch kind {
	case Gauge:
		return uint32(proxywasm.DefineGaugeMetric(name))
	case Histogram:
		return uint32(proxywasm.DefineHistogramMetric(name))
	}
	return uint32(proxywasm.DefineCounterMetric(name))
}

func hostIncrement(id uint32, n int64) { proxywasm.MetricGauge(id).Add(n) }

func hostRecord(id uint32, n uint64) { proxywasm.MetricHistogram(id).Record(n) }
