package kube_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/wasmesh/wasmesh/controlplane"
	"github.com/wasmesh/wasmesh/controlplane/kube/kubetest"
	"github.com/wasmesh/wasmesh/testenv/e2e"
)

func connected(cp *controlplane.KubernetesControlPlane) int {
	n := 0
	for _, s := range cp.XDS.Nodes() {
		if s.Connected {
			n++
		}
	}
	return n
}

// Two control-plane replicas read the API server and both serve xDS; the sidecars list both.
// Under load through the frontend sidecar, the replica serving sidecars is closed: no
// request fails, the sidecars reconnect to the other replica, and a TrafficRoute applied
// through the API server afterwards reaches them (acknowledged, and the split moves).
func TestReplicaKill(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	replicas := map[string]*controlplane.KubernetesControlPlane{}
	for _, name := range []string{"replica-a", "replica-b"} {
		cp, err := e.startReplica(ctx, name, nil, nil)
		require.NoError(t, err)
		replicas[name] = cp
		t.Cleanup(func() { _ = cp.Close() })
	}
	a, b := replicas["replica-a"], replicas["replica-b"]
	ns := e.namespace(t, "replicas")
	sc := e.meshPods(t, ns, a.XDSAddr+","+b.XDSAddr, a.HTTPAddr+","+b.HTTPAddr)
	require.NoError(t, e.putSlice(ctx, ns, "reviews", "reviews-v2-0", "reviews-v2-0", sc["reviews-v2-0"].inboundPort()))
	_, err := e.apply(ctx, canary(ns, 100, 0))
	require.NoError(t, err)
	front := sc["frontend-0"]
	front.waitServedBy(t, "reviews-v1", 5)

	// Load: 4 workers on keep-alive connections through the frontend sidecar.
	var ok, failed atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A slow answer on a busy machine is not a failed request: the timeout only
			// bounds a hang.
			c := &http.Client{Timeout: time.Minute}
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := front.get(c); err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				} else {
					ok.Add(1)
				}
			}
		}()
	}
	stopLoad := func() {
		select {
		case <-stop:
		default:
			close(stop)
			wg.Wait()
		}
	}
	defer stopLoad()
	require.NoError(t, e2e.WaitFor(e2e.StartTimeout, func() error {
		if ok.Load() < 200 {
			return fmt.Errorf("%d requests so far", ok.Load())
		}
		return nil
	}))

	// Close the replica serving more sidecars (every sidecar connected to one or the other).
	victim, survivorName := "replica-a", "replica-b"
	if connected(b) > connected(a) {
		victim, survivorName = "replica-b", "replica-a"
	}
	survivor := replicas[survivorName]
	moved := connected(replicas[victim])
	require.Positive(t, moved, "no sidecar on either replica")
	killedAt := time.Now()
	e.stopReplica(t, victim, replicas[victim])
	require.NoError(t, e2e.WaitFor(e2e.StartTimeout, func() error {
		if n := connected(survivor); n < 3 {
			return fmt.Errorf("%d of 3 sidecars on %s", n, survivorName)
		}
		return nil
	}))
	reconnect := time.Since(killedAt)

	// New configuration through the API server reaches every sidecar through the survivor,
	// and the status (written by whichever replica holds the Lease now) shows the ACK.
	u, err := e.apply(ctx, canary(ns, 0, 100))
	require.NoError(t, err)
	front.waitServedBy(t, "reviews-v2", 10)
	e.waitStatusAcked(t, ns, "reviews", u.GetGeneration(), "frontend-0."+ns)
	// One writer: the status Lease is held by a live replica (a closed one releases it).
	lease, err := e.kc.CoordinationV1().Leases("default").Get(ctx, "wasmesh-status", metav1.GetOptions{})
	require.NoError(t, err)
	require.NotNil(t, lease.Spec.HolderIdentity)
	require.Contains(t, []string{"webhook", survivorName}, *lease.Spec.HolderIdentity)
	wctx, cancel := context.WithTimeout(ctx, kubetest.StartTimeout)
	defer cancel()
	require.NoError(t, survivor.XDS.WaitAcked(wctx, survivor.Source.Revision()))
	for _, n := range survivor.XDS.Nodes() {
		for _, ty := range n.Types {
			require.Empty(t, ty.NACK, "%s %s", n.ID, ty.Type)
			require.Equal(t, ty.Sent, ty.Acked, "%s %s", n.ID, ty.Type)
		}
	}
	stopLoad()
	t.Logf("replica kill: %d sidecar(s) moved from %s to %s in %s; %d requests, %d failed",
		moved, victim, survivorName, reconnect.Round(time.Millisecond), ok.Load()+failed.Load(), failed.Load())
	require.Zero(t, failed.Load(), "first failure: %v", firstErr.Load())
}
