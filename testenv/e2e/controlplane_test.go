package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/wasmesh/wasmesh/controlplane"
	"github.com/wasmesh/wasmesh/controlplane/api"
)

// xdsMesh is the control plane with a frontend sidecar (the client side) and reviews v1/v2
// sidecars in front of their apps, all bootstrapped from internal/bootstrap
// (envoy-configs/sidecar.yaml).
type xdsMesh struct {
	cp       *controlplane.ControlPlane
	frontend *Sidecar
	reviews  map[string]*Sidecar
}

func startXDSMesh(t *testing.T) *xdsMesh {
	t.Helper()
	for _, m := range []string{"telemetry", "fault", "router", "canary"} {
		wasm(t, m) // the control plane serves the built-in modules
	}
	cp := ControlPlaneT(t, filepath.Join(repoRoot(t), "build"))
	m := &xdsMesh{cp: cp, reviews: map[string]*Sidecar{}}
	m.frontend = SidecarT(t, cp, SidecarOptions{Service: "frontend", Version: "v1", NoWaitReady: true})
	for _, v := range []string{"v1", "v2"} {
		m.reviews[v] = SidecarT(t, cp, SidecarOptions{Service: "reviews", Version: v, NoWaitReady: true})
	}
	m.apply(t, fmt.Sprintf(`apiVersion: wasmesh.io/v1alpha1
kind: Service
metadata: {name: frontend}
spec:
  port: 9080
  versions: [{name: v1, endpoints: [%q]}]
---
apiVersion: wasmesh.io/v1alpha1
kind: Service
metadata: {name: reviews}
spec:
  port: 9080
  versions:
  - {name: v1, endpoints: [%q]}
  - {name: v2, endpoints: [%q]}
  defaultVersion: v1
`, m.frontend.Params.InboundAddress, m.reviews["v1"].Params.InboundAddress, m.reviews["v2"].Params.InboundAddress))
	m.applyCanary(t, 90, 10)
	for _, s := range m.all() {
		require.NoError(t, WaitFor(StartTimeout, func() error {
			_, err := s.AdminGet("/ready")
			return err
		}), "%s never became ready\n%s", s.Name, s.LogProblems(30))
	}
	// Routes and filters arrive over ADS/ECDS after LDS/CDS: wait until reviews answers.
	require.NoError(t, WaitFor(StartTimeout, func() error {
		r, err := m.get(http.DefaultClient, nil)
		if err != nil {
			return err
		}
		if r.status != http.StatusOK {
			return fmt.Errorf("status %d: %s", r.status, r.body)
		}
		return nil
	}), "reviews never answered through the frontend sidecar\n%s", m.frontend.LogProblems(30))
	return m
}

func (m *xdsMesh) all() []*Sidecar { return []*Sidecar{m.frontend, m.reviews["v1"], m.reviews["v2"]} }

func (m *xdsMesh) apply(t *testing.T, yaml string) *api.ApplyResponse {
	t.Helper()
	return applyT(t, m.cp, yaml)
}

func (m *xdsMesh) applyCanary(t *testing.T, v1, v2 int) {
	t.Helper()
	m.apply(t, fmt.Sprintf(`apiVersion: wasmesh.io/v1alpha1
kind: TrafficRoute
metadata: {name: reviews}
spec:
  service: reviews
  split:
    weights: {v1: %d, v2: %d}
    overrides:
    - {match: {headers: [{name: x-canary, exact: always}]}, version: v2}
    sticky: {header: x-user}
    responseHeader: x-wasmesh-version
`, v1, v2))
}

func (m *xdsMesh) get(c *http.Client, headers map[string]string) (reply, error) {
	req, err := http.NewRequest(http.MethodGet, m.frontend.OutboundURL()+"/", nil)
	if err != nil {
		return reply{}, err
	}
	req.Host = "reviews"
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		return reply{}, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	return reply{status: resp.StatusCode, servedBy: resp.Header.Get(HeaderServedBy), header: resp.Header, body: string(b)}, err
}

func (m *xdsMesh) status(t *testing.T) *api.StatusResponse {
	t.Helper()
	st, err := m.cp.Client().Status(context.Background())
	require.NoError(t, err)
	return st
}

// Sidecars bootstrapped from envoy-configs connect to the control plane, load the filters over
// ECDS, route by the canary weights, take new weights without losing a request on a live
// keep-alive connection, and a filter that fails only in Envoy shows as a NACK in the status.
func TestControlPlaneEndToEnd(t *testing.T) {
	m := startXDSMesh(t)
	keepAlive := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1, DisableCompression: true}}

	t.Run("filters over ECDS, all ACKed", func(t *testing.T) {
		// A sidecar whose main thread spent longer than the server's keepalive (30s + 5s)
		// compiling its Wasm VMs on a loaded machine was disconnected meanwhile and reconnects
		// once it is free: wait (bounded) until every node is connected again.
		require.NoError(t, WaitFor(StartTimeout, func() error {
			for _, n := range m.status(t).Nodes {
				if !n.Connected {
					return fmt.Errorf("%s not connected", n.ID)
				}
			}
			return nil
		}))
		st := m.status(t)
		require.Len(t, st.Nodes, 3)
		for _, n := range st.Nodes {
			require.True(t, n.Connected, n.ID)
			var types []string
			for _, ts := range n.Types {
				types = append(types, ts.Type)
				require.Empty(t, ts.NACK, "%s %s", n.ID, ts.Type)
			}
			require.Contains(t, types, "extension_configs", n.ID)
		}
		dump, err := m.frontend.AdminGet("/config_dump?resource=dynamic_active_extension_configs")
		if err != nil { // older admin: the whole dump
			dump, err = m.frontend.AdminGet("/config_dump")
		}
		require.NoError(t, err)
		// The built-in filters run as one pipeline filter, its config naming the four stages.
		require.Contains(t, dump, `"wasmesh.chain"`)
		require.Contains(t, dump, `"root_id": "chain"`)
		for _, stage := range []string{"telemetry", "fault", "router", "canary"} {
			require.Contains(t, dump, `\"filter\":\"`+stage+`\"`)
		}
		for _, slot := range []string{"wasmesh.slot.before.0", "wasmesh.slot.after.3"} { // the empty plugin slots
			require.Contains(t, dump, `"`+slot+`"`)
		}
	})
	t.Run("canary weights over 2000 requests", func(t *testing.T) {
		counts := map[string]int{}
		for range 2000 {
			r, err := m.get(keepAlive, nil)
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, r.status, r.body)
			counts[r.servedBy]++
		}
		require.Equal(t, 2000, counts["reviews-v1"]+counts["reviews-v2"], "%v", counts)
		within(t, "reviews v2 share (xDS, 90/10)", counts["reviews-v2"], 2000, 10)
		r, err := m.get(keepAlive, map[string]string{"x-canary": "always"})
		require.NoError(t, err)
		require.Equal(t, "reviews-v2", r.servedBy)
	})
	t.Run("new weights on a live keep-alive connection lose no request", func(t *testing.T) {
		var sent, failed, reused, v2 atomic.Int64
		var firstErr atomic.Value
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) {
				if i.Reused {
					reused.Add(1)
				}
			}}
			for {
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), http.MethodGet, m.frontend.OutboundURL()+"/", nil)
				req.Host = "reviews"
				resp, err := keepAlive.Do(req)
				sent.Add(1)
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("status %d", resp.StatusCode))
				}
				if resp.Header.Get(HeaderServedBy) == "reviews-v2" {
					v2.Add(1)
				}
			}
		}()
		time.Sleep(300 * time.Millisecond)
		before := sent.Load()
		v2Before := v2.Load()
		m.applyCanary(t, 0, 100)
		// The new weights take effect: requests on the same connection now all reach v2.
		err := WaitFor(StartTimeout, func() error {
			n, s := v2.Load(), sent.Load()
			if n-v2Before < 200 || s-before < 300 {
				return fmt.Errorf("%d of %d requests reached v2 since the apply", n-v2Before, s-before)
			}
			return nil
		})
		time.Sleep(200 * time.Millisecond)
		close(stop)
		wg.Wait()
		require.NoError(t, err)
		t.Logf("keep-alive: %d requests (%d after the apply), %d on a reused connection, %d failed", sent.Load(), sent.Load()-before, reused.Load(), failed.Load())
		require.Zero(t, failed.Load(), "first failure: %v", firstErr.Load())
		// The client's one connection may already be open (earlier subtests): at most the
		// first request dials.
		require.GreaterOrEqual(t, reused.Load(), sent.Load()-1, "the connection was not kept alive")
		m.applyCanary(t, 90, 10)
	})
	t.Run("a filter that fails only in Envoy is a NACK", func(t *testing.T) {
		b, err := os.ReadFile(wasm(t, "envoyonly"))
		require.NoError(t, err)
		sha, err := m.cp.Client().PutModule(context.Background(), b)
		require.NoError(t, err)
		m.apply(t, fmt.Sprintf(`apiVersion: wasmesh.io/v1alpha1
kind: WasmPlugin
metadata: {name: envoyonly}
spec:
  module: {sha256: %s}
  selector: {services: [frontend]}
  config: {}
  failOpen: true
`, sha))
		var nack string
		require.NoError(t, WaitFor(StartTimeout, func() error {
			for _, n := range m.status(t).Nodes {
				for _, ts := range n.Types {
					if n.ID == "frontend.v1.0" && ts.NACK != "" {
						nack = ts.Type + ": " + ts.NACK
						return nil
					}
				}
			}
			return fmt.Errorf("no NACK from frontend.v1.0 yet")
		}), m.frontend.LogProblems(20))
		t.Logf("status NACK: %s", nack)
		require.Contains(t, nack, "envoyonly")
		// The first refusal (and a re-push not answered yet) is "pending": Envoy refuses a
		// plugin whose module it is still fetching. The refused retry makes it "nacked".
		var states []string
		require.NoError(t, WaitFor(StartTimeout, func() error {
			states = states[:0]
			for _, r := range m.status(t).Resources {
				if r.Key.Name == "envoyonly" {
					for _, n := range r.Nodes {
						states = append(states, n.Node+"="+string(n.State))
					}
				}
			}
			if !strings.Contains(strings.Join(states, ","), "frontend.v1.0=nacked") {
				return fmt.Errorf("envoyonly: %v", states)
			}
			return nil
		}))
		// The plugin fails open, so the sidecar keeps serving while Envoy refuses its config
		// (failing closed, its slot would answer 503: docs/crds.md).
		r, err := m.get(keepAlive, nil)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, r.status, r.body)
	})
}
