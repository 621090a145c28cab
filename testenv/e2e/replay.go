package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ReplayOptions configures a Replayer: one Envoy running Filters in order in front of one fake
// upstream per cluster.
type ReplayOptions struct {
	Filters []WasmFilter
	// Clusters are the routing-header values the filters may choose, e.g. "reviews|v2".
	Clusters []string
	// DefaultCluster receives requests without the routing header; default "default".
	DefaultCluster string
	Binary         string // Envoy executable; default envoybin.Find("")
	Dir            string // work directory; default a temporary one
}

// ReplayRequest is a request a Replayer sends through Envoy.
type ReplayRequest struct {
	Method  string
	Path    string
	Headers map[string]string // "host" sets :authority
	Body    string
}

// ReplayResult is what happened to one request in Envoy.
type ReplayResult struct {
	// Upstream is nil when no upstream was reached (local reply).
	Upstream *UpstreamRequest
	Status   int
	Headers  map[string]string // response headers, lowercase names, values joined by ","
	Body     string
	Elapsed  time.Duration
}

// UpstreamRequest is the request as it reached a fake upstream.
type UpstreamRequest struct {
	Cluster string            // the cluster whose upstream got it
	Method  string            // :method
	Path    string            // :path
	Host    string            // :authority
	Headers map[string]string // lowercase names, values joined by ","
	Body    string
}

// replayIDHeader tags each request a Replayer sends, so that a request which reaches an
// upstream late (Envoy forwards the headers of a request a filter later refuses on its body)
// is never counted for the next case. It is removed from what Do reports.
const replayIDHeader = "x-wasmesh-replay-id"

// Replayer runs requests through a real Envoy one at a time.
type Replayer struct {
	Envoy     *Envoy
	seq       int
	port      int
	upstreams map[string]*Upstream
	client    *http.Client
}

// StartReplayer starts the upstreams and Envoy.
func StartReplayer(ctx context.Context, opts ReplayOptions) (_ *Replayer, err error) {
	if opts.DefaultCluster == "" {
		opts.DefaultCluster = "default"
	}
	r := &Replayer{upstreams: map[string]*Upstream{}, client: &http.Client{
		Timeout:       30 * time.Second,
		Transport:     &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 4},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
	defer func() {
		if err != nil {
			r.Stop()
		}
	}()
	names := append([]string{opts.DefaultCluster}, opts.Clusters...)
	var clusters []Cluster
	for _, name := range names {
		if _, ok := r.upstreams[name]; ok {
			continue
		}
		svc, ver, _ := strings.Cut(name, "|")
		u, err := StartUpstream(UpstreamOptions{Service: svc, Version: ver, Answer: &Answer{}})
		if err != nil {
			return nil, err
		}
		r.upstreams[name] = u
		clusters = append(clusters, Cluster{Name: name, Address: u.Addr()})
	}
	ports, err := FreePorts(1)
	if err != nil {
		return nil, err
	}
	r.port = ports[0]
	cfg, err := StaticConfig{ListenPort: r.port, Filters: opts.Filters, Clusters: clusters, DefaultCluster: opts.DefaultCluster}.YAML()
	if err != nil {
		return nil, err
	}
	r.Envoy, err = StartEnvoy(ctx, EnvoyOptions{Name: "replay", Config: cfg, Binary: opts.Binary, Dir: opts.Dir})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// URL is the base URL of Envoy's listener.
func (r *Replayer) URL() string { return "http://127.0.0.1:" + strconv.Itoa(r.port) }

// Do sends req through Envoy; every upstream answers with ans.
func (r *Replayer) Do(ctx context.Context, req ReplayRequest, ans Answer) (ReplayResult, error) {
	for _, u := range r.upstreams {
		u.Reset()
		a := ans
		u.SetAnswer(&a)
	}
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	path := req.Path
	if path == "" {
		path = "/"
	}
	hr, err := http.NewRequestWithContext(ctx, method, r.URL()+path, strings.NewReader(req.Body))
	if err != nil {
		return ReplayResult{}, fmt.Errorf("request: %w", err)
	}
	if req.Body == "" {
		hr.Body, hr.ContentLength = http.NoBody, 0
	}
	hr.Header["User-Agent"] = []string{""} // Go's default User-Agent is not part of the case
	r.seq++
	id := strconv.Itoa(r.seq)
	hr.Header.Set(replayIDHeader, id)
	for k, v := range req.Headers {
		if strings.EqualFold(k, "host") || k == ":authority" {
			hr.Host = v
			continue
		}
		hr.Header.Set(k, v)
	}
	start := time.Now()
	resp, err := r.client.Do(hr)
	if err != nil {
		return ReplayResult{}, fmt.Errorf("request: %w", err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return ReplayResult{}, fmt.Errorf("response body: %w", err)
	}
	res := ReplayResult{Status: resp.StatusCode, Headers: flatten(resp.Header), Body: string(body), Elapsed: time.Since(start)}
	names := make([]string, 0, len(r.upstreams))
	for n := range r.upstreams {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		var got []Received
		for _, g := range r.upstreams[n].Received() {
			if g.Header.Get(replayIDHeader) == id {
				g.Header = g.Header.Clone()
				g.Header.Del(replayIDHeader)
				got = append(got, g)
			}
		}
		if len(got) == 0 {
			continue
		}
		if res.Upstream != nil || len(got) > 1 {
			return res, errors.New("more than one request reached the upstreams")
		}
		g := got[0]
		res.Upstream = &UpstreamRequest{Cluster: n, Method: g.Method, Path: g.Path, Host: g.Host, Headers: flatten(g.Header), Body: string(g.Body)}
	}
	return res, nil
}

// Metric returns a plugin-defined metric by the name the plugin gave it (Envoy shows it under
// "wasmcustom."), and whether Envoy has it.
func (r *Replayer) Metric(name string) (int64, bool, error) {
	return r.Envoy.Stat("wasmcustom." + name)
}

// Stop stops Envoy and the upstreams.
func (r *Replayer) Stop() {
	if r.Envoy != nil {
		r.Envoy.Stop()
	}
	for _, u := range r.upstreams {
		u.Stop()
	}
}

func flatten(h http.Header) map[string]string {
	out := make(map[string]string, len(h))
	for k, v := range h {
		out[strings.ToLower(k)] = strings.Join(v, ",")
	}
	return out
}
