//go:build wasip1

package metrics

import (
	"strconv"
	"unsafe"
)

// The metric host calls are declared here rather than used through proxywasm's Define*Metric
// and Metric* methods: those format their (never expected) failures with fmt, and that alone
// links fmt and reflect (about 180 KB) into every module that counts anything.

//go:wasmimport env proxy_define_metric
func proxyDefineMetric(kind uint32, name *byte, size int32, id *uint32) uint32

//go:wasmimport env proxy_increment_metric
func proxyIncrementMetric(id uint32, offset int64) uint32

//go:wasmimport env proxy_record_metric
func proxyRecordMetric(id uint32, value uint64) uint32

// The ABI's metric types: counter 0, gauge 1, histogram 2 (Kind's order).
func hostDefine(kind Kind, name string) uint32 {
	var id uint32
	if st := proxyDefineMetric(uint32(kind), unsafe.StringData(name), int32(len(name)), &id); st != 0 {
		panic("metrics: define " + name + ": " + status(st))
	}
	return id
}

func hostIncrement(id uint32, n int64) {
	if st := proxyIncrementMetric(id, n); st != 0 {
		panic("metrics: increment " + strconv.FormatUint(uint64(id), 10) + " by " + strconv.FormatInt(n, 10) + ": " + status(st))
	}
}

func hostRecord(id uint32, n uint64) {
	if st := proxyRecordMetric(id, n); st != 0 {
		panic("metrics: record " + strconv.FormatUint(uint64(id), 10) + " value " + strconv.FormatUint(n, 10) + ": " + status(st))
	}
}

func status(st uint32) string { return "host status " + strconv.FormatUint(uint64(st), 10) }
