package xds_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/wasmesh/wasmesh/controlplane/crd"
	"github.com/wasmesh/wasmesh/controlplane/xds/xdstest"
)

// Environment of the sidecar helper process (TestHelperSidecars).
const (
	helperAddr    = "WASMESH_XDS_HELPER_ADDR"
	helperClients = "WASMESH_XDS_HELPER_CLIENTS"
)

// TestHelperSidecars is not a test: BenchmarkHeapPerClient runs the test binary with it as a
// separate process holding the simulated sidecars, so the server's heap holds only the
// server's side. It dials $WASMESH_XDS_HELPER_CLIENTS clients to $WASMESH_XDS_HELPER_ADDR,
// prints "ready" once each holds all five types, and keeps them until stdin closes.
func TestHelperSidecars(t *testing.T) {
	addr := os.Getenv(helperAddr)
	if addr == "" {
		t.Skip("helper process for BenchmarkHeapPerClient")
	}
	n, err := strconv.Atoi(os.Getenv(helperClients))
	require.NoError(t, err)
	clients := dialMany(t, addr, n)
	fmt.Println("ready")
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	for _, c := range clients {
		_ = c.Close()
	}
}

func dialMany(t testing.TB, addr string, n int) []*xdstest.Client {
	t.Helper()
	clients, err := xdstest.DialFleet(addr, testCreds.Token, n, 2*time.Minute)
	require.NoError(t, err)
	return clients
}

// benchSet returns n Services svc-<i> (two versions each) with a canary split on each.
func benchSet(n int) *crd.Set {
	var objs []crd.Object
	for i := range n {
		name := fmt.Sprintf("svc-%d", i)
		objs = append(objs,
			&crd.Service{Metadata: crd.ObjectMeta{Name: name, Generation: 1}, Spec: crd.ServiceSpec{Port: 9080, Versions: []crd.ServiceVersion{
				{Name: "v1", Endpoints: []string{fmt.Sprintf("10.0.%d.%d:15006", i/250, i%250+1)}},
				{Name: "v2", Endpoints: []string{fmt.Sprintf("10.1.%d.%d:15006", i/250, i%250+1)}},
			}}},
			&crd.TrafficRoute{Metadata: crd.ObjectMeta{Name: name, Generation: 1}, Spec: crd.TrafficRouteSpec{Service: name,
				Split: &crd.Split{Weights: map[string]int{"v1": 90, "v2": 10}}}},
		)
	}
	return crd.NewSet(objs...)
}

func heapInUse() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// BenchmarkHeapPerClient measures the control plane's heap per connected sidecar: the
// growth of the xDS server's live heap (after GC) when N sidecars (a separate process,
// each on its own gRPC connection over loopback) connect and ACK a 10-Service mesh.
// Reported: heap-B/client.
//
//	go test ./controlplane/xds -run '^$' -bench HeapPerClient -benchtime 1x
func BenchmarkHeapPerClient(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("clients=%d", n), func(b *testing.B) {
			var perClient float64
			for range b.N {
				srv, addr := startServer(b)
				srv.Update(benchSet(10), 1)
				before := heapInUse()

				cmd := exec.Command(os.Args[0], "-test.run=^TestHelperSidecars$")
				cmd.Env = append(os.Environ(), helperAddr+"="+addr, helperClients+"="+strconv.Itoa(n))
				stdin, err := cmd.StdinPipe()
				require.NoError(b, err)
				stdout, err := cmd.StdoutPipe()
				require.NoError(b, err)
				cmd.Stderr = os.Stderr
				require.NoError(b, cmd.Start())
				line, err := bufio.NewReader(stdout).ReadString('\n')
				require.NoError(b, err, "helper: %q", line)
				require.Equal(b, "ready\n", line)
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				require.NoError(b, srv.WaitAcked(ctx, 1))
				cancel()
				require.Len(b, srv.Nodes(), n)
				after := heapInUse()
				perClient = float64(after-before) / float64(n)

				require.NoError(b, stdin.Close())
				require.NoError(b, cmd.Wait())
			}
			b.ReportMetric(perClient, "heap-B/client")
		})
	}
}

// BenchmarkUpdate1000Nodes measures one store change reaching the snapshots of 1,000
// registered nodes (translation of a 100-Service mesh and 1,000 per-node snapshots), without
// the network.
func BenchmarkUpdate1000Nodes(b *testing.B) {
	srv, addr := startServer(b)
	set := benchSet(100)
	srv.Update(set, 1)
	clients := dialMany(b, addr, 1000)
	defer func() {
		for _, c := range clients {
			_ = c.Close()
		}
	}()
	b.ResetTimer()
	for i := range b.N {
		srv.Update(set, uint64(i+2))
	}
}
