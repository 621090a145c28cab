package observe

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/wasmesh/wasmesh/controlplane/crd"
)

// Health thresholds on the 5xx fraction of an edge's requests (Kiali's defaults).
const (
	DegradedAt = 0.001 // ≥ 0.1%: degraded
	FailingAt  = 0.10  // > 10%: failing
)

// Health states of a node or an edge.
const (
	HealthIdle     = "idle" // no request in the window
	HealthHealthy  = "healthy"
	HealthDegraded = "degraded"
	HealthFailing  = "failing"
)

// Health classifies a rate and its 5xx fraction.
func Health(rps, errorRate float64) string {
	switch {
	case rps <= 0:
		return HealthIdle
	case errorRate > FailingAt:
		return HealthFailing
	case errorRate >= DegradedAt:
		return HealthDegraded
	default:
		return HealthHealthy
	}
}

// Sidecar is one Envoy as the graph shows it.
type Sidecar struct {
	ID        string `json:"id"`
	Connected bool   `json:"connected"`
	// Acked: connected and running the latest version of every type it subscribed to.
	Acked bool `json:"acked"`
	// Errors are its NACKs (type, version and Envoy's error text) and build errors.
	Errors []string `json:"errors,omitempty"`
	// Service and Version are its node metadata.
	Service string `json:"service"`
	Version string `json:"version"`
}

// Graph is the service graph: GET /api/v1/graph.
type Graph struct {
	Window    string    `json:"window"`
	Source    string    `json:"source"`
	Generated time.Time `json:"generated"`
	// Thresholds of the 5xx fraction for degraded and failing.
	Thresholds struct {
		Degraded float64 `json:"degraded"`
		Failing  float64 `json:"failing"`
	} `json:"thresholds"`
	Nodes    []GraphNode `json:"nodes"`
	Edges    []GraphEdge `json:"edges"`
	Problems []string    `json:"problems,omitempty"`
}

// GraphNode is one version of one Service.
type GraphNode struct {
	ID string `json:"id"` // service:version
	ServiceVersion
	// RPS is the requests per second it receives from the mesh; ErrorRate their 5xx fraction.
	RPS       float64 `json:"rps"`
	ErrorRate float64 `json:"errorRate"`
	Health    string  `json:"health"`
	// Declared: a version of a stored Service (else only seen in metrics or node metadata).
	Declared  bool      `json:"declared"`
	Sidecars  []Sidecar `json:"sidecars"`
	Resources []crd.Key `json:"resources"`
}

// GraphEdge is the traffic from one caller version to one callee version.
type GraphEdge struct {
	ID     string `json:"id"` // from->to
	From   string `json:"from"`
	To     string `json:"to"`
	Health string `json:"health"`
	EdgeStats
	// ErrorPercent is ErrorRate × 100.
	ErrorPercent float64 `json:"errorPercent"`
	// Weight is the callee version's share of the canary split (percent), when a TrafficRoute
	// splits the callee's Service.
	Weight *int `json:"weight,omitempty"`
	// Faults are the FaultInjection rules on calls to the callee's Service.
	Faults []string `json:"faults,omitempty"`
	// MTLS: the calls on this edge are mutual TLS (set by the MTLS option).
	MTLS bool `json:"mtls"`
	// Resources are what shapes the calls: the callee's routes, faults and telemetry and the
	// caller's WasmPlugins.
	Resources []crd.Key `json:"resources"`
}

// GraphOptions adds what the metrics cannot say.
type GraphOptions struct {
	// MTLS reports whether calls on an edge use mutual TLS (nil: the destination Service's
	// transport mode is not DISABLE, as the callers' sidecars then originate mTLS).
	MTLS func(EdgeKey) bool
}

// BuildGraph joins the stored resources, the sidecars and the traffic into the graph: a node
// per declared Service version, per sidecar's service and version, and per edge end.
func BuildGraph(set *crd.Set, sidecars []Sidecar, edges []EdgeStats, window time.Duration, opts GraphOptions) Graph {
	g := Graph{Window: window.String(), Generated: time.Now().UTC(), Nodes: []GraphNode{}, Edges: []GraphEdge{}}
	g.Thresholds.Degraded, g.Thresholds.Failing = DegradedAt, FailingAt
	nodes := map[string]*GraphNode{}
	node := func(sv ServiceVersion) *GraphNode {
		n := nodes[sv.ID()]
		if n == nil {
			n = &GraphNode{ID: sv.ID(), ServiceVersion: sv, Sidecars: []Sidecar{}, Resources: nodeResources(set, sv.Service)}
			nodes[sv.ID()] = n
		}
		return n
	}
	for _, s := range set.Services {
		for _, v := range s.Spec.Versions {
			node(ServiceVersion{s.Metadata.Name, v.Name}).Declared = true
		}
	}
	for _, sc := range sidecars {
		if sc.Service == "" {
			continue
		}
		n := node(ServiceVersion{sc.Service, sc.Version})
		n.Sidecars = append(n.Sidecars, sc)
	}
	errs := map[string]float64{}
	for _, e := range edges {
		from, to := node(e.Source), node(e.Destination)
		to.RPS += e.RPS
		errs[to.ID] += e.RPS * e.ErrorRate
		ge := GraphEdge{ID: from.ID + "->" + to.ID, From: from.ID, To: to.ID, EdgeStats: e,
			Health: Health(e.RPS, e.ErrorRate), ErrorPercent: e.ErrorRate * 100,
			Resources: edgeResources(set, e.EdgeKey)}
		if tr := trafficRoute(set, e.Destination.Service); tr != nil && tr.Spec.Split != nil {
			if w, ok := tr.Spec.Split.Weights[e.Destination.Version]; ok {
				ge.Weight = &w
			}
		}
		ge.Faults = faults(set, e.Destination.Service)
		if opts.MTLS != nil {
			ge.MTLS = opts.MTLS(e.EdgeKey)
		} else {
			ge.MTLS = set.TransportMode(e.Destination.Service) != crd.ModeDisable
		}
		g.Edges = append(g.Edges, ge)
	}
	for _, n := range nodes {
		if n.RPS > 0 {
			n.ErrorRate = errs[n.ID] / n.RPS
		}
		n.Health = Health(n.RPS, n.ErrorRate)
		slices.SortFunc(n.Sidecars, func(a, b Sidecar) int { return cmp.Compare(a.ID, b.ID) })
		g.Nodes = append(g.Nodes, *n)
	}
	slices.SortFunc(g.Nodes, func(a, b GraphNode) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortFunc(g.Edges, func(a, b GraphEdge) int { return cmp.Compare(a.ID, b.ID) })
	return g
}

func trafficRoute(set *crd.Set, svc string) *crd.TrafficRoute {
	for _, r := range set.TrafficRoutes {
		if r.Spec.Service == svc {
			return r
		}
	}
	return nil
}

// nodeResources are the resources that shape a Service's versions and its sidecars.
func nodeResources(set *crd.Set, svc string) []crd.Key {
	var out []crd.Key
	for _, s := range set.Services {
		if s.Metadata.Name == svc {
			out = append(out, crd.KeyOf(s))
		}
	}
	out = append(out, calleeResources(set, svc)...)
	out = append(out, pluginsOf(set, svc)...)
	return sortKeys(out)
}

// calleeResources shape calls to svc (in every caller's sidecar).
func calleeResources(set *crd.Set, svc string) []crd.Key {
	var out []crd.Key
	for _, r := range set.TrafficRoutes {
		if r.Spec.Service == svc {
			out = append(out, crd.KeyOf(r))
		}
	}
	for _, f := range set.FaultInjections {
		if f.Spec.Service == svc {
			out = append(out, crd.KeyOf(f))
		}
	}
	for _, t := range set.Telemetries {
		if len(t.Spec.Services) == 0 || slices.Contains(t.Spec.Services, svc) {
			out = append(out, crd.KeyOf(t))
		}
	}
	return out
}

// pluginsOf are the WasmPlugins in svc's sidecars.
func pluginsOf(set *crd.Set, svc string) []crd.Key {
	var out []crd.Key
	for _, p := range set.WasmPlugins {
		if len(p.Spec.Selector.Services) == 0 || slices.Contains(p.Spec.Selector.Services, svc) {
			out = append(out, crd.KeyOf(p))
		}
	}
	return out
}

func edgeResources(set *crd.Set, e EdgeKey) []crd.Key {
	return sortKeys(append(calleeResources(set, e.Destination.Service), pluginsOf(set, e.Source.Service)...))
}

func sortKeys(ks []crd.Key) []crd.Key {
	if ks == nil {
		return []crd.Key{}
	}
	slices.SortFunc(ks, func(a, b crd.Key) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	return slices.Compact(ks)
}

// faults describes the FaultInjection rules on calls to svc ("abort 503 100%").
func faults(set *crd.Set, svc string) []string {
	var out []string
	for _, f := range set.FaultInjections {
		if f.Spec.Service != svc {
			continue
		}
		for _, r := range f.Spec.Rules {
			if a := r.Abort; a != nil {
				code := "http " + strconv.Itoa(int(a.HTTPStatus))
				if a.GRPCStatus != nil {
					code += fmt.Sprintf(" / grpc %d", *a.GRPCStatus)
				}
				out = append(out, fmt.Sprintf("%s: abort %s, %g%%", r.Name, code, pct(a.Percentage)))
			}
			if d := r.Delay; d != nil {
				out = append(out, fmt.Sprintf("%s: delay %s, %g%%", r.Name, d.Fixed.Duration, pct(d.Percentage)))
			}
		}
	}
	return out
}

// pct is a fault's percentage (required, so set on every stored resource).
func pct(p *float64) float64 {
	if p == nil {
		return 0
	}
	return *p
}
