package sandbox

import (
	"fmt"
	"net"
	"testing"

	"github.com/stretchr/testify/require"
)

// freeBase finds a base port whose whole block is free (FreeBasePort).
func freeBase(t *testing.T) int {
	t.Helper()
	base, err := FreeBasePort()
	if err != nil {
		t.Fatal(err)
	}
	return base
}

func TestTopologyPortsAreDistinct(t *testing.T) {
	top := NewTopology(DefaultBasePort)
	seen := map[int]string{}
	for _, p := range top.HostPorts() {
		require.NotContains(t, seen, p.Port, "%s and %s", seen[p.Port], p.What)
		seen[p.Port] = p.What
		require.GreaterOrEqual(t, p.Port, top.BasePort)
		require.Less(t, p.Port, top.BasePort+PortSpan)
	}
	require.Equal(t, 18010, top.Frontend().Inbound)
	require.Equal(t, "reviews.v2.0", top.Instances[2].NodeID())
}

func TestBusyPortIsNamed(t *testing.T) {
	base := freeBase(t)
	top := NewTopology(base)
	ln, err := net.Listen("tcp", top.Addr(top.Instances[2].Admin))
	require.NoError(t, err)
	defer ln.Close()

	err = checkPorts(top)
	require.ErrorIs(t, err, ErrPortInUse)
	require.Equal(t, fmt.Sprintf("port %d (reviews v2 sidecar admin): port in use\n"+
		"another sandbox may be running; stop it, or pick another block of 60 ports with --base-port (e.g. --base-port %d)",
		base+32, base+1000), err.Error())

	_, err = Start(t.Context(), Options{BasePort: base, Root: "..", NoBuild: true})
	require.ErrorIs(t, err, ErrPortInUse)
}

func TestBasePortOutOfRange(t *testing.T) {
	tests := []struct {
		base int
		want string
	}{
		{80, "--base-port: base port 80: must be between 1024 and 65475"},
		{65500, "--base-port: base port 65500: must be between 1024 and 65475"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.base), func(t *testing.T) {
			_, err := Start(t.Context(), Options{BasePort: tt.base, Root: ".."})
			require.EqualError(t, err, tt.want)
		})
	}
}
