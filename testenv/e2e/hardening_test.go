package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/wasmesh/wasmesh/controlplane/crd"
)

// Issue 10, item 1 in real Envoy: a sidecar whose bootstrap carries no credential, or another
// node's, gets no configuration (it never becomes ready) and never appears in the status; the
// sidecar with its own credential is served.
func TestEnvoyXDSAuthentication(t *testing.T) {
	wasm(t, "wasmesh")
	cp := ControlPlaneT(t, filepath.Join(repoRoot(t), "build"))
	good := SidecarT(t, cp, SidecarOptions{Service: "reviews", Version: "v1"})
	none := SidecarT(t, cp, SidecarOptions{Service: "reviews", Version: "v1", Index: 1, NoWaitReady: true, NoCredential: true})
	stolen := SidecarT(t, cp, SidecarOptions{Service: "reviews", Version: "v1", Index: 2, NoWaitReady: true, Credential: cp.SidecarToken(good.Params.NodeID)})

	// Both impostors keep retrying; give them the time the good one needed several times over.
	for _, s := range []*Sidecar{none, stolen} {
		require.NoError(t, WaitFor(20*time.Second, func() error {
			connected, _, err := s.Stat("control_plane.connected_state")
			if err != nil {
				return err
			}
			if connected != 0 {
				return fmt.Errorf("%s: connected_state %d", s.Name, connected)
			}
			if attempts, _, _ := s.Stat("cluster.wasmesh-xds.upstream_rq_total"); attempts < 2 {
				return fmt.Errorf("%s: %d ADS attempts so far", s.Name, attempts)
			}
			return nil
		}), "%s", s.LogTail(20))
		_, err := s.AdminGet("/ready")
		require.Error(t, err, "%s became ready without a valid credential", s.Name)
		lds, _, err := s.Stat("listener_manager.lds.update_success")
		require.NoError(t, err)
		require.Zero(t, lds, "%s received listeners", s.Name)
	}
	st, err := cp.Client().Status(context.Background())
	require.NoError(t, err)
	var ids []string
	for _, n := range st.Nodes {
		ids = append(ids, n.ID)
	}
	require.Equal(t, []string{good.Params.NodeID}, ids)
	_, err = good.AdminGet("/ready")
	require.NoError(t, err)
}

// Issue 10, item 2 in real Envoy: the frontend app forwards x-wasmesh-fault (as the demo apps
// do) to ratings through its sidecar, and ratings has a FaultInjection whose trigger header is
// enabled. A client outside the mesh sending the header to the frontend never faults the
// internal hop: the frontend sidecar's inbound listener strips every x-wasmesh-* header. The
// same header sent by the app itself (on its own outbound listener) does fault the call, with
// a delay capped by triggerHeader.maxDelay; a trigger limited to other callers does nothing.
func TestEnvoyOutsideTriggerNeverReachesInternalHop(t *testing.T) {
	wasm(t, "wasmesh")
	cp := ControlPlaneT(t, filepath.Join(repoRoot(t), "build"))
	ratings := SidecarT(t, cp, SidecarOptions{Service: "ratings", Version: "v1", NoWaitReady: true})
	frontend := SidecarT(t, cp, SidecarOptions{Service: "frontend", Version: "v1", NoWaitReady: true,
		App: UpstreamOptions{NextHost: "ratings"}})
	applyAckedT(t, cp, fmt.Sprintf(`apiVersion: wasmesh.io/v1alpha1
kind: Service
metadata: {name: frontend}
spec: {port: 9080, versions: [{name: v1, endpoints: [%q]}]}
---
apiVersion: wasmesh.io/v1alpha1
kind: Service
metadata: {name: ratings}
spec: {port: 9080, versions: [{name: v1, endpoints: [%q]}]}
---
apiVersion: wasmesh.io/v1alpha1
kind: FaultInjection
metadata: {name: ratings}
spec:
  service: ratings
  triggerHeader: {enabled: true, maxDelay: 300ms}
`, frontend.Params.InboundAddress, ratings.Params.InboundAddress))
	waitReady(t, frontend, ratings)
	client := &http.Client{Timeout: 20 * time.Second}
	send := func(url, host string, h map[string]string) (int, Echo) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, url+"/", nil)
		require.NoError(t, err)
		req.Host = host
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var e Echo
		if resp.StatusCode == http.StatusOK && host == "frontend" {
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&e))
		}
		return resp.StatusCode, e
	}
	// The app's own call with the header is faulted (the filter honours the trigger) ...
	require.NoError(t, WaitFor(30*time.Second, func() error {
		if code, _ := send(frontend.OutboundURL(), "ratings", map[string]string{"x-wasmesh-fault": "abort=503"}); code != 503 {
			return fmt.Errorf("app's own trigger: status %d, want 503", code)
		}
		return nil
	}), "%s", frontend.LogProblems(20))
	// ... and its delay is capped: an hour would be cut by the route timeout (15s, 504).
	code, _ := send(frontend.OutboundURL(), "ratings", map[string]string{"x-wasmesh-fault": "delay=1h"})
	require.Equal(t, http.StatusOK, code, "a triggered delay of 1h was not capped")

	// From outside the mesh the same header never reaches the internal hop.
	const n = 200
	ratings.App.Reset()
	failed := 0
	for range n {
		code, e := send(frontend.InboundURL(), "frontend", map[string]string{"x-wasmesh-fault": "abort=503", "x-wasmesh-cluster": "ratings|v1"})
		if code != http.StatusOK || e.Next == nil || e.Next.Status != http.StatusOK {
			failed++
			continue
		}
		for k := range e.Headers {
			require.False(t, strings.HasPrefix(strings.ToLower(k), "x-wasmesh-"), "the frontend app received %s from outside", k)
		}
	}
	require.Zero(t, failed, "%d of %d outside requests were faulted on the internal hop", failed, n)
	require.Len(t, ratings.App.Received(), n)
	for _, r := range ratings.App.Received() {
		require.Empty(t, r.Header.Get("x-wasmesh-fault"), "the trigger reached ratings")
	}

	// A trigger limited to other callers is not honoured on the frontend's sidecar.
	applyAckedT(t, cp, `apiVersion: wasmesh.io/v1alpha1
kind: FaultInjection
metadata: {name: ratings}
spec:
  service: ratings
  triggerHeader: {enabled: true, callers: [reviews]}
`)
	code, _ = send(frontend.OutboundURL(), "ratings", map[string]string{"x-wasmesh-fault": "abort=503"})
	require.Equal(t, http.StatusOK, code, "a trigger limited to reviews faulted the frontend's call")
	applyAckedT(t, cp, `apiVersion: wasmesh.io/v1alpha1
kind: FaultInjection
metadata: {name: ratings}
spec:
  service: ratings
  triggerHeader: {enabled: true, callers: [reviews, frontend]}
`)
	code, _ = send(frontend.OutboundURL(), "ratings", map[string]string{"x-wasmesh-fault": "abort=503"})
	require.Equal(t, http.StatusServiceUnavailable, code, "a trigger limited to the frontend was not honoured on its sidecar")
}

// waitReady waits until each sidecar's admin says ready.
func waitReady(t *testing.T, sidecars ...*Sidecar) {
	t.Helper()
	for _, s := range sidecars {
		require.NoError(t, WaitFor(60*time.Second, func() error {
			_, err := s.AdminGet("/ready")
			return err
		}), "%s never became ready\n%s", s.Name, s.LogProblems(30))
	}
}

// Issue 10, item 3 in real Envoy: a WasmPlugin (default failure policy Reload) whose filter
// panics on one request fails that request only; every later request passes; the status
// shows, for that sidecar, that the plugin crashed (from the sidecar's own stats).
func TestEnvoyPluginPanicFailsOneRequest(t *testing.T) {
	wasm(t, "wasmesh")
	cp := ControlPlaneT(t, filepath.Join(repoRoot(t), "build"))
	ratings := SidecarT(t, cp, SidecarOptions{Service: "ratings", Version: "v1", NoWaitReady: true})
	frontend := SidecarT(t, cp, SidecarOptions{Service: "frontend", Version: "v1", NoWaitReady: true})
	code, err := os.ReadFile(wasm(t, "sdkpanic"))
	require.NoError(t, err)
	ctx := context.Background()
	sha, err := cp.Client().PutModule(ctx, code)
	require.NoError(t, err)
	docs, err := crd.Decode("e2e.yaml", []byte(fmt.Sprintf(`apiVersion: wasmesh.io/v1alpha1
kind: Service
metadata: {name: frontend}
spec: {port: 9080, versions: [{name: v1, endpoints: [%q]}]}
---
apiVersion: wasmesh.io/v1alpha1
kind: Service
metadata: {name: ratings}
spec: {port: 9080, versions: [{name: v1, endpoints: [%q]}]}
---
apiVersion: wasmesh.io/v1alpha1
kind: WasmPlugin
metadata: {name: panicky}
spec:
  module: {sha256: %s}
  selector: {services: [frontend]}
`, frontend.Params.InboundAddress, ratings.Params.InboundAddress, sha)))
	require.NoError(t, err)
	_, err = cp.Client().Apply(ctx, docs, false)
	require.NoError(t, err)
	waitReady(t, frontend, ratings)
	client := &http.Client{Timeout: 10 * time.Second}
	get := func(h map[string]string) (int, http.Header) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, frontend.OutboundURL()+"/", nil)
		require.NoError(t, err)
		req.Host = "ratings"
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := client.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode, resp.Header
	}
	// The plugin is in the chain once a request carries its header to ratings.
	require.NoError(t, WaitFor(60*time.Second, func() error {
		if code, _ := get(nil); code != http.StatusOK || len(ratings.App.Received()) == 0 ||
			ratings.App.Received()[len(ratings.App.Received())-1].Header.Get("x-sdkpanic") != "ok" {
			return fmt.Errorf("plugin not running yet (status %d)", code)
		}
		return nil
	}), "%s", frontend.LogProblems(20))

	code1, h := get(map[string]string{"x-trap": "1"})
	require.Equal(t, http.StatusInternalServerError, code1)
	require.Equal(t, "sdkpanic", h.Get("x-wasmesh-plugin-error"))
	const n = 300
	failed := 0
	for range n {
		if code, _ := get(nil); code != http.StatusOK {
			failed++
		}
	}
	t.Logf("after one panicking request: %d requests sent, %d failed", n, failed)
	require.Zero(t, failed, "requests after the panicking one failed")

	// The status names the crash on that sidecar, from its own stats.
	require.NoError(t, WaitFor(30*time.Second, func() error {
		st, err := cp.Client().Status(ctx)
		if err != nil {
			return err
		}
		for _, node := range st.Nodes {
			for _, p := range node.Plugins {
				if node.ID == frontend.Params.NodeID && p.Plugin == "wasmesh.plugin.panicky" && p.Panics == 1 {
					return nil
				}
			}
		}
		return fmt.Errorf("status shows no crash yet: %+v", st.Nodes)
	}))
	o, err := cp.Client().Get(ctx, crd.Key{Kind: crd.KindWasmPlugin, Namespace: "default", Name: "panicky"})
	require.NoError(t, err)
	nodes := o.GetStatus().Nodes
	require.Len(t, nodes, 1)
	require.Equal(t, "crashed 1 time(s), each failing one request (panics recovered)", nodes[0].Health)
}

// Issue 10, item 6 in real Envoy: 20 add/remove cycles of a WasmPlugin under load fail no
// request: the plugin goes into a fixed slot over ECDS, so the listener never changes and
// never drains.
func TestEnvoyPluginAddRemoveUnderLoad(t *testing.T) {
	wasm(t, "wasmesh")
	cp := ControlPlaneT(t, filepath.Join(repoRoot(t), "build"))
	ratings := SidecarT(t, cp, SidecarOptions{Service: "ratings", Version: "v1", NoWaitReady: true})
	frontend := SidecarT(t, cp, SidecarOptions{Service: "frontend", Version: "v1", NoWaitReady: true})
	code, err := os.ReadFile(wasm(t, "hello"))
	require.NoError(t, err)
	ctx := context.Background()
	sha, err := cp.Client().PutModule(ctx, code)
	require.NoError(t, err)
	applyAckedT(t, cp, fmt.Sprintf(`apiVersion: wasmesh.io/v1alpha1
kind: Service
metadata: {name: frontend}
spec: {port: 9080, versions: [{name: v1, endpoints: [%q]}]}
---
apiVersion: wasmesh.io/v1alpha1
kind: Service
metadata: {name: ratings}
spec: {port: 9080, versions: [{name: v1, endpoints: [%q]}]}
`, frontend.Params.InboundAddress, ratings.Params.InboundAddress))
	waitReady(t, frontend, ratings)
	listenerVersion := func() string {
		v, err := frontend.AdminGet("/stats?filter=" + regexpQuote("listener_manager.lds.version_text"))
		require.NoError(t, err)
		return v
	}
	ldsBefore := listenerVersion()

	// Load: two workers, one on a keep-alive connection, one opening a connection per
	// request, 5 ms apart each, until the cycles are over.
	var sent, failed atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, keepAlive := range []bool{true, false} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: !keepAlive, MaxIdleConnsPerHost: 1}}
			for {
				select {
				case <-stop:
					return
				case <-time.After(5 * time.Millisecond):
				}
				req, _ := http.NewRequest(http.MethodGet, frontend.OutboundURL()+"/", nil)
				req.Host = "ratings"
				resp, err := c.Do(req)
				sent.Add(1)
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("status %d", resp.StatusCode)
					}
				}
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
			}
		}()
	}
	plugin := fmt.Sprintf(`apiVersion: wasmesh.io/v1alpha1
kind: WasmPlugin
metadata: {name: hello}
spec:
  module: {sha256: %s}
  selector: {services: [frontend]}
`, sha)
	const cycles = 20
	for i := range cycles {
		applyAckedT(t, cp, plugin)
		if i == 0 { // the plugin runs once acked (hello adds x-hello to the request)
			require.NoError(t, WaitFor(30*time.Second, func() error {
				ratings.App.Reset()
				req, _ := http.NewRequest(http.MethodGet, frontend.OutboundURL()+"/", nil)
				req.Host = "ratings"
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					return err
				}
				resp.Body.Close()
				for _, r := range ratings.App.Received() {
					if r.Header.Get("x-hello") == "request" {
						return nil
					}
				}
				return errors.New("the plugin does not run")
			}))
		}
		waitAckedT(t, cp, deleteT(t, cp, crd.KindWasmPlugin, "hello"))
	}
	close(stop)
	wg.Wait()
	t.Logf("%d add/remove cycles of a WasmPlugin under load: %d requests sent, %d failed (first error: %v)", cycles, sent.Load(), failed.Load(), firstErr.Load())
	require.Positive(t, sent.Load())
	require.Zero(t, failed.Load(), "first error: %v", firstErr.Load())
	require.Equal(t, ldsBefore, listenerVersion(), "the listeners changed")
}

// Issue 10, item 6 in real Envoy: a sidecar reports ready (admin /ready) only once its
// filters are loaded: from the first moment it is ready, requests through its chain succeed.
func TestEnvoySidecarReadyMeansServing(t *testing.T) {
	wasm(t, "wasmesh")
	cp := ControlPlaneT(t, filepath.Join(repoRoot(t), "build"))
	ports := FreePortsT(t, 1)
	ratingsIn := fmt.Sprintf("127.0.0.1:%d", ports[0])
	code, err := os.ReadFile(wasm(t, "hello"))
	require.NoError(t, err)
	sha, err := cp.Client().PutModule(context.Background(), code)
	require.NoError(t, err)
	docs, err := crd.Decode("e2e.yaml", []byte(fmt.Sprintf(`apiVersion: wasmesh.io/v1alpha1
kind: Service
metadata: {name: ratings}
spec: {port: 9080, versions: [{name: v1, endpoints: [%q]}]}
---
apiVersion: wasmesh.io/v1alpha1
kind: Telemetry
metadata: {name: all}
spec: {metrics: {}}
---
apiVersion: wasmesh.io/v1alpha1
kind: WasmPlugin
metadata: {name: hello}
spec:
  module: {sha256: %s}
`, ratingsIn, sha)))
	require.NoError(t, err)
	_, err = cp.Client().Apply(context.Background(), docs, false)
	require.NoError(t, err)
	ratings := UpstreamT(t, UpstreamOptions{Service: "ratings", Version: "v1", Addr: ratingsIn})
	frontend := SidecarT(t, cp, SidecarOptions{Service: "frontend", Version: "v1", NoWaitReady: true})
	require.NoError(t, WaitFor(60*time.Second, func() error {
		_, err := frontend.AdminGet("/ready")
		return err
	}), "%s", frontend.LogProblems(20))
	const n = 50
	failed := 0
	var first string
	for range n {
		req, _ := http.NewRequest(http.MethodGet, frontend.OutboundURL()+"/", nil)
		req.Host = "ratings"
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				err = fmt.Errorf("status %d", resp.StatusCode)
			}
		}
		if err != nil {
			failed++
			if first == "" {
				first = err.Error()
			}
		}
	}
	t.Logf("right after /ready: %d requests sent, %d failed (%s)", n, failed, first)
	require.Zero(t, failed, "first: %s", first)
	for _, r := range ratings.Received() {
		require.Equal(t, "request", r.Header.Get("x-hello"), "a request passed before the plugin ran")
	}
}
