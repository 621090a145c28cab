package observe

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestQueries(t *testing.T) {
	q := Queries(90 * time.Second)
	require.Equal(t, `sum by (source_service,source_version,destination_service,destination_version) (rate(wasmesh_requests_total[90s]))`, q[0])
	require.Equal(t, `sum by (source_service,source_version,destination_service,destination_version) (rate(wasmesh_requests_total{response_code_class="5xx"}[90s]))`, q[1])
	require.Equal(t, `histogram_quantile(0.99, sum by (le,source_service,source_version,destination_service,destination_version) (rate(wasmesh_request_duration_ms_bucket[90s])))`, q[3])
}

func TestPrometheusErrors(t *testing.T) {
	_, err := NewPrometheus("localhost:9090")
	require.EqualError(t, err, `prometheus URL "localhost:9090": want http(s)://host:port`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		_ = json.NewEncoder(w).Encode(map[string]string{"status": "error", "errorType": "bad_data", "error": "parse error"})
	}))
	defer srv.Close()
	p, err := NewPrometheus(srv.URL)
	require.NoError(t, err)
	_, err = p.Edges(context.Background(), time.Minute)
	require.ErrorContains(t, err, "bad_data: parse error")
	require.Len(t, p.Problems(), 1)
	p, err = NewPrometheus("http://127.0.0.1:1")
	require.NoError(t, err)
	_, err = p.Edges(context.Background(), time.Minute)
	require.ErrorContains(t, err, "prometheus: Get")
}

// prometheusBin finds Debian's prometheus (scripts/observability.sh installs it under CI=true).
func prometheusBin(t *testing.T) string {
	for _, name := range []string{os.Getenv("WASMESH_PROMETHEUS"), "prometheus"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "no prometheus on PATH: install it (Debian: apt-get install prometheus; `make test` under CI=true does) or set WASMESH_PROMETHEUS"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// The --prometheus path against a real Prometheus: it scrapes two fake sidecar admins (the
// same text Envoy serves) every second, and the Prometheus source reports the rates, 5xx
// fractions and percentiles the scraper would.
func TestPrometheusReal(t *testing.T) {
	bin := prometheusBin(t)
	a, b := newFakeAdmin(t), newFakeAdmin(t)
	fr := edge("frontend", "v1", "reviews", "v1")
	rr := edge("reviews", "v2", "ratings", "v1")
	ctx, stop := context.WithCancel(t.Context())
	defer stop()
	go func() { // 50 requests/s on fr (20% 5xx, 5..10ms), 20/s on rr (no error, 1..5ms)
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				a.add(fr, 5, 1, 2)
				b.add(rr, 2, 0, 1)
			}
		}
	}()
	dir := t.TempDir()
	cfg := ScrapeConfig([]Target{
		{Node: "frontend.v1.0", Service: "frontend", Version: "v1", Admin: a.addr()},
		{Node: "reviews.v2.0", Service: "reviews", Version: "v2", Admin: b.addr()},
	}, time.Second)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.CommandContext(ctx, bin, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+addr)
	var log strings.Builder
	cmd.Stdout, cmd.Stderr = &log, &log
	require.NoError(t, cmd.Start())
	defer func() {
		stop()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("prometheus log:\n%s", log.String())
		}
	}()
	p, err := NewPrometheus("http://" + addr)
	require.NoError(t, err)
	var edges []EdgeStats
	deadline := time.Now().Add(2 * time.Minute) // a bound for a loaded machine
	for {
		edges, err = p.Edges(ctx, 10*time.Second)
		if err == nil && len(edges) == 2 && edges[0].P99 > 0 && edges[1].P99 > 0 && a.scrapes() >= 12 {
			break
		}
		require.True(t, time.Now().Before(deadline), "prometheus has no rates after 2 minutes: %v %+v", err, edges)
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("edges from prometheus: %+v", edges)
	require.Equal(t, fr, edges[0].EdgeKey)
	// The ticker's pace depends on the machine: the rates' ratio (2 to 5 per tick) and the
	// 5xx fraction (1 in 5) do not.
	require.Positive(t, edges[0].RPS)
	require.InDelta(t, 0.4, edges[1].RPS/edges[0].RPS, 0.05)
	require.InDelta(t, 0.2, edges[0].ErrorRate, 0.02)
	require.True(t, edges[0].P50 > 5 && edges[0].P50 <= 10, "p50 %v in the 5..10ms bucket", edges[0].P50)
	require.Equal(t, rr, edges[1].EdgeKey)
	require.Zero(t, edges[1].ErrorRate)
	require.True(t, edges[1].P99 > 1 && edges[1].P99 <= 5, "p99 %v in the 1..5ms bucket", edges[1].P99)
	require.Empty(t, p.Problems())
	require.Equal(t, fmt.Sprintf("prometheus http://%s", addr), p.Name())
}
