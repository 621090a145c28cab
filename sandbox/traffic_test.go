package sandbox

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/wasmesh/wasmesh/controlplane/crd"
	"github.com/wasmesh/wasmesh/sdk/split"
)

// checkDemoTraffic sends bounded demo traffic to a running sandbox's frontend (url) and checks
// what the sample resources do: the canary split (random, and sticky against weights), the
// overrides and the route rule, the ratings fault (random; the trigger header sent from outside is stripped), trace
// context across hops, and the telemetry filter's metrics on the frontend sidecar's admin. The
// random checks are TestSandboxServesDemoTraffic's; the compose sandbox runs all of them.
func checkDemoTraffic(t *testing.T, url, admin string, weights *split.Weighted) {
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
		// 90/10 drawn at random: each side is seen (a miss has probability < 1e-9); v3 is
		// reachable only by the route rule. The 10% abort on ratings shows, and does not take
		// everything down.
		require.Positive(t, seen["v1"])
		require.Positive(t, seen["v2"])
		require.Greater(t, seen["v1"], seen["v2"])
		require.Zero(t, seen["v3"])
		require.Positive(t, faults)
		require.Less(t, faults, 100)
	})

	t.Run("sticky canary split", func(t *testing.T) {
		checkStickySplit(t, url, weights, 10)
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
		// From outside the mesh the header is stripped at the frontend's inbound listener
		// (docs/conventions.md, "The mesh boundary"): only the 10% rule faults ratings (all 20
		// faulted: probability 1e-20).
		faulted := 0
		for range 20 {
			rep, _ := get(t, url, map[string]string{"x-wasmesh-fault": "abort=503", "x-canary": "never"})
			if rep.Hop("reviews").Status == http.StatusServiceUnavailable {
				faulted++
			}
		}
		require.Less(t, faulted, 20, "an outside client's trigger header faulted the internal hop")
	})

	t.Run("trace context across hops", func(t *testing.T) { checkTraceAcrossHops(t, url) })

	t.Run("metrics at /stats/prometheus", func(t *testing.T) {
		res, err := http.Get(admin + "/stats/prometheus")
		require.NoError(t, err)
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		require.NoError(t, err)
		require.Contains(t, string(body), `destination_service="reviews"`)
		require.Contains(t, string(body), "wasmesh_")
	})
}

// routeWeights reads the reviews TrafficRoute's split from a sample file as the canary filter
// picks with it.
func routeWeights(t *testing.T, path string) *split.Weighted {
	t.Helper()
	docs, err := crd.ReadPaths(nil, path)
	require.NoError(t, err)
	require.Len(t, docs, 1)
	tr, ok := docs[0].Object.(*crd.TrafficRoute)
	require.True(t, ok, "%s: not a TrafficRoute", path)
	require.NotNil(t, tr.Spec.Split, "%s: no split", path)
	w := map[string]int{}
	for v, n := range tr.Spec.Split.Weights {
		w[v] = int(n)
	}
	return split.New(w)
}

// checkStickySplit sends 200 requests with distinct x-user keys (the route's sticky header):
// each lands on the version the weights give its key, and v2's share is within ±5 points of
// wantV2 percent.
func checkStickySplit(t *testing.T, url string, w *split.Weighted, wantV2 int) {
	t.Helper()
	const n = 200
	seen := map[string]int{}
	for i := range n {
		key := fmt.Sprintf("e2e-user-%d", i)
		rep, _ := get(t, url, map[string]string{"x-user": key})
		got := rep.Hop("reviews").Version
		require.Equal(t, w.PickKey(key), got, "x-user %s", key)
		seen[got]++
	}
	share := 100 * seen["v2"] / n
	t.Logf("%d sticky requests: reviews versions %v (v2 %d%%, configured %d%%)", n, seen, share, wantV2)
	require.InDelta(t, wantV2, share, 5, "v2 share over %d requests: %v", n, seen)
}

// checkTraceAcrossHops sends traced requests through frontend → reviews → ratings and checks
// that every hop that answered carries the request id and the trace id. The sample's 10% abort
// of ratings calls is answered by reviews' sidecar, so ratings then has no hop of its own (the
// reply holds a stub naming it): a hop under a failed call is not checked, and at least one of
// 20 requests must reach ratings (all 20 aborted: probability 1e-20).
func checkTraceAcrossHops(t *testing.T, url string) {
	const trace = "4bf92f3577b34da6a3ce929d0e0e4736"
	reached := 0
	for i := range 20 {
		id := fmt.Sprintf("trace-test-%d", i)
		rep, _ := get(t, url, map[string]string{"traceparent": "00-" + trace + "-00f067aa0ba902b7-01", "x-request-id": id, "x-canary": "never"})
		for h := rep; h != nil; h = h.Upstream {
			require.Equal(t, id, h.RequestID, h.Service)
			require.True(t, strings.HasPrefix(h.TraceParent, "00-"+trace+"-"), "%s: %q", h.Service, h.TraceParent)
			if h.Status != 0 || h.Error != "" {
				break // the call to the next hop failed: its reply is a stub
			}
		}
		if rt := rep.Hop("ratings"); rt != nil && rep.Hop("reviews").Status == 0 {
			reached++
		}
	}
	require.Positive(t, reached, "no traced request reached ratings")
}
