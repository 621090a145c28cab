package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// propagated lists the request headers a demo service copies onto its call to the next hop.
var propagated = []string{
	"traceparent", "tracestate", "x-request-id",
	// B3, which Envoy's Zipkin tracer reads before traceparent (Telemetry spec.tracing.provider).
	"x-b3-traceid", "x-b3-spanid", "x-b3-parentspanid", "x-b3-sampled", "x-b3-flags", "b3",
	"x-canary", "x-wasmesh-fault", "x-user",
}

// Config is one demo service instance.
type Config struct {
	Service  string // e.g. "reviews"
	Version  string // e.g. "v2"
	Instance string // the sidecar's node id, e.g. "reviews.v2.0"
	// Next is the service this one calls (sent as the Host header); "" for a leaf.
	Next string
	// Outbound is host:port of this instance's sidecar outbound listener.
	Outbound string
	// Client makes the call to the next hop; nil uses a client with a 5 s timeout.
	Client *http.Client
}

// Reply is the JSON body a demo service answers with. Upstream is the next hop's reply; when the
// next hop failed, Upstream holds what is known and Error says why.
type Reply struct {
	Service     string `json:"service"`
	Version     string `json:"version"`
	Instance    string `json:"instance"`
	RequestID   string `json:"request_id,omitempty"`
	TraceParent string `json:"traceparent,omitempty"`
	Stars       int    `json:"stars,omitempty"`  // ratings only
	Color       string `json:"color,omitempty"`  // reviews only: how the version shows stars
	Status      int    `json:"status,omitempty"` // the next hop's HTTP status, when not 200
	Error       string `json:"error,omitempty"`
	Upstream    *Reply `json:"upstream,omitempty"`
}

// Versions walks the reply chain and returns "service:version" per hop, e.g.
// ["frontend:v1", "reviews:v2", "ratings:v1"].
func (r *Reply) Versions() []string {
	var out []string
	for h := r; h != nil && h.Service != ""; h = h.Upstream {
		out = append(out, h.Service+":"+h.Version)
	}
	return out
}

// Hop returns the reply of the given service in the chain, or nil.
func (r *Reply) Hop(service string) *Reply {
	for h := r; h != nil; h = h.Upstream {
		if h.Service == service {
			return h
		}
	}
	return nil
}

// colors is how each reviews version renders its stars (as in Istio's bookinfo).
var colors = map[string]string{"v1": "none", "v2": "black", "v3": "red"}

// Handler returns the demo service's HTTP handler. GET /healthz answers 200 without calling the
// next hop; every other request is served (and forwarded, unless this is a leaf).
func Handler(cfg Config) http.Handler {
	client := cfg.Client
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("content-type", "text/plain")
		fmt.Fprintf(w, "ok %s %s\n", cfg.Service, cfg.Version)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		rep := Reply{
			Service: cfg.Service, Version: cfg.Version, Instance: cfg.Instance,
			RequestID: r.Header.Get("x-request-id"), TraceParent: r.Header.Get("traceparent"),
		}
		switch cfg.Service {
		case "ratings":
			rep.Stars = 4
		case "reviews":
			rep.Color = colors[cfg.Version]
		}
		if cfg.Next != "" {
			up, status, err := call(r.Context(), client, cfg, r)
			rep.Upstream = up
			if status != http.StatusOK {
				rep.Status = status
			}
			if err != nil {
				rep.Error = err.Error()
			}
		}
		w.Header().Set("content-type", "application/json")
		w.Header().Set("x-demo-service", cfg.Service+":"+cfg.Version)
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(rep) // the client went away; nothing left to tell it
	})
	return mux
}

// call sends the request on to the next hop through the sidecar's outbound listener.
func call(ctx context.Context, client *http.Client, cfg Config, in *http.Request) (*Reply, int, error) {
	req, err := http.NewRequestWithContext(ctx, in.Method, "http://"+cfg.Outbound+in.URL.RequestURI(), nil)
	if err != nil {
		return nil, 0, fmt.Errorf("call %s: %w", cfg.Next, err)
	}
	req.Host = cfg.Next
	for _, h := range propagated {
		if v := in.Header.Values(h); len(v) > 0 {
			req.Header[http.CanonicalHeaderKey(h)] = v
		}
	}
	res, err := client.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("call %s via sidecar %s: %w", cfg.Next, cfg.Outbound, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return nil, res.StatusCode, fmt.Errorf("call %s: read body: %w", cfg.Next, err)
	}
	var up Reply
	if jerr := json.Unmarshal(body, &up); jerr != nil || up.Service == "" {
		// Envoy's own answer (a fault abort, no healthy upstream …): not a demo reply.
		return &Reply{Service: cfg.Next}, res.StatusCode,
			fmt.Errorf("%s answered %d: %s", cfg.Next, res.StatusCode, truncate(strings.TrimSpace(string(body)), 120))
	}
	if res.StatusCode != http.StatusOK {
		return &up, res.StatusCode, fmt.Errorf("%s answered %d", cfg.Next, res.StatusCode)
	}
	return &up, res.StatusCode, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Server is a running demo service.
type Server struct {
	srv  *http.Server
	ln   net.Listener
	done chan error
}

// Listen binds addr and serves cfg's handler in the background until Shutdown.
func Listen(addr string, cfg Config) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("demo %s %s: %w", cfg.Service, cfg.Version, err)
	}
	s := &Server{
		srv:  &http.Server{Handler: Handler(cfg), ReadHeaderTimeout: 5 * time.Second},
		ln:   ln,
		done: make(chan error, 1),
	}
	go func() { s.done <- s.srv.Serve(ln) }()
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Shutdown stops the server, letting in-flight requests finish until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if serr := <-s.done; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		return errors.Join(err, serr)
	}
	return err
}

// Port returns the port of a host:port address, or 0.
func Port(addr string) int {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0
	}
	n, _ := strconv.Atoi(p)
	return n
}
