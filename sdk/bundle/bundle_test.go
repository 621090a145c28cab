package bundle

import (
	"fmt"
	"testing"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
	"github.com/stretchr/testify/require"
)

func TestLookup(t *testing.T) {
	plugins := map[string]Factory{
		"router": func(uint32) types.PluginContext { return &types.DefaultPluginContext{} },
		"canary": func(uint32) types.PluginContext { return &types.DefaultPluginContext{} },
	}
	f, err := Lookup(plugins, "router")
	require.NoError(t, err)
	require.NotNil(t, f)
	_, err = Lookup(plugins, "routr")
	require.EqualError(t, err, `unknown root_id "routr" (known: canary, router)`)
	_, err = Lookup(plugins, "")
	require.EqualError(t, err, `unknown root_id "" (known: canary, router)`)
}

func ExampleLookup() {
	plugins := map[string]Factory{"router": nil, "canary": nil}
	_, err := Lookup(plugins, "fault")
	fmt.Println(err)
	// Output: unknown root_id "fault" (known: canary, router)
}
