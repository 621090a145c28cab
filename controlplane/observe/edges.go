package observe

import (
	"cmp"
	"context"
	"maps"
	"math"
	"slices"
	"time"
)

// ServiceVersion is one version of one Service: a node of the graph.
type ServiceVersion struct {
	Service string `json:"service"`
	Version string `json:"version"`
}

// ID is "<service>:<version>".
func (sv ServiceVersion) ID() string { return sv.Service + ":" + sv.Version }

// EdgeKey is a caller → callee pair of versions.
type EdgeKey struct {
	Source      ServiceVersion `json:"source"`
	Destination ServiceVersion `json:"destination"`
}

// EdgeStats is the traffic on one edge over a window.
type EdgeStats struct {
	EdgeKey
	// RPS is requests per second; ErrorRate the fraction of them answered 5xx.
	RPS       float64 `json:"rps"`
	ErrorRate float64 `json:"errorRate"`
	// Requests in the window.
	Requests float64 `json:"requests"`
	// P50 and P99 are latency percentiles in milliseconds (-1: no request in the window).
	P50 float64 `json:"p50Ms"`
	P99 float64 `json:"p99Ms"`
}

// Source gives the traffic per edge: the scraper or a Prometheus server.
type Source interface {
	// Name says where the numbers come from (shown in the UI).
	Name() string
	// Edges returns the traffic of every edge over the window ending now.
	Edges(ctx context.Context, window time.Duration) ([]EdgeStats, error)
	// Problems are what kept the source from seeing everything (unreachable sidecars).
	Problems() []string
}

// edgeAcc sums one edge across sidecars.
type edgeAcc struct {
	rps, eps, requests float64
	buckets            map[float64]float64 // upper bound → count in window
	sidecars           int
}

func (a *edgeAcc) stats(k EdgeKey) EdgeStats {
	st := EdgeStats{EdgeKey: k, RPS: a.rps, Requests: a.requests, P50: -1, P99: -1}
	if a.rps > 0 {
		st.ErrorRate = a.eps / a.rps
	}
	if q := quantile(0.5, a.buckets); !math.IsNaN(q) {
		st.P50 = q
	}
	if q := quantile(0.99, a.buckets); !math.IsNaN(q) {
		st.P99 = q
	}
	return st
}

// quantile estimates the q-quantile from cumulative bucket counts by upper bound, as
// Prometheus's histogram_quantile does (linear within a bucket; the +Inf bucket answers the
// largest finite bound). NaN when the histogram is empty.
func quantile(q float64, buckets map[float64]float64) float64 {
	bounds := slices.Sorted(maps.Keys(buckets))
	if len(bounds) == 0 {
		return math.NaN()
	}
	total := buckets[bounds[len(bounds)-1]]
	if total <= 0 {
		return math.NaN()
	}
	rank := q * total
	prevBound, prevCount := 0.0, 0.0
	for _, b := range bounds {
		c := buckets[b]
		if c >= rank {
			if math.IsInf(b, 1) {
				return prevBound
			}
			if c == prevCount {
				return b
			}
			return prevBound + (b-prevBound)*(rank-prevCount)/(c-prevCount)
		}
		prevBound, prevCount = b, c
	}
	return prevBound
}

func sortEdges(es []EdgeStats) {
	slices.SortFunc(es, func(a, b EdgeStats) int {
		return cmp.Or(cmp.Compare(a.Source.ID(), b.Source.ID()), cmp.Compare(a.Destination.ID(), b.Destination.ID()))
	})
}
