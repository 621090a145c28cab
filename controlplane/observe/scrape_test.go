package observe

import (
	"context"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseProm(t *testing.T) {
	in := "# HELP x\n" +
		`wasmesh_requests_total{source_service="frontend",destination_service="re\"v\\iews",response_code_class="5xx"} 7` + "\n" +
		`wasmesh_request_duration_ms_bucket{destination_service="reviews",le="+Inf"} 3` + "\n" +
		`wasmesh_request_bytes{destination_service="reviews"} 99` + "\n" +
		`wasmesh_requests_total{broken 1` + "\n" +
		`wasmesh_requests_total{a="b"} notanumber` + "\n"
	var got []promSample
	require.NoError(t, parseProm(strings.NewReader(in), func(p promSample) { got = append(got, p) }))
	require.Equal(t, []promSample{
		{name: MetricRequests, labels: map[string]string{"source_service": "frontend", "destination_service": `re"v\iews`, "response_code_class": "5xx"}, value: 7},
		{name: MetricDurationBuckets, labels: map[string]string{"destination_service": "reviews", "le": "+Inf"}, value: 3},
	}, got)
}

func TestEdgeOfFallsBackToTheSidecar(t *testing.T) {
	require.Equal(t, edge("reviews", "v2", "ratings", "unknown"),
		edgeOf(map[string]string{"source_service": "unknown", "destination_service": "ratings"}, "reviews", "v2"))
	require.Equal(t, edge("frontend", "v1", "reviews", "v3"),
		edgeOf(map[string]string{"source_service": "frontend", "source_version": "v1", "destination_service": "reviews", "destination_version": "v3"}, "x", "y"))
}

func TestQuantile(t *testing.T) {
	b := map[float64]float64{1: 0, 5: 50, 10: 100, math.Inf(1): 100}
	require.InDelta(t, 5.0, quantile(0.5, b), 1e-9)
	require.InDelta(t, 9.9, quantile(0.99, b), 1e-9)
	require.True(t, math.IsNaN(quantile(0.5, map[float64]float64{math.Inf(1): 0})))
	// Everything in the +Inf bucket: the largest finite bound.
	require.Equal(t, 10.0, quantile(0.5, map[float64]float64{1: 0, 10: 0, math.Inf(1): 4}))
}

// stepClock gives the scraper a clock that moves only when the returned function says, so
// windows and ageing follow the test's steps, not how busy the machine is.
func stepClock(s *Scraper) func(time.Duration) {
	var mu sync.Mutex
	clock := time.Now()
	s.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	return func(d time.Duration) { mu.Lock(); defer mu.Unlock(); clock = clock.Add(d) }
}

func newTestScraper(t *testing.T, targets []Target, cfg ScraperConfig) *Scraper {
	t.Helper()
	cfg.Targets = func() []Target { return targets }
	s, err := NewScraper(cfg)
	require.NoError(t, err)
	return s
}

// The scraper turns the sidecars' counters into rates, 5xx fractions and percentiles over
// the window, summed across the sidecars that report an edge, and survives a restart.
func TestScraperEdges(t *testing.T) {
	a, b := newFakeAdmin(t), newFakeAdmin(t)
	fr := edge("frontend", "v1", "reviews", "v1")
	rr := edge("reviews", "v1", "ratings", "v1")
	s := newTestScraper(t, []Target{
		{Node: "frontend.v1.0", Service: "frontend", Version: "v1", Admin: a.addr()},
		{Node: "reviews.v1.0", Service: "reviews", Version: "v1", Admin: b.addr()},
		{Node: "gone.v1.0", Service: "gone", Version: "v1", Admin: "127.0.0.1:1"},
		{Node: "remote.v1.0", Service: "remote", Version: "v1", Admin: "10.1.2.3:15000"},
	}, ScraperConfig{Interval: time.Second})
	ctx := context.Background()
	a.add(fr, 10, 0, 1)
	s.ScrapeOnce(ctx)
	edges, err := s.Edges(ctx, time.Minute)
	require.NoError(t, err)
	require.Empty(t, edges, "one sample is no rate")

	time.Sleep(50 * time.Millisecond)
	a.add(fr, 100, 20, 2) // 100 requests, 20 failed, each 5..10ms
	b.add(rr, 40, 0, 0)
	s.ScrapeOnce(ctx)
	edges, err = s.Edges(ctx, time.Minute)
	require.NoError(t, err)
	require.Len(t, edges, 2)
	require.Equal(t, fr, edges[0].EdgeKey)
	require.Equal(t, 100.0, edges[0].Requests)
	require.InDelta(t, 0.2, edges[0].ErrorRate, 1e-9)
	require.Greater(t, edges[0].RPS, 0.0)
	require.InDelta(t, 7.5, edges[0].P50, 1e-9, "half way through the 5..10 bucket")
	require.InDelta(t, 9.95, edges[0].P99, 1e-9)
	require.Equal(t, rr, edges[1].EdgeKey)
	require.Equal(t, 40.0, edges[1].Requests)
	require.Zero(t, edges[1].ErrorRate)

	problems := strings.Join(s.Problems(), "\n")
	require.Contains(t, problems, "gone.v1.0: admin /stats/prometheus:")
	require.Contains(t, problems, `remote.v1.0: admin address "10.1.2.3:15000" is not a loopback address: not read`)

	// A restarted sidecar's counters start again: the new counts are the window's.
	a.reset()
	a.add(fr, 5, 5, 3)
	time.Sleep(20 * time.Millisecond)
	s.ScrapeOnce(ctx)
	edges, err = s.Edges(ctx, time.Minute)
	require.NoError(t, err)
	require.Equal(t, 5.0, edges[0].Requests)
	require.Equal(t, 1.0, edges[0].ErrorRate)
}

// A window shorter than the samples kept uses only the samples inside it.
func TestScraperWindow(t *testing.T) {
	a := newFakeAdmin(t)
	fr := edge("frontend", "v1", "reviews", "v1")
	s := newTestScraper(t, []Target{{Node: "f", Service: "frontend", Version: "v1", Admin: a.addr()}}, ScraperConfig{Interval: 10 * time.Millisecond})
	advance := stepClock(s)
	ctx := context.Background()
	a.add(fr, 1000, 1000, 0) // an old burst of errors
	s.ScrapeOnce(ctx)
	advance(300 * time.Millisecond)
	s.ScrapeOnce(ctx)
	for range 3 {
		advance(40 * time.Millisecond)
		a.add(fr, 10, 0, 0)
		s.ScrapeOnce(ctx)
	}
	long, err := s.Edges(ctx, time.Minute)
	require.NoError(t, err)
	require.Equal(t, 30.0, long[0].Requests, "the first sample is the oldest in a long window")
	short, err := s.Edges(ctx, 200*time.Millisecond)
	require.NoError(t, err)
	require.Equal(t, 30.0, short[0].Requests)
	require.Zero(t, short[0].ErrorRate)
}

// The scraper's memory stays bounded: 100 simulated sidecars (fake admins serving
// /stats/prometheus), each reporting a steady edge and an edge whose callee version changes
// every 20 scrapes (series appear and stop), scraped 250 times with a ring of 31 samples (it
// wraps 8 times). Series, samples and bytes stay under the bounds the configuration implies
// at every scrape, the Go heap does not grow with the scrapes, and with a MaxSeries below
// what the sidecars report the excess is dropped and counted, never kept.
func TestScraperMemoryBounded(t *testing.T) {
	const sidecars = 100
	var admins []*fakeAdmin
	var targets []Target
	for i := range sidecars {
		a := newFakeAdmin(t)
		admins = append(admins, a)
		targets = append(targets, Target{Node: "svc" + strconv.Itoa(i) + ".v1.0", Service: "svc" + strconv.Itoa(i), Version: "v1", Admin: a.addr()})
	}
	for _, tc := range []struct {
		name      string
		maxSeries int
		scrapes   int
		dropped   bool
	}{
		{"churning edges", 1000, 250, false},
		{"more series than MaxSeries", 150, 60, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, a := range admins {
				a.reset()
			}
			cfg := ScraperConfig{Interval: 10 * time.Millisecond, Retention: 300 * time.Millisecond, MaxSeries: tc.maxSeries, Parallel: 16}
			s := newTestScraper(t, targets, cfg)
			// The scraper's clock steps one Interval per scrape, so ageing follows the
			// scrape count, not how fast this machine runs them (a tight loop of 9 ms
			// scrapes once kept a stopped series past the count below).
			advance := stepClock(s)
			ctx := context.Background()
			ring := int(cfg.Retention/cfg.Interval) + 1
			perSeries := int64(ring*(64+8*len(fakeBounds)) + 8*len(fakeBounds) + 256)
			bound := int64(cfg.MaxSeries) * perSeries
			var heapAfterWarmup uint64
			start := time.Now()
			// WASMESH_SCRAPER_SOAK=3m runs the churning case for that long instead (the figure
			// in docs/observability.md).
			soak, _ := time.ParseDuration(os.Getenv("WASMESH_SCRAPER_SOAK"))
			if tc.dropped {
				soak = 0
			}
			for i := 0; i < tc.scrapes || (soak > 0 && time.Since(start) < soak); i++ {
				for j, a := range admins {
					a.add(edge("svc"+strconv.Itoa(j), "v1", "steady", "v1"), 3, 0, 2)
					a.add(edge("svc"+strconv.Itoa(j), "v1", "churn", "v"+strconv.Itoa(i/20)), 1, 1, 4)
					if i%20 == 0 && i > 0 {
						a.mu.Lock()
						delete(a.edges, edge("svc"+strconv.Itoa(j), "v1", "churn", "v"+strconv.Itoa(i/20-1)))
						a.mu.Unlock()
					}
				}
				advance(cfg.Interval)
				s.ScrapeOnce(ctx)
				st := s.Stats()
				require.LessOrEqual(t, st.Series, cfg.MaxSeries)
				require.LessOrEqual(t, st.Samples, cfg.MaxSeries*ring)
				require.LessOrEqual(t, st.Bytes, bound, "scrape %d: %+v", i, st)
				if i == tc.scrapes/4 {
					heapAfterWarmup = heap()
				}
				tc.scrapes = max(tc.scrapes, i+1)
			}
			st := s.Stats()
			edges, err := s.Edges(ctx, time.Minute)
			require.NoError(t, err)
			h := heap()
			t.Logf("%d sidecars, %d scrapes in %v: %d series, %d samples, ~%d KiB retained (bound %d KiB); heap %d KiB after warm-up, %d KiB at the end; %d series dropped",
				sidecars, tc.scrapes, time.Since(start).Round(time.Millisecond), st.Series, st.Samples, st.Bytes>>10, bound>>10, heapAfterWarmup>>10, h>>10, st.Dropped)
			require.Less(t, h, heapAfterWarmup+uint64(bound)+8<<20, "the heap grew with the scrapes")
			if tc.dropped {
				require.Positive(t, st.Dropped)
				require.Equal(t, cfg.MaxSeries, st.Series)
				require.Contains(t, strings.Join(s.Problems(), "\n"), "series dropped: more than 150 series")
				return
			}
			require.Zero(t, st.Dropped)
			// Per sidecar: the steady edge, the current churn version and the stopped ones
			// still within the retention (31 scrapes span at most two 20-scrape versions);
			// without ageing there would be 13 churn versions.
			require.LessOrEqual(t, st.Series, 4*sidecars, "stopped series age out")
			require.GreaterOrEqual(t, len(edges), 2, "the steady and the current churn edge")
		})
	}
}

func heap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
