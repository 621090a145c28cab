package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/wasmesh/wasmesh/internal/envoybin"
	"github.com/wasmesh/wasmesh/sandbox/demo"
)

// testWriter sends the sandbox's progress lines to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// get sends one request to the frontend and decodes the demo reply.
func get(t *testing.T, url string, header map[string]string) (*demo.Reply, http.Header) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode, "%s", body)
	var rep demo.Reply
	require.NoError(t, json.Unmarshal(body, &rep), "%s", body)
	return &rep, res.Header
}

// TestSandboxServesDemoTraffic starts the whole sandbox (control plane, demo apps, five real
// Envoy sidecars), sends bounded demo traffic through it, checks the sample resources act
// (canary split and overrides, route rule, fault trigger, trace propagation, metrics), stops it
// and checks nothing is left: no Envoy process, every port free, the data directory gone.
func TestSandboxServesDemoTraffic(t *testing.T) {
	bin, err := envoybin.Find("")
	if err != nil {
		t.Fatalf("%v (make test installs it)", err)
	}
	for _, m := range RequiredModules {
		if _, err := os.Stat(filepath.Join("..", "build", m)); err != nil {
			t.Fatalf("build/%s missing: run make build", m)
		}
	}
	base := freeBase(t)
	sb, err := Start(t.Context(), Options{
		BasePort: base, Root: "..", Envoy: bin.Path, NoBuild: true, Out: testWriter{t},
	})
	require.NoError(t, err)
	stopped := false
	defer func() {
		if !stopped {
			_ = sb.Stop()
		}
	}()
	defer func() {
		if t.Failed() {
			for _, sc := range sb.sidecars {
				t.Logf("--- %s log (last lines) ---\n%s", sc.inst.NodeID(), sc.logTail(40))
			}
		}
	}()
	top := sb.Topology()
	url := "http://" + top.Frontend().InboundAddress() + "/"

	t.Run("canary split", func(t *testing.T) {
		seen := map[string]int{}
		faults := 0
		for range 200 {
			rep, _ := get(t, url, nil)
			require.Equal(t, "frontend", rep.Service)
			rv := rep.Hop("reviews")
			require.NotNil(t, rv, "no reviews hop: %+v", rep)
			seen[rv.Version]++
			rt := rv.Upstream
			require.NotNil(t, rt)
			require.Equal(t, "ratings", rt.Service)
			if rv.Status == http.StatusServiceUnavailable {
				faults++
			} else {
				require.Empty(t, rv.Error)
				require.Equal(t, "v1", rt.Version)
				require.Equal(t, 4, rt.Stars)
			}
		}
		t.Logf("200 requests: reviews versions %v, ratings faults %d", seen, faults)
		// 90/10: with 200 requests, each side is seen (a miss has probability < 1e-9) and v3,
		// reachable only by the route rule, is not.
		require.Positive(t, seen["v1"])
		require.Positive(t, seen["v2"])
		require.Greater(t, seen["v1"], seen["v2"])
		require.Zero(t, seen["v3"])
		// The 10% abort on ratings shows, and does not take everything down.
		require.Positive(t, faults)
		require.Less(t, faults, 100)
	})

	t.Run("overrides and rules", func(t *testing.T) {
		tests := []struct {
			header map[string]string
			want   string
		}{
			{map[string]string{"x-canary": "always"}, "v2"},
			{map[string]string{"x-canary": "never"}, "v1"},
			{map[string]string{"x-user": "jason"}, "v3"},
		}
		for _, tt := range tests {
			for range 20 {
				rep, _ := get(t, url, tt.header)
				require.Equal(t, tt.want, rep.Hop("reviews").Version, "%v", tt.header)
			}
		}
	})

	t.Run("fault trigger header", func(t *testing.T) {
		for range 10 {
			rep, _ := get(t, url, map[string]string{"x-wasmesh-fault": "abort=503", "x-canary": "never"})
			rv := rep.Hop("reviews")
			require.Equal(t, http.StatusServiceUnavailable, rv.Status, "%+v", rv)
			require.True(t, strings.HasPrefix(rv.Error, "ratings answered 503"), rv.Error)
		}
	})

	t.Run("trace context across hops", func(t *testing.T) {
		const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
		rep, _ := get(t, url, map[string]string{"traceparent": tp, "x-request-id": "sandbox-test-1", "x-canary": "never"})
		for h := rep; h != nil; h = h.Upstream {
			require.Equal(t, "sandbox-test-1", h.RequestID, h.Service)
			require.True(t, strings.HasPrefix(h.TraceParent, "00-4bf92f3577b34da6a3ce929d0e0e4736-"), "%s: %q", h.Service, h.TraceParent)
		}
	})

	t.Run("metrics at /stats/prometheus", func(t *testing.T) {
		res, err := http.Get("http://" + top.Frontend().AdminAddress() + "/stats/prometheus")
		require.NoError(t, err)
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		require.NoError(t, err)
		require.Contains(t, string(body), `destination_service="reviews"`)
		require.Contains(t, string(body), "wasmesh_")
	})

	pids := sb.Pids()
	require.Len(t, pids, len(top.Instances))
	dataDir := sb.DataDir()
	require.NoError(t, sb.Stop())
	stopped = true

	for _, pid := range pids {
		err := syscall.Kill(pid, 0)
		require.True(t, errors.Is(err, syscall.ESRCH), "envoy pid %d still exists (%v)", pid, err)
	}
	require.NoError(t, checkPorts(top), "ports still bound after Stop")
	_, err = os.Stat(dataDir)
	require.True(t, errors.Is(err, os.ErrNotExist), "temporary data dir %s left behind", dataDir)
}

// TestRunStopsAfterDuration runs the sandbox the way `wasmesh sandbox --duration` does and
// checks it returns on its own with everything stopped.
func TestRunStopsAfterDuration(t *testing.T) {
	bin, err := envoybin.Find("")
	if err != nil {
		t.Fatalf("%v (make test installs it)", err)
	}
	base := freeBase(t)
	var out strings.Builder
	err = Run(t.Context(), Options{BasePort: base, Root: "..", Envoy: bin.Path, NoBuild: true, Out: &out}, 500*time.Millisecond)
	require.NoError(t, err, out.String())
	require.Contains(t, out.String(), fmt.Sprintf("curl -s 127.0.0.1:%d/", base+10))
	require.Contains(t, out.String(), "sandbox stopped: every sidecar exited, ports released")
	require.NoError(t, checkPorts(NewTopology(base)))
}
