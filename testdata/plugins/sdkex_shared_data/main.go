// Command sdkex_shared_data behaves like the proxy-wasm Go SDK's shared_data example (written
// anew for wasmesh): every request increments one counter kept in the host's shared key-value
// store (shared by every VM of the host), with compare-and-swap so concurrent increments are
// never lost, and logs "shared value: N". The VM start resets the key to empty.
package main

import (
	"encoding/binary"
	"errors"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

func main() {}

func init() { proxywasm.SetVMContext(vm{}) }

// key is the shared-data key of the counter (little-endian uint64; empty = 0).
const key = "shared_data_key"

type vm struct{ types.DefaultVMContext }

func (vm) OnVMStart(int) types.OnVMStartStatus {
	if err := proxywasm.SetSharedData(key, []byte{}, 0); err != nil {
		proxywasm.LogWarnf("resetting %s: %v", key, err)
	}
	return types.OnVMStartStatusOK
}

func (vm) NewPluginContext(uint32) types.PluginContext { return &plugin{} }

type plugin struct{ types.DefaultPluginContext }

func (*plugin) NewHttpContext(uint32) types.HttpContext { return &stream{} }

type stream struct{ types.DefaultHttpContext }

// increment adds one to the counter, retrying while another writer wins the race.
func increment() (uint64, error) {
	for {
		data, cas, err := proxywasm.GetSharedData(key)
		if err != nil {
			return 0, err
		}
		var n uint64
		if len(data) == 8 {
			n = binary.LittleEndian.Uint64(data)
		}
		n++
		buf := binary.LittleEndian.AppendUint64(nil, n)
		err = proxywasm.SetSharedData(key, buf, cas)
		if errors.Is(err, types.ErrorStatusCasMismatch) {
			continue
		}
		return n, err
	}
}

func (*stream) OnHttpRequestHeaders(int, bool) types.Action {
	n, err := increment()
	if err != nil {
		proxywasm.LogWarnf("incrementing %s: %v", key, err)
		return types.ActionContinue
	}
	proxywasm.LogInfof("shared value: %d", n)
	return types.ActionContinue
}
