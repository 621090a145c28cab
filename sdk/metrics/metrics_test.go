//go:build !wasm

package metrics

import (
	"fmt"
	"testing"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/proxytest"
	"github.com/stretchr/testify/require"
)

func TestName(t *testing.T) {
	tests := []struct {
		kv   []string
		want string
	}{
		{nil, "requests"},
		{[]string{"service", "reviews", "version", "v2"}, "requests;service=reviews;version=v2"},
		{[]string{"path", "a;b=c d"}, "requests;path=a_b_c_d"},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, Name("requests", tt.kv...))
	}
}

func TestVec(t *testing.T) {
	host, reset := proxytest.NewHostEmulator(proxytest.NewEmulatorOption())
	defer reset()
	v := NewVec(Counter, "requests", "service", "version")
	v.Add(1, "reviews", "v1")
	v.Add(2, "reviews", "v1")
	v.Add(1, "reviews", "v2")
	require.Equal(t, v.ID("reviews", "v1"), v.ID("reviews", "v1"))
	require.NotEqual(t, v.ID("reviews", "v1"), v.ID("reviews", "v2"))
	got, err := host.GetCounterMetric("requests;service=reviews;version=v1")
	require.NoError(t, err)
	require.Equal(t, uint64(3), got)
	got, err = host.GetCounterMetric("requests;service=reviews;version=v2")
	require.NoError(t, err)
	require.Equal(t, uint64(1), got)
	require.Zero(t, testing.AllocsPerRun(100, func() { v.ID("reviews", "v1") }))
}

func ExampleName() {
	fmt.Println(Name("orders_total", "service", "reviews", "version", "v2"))
	// Output: orders_total;service=reviews;version=v2
}
