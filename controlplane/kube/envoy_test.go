package kube_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/wasmesh/wasmesh/controlplane/crd"
	"github.com/wasmesh/wasmesh/controlplane/kube"
	"github.com/wasmesh/wasmesh/controlplane/xds"
	"github.com/wasmesh/wasmesh/internal/bootstrap"
	"github.com/wasmesh/wasmesh/testenv/e2e"
)

// sidecar is a real Envoy bootstrapped as the injector would bootstrap a pod's sidecar
// (node id <pod>.<namespace>), in front of an app; its inbound address stands for the pod's
// address in the EndpointSlices.
type sidecar struct {
	*e2e.Envoy
	params bootstrap.Params
	app    *e2e.Upstream
}

func (s *sidecar) inboundPort() int {
	_, p, _ := net.SplitHostPort(s.params.InboundAddress)
	n, _ := strconv.Atoi(p)
	return n
}

// startSidecar starts the app and the Envoy of a pod; xdsAddrs and modulesAddrs list the
// control-plane replicas (comma-separated).
func (e *env) startSidecar(t *testing.T, ns, pod, service, version, xdsAddrs, modulesAddrs string) *sidecar {
	t.Helper()
	app := e2e.UpstreamT(t, e2e.UpstreamOptions{Service: service, Version: version})
	ports := e2e.FreePortsT(t, 3)
	hp := func(p int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(p)) }
	nodeID := pod + "." + ns
	creds, err := xds.NewCredentials(e.key)
	require.NoError(t, err)
	p := bootstrap.Params{
		NodeID: nodeID, Service: service, Version: version,
		AppAddress: app.Addr(), InboundAddress: hp(ports[0]), OutboundAddress: hp(ports[1]), AdminAddress: hp(ports[2]),
		XDSAddress: xdsAddrs, ModulesAddress: modulesAddrs, XDSToken: creds.Token(nodeID),
	}
	cfg, err := bootstrap.Render(p)
	require.NoError(t, err)
	env := e2e.EnvoyT(t, e2e.EnvoyOptions{Name: nodeID, Config: cfg, NoWaitReady: true})
	return &sidecar{Envoy: env, params: p, app: app}
}

func (s *sidecar) waitReady(t *testing.T) {
	t.Helper()
	require.NoError(t, e2e.WaitFor(e2e.StartTimeout, func() error {
		_, err := s.AdminGet("/ready")
		return err
	}), "%s never became ready\n%s", s.Name, s.LogProblems(30))
}

// get sends one request for reviews through the sidecar's outbound listener and returns the
// app that served it (x-served-by: reviews-v2).
func (s *sidecar) get(c *http.Client) (string, error) {
	req, err := http.NewRequest(http.MethodGet, "http://"+s.params.OutboundAddress+"/", nil)
	if err != nil {
		return "", err
	}
	req.Host = "reviews"
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("status %d: %s", resp.StatusCode, body)
	}
	return resp.Header.Get(e2e.HeaderServedBy), nil
}

// waitServedBy waits until n requests in a row are served by want.
func (s *sidecar) waitServedBy(t *testing.T, want string, n int) {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	require.NoError(t, e2e.WaitFor(e2e.StartTimeout, func() error {
		for range n {
			got, err := s.get(c)
			if err != nil {
				return err
			}
			if got != want {
				return fmt.Errorf("served by %q, want %q", got, want)
			}
		}
		return nil
	}), "%s\n%s", s.Name, s.LogProblems(30))
}

// meshPods creates the pods, Services and EndpointSlices of frontend and reviews v1 (v2's
// pod and sidecar too, but not its EndpointSlice) and starts their sidecars.
func (e *env) meshPods(t *testing.T, ns, xdsAddrs, modulesAddrs string) map[string]*sidecar {
	t.Helper()
	ctx := context.Background()
	pods := []struct{ pod, service, version string }{
		{"frontend-0", "frontend", "v1"}, {"reviews-v1-0", "reviews", "v1"}, {"reviews-v2-0", "reviews", "v2"},
	}
	out := map[string]*sidecar{}
	for _, p := range pods {
		require.NoError(t, e.putPod(ctx, ns, p.pod, p.service, p.version))
		out[p.pod] = e.startSidecar(t, ns, p.pod, p.service, p.version, xdsAddrs, modulesAddrs)
	}
	for _, svc := range []string{"frontend", "reviews"} {
		require.NoError(t, e.ensureService(ctx, ns, svc, 9080))
	}
	require.NoError(t, e.putSlice(ctx, ns, "frontend", "frontend-0", "frontend-0", out["frontend-0"].inboundPort()))
	require.NoError(t, e.putSlice(ctx, ns, "reviews", "reviews-v1-0", "reviews-v1-0", out["reviews-v1-0"].inboundPort()))
	for _, s := range out {
		s.waitReady(t)
	}
	return out
}

func canary(ns string, v1, v2 int) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": crd.APIVersion, "kind": "TrafficRoute",
		"metadata": map[string]any{"name": "reviews", "namespace": ns},
		"spec": map[string]any{"service": "reviews", "split": map[string]any{
			"weights": map[string]any{"v1": int64(v1), "v2": int64(v2)}, "responseHeader": "x-wasmesh-version"}},
	}}
}

// Services, EndpointSlices and pods' version labels in the API server become the sidecars'
// clusters; a TrafficRoute applied through the API server changes a real Envoy's canary
// split; the route's status subresource shows the sidecar's ACK of its generation.
func TestEnvoyFollowsTheAPIServer(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	ns := e.namespace(t, "mesh")
	cp := e.webhook
	sc := e.meshPods(t, ns, cp.XDSAddr, cp.HTTPAddr)
	front := sc["frontend-0"]
	front.waitServedBy(t, "reviews-v1", 5)

	// An EndpointSlice for v2 reaches the frontend's Envoy: its v2 cluster gets the endpoint.
	v2 := sc["reviews-v2-0"]
	want := fmt.Sprintf("reviews|v2|endpoints::127.0.0.1:%d::", v2.inboundPort())
	clusters, err := front.AdminGet("/clusters")
	require.NoError(t, err)
	require.NotContains(t, clusters, want)
	require.NoError(t, e.putSlice(ctx, ns, "reviews", "reviews-v2-0", "reviews-v2-0", v2.inboundPort()))
	require.NoError(t, e2e.WaitFor(e2e.StartTimeout, func() error {
		c, err := front.AdminGet("/clusters")
		if err != nil {
			return err
		}
		if !strings.Contains(c, want) {
			return fmt.Errorf("no %s in the frontend's clusters", want)
		}
		return nil
	}))

	// A TrafficRoute through the API server moves the split: all to v2, then all to v1.
	_, err = e.apply(ctx, canary(ns, 0, 100))
	require.NoError(t, err)
	front.waitServedBy(t, "reviews-v2", 10)
	u, err := e.apply(ctx, canary(ns, 100, 0))
	require.NoError(t, err)
	front.waitServedBy(t, "reviews-v1", 10)

	// The status subresource shows the frontend's ACK of the route's current generation.
	e.waitStatusAcked(t, ns, "reviews", u.GetGeneration(), "frontend-0."+ns)
}

// waitStatusAcked waits until the TrafficRoute's status has observed the generation and
// lists the node as acked.
func (e *env) waitStatusAcked(t *testing.T, ns, name string, gen int64, node string) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, e2e.WaitFor(e2e.StartTimeout, func() error {
		got, err := e.dc.Resource(kube.GVR(crd.KindTrafficRoute)).Namespace(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		obs, _, _ := unstructured.NestedInt64(got.Object, "status", "observedGeneration")
		nodes, _, _ := unstructured.NestedSlice(got.Object, "status", "nodes")
		if obs != gen {
			return fmt.Errorf("observedGeneration %d, want %d (status %v)", obs, gen, got.Object["status"])
		}
		for _, n := range nodes {
			m, _ := n.(map[string]any)
			if m["node"] == node && m["state"] == string(crd.Acked) {
				return nil
			}
		}
		return fmt.Errorf("no acked %s in status %v", node, got.Object["status"])
	}))
}
