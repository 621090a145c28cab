package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
)

// Header names the upstream services use.
const (
	// HeaderServedBy is set on every upstream answer: "<service>-<version>", e.g. "reviews-v2".
	HeaderServedBy = "x-served-by"
)

// Forwarded returns the request headers an upstream copies to its onward call (trace context,
// request id and the headers the mesh acts on), like the sandbox's demo apps.
func Forwarded() []string {
	return []string{"traceparent", "tracestate", "x-request-id", "x-canary", "x-wasmesh-fault", "x-user"}
}

// Received is one request as it reached an upstream.
type Received struct {
	Method string
	Path   string
	Host   string
	Header http.Header
	Body   []byte
	// Complete: the whole body arrived (false when the connection ended before it did).
	Complete bool
}

// Answer is a fixed upstream reply. Without one, an upstream answers with a JSON Echo of the
// request (after its onward call, if it makes one).
type Answer struct {
	Status int // default 200
	Header map[string]string
	Body   string
	// Delay holds the answer back this long after the request arrived.
	Delay time.Duration
}

// UpstreamOptions configures an upstream service.
type UpstreamOptions struct {
	Service, Version string
	// Answer, when non-nil, fixes the reply; default a JSON Echo.
	Answer *Answer
	// Next, when set, is a base URL (e.g. a sidecar's outbound listener) the upstream calls for
	// every request, with Host NextHost and the Forwarded headers; its answer status and body
	// become this upstream's answer (wrapped in a JSON echo).
	Next, NextHost string
	// Addr to listen on; default 127.0.0.1:0.
	Addr string
}

// Upstream is a loopback HTTP service that records what reached it.
type Upstream struct {
	opts   UpstreamOptions
	ln     net.Listener
	srv    *http.Server
	client *http.Client

	mu       sync.Mutex
	received []Received
	answer   *Answer
}

// Echo is the JSON body the default answer carries.
type Echo struct {
	Service string            `json:"service"`
	Version string            `json:"version"`
	Method  string            `json:"method"`
	Path    string            `json:"path"`
	Host    string            `json:"host"`
	Headers map[string]string `json:"headers"`
	Next    *NextResult       `json:"next,omitempty"`
}

// NextResult is the onward call's outcome inside an Echo.
type NextResult struct {
	Status int    `json:"status"`
	Body   string `json:"body"`
	Error  string `json:"error,omitempty"`
}

// StartUpstream starts an upstream service.
func StartUpstream(opts UpstreamOptions) (*Upstream, error) {
	addr := opts.Addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("upstream %s-%s: %w", opts.Service, opts.Version, err)
	}
	u := &Upstream{opts: opts, ln: ln, answer: opts.Answer, client: &http.Client{Timeout: 10 * time.Second}}
	u.srv = &http.Server{Handler: http.HandlerFunc(u.serve), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = u.srv.Serve(ln) }()
	return u, nil
}

// UpstreamT starts an upstream for a test and stops it in t.Cleanup.
func UpstreamT(t testing.TB, opts UpstreamOptions) *Upstream {
	t.Helper()
	u, err := StartUpstream(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(u.Stop)
	return u
}

// Addr is the upstream's host:port.
func (u *Upstream) Addr() string { return u.ln.Addr().String() }

// Port is the upstream's port.
func (u *Upstream) Port() int { return u.ln.Addr().(*net.TCPAddr).Port }

// Name is "<service>-<version>", the value of HeaderServedBy.
func (u *Upstream) Name() string { return u.opts.Service + "-" + u.opts.Version }

// Received returns a copy of the requests that reached the upstream so far.
func (u *Upstream) Received() []Received {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]Received(nil), u.received...)
}

// Reset forgets the recorded requests.
func (u *Upstream) Reset() {
	u.mu.Lock()
	u.received = nil
	u.mu.Unlock()
}

// SetAnswer replaces the fixed reply (nil: the default JSON echo or onward call).
func (u *Upstream) SetAnswer(a *Answer) {
	u.mu.Lock()
	u.answer = a
	u.mu.Unlock()
}

// Stop closes the upstream.
func (u *Upstream) Stop() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := u.srv.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		_ = u.srv.Close()
	}
}

func (u *Upstream) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	u.mu.Lock()
	u.received = append(u.received, Received{Method: r.Method, Path: r.URL.RequestURI(), Host: r.Host, Header: r.Header.Clone(), Body: body,
		Complete: err == nil})
	a := u.answer
	u.mu.Unlock()
	w.Header().Set(HeaderServedBy, u.Name())
	if a != nil {
		if a.Delay > 0 {
			select {
			case <-time.After(a.Delay):
			case <-r.Context().Done():
				return
			}
		}
		for k, v := range a.Header {
			w.Header().Set(k, v)
		}
		status := a.Status
		if status == 0 {
			status = http.StatusOK
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, a.Body)
		return
	}
	var next *NextResult
	status := http.StatusOK
	if u.opts.Next != "" {
		next = u.callNext(r)
		if next.Error != "" {
			status = http.StatusBadGateway
		} else if next.Status >= 500 {
			status = next.Status
		}
	}
	w.Header().Set("content-type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(u.echo(r, next))
}

func (u *Upstream) echo(r *http.Request, next *NextResult) Echo {
	h := map[string]string{}
	for k := range r.Header {
		h[http.CanonicalHeaderKey(k)] = r.Header.Get(k)
	}
	return Echo{Service: u.opts.Service, Version: u.opts.Version, Method: r.Method, Path: r.URL.RequestURI(), Host: r.Host, Headers: h, Next: next}
}

func (u *Upstream) callNext(r *http.Request) *NextResult {
	req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, u.opts.Next+r.URL.RequestURI(), nil)
	if err != nil {
		return &NextResult{Error: err.Error()}
	}
	req.Host = u.opts.NextHost
	for _, h := range Forwarded() {
		if v := r.Header.Get(h); v != "" {
			req.Header.Set(h, v)
		}
	}
	resp, err := u.client.Do(req)
	if err != nil {
		return &NextResult{Error: err.Error()}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return &NextResult{Status: resp.StatusCode, Body: string(b)}
}
