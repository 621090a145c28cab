package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Filter configurations of the Envoy-level evidence (docs/filters.md schemas), in the per-service
// map form the control plane emits.
const (
	canaryConfig = `{"services": {"reviews": {
		"weights": {"v1": 90, "v2": 10},
		"overrides": [
			{"match": {"headers": [{"name": "x-canary", "exact": "always"}]}, "version": "v2"},
			{"match": {"headers": [{"name": "x-canary", "exact": "never"}]}, "version": "v1"}],
		"sticky": {"header": "x-user"},
		"responseHeader": "x-wasmesh-version"}}}`
	faultDelayConfig = `{"services": {"reviews": {"rules": [{"name": "delay", "delay": {"fixed": "150ms", "percentage": 100}}]}}}`
	faultAbortConfig = `{"services": {"reviews": {"rules": [{"name": "abort", "abort": {"httpStatus": 503, "percentage": 25}}]}}}`
	faultNoneConfig  = `{"services": {"reviews": {"triggerHeader": {"enabled": true, "maxDelay": "1h"}}}}`
	telemetryConfig  = `{"services": {
		"reviews": {
			"metrics": {"dimensions": ["source_service", "source_version", "destination_service", "destination_version", "method", "response_code_class"]},
			"accessLog": {"sampling": 100},
			"tracing": {}},
		"ratings": {
			"metrics": {"dimensions": ["source_service", "source_version", "destination_service", "destination_version", "route", "method", "response_code_class"]},
			"accessLog": {"sampling": 100},
			"tracing": {}}}}`
)

// mesh is one Envoy with a filter chain in front of reviews v1 and v2 upstreams.
type mesh struct {
	envoy *Envoy
	url   string
	ups   map[string]*Upstream
	c     *http.Client
}

func startMesh(t *testing.T, filters []WasmFilter, opts ...func(*StaticConfig)) *mesh {
	t.Helper()
	m := &mesh{ups: map[string]*Upstream{}, c: &http.Client{Timeout: 10 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 16, DisableCompression: true}}}
	var clusters []Cluster
	for _, v := range []string{"v1", "v2"} {
		u := UpstreamT(t, UpstreamOptions{Service: "reviews", Version: v})
		m.ups[v] = u
		clusters = append(clusters, Cluster{Name: "reviews|" + v, Address: u.Addr()})
	}
	port := FreePortsT(t, 1)[0]
	sc := StaticConfig{ListenPort: port, Filters: filters, Clusters: clusters, DefaultCluster: "reviews|v1"}
	for _, o := range opts {
		o(&sc)
	}
	cfg, err := sc.YAML()
	require.NoError(t, err)
	m.envoy = EnvoyT(t, EnvoyOptions{Name: t.Name(), Binary: envoyBin(t), Config: cfg})
	m.url = "http://127.0.0.1:" + strconv.Itoa(port)
	return m
}

type reply struct {
	status   int
	servedBy string
	header   http.Header
	body     string
	elapsed  time.Duration
}

func (m *mesh) get(t *testing.T, path string, headers map[string]string) reply {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, m.url+path, nil)
	require.NoError(t, err)
	req.Host = "reviews"
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	start := time.Now()
	resp, err := m.c.Do(req)
	require.NoError(t, err)
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	return reply{status: resp.StatusCode, servedBy: resp.Header.Get(HeaderServedBy), header: resp.Header, body: string(b), elapsed: time.Since(start)}
}

// within checks that got of total is wantPct percent, give or take 4.5 standard deviations
// of the binomial draw (a false failure about once in 150,000 runs; a 25% draw over 2,000
// requests may stray 4.4 points, a 10% one 3.0). A fixed ±3 points failed a correct 25%
// abort once (28.25%, 3.35σ).
func within(t *testing.T, what string, got, total int, wantPct float64) {
	t.Helper()
	pct := 100 * float64(got) / float64(total)
	p := wantPct / 100
	tolPts := 4.5 * 100 * math.Sqrt(p*(1-p)/float64(total))
	t.Logf("%s: %d/%d = %.2f%% (want %.0f%% ± %.1f points)", what, got, total, pct, wantPct, tolPts)
	require.LessOrEqual(t, math.Abs(pct-wantPct), tolPts, "%s: %.2f%% is not within %.1f points (4.5σ) of %.0f%%", what, pct, tolPts, wantPct)
}

func canaryFilter(t *testing.T, config string) WasmFilter {
	return WasmFilter{Name: "canary", File: wasm(t, "canary"), Config: config}
}

// The canary split over 2,000 requests lands within 4.5σ of 90/10; the override header
// always wins; a sticky key keeps its version.
func TestEnvoyCanary(t *testing.T) {
	m := startMesh(t, []WasmFilter{canaryFilter(t, canaryConfig)})

	t.Run("split 90/10 over 2000 requests", func(t *testing.T) {
		counts := map[string]int{}
		for i := range 2000 {
			r := m.get(t, "/split/"+strconv.Itoa(i), nil)
			require.Equal(t, http.StatusOK, r.status, r.body)
			counts[r.servedBy]++
			// The response header names the version that served.
			require.Equal(t, strings.TrimPrefix(r.servedBy, "reviews-"), r.header.Get("x-wasmesh-version"))
		}
		require.Equal(t, 2000, counts["reviews-v1"]+counts["reviews-v2"], "%v", counts)
		within(t, "reviews v2 share", counts["reviews-v2"], 2000, 10)
	})
	t.Run("override always wins", func(t *testing.T) {
		for i := range 200 {
			require.Equal(t, "reviews-v2", m.get(t, "/", map[string]string{"x-canary": "always", "x-user": "u" + strconv.Itoa(i)}).servedBy)
			require.Equal(t, "reviews-v1", m.get(t, "/", map[string]string{"x-canary": "never", "x-user": "u" + strconv.Itoa(i)}).servedBy)
		}
	})
	t.Run("sticky keys keep their version", func(t *testing.T) {
		first := map[string]string{}
		v2 := 0
		for i := range 400 {
			key := "user-" + strconv.Itoa(i)
			first[key] = m.get(t, "/", map[string]string{"x-user": key}).servedBy
			if first[key] == "reviews-v2" {
				v2++
			}
		}
		for round := range 3 {
			for key, want := range first {
				require.Equal(t, want, m.get(t, "/r"+strconv.Itoa(round), map[string]string{"x-user": key}).servedBy, "key %s moved", key)
			}
		}
		// Distinct keys still split by the weights.
		require.Positive(t, v2)
		require.Less(t, v2, 400)
	})
}

func percentile(ds []time.Duration, p float64) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[int(math.Ceil(p*float64(len(s))))-1]
}

// Fault delay is observed (p50 latency at least the delay), the abort rate is within 4.5σ
// over 2,000 requests, and the trigger header forces a fault for one request.
func TestEnvoyFault(t *testing.T) {
	t.Run("delay", func(t *testing.T) {
		m := startMesh(t, []WasmFilter{{Name: "fault", File: wasm(t, "fault"), Config: faultDelayConfig}})
		var ds []time.Duration
		for range 20 {
			r := m.get(t, "/", nil)
			require.Equal(t, http.StatusOK, r.status, r.body)
			ds = append(ds, r.elapsed)
		}
		p50 := percentile(ds, 0.5)
		t.Logf("delay 150ms at 100%%: p50 %v, min %v", p50, percentile(ds, 0.05))
		require.GreaterOrEqual(t, p50, 150*time.Millisecond)
		require.Len(t, m.ups["v1"].Received(), 20, "delayed requests still reach the upstream")
	})
	t.Run("abort 25% over 2000 requests", func(t *testing.T) {
		m := startMesh(t, []WasmFilter{{Name: "fault", File: wasm(t, "fault"), Config: faultAbortConfig}})
		aborted := 0
		for i := range 2000 {
			r := m.get(t, "/a/"+strconv.Itoa(i), nil)
			switch r.status {
			case http.StatusServiceUnavailable:
				aborted++
				require.Empty(t, r.servedBy, "an aborted request reached the upstream")
			case http.StatusOK:
			default:
				t.Fatalf("status %d: %s", r.status, r.body)
			}
		}
		within(t, "aborted", aborted, 2000, 25)
		require.Len(t, m.ups["v1"].Received(), 2000-aborted)
	})
	t.Run("trigger header", func(t *testing.T) {
		m := startMesh(t, []WasmFilter{{Name: "fault", File: wasm(t, "fault"), Config: faultNoneConfig}})
		require.Equal(t, http.StatusOK, m.get(t, "/", nil).status)
		r := m.get(t, "/", map[string]string{"x-wasmesh-fault": "abort=418"})
		require.Equal(t, 418, r.status)
		require.Empty(t, r.servedBy)
		r = m.get(t, "/", map[string]string{"x-wasmesh-fault": "delay=200ms"})
		require.Equal(t, http.StatusOK, r.status)
		require.GreaterOrEqual(t, r.elapsed, 200*time.Millisecond)
		r = m.get(t, "/", map[string]string{"x-wasmesh-fault": "abort=503,delay=100ms"})
		require.Equal(t, http.StatusServiceUnavailable, r.status)
		require.GreaterOrEqual(t, r.elapsed, 100*time.Millisecond)
	})
}

// Telemetry metrics appear at /stats/prometheus under the documented names and labels, an
// access-log line is emitted per request, and traceparent is carried across two hops.
func TestEnvoyTelemetry(t *testing.T) {
	tel := func() WasmFilter {
		return WasmFilter{Name: "telemetry", File: wasm(t, "telemetry"), Config: telemetryConfig}
	}
	// Hop 2: an Envoy with telemetry in front of ratings.
	ratings := UpstreamT(t, UpstreamOptions{Service: "ratings", Version: "v1"})
	p2 := FreePortsT(t, 1)[0]
	// Hop 2 is reviews v1's sidecar (the reviews app calls ratings through it).
	cfg2, err := StaticConfig{ListenPort: p2, Filters: []WasmFilter{tel()}, Node: &Node{ID: "reviews.v1.0", Service: "reviews", Version: "v1"},
		Clusters: []Cluster{{Name: "ratings|v1", Address: ratings.Addr()}}, DefaultCluster: "ratings|v1"}.YAML()
	require.NoError(t, err)
	e2 := EnvoyT(t, EnvoyOptions{Name: "hop2", Binary: envoyBin(t), Config: cfg2})
	// Hop 1: an Envoy with telemetry in front of reviews, which calls ratings through hop 2.
	reviews := UpstreamT(t, UpstreamOptions{Service: "reviews", Version: "v1", Next: "http://127.0.0.1:" + strconv.Itoa(p2), NextHost: "ratings"})
	p1 := FreePortsT(t, 1)[0]
	// Hop 1 is frontend v1's sidecar (its node metadata names it: the source labels).
	cfg1, err := StaticConfig{ListenPort: p1, Filters: []WasmFilter{tel()}, Node: &Node{ID: "frontend.v1.0", Service: "frontend", Version: "v1"},
		Clusters: []Cluster{{Name: "reviews|v1", Address: reviews.Addr()}}, DefaultCluster: "reviews|v1"}.YAML()
	require.NoError(t, err)
	e1 := EnvoyT(t, EnvoyOptions{Name: "hop1", Binary: envoyBin(t), Config: cfg1})

	const n = 10
	for i := range n {
		req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:"+strconv.Itoa(p1)+"/t/"+strconv.Itoa(i), nil)
		req.Host = "reviews"
		if i == 0 {
			req.Header.Set("traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, string(b))
	}

	t.Run("traceparent across two hops", func(t *testing.T) {
		got1, got2 := reviews.Received(), ratings.Received()
		require.Len(t, got1, n)
		require.Len(t, got2, n)
		for i := range n {
			tp1, tp2 := got1[i].Header.Get("traceparent"), got2[i].Header.Get("traceparent")
			f1, f2 := strings.Split(tp1, "-"), strings.Split(tp2, "-")
			require.Len(t, f1, 4, "hop 1 traceparent %q", tp1)
			require.Len(t, f2, 4, "hop 2 traceparent %q", tp2)
			require.Equal(t, f1[1], f2[1], "trace id changed between hops")
			if i == 0 {
				require.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", f1[1], "an incoming trace is continued")
			}
			require.NotEmpty(t, got1[i].Header.Get("x-request-id"))
		}
		require.NotEqual(t, strings.Split(got1[1].Header.Get("traceparent"), "-")[1], strings.Split(got1[2].Header.Get("traceparent"), "-")[1],
			"new requests start new traces")
	})
	t.Run("prometheus names and labels", func(t *testing.T) {
		prom, err := e1.AdminGet("/stats/prometheus")
		require.NoError(t, err)
		var lines []string
		for _, l := range strings.Split(prom, "\n") {
			if strings.HasPrefix(l, "wasmesh_") {
				lines = append(lines, l)
			}
		}
		t.Logf("wasmesh series at hop 1:\n%s", strings.Join(lines, "\n"))
		require.Contains(t, prom, `wasmesh_requests_total{`)
		series := findSeries(prom, "wasmesh_requests_total")
		require.NotEmpty(t, series)
		var total float64
		for labels, v := range series {
			// The sidecar's own service and version (xds.node.metadata in Envoy 1.40).
			require.Contains(t, labels, `source_service="frontend"`)
			require.Contains(t, labels, `source_version="v1"`)
			require.Contains(t, labels, `destination_service="reviews"`)
			require.Contains(t, labels, `response_code_class="2xx"`)
			require.Contains(t, labels, `method="GET"`)
			total += v
		}
		require.Equal(t, float64(n), total)
		require.Contains(t, prom, "wasmesh_request_duration_")
		// Hop 2 records every dimension: each label of the series, exactly.
		prom2, err := e2.AdminGet("/stats/prometheus")
		require.NoError(t, err)
		series2 := findSeries(prom2, "wasmesh_requests_total")
		require.Equal(t, map[string]float64{
			`{source_service="reviews",source_version="v1",destination_service="ratings",destination_version="v1",route="default",method="GET",response_code_class="2xx"}`: n,
		}, series2, "hop 2's series:\n%s", prom2)
		buckets := findSeries(prom2, "wasmesh_request_duration_ms_bucket")
		require.Contains(t, buckets, `{source_service="reviews",source_version="v1",destination_service="ratings",destination_version="v1",route="default",method="GET",response_code_class="2xx",le="+Inf"}`)
	})
	t.Run("access log lines", func(t *testing.T) {
		for _, e := range []*Envoy{e1, e2} {
			logs := accessLogLines(e.Log())
			require.Len(t, logs, n, "access-log lines in %s", e.Name)
			var entry map[string]any
			require.NoError(t, json.Unmarshal([]byte(logs[0]), &entry), logs[0])
			require.Contains(t, fmt.Sprint(entry), "/t/0")
		}
		var entry map[string]any
		require.NoError(t, json.Unmarshal([]byte(accessLogLines(e1.Log())[0]), &entry))
		require.Equal(t, "frontend", entry["source_service"], "hop 1's access log names its own service")
		require.Equal(t, "reviews", entry["destination_service"])
		require.Equal(t, "v1", entry["destination_version"])
		require.Equal(t, "GET", entry["method"])
		require.EqualValues(t, 200, entry["status"])
		entry = nil
		require.NoError(t, json.Unmarshal([]byte(accessLogLines(e2.Log())[0]), &entry))
		require.Equal(t, "reviews", entry["source_service"], "hop 2's access log names its own service")
		require.Equal(t, "ratings", entry["destination_service"])
		require.Equal(t, "v1", entry["destination_version"])
	})
}

// findSeries returns the samples of one Prometheus metric: label set → value.
func findSeries(prom, name string) map[string]float64 {
	out := map[string]float64{}
	for _, l := range strings.Split(prom, "\n") {
		if !strings.HasPrefix(l, name+"{") {
			continue
		}
		i := strings.LastIndexByte(l, ' ')
		v, err := strconv.ParseFloat(l[i+1:], 64)
		if err == nil {
			out[l[len(name):i]] = v
		}
	}
	return out
}

// accessLogLines returns the JSON objects the telemetry plugin logged (one per request).
func accessLogLines(log string) []string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if !strings.Contains(l, "][wasm]") {
			continue
		}
		if i := strings.Index(l, "{"); i >= 0 && strings.HasSuffix(strings.TrimSpace(l), "}") {
			var v map[string]any
			if json.Unmarshal([]byte(l[i:]), &v) == nil {
				out = append(out, l[i:])
			}
		}
	}
	return out
}
