package observe

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// fakeAdmin serves /stats/prometheus like an Envoy sidecar admin running the telemetry
// filter: per edge, request counters by code class and a duration histogram.
type fakeAdmin struct {
	mu    sync.Mutex
	edges map[EdgeKey]*fakeEdge
	srv   *httptest.Server
	hits  int
}

type fakeEdge struct {
	ok, errs float64
	buckets  []float64 // cumulative, for fakeBounds
}

var fakeBounds = []string{"1", "5", "10", "50", "100", "500", "+Inf"}

func newFakeAdmin(t testing.TB) *fakeAdmin {
	f := &fakeAdmin{edges: map[EdgeKey]*fakeEdge{}}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/stats/prometheus" {
			http.NotFound(w, r)
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		f.hits++
		fmt.Fprint(w, "# TYPE envoy_cluster_upstream_rq counter\nenvoy_cluster_upstream_rq{envoy_cluster_name=\"x\"} 3\n")
		fmt.Fprint(w, "# TYPE wasmesh_requests_total counter\n")
		for k, e := range f.edges {
			l := fmt.Sprintf(`source_service=%q,source_version=%q,destination_service=%q,destination_version=%q`, k.Source.Service, k.Source.Version, k.Destination.Service, k.Destination.Version)
			fmt.Fprintf(w, "wasmesh_requests_total{%s,response_code_class=\"2xx\"} %g\n", l, e.ok)
			fmt.Fprintf(w, "wasmesh_requests_total{%s,response_code_class=\"5xx\"} %g\n", l, e.errs)
			for i, b := range fakeBounds {
				fmt.Fprintf(w, "wasmesh_request_duration_ms_bucket{%s,le=\"%s\"} %g\n", l, b, e.buckets[i])
			}
			fmt.Fprintf(w, "wasmesh_request_duration_ms_sum{%s} 1\nwasmesh_request_duration_ms_count{%s} %g\n", l, l, e.ok+e.errs)
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAdmin) scrapes() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits
}

func (f *fakeAdmin) addr() string { return strings.TrimPrefix(f.srv.URL, "http://") }

// add records n requests on an edge, errs of them 5xx, each taking latency ms (a bucket
// bound index: every bucket from it on counts them).
func (f *fakeAdmin) add(k EdgeKey, n, errs float64, bucket int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	e := f.edges[k]
	if e == nil {
		e = &fakeEdge{buckets: make([]float64, len(fakeBounds))}
		f.edges[k] = e
	}
	e.ok += n - errs
	e.errs += errs
	for i := bucket; i < len(fakeBounds); i++ {
		e.buckets[i] += n
	}
}

// reset forgets every counter (an Envoy restart).
func (f *fakeAdmin) reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.edges = map[EdgeKey]*fakeEdge{}
}

func edge(from, fromV, to, toV string) EdgeKey {
	return EdgeKey{ServiceVersion{from, fromV}, ServiceVersion{to, toV}}
}
