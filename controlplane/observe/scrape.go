package observe

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Target is one sidecar whose admin the scraper reads.
type Target struct {
	Node    string // node id
	Service string // node metadata service: the source when a series has no source labels
	Version string
	Admin   string // admin host:port (loopback only: the admin is unauthenticated)
}

// ScraperConfig configures a Scraper. Zero values take the documented defaults.
type ScraperConfig struct {
	// Targets returns the sidecars to read, called once per scrape (required).
	Targets func() []Target
	// Interval between scrapes (default 2s).
	Interval time.Duration
	// Retention is how far back samples are kept, so the longest window a graph can ask for
	// (default 5m). Each series keeps Retention/Interval+1 samples.
	Retention time.Duration
	// MaxSeries bounds the series kept (default 4096): one per sidecar and caller → callee
	// version pair. Beyond it new series are dropped and counted.
	MaxSeries int
	// Timeout bounds one sidecar's scrape (default 1s); Parallel bounds the scrapes at once
	// (default 16).
	Timeout  time.Duration
	Parallel int
	// AllowRemote lets the scraper read admins at non-loopback addresses (Docker networks);
	// off by default because an admin is unauthenticated.
	AllowRemote bool
	// Log receives scrape failures at debug level (nil: discarded).
	Log *slog.Logger
}

// Scraper reads the wasmesh request metrics from every sidecar's admin /stats/prometheus and
// keeps, per sidecar and edge, a ring of samples: memory is bounded by MaxSeries × ring size.
type Scraper struct {
	cfg    ScraperConfig
	client *http.Client
	ring   int // samples per series

	mu       sync.Mutex
	series   map[seriesKey]*series
	dropped  int64
	problems map[string]string    // node → last scrape error
	scraped  map[string]time.Time // node → its last successful scrape
	last     time.Time            // end of the last scrape
	now      func() time.Time     // time.Now; tests step it
}

type seriesKey struct {
	node string
	EdgeKey
}

// series is one sidecar's view of one edge: a ring of cumulative counters.
type series struct {
	bounds  []float64 // histogram upper bounds, ascending, +Inf last
	samples []sample  // ring, len ≤ cap
	head    int       // next write
	seen    time.Time
}

type sample struct {
	t       time.Time
	total   float64
	errs    float64   // 5xx
	buckets []float64 // cumulative counts per bound
}

// NewScraper returns a scraper; Run starts it.
func NewScraper(cfg ScraperConfig) (*Scraper, error) {
	if cfg.Targets == nil {
		return nil, errors.New("observe: scraper needs Targets")
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 2 * time.Second
	}
	if cfg.Retention <= 0 {
		cfg.Retention = 5 * time.Minute
	}
	if cfg.MaxSeries <= 0 {
		cfg.MaxSeries = 4096
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = time.Second
	}
	if cfg.Parallel <= 0 {
		cfg.Parallel = 16
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Scraper{
		now:      time.Now,
		cfg:      cfg,
		client:   &http.Client{Timeout: cfg.Timeout, Transport: &http.Transport{MaxIdleConnsPerHost: 1, IdleConnTimeout: 3 * cfg.Interval}},
		ring:     int(cfg.Retention/cfg.Interval) + 1,
		series:   map[seriesKey]*series{},
		problems: map[string]string{},
		scraped:  map[string]time.Time{},
	}, nil
}

// Name implements Source.
func (s *Scraper) Name() string { return "sidecar admin scrape every " + s.cfg.Interval.String() }

// Run scrapes every ScraperConfig.Interval until ctx ends.
func (s *Scraper) Run(ctx context.Context) {
	tick := time.NewTicker(s.cfg.Interval)
	defer tick.Stop()
	for {
		s.ScrapeOnce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// ScrapeOnce reads every target once and records the samples.
func (s *Scraper) ScrapeOnce(ctx context.Context) {
	targets := s.cfg.Targets()
	sem := make(chan struct{}, s.cfg.Parallel)
	var wg sync.WaitGroup
	for _, t := range targets {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			got, err := s.fetch(ctx, t)
			now := s.now()
			s.mu.Lock()
			defer s.mu.Unlock()
			if err != nil {
				s.problems[t.Node] = err.Error()
				s.cfg.Log.Debug("scrape", "node", t.Node, "err", err)
				return
			}
			delete(s.problems, t.Node)
			prev, seen := s.scraped[t.Node]
			for k, a := range got {
				s.recordLocked(seriesKey{node: t.Node, EdgeKey: k}, a, now, prev, seen)
			}
			s.scraped[t.Node] = now
		}()
	}
	wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.last = s.now()
	live := map[string]bool{}
	for _, t := range targets {
		live[t.Node] = true
	}
	for n := range s.problems {
		if !live[n] {
			delete(s.problems, n)
		}
	}
	for n := range s.scraped {
		if !live[n] {
			delete(s.scraped, n)
		}
	}
	// Series of sidecars gone (or edges not reported) for longer than the retention go.
	for k, sr := range s.series {
		if s.last.Sub(sr.seen) > s.cfg.Retention {
			delete(s.series, k)
		}
	}
}

// agg is one scrape's sums for one edge.
type agg struct {
	total, errs float64
	buckets     map[float64]float64
}

func (s *Scraper) fetch(ctx context.Context, t Target) (map[EdgeKey]*agg, error) {
	host, _, err := net.SplitHostPort(t.Admin)
	if err != nil {
		return nil, fmt.Errorf("admin address %q: %w", t.Admin, err)
	}
	if ip, err := netip.ParseAddr(host); !s.cfg.AllowRemote && (err != nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("admin address %q is not a loopback address: not read", t.Admin)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+t.Admin+"/stats/prometheus?filter="+url.QueryEscape("wasmesh_request"), nil)
	if err != nil {
		return nil, err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("admin /stats/prometheus: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("admin /stats/prometheus: %s", resp.Status)
	}
	out := map[EdgeKey]*agg{}
	err = parseProm(resp.Body, func(p promSample) {
		k := edgeOf(p.labels, t.Service, t.Version)
		a := out[k]
		if a == nil {
			a = &agg{buckets: map[float64]float64{}}
			out[k] = a
		}
		switch p.name {
		case MetricRequests:
			a.total += p.value
			if p.labels["response_code_class"] == "5xx" {
				a.errs += p.value
			}
		case MetricDurationBuckets:
			le, err := strconv.ParseFloat(p.labels["le"], 64)
			if err == nil {
				a.buckets[le] += p.value
			}
		}
	})
	return out, err
}

// edgeOf reads an edge from a series' labels; a missing source is the sidecar's own
// service and version (the filter records on the caller's outbound listener).
func edgeOf(l map[string]string, svc, ver string) EdgeKey {
	known := func(v, def string) string {
		if v == "" || v == "unknown" {
			return def
		}
		return v
	}
	return EdgeKey{
		Source:      ServiceVersion{known(l["source_service"], known(svc, "unknown")), known(l["source_version"], known(ver, "unknown"))},
		Destination: ServiceVersion{known(l["destination_service"], "unknown"), known(l["destination_version"], "unknown")},
	}
}

// recordLocked appends a sample to the series. A series new on a sidecar scraped before
// (prev) starts with a zero sample at that scrape: the sidecar had not counted any such
// request then, so the first requests of a new edge show at once.
func (s *Scraper) recordLocked(k seriesKey, a *agg, now, prev time.Time, scrapedBefore bool) {
	sr := s.series[k]
	fresh := sr == nil
	if fresh {
		if len(s.series) >= s.cfg.MaxSeries {
			s.dropped++
			return
		}
		sr = &series{}
		s.series[k] = sr
	}
	bounds := make([]float64, 0, len(a.buckets))
	for b := range a.buckets {
		bounds = append(bounds, b)
	}
	slices.Sort(bounds)
	if !slices.Equal(bounds, sr.bounds) { // first sample, or Envoy's buckets changed
		sr.bounds, sr.samples, sr.head = bounds, make([]sample, 0, s.ring), 0
		if fresh && scrapedBefore {
			sr.samples, sr.head = append(sr.samples, sample{t: prev, buckets: make([]float64, len(bounds))}), 1
		}
	}
	smp := sample{t: now, total: a.total, errs: a.errs, buckets: make([]float64, len(bounds))}
	for i, b := range bounds {
		smp.buckets[i] = a.buckets[b]
	}
	if len(sr.samples) < s.ring {
		sr.samples = append(sr.samples, smp)
	} else {
		sr.samples[sr.head] = smp
	}
	sr.head = (sr.head + 1) % s.ring
	sr.seen = now
}

// ordered returns the series' samples oldest first.
func (sr *series) ordered(ring int) []sample {
	if len(sr.samples) < ring || sr.head == 0 {
		return sr.samples
	}
	return append(slices.Clone(sr.samples[sr.head:]), sr.samples[:sr.head]...)
}

// Edges implements Source: per edge, the rates over the window ending at the last scrape.
func (s *Scraper) Edges(_ context.Context, window time.Duration) ([]EdgeStats, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	acc := map[EdgeKey]*edgeAcc{}
	for k, sr := range s.series {
		smp := sr.ordered(s.ring)
		if len(smp) < 2 {
			continue
		}
		newest := smp[len(smp)-1]
		if s.last.Sub(newest.t) > 2*s.cfg.Interval+s.cfg.Timeout {
			continue // the sidecar stopped answering: no current rate
		}
		from := newest.t.Add(-window)
		i, _ := slices.BinarySearchFunc(smp, from, func(x sample, t time.Time) int { return x.t.Compare(t) })
		if i >= len(smp)-1 {
			i = len(smp) - 2
		}
		oldest := smp[i]
		dt := newest.t.Sub(oldest.t).Seconds()
		if dt <= 0 {
			continue
		}
		a := acc[k.EdgeKey]
		if a == nil {
			a = &edgeAcc{buckets: map[float64]float64{}}
			acc[k.EdgeKey] = a
		}
		reset := newest.total < oldest.total // the sidecar restarted: its counters began again
		delta := func(n, o float64) float64 {
			if reset {
				return n
			}
			return n - o
		}
		a.rps += delta(newest.total, oldest.total) / dt
		a.eps += delta(newest.errs, oldest.errs) / dt
		a.requests += delta(newest.total, oldest.total)
		for j, b := range sr.bounds {
			if !reset && len(oldest.buckets) == len(sr.bounds) {
				a.buckets[b] += newest.buckets[j] - oldest.buckets[j]
			} else {
				a.buckets[b] += newest.buckets[j]
			}
		}
		a.sidecars++
	}
	out := make([]EdgeStats, 0, len(acc))
	for k, a := range acc {
		out = append(out, a.stats(k))
	}
	sortEdges(out)
	return out, nil
}

// Problems implements Source: the sidecars whose last scrape failed, and dropped series.
func (s *Scraper) Problems() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, n := range slices.Sorted(maps.Keys(s.problems)) {
		out = append(out, n+": "+s.problems[n])
	}
	if s.dropped > 0 {
		out = append(out, fmt.Sprintf("%d series dropped: more than %d series (raise the scraper's MaxSeries)", s.dropped, s.cfg.MaxSeries))
	}
	return out
}

// ScraperStats is what a scraper holds.
type ScraperStats struct {
	Series  int   `json:"series"`
	Samples int   `json:"samples"`
	Bytes   int64 `json:"bytes"` // estimate of the samples' memory
	Dropped int64 `json:"dropped"`
	// LastScrape is when the last scrape finished.
	LastScrape time.Time `json:"lastScrape"`
}

// Stats reports the retained series and samples and their estimated memory.
func (s *Scraper) Stats() ScraperStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := ScraperStats{Series: len(s.series), Dropped: s.dropped, LastScrape: s.last}
	const sampleBytes = 24 + 8 + 8 + 24 // time, total, errs, bucket slice header
	for k, sr := range s.series {
		st.Samples += len(sr.samples)
		st.Bytes += int64(len(k.node)+len(k.Source.Service)+len(k.Source.Version)+len(k.Destination.Service)+len(k.Destination.Version)) + 128
		st.Bytes += int64(cap(sr.samples))*sampleBytes + int64(len(sr.bounds))*8
		for _, smp := range sr.samples {
			st.Bytes += int64(cap(smp.buckets)) * 8
		}
	}
	return st
}
