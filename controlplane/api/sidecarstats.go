package api

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ServiceHealth is what the callers' sidecars report about one Service's endpoints, read from
// their Envoy admin (docs/cli.md#status): endpoints ejected by outlier detection or failing
// their health checks, and requests their circuit breakers refused.
type ServiceHealth struct {
	Service string `json:"service"`
	// Ejected lists the endpoints some caller does not send to, one entry per caller.
	Ejected []EjectedEndpoint `json:"ejected,omitempty"`
	// Overflows counts, per version, the requests and connections the callers' circuit
	// breakers refused since each sidecar started (Envoy's upstream_*_overflow counters).
	Overflows map[string]int64 `json:"overflows,omitempty"`
}

// EjectedEndpoint is one endpoint of a Service that one caller's sidecar does not use.
type EjectedEndpoint struct {
	Version string `json:"version"`
	Address string `json:"address"`
	// Reason is "outlier" (ejected after failing in a row) or "health check" (failing its
	// active health checks).
	Reason string `json:"reason"`
	// Caller is the node id of the sidecar that reported it.
	Caller string `json:"caller"`
}

// overflowStats are the Envoy cluster counters of requests and connections a circuit breaker
// refused.
var overflowStats = []string{"upstream_rq_pending_overflow", "upstream_rq_active_overflow", "upstream_cx_overflow", "upstream_rq_retry_overflow"}

// endpointsSuffix ends the name of a version's endpoints cluster (translate.EndpointsSuffix;
// api does not import translate).
const endpointsSuffix = "|endpoints"

// readSidecarStats reads every connected node's admin (only loopback addresses: the admin is
// unauthenticated and must never be reachable from elsewhere) and sums what they report per
// Service. Problems (an admin that does not answer) come back as messages; the rest is still
// reported.
func readSidecarStats(ctx context.Context, nodes []SidecarStatus) ([]ServiceHealth, []string) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	type result struct {
		node     string
		ejected  map[string][]EjectedEndpoint // service → endpoints
		overflow map[string]map[string]int64  // service → version → count
		err      error
	}
	var wg sync.WaitGroup
	results := make([]result, len(nodes))
	for i, n := range nodes {
		if !n.Connected || n.AdminAddress == "" {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := result{node: n.ID}
			r.ejected, r.overflow, r.err = readAdmin(ctx, n.ID, n.AdminAddress)
			results[i] = r
		}()
	}
	wg.Wait()
	byService := map[string]*ServiceHealth{}
	get := func(svc string) *ServiceHealth {
		h := byService[svc]
		if h == nil {
			h = &ServiceHealth{Service: svc}
			byService[svc] = h
		}
		return h
	}
	var problems []string
	for _, r := range results {
		if r.node == "" {
			continue
		}
		if r.err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", r.node, r.err))
			continue
		}
		for svc, es := range r.ejected {
			h := get(svc)
			h.Ejected = append(h.Ejected, es...)
		}
		for svc, versions := range r.overflow {
			h := get(svc)
			for v, n := range versions {
				if h.Overflows == nil {
					h.Overflows = map[string]int64{}
				}
				h.Overflows[v] += n
			}
		}
	}
	out := make([]ServiceHealth, 0, len(byService))
	for _, h := range byService {
		slices.SortFunc(h.Ejected, func(a, b EjectedEndpoint) int {
			return cmp.Or(cmp.Compare(a.Version, b.Version), cmp.Compare(a.Address, b.Address), cmp.Compare(a.Caller, b.Caller))
		})
		out = append(out, *h)
	}
	slices.SortFunc(out, func(a, b ServiceHealth) int { return cmp.Compare(a.Service, b.Service) })
	return out, problems
}

// readAdmin reads one sidecar's /clusters (host health flags) and overflow counters.
func readAdmin(ctx context.Context, node, addr string) (map[string][]EjectedEndpoint, map[string]map[string]int64, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, fmt.Errorf("admin address %q: %w", addr, err)
	}
	if ip, err := netip.ParseAddr(host); err != nil || !ip.IsLoopback() {
		return nil, nil, fmt.Errorf("admin address %q is not a loopback address: not read", addr)
	}
	get := func(path string) (io.ReadCloser, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
		if err != nil {
			return nil, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, fmt.Errorf("admin %s: %w", path, err)
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return nil, fmt.Errorf("admin %s: %s", path, resp.Status)
		}
		return resp.Body, nil
	}
	ejected := map[string][]EjectedEndpoint{}
	body, err := get("/clusters")
	if err != nil {
		return nil, nil, err
	}
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		// reviews|v1|endpoints::127.0.0.1:15101::health_flags::/failed_outlier_check
		cluster, rest, ok := strings.Cut(sc.Text(), "::")
		if !ok || !strings.HasSuffix(cluster, endpointsSuffix) {
			continue
		}
		address, flags, ok := strings.Cut(rest, "::health_flags::")
		if !ok {
			continue
		}
		svc, version, _ := strings.Cut(strings.TrimSuffix(cluster, endpointsSuffix), "|")
		for _, f := range []struct{ flag, reason string }{{"failed_outlier_check", "outlier"}, {"failed_active_hc", "health check"}} {
			if strings.Contains(flags, f.flag) {
				ejected[svc] = append(ejected[svc], EjectedEndpoint{Version: version, Address: address, Reason: f.reason, Caller: node})
			}
		}
	}
	body.Close()
	if err := sc.Err(); err != nil {
		return nil, nil, fmt.Errorf("admin /clusters: %w", err)
	}
	body, err = get("/stats?filter=" + "_overflow$")
	if err != nil {
		return nil, nil, err
	}
	defer body.Close()
	overflow := map[string]map[string]int64{}
	sc = bufio.NewScanner(body)
	for sc.Scan() {
		// cluster.reviews|v1|endpoints.upstream_rq_pending_overflow: 3
		name, value, ok := strings.Cut(sc.Text(), ": ")
		rest, isCluster := strings.CutPrefix(name, "cluster.")
		if !ok || !isCluster {
			continue
		}
		cluster, stat, ok := strings.Cut(rest, ".")
		if !ok || !slices.Contains(overflowStats, stat) || !strings.Contains(cluster, "|") || strings.HasPrefix(cluster, "inbound|") {
			continue
		}
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil || n == 0 {
			continue
		}
		svc, version, _ := strings.Cut(strings.TrimSuffix(cluster, endpointsSuffix), "|")
		if overflow[svc] == nil {
			overflow[svc] = map[string]int64{}
		}
		overflow[svc][version] += n
	}
	return ejected, overflow, sc.Err()
}
