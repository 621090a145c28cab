package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/wasmesh/wasmesh/testenv/replay"
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
	// Dir holds Envoy's config, its log (envoy.log) and its access log (access.log); default a
	// temporary directory removed by Stop.
	Dir string
	// Certs, when set, makes Envoy's listener accept mTLS as well as plaintext (a PERMISSIVE
	// sidecar inbound, certificates issued by Certs), so a request's Connection can present a
	// client certificate.
	Certs CertIssuer
}

// CertIssuer issues the certificates of an mTLS replay: the listener's, and a client's whose
// only URI SAN is the request's PeerURISAN. The mesh's CA (controlplane/ca.CA) is one; the
// harness takes it as an interface so that testenv never imports the control plane.
type CertIssuer interface {
	// BundlePEM is the trust anchors the listener verifies client certificates against.
	BundlePEM() []byte
	// IssuePEM issues a certificate (then its chain) and its key, in PEM, whose only URI SAN
	// is uriSAN (none when empty), with common name cn.
	IssuePEM(uriSAN, cn string) (certPEM, keyPEM []byte, err error)
}

// ReplayRequest is a request a Replayer sends through Envoy.
type ReplayRequest struct {
	Method  string
	Path    string
	Headers map[string]string // "host" sets :authority
	Body    string
	// Connection, when it says mTLS, sends the request over a new TLS connection with a
	// client certificate whose URI SAN is PeerURISAN (ReplayOptions.Certs is required).
	Connection *replay.Connection
}

// ReplayResult is what happened to one request in Envoy.
type ReplayResult struct {
	// Upstream is nil when no upstream was reached (local reply).
	Upstream *UpstreamRequest
	Status   int
	Headers  map[string]string // response headers, lowercase names, values joined by ","
	Body     string
	Elapsed  time.Duration
	// Details is Envoy's %RESPONSE_CODE_DETAILS% for the request (via_upstream,
	// cluster_not_found, ...), from the replay access log.
	Details string
	// Cluster is the routing header's value when the request left the filter chain
	// ("" when there was none).
	Cluster string
	// Logs are the plugins' log lines while the request ran, as replay.FormatLog writes them.
	Logs []string
}

// UpstreamRequest is the request as it reached a fake upstream.
type UpstreamRequest struct {
	Cluster string            // the cluster whose upstream got it
	Method  string            // :method
	Path    string            // :path
	Host    string            // :authority
	Headers map[string]string // lowercase names, values joined by ","
	Body    string
	// Reset: the upstream got the request's headers but not its whole body (Envoy reset the
	// upstream request when a filter answered locally on the body).
	Reset bool
}

// replayServerID is the URI SAN of the listener's certificate (the SPIFFE ID the mesh's CA gives
// service "replay" in namespace "default"; clients do not verify it).
const replayServerID = "spiffe://wasmesh.local/ns/default/sa/replay"

// replayIDHeader tags each request a Replayer sends, so that a request which reaches an
// upstream late (Envoy forwards the headers of a request a filter later refuses on its body)
// is never counted for the next case. It is removed from what Do reports.
const replayIDHeader = "x-wasmesh-replay-id"

// accessLogFormat is the replay access log: one line per request, written when the stream
// ends. Envoy writes it just before the filters' proxy_on_log (the connection manager's access
// logs come first), so Do then passes a barrier request through the same worker.
const accessLogFormat = "%REQ(X-WASMESH-REPLAY-ID)% %RESPONSE_CODE_DETAILS% %REQ(X-WASMESH-CLUSTER)%\n"

// Replayer runs requests through a real Envoy one at a time.
type Replayer struct {
	Envoy       *Envoy
	seq         int
	port        int
	upstreams   map[string]*Upstream
	client      *http.Client
	accessLog   string
	logOffset   int64
	ownDir      string // removed by Stop
	barrierPort int
	certs       CertIssuer // ReplayOptions.Certs
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
	ports, err := FreePorts(2)
	if err != nil {
		return nil, err
	}
	r.port, r.barrierPort = ports[0], ports[1]
	dir := opts.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "wasmesh-replay-")
		if err != nil {
			return nil, err
		}
		dir, r.ownDir = d, d
	}
	r.accessLog = filepath.Join(dir, "access.log")
	sc := StaticConfig{ListenPort: r.port, Filters: opts.Filters, Clusters: clusters, DefaultCluster: opts.DefaultCluster,
		AccessLog: r.accessLog, AccessLogFormat: accessLogFormat, BarrierPort: r.barrierPort}
	if r.certs = opts.Certs; r.certs != nil {
		cert, key, err := r.certs.IssuePEM(replayServerID, "replay")
		if err != nil {
			return nil, fmt.Errorf("listener certificate: %w", err)
		}
		sc.MTLS = &ListenerTLS{Cert: cert, Key: key, CA: r.certs.BundlePEM()}
	}
	cfg, err := sc.YAML()
	if err != nil {
		return nil, err
	}
	// One worker (the barrier relies on it); plugin log lines at every level (testenv shows
	// them all); the access log flushed at once, since Do waits for each request's line.
	r.Envoy, err = StartEnvoy(ctx, EnvoyOptions{Name: "replay", Config: cfg, Binary: opts.Binary, Dir: dir, Concurrency: 1,
		Args: []string{"--component-log-level", "wasm:trace", "--file-flush-interval-msec", "5"}})
	if err != nil {
		return nil, err
	}
	if st, err := os.Stat(r.Envoy.LogPath); err == nil {
		r.logOffset = st.Size()
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
	client, base := r.client, r.URL()
	if c := req.Connection; c != nil && c.MTLS {
		if r.certs == nil {
			return ReplayResult{}, errors.New("a request with an mTLS connection needs ReplayOptions.Certs")
		}
		cert, key, err := r.certs.IssuePEM(c.PeerURISAN, "replay client")
		if err != nil {
			return ReplayResult{}, fmt.Errorf("client certificate: %w", err)
		}
		pair, err := tls.X509KeyPair(cert, key)
		if err != nil {
			return ReplayResult{}, fmt.Errorf("client certificate: %w", err)
		}
		client = &http.Client{Timeout: r.client.Timeout, CheckRedirect: r.client.CheckRedirect, Transport: &http.Transport{
			DisableCompression: true, DisableKeepAlives: true,
			TLSClientConfig: &tls.Config{Certificates: []tls.Certificate{pair}, InsecureSkipVerify: true}, //nolint:gosec // Envoy is not under test
		}}
		base = "https://127.0.0.1:" + strconv.Itoa(r.port)
	}
	hr, err := http.NewRequestWithContext(ctx, method, base+path, strings.NewReader(req.Body))
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
	resp, err := client.Do(hr)
	if err != nil {
		return ReplayResult{}, fmt.Errorf("request: %w", err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return ReplayResult{}, fmt.Errorf("response body: %w", err)
	}
	res := ReplayResult{Status: resp.StatusCode, Headers: flatten(resp.Header), Body: string(body), Elapsed: time.Since(start)}
	if err := r.waitLogged(ctx, &res); err != nil {
		return res, err
	}
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
		res.Upstream = &UpstreamRequest{Cluster: n, Method: g.Method, Path: g.Path, Host: g.Host, Headers: flatten(g.Header), Body: string(g.Body),
			Reset: !g.Complete}
	}
	return res, nil
}

// waitLogged waits (up to 30s) until the access log has a line for every request sent so
// far, then fills in the request's details and the plugins' log lines written meanwhile.
func (r *Replayer) waitLogged(ctx context.Context, res *ReplayResult) error {
	var lines []string
	deadline := time.Now().Add(30 * time.Second)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		b, err := os.ReadFile(r.accessLog)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		lines = nil
		if len(b) > 0 {
			lines = strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		}
		if len(lines) >= r.seq {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after 30s, Envoy's access log %s has %d line(s) for %d request(s)", r.accessLog, len(lines), r.seq)
		}
		time.Sleep(2 * time.Millisecond) // Envoy flushes it every 5ms
	}
	// The line is written; the worker may still be in the filters' proxy_on_log of the same
	// stream. The one worker answers the barrier only after that.
	if err := r.barrier(ctx); err != nil {
		return err
	}
	f := strings.Fields(lines[len(lines)-1])
	if len(f) == 3 {
		res.Details = f[1]
		if f[2] != "-" {
			res.Cluster = f[2]
		}
	}
	res.Logs, r.logOffset = pluginLogs(r.Envoy.LogPath, r.logOffset)
	return nil
}

// barrier sends one request to the barrier listener and waits for its answer.
func (r *Replayer) barrier(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:"+strconv.Itoa(r.barrierPort)+"/", nil)
	if err != nil {
		return err
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return fmt.Errorf("barrier request: %w", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return nil
}

// pluginLogs returns the plugin log lines ("wasm log" lines) of Envoy's log from offset on, as
// replay.FormatLog writes them, and the new offset.
func pluginLogs(path string, offset int64) ([]string, int64) {
	b, err := os.ReadFile(path)
	if err != nil || int64(len(b)) < offset {
		return nil, offset
	}
	end := bytes.LastIndexByte(b, '\n') + 1
	if int64(end) < offset {
		return nil, offset
	}
	var out []string
	for _, line := range strings.Split(string(b[offset:end]), "\n") {
		if l, ok := pluginLog(line); ok {
			out = append(out, l)
		}
	}
	return out, int64(end)
}

// pluginLog turns one Envoy log line of a plugin,
// "[time][pid][info][wasm] [source/...:N] wasm log replay.0 replay.0 replay.0: message", into
// "[info] replay.0: message".
func pluginLog(line string) (string, bool) {
	i := strings.Index(line, "][wasm] [")
	if i < 0 {
		return "", false
	}
	j := strings.LastIndex(line[:i], "][")
	rest := line[i:]
	k := strings.Index(rest, "] wasm log ")
	if j < 0 || k < 0 {
		return "", false
	}
	level := line[j+2 : i]
	rest = rest[k+len("] wasm log "):]
	prefix, msg, ok := strings.Cut(rest, ": ")
	if !ok {
		return "", false
	}
	plugin, _, _ := strings.Cut(prefix, " ")
	return replay.FormatLog(level, plugin, msg), true
}

// Metric returns a plugin-defined metric by the name the plugin gave it (Envoy shows it under
// "wasmcustom."), and whether Envoy has it.
func (r *Replayer) Metric(name string) (int64, bool, error) {
	return r.Envoy.Stat("wasmcustom." + name)
}

// Stop stops Envoy and the upstreams, and removes the directory StartReplayer made.
func (r *Replayer) Stop() {
	if r.Envoy != nil {
		r.Envoy.Stop()
	}
	for _, u := range r.upstreams {
		u.Stop()
	}
	if r.ownDir != "" {
		_ = os.RemoveAll(r.ownDir)
	}
}

func flatten(h http.Header) map[string]string {
	out := make(map[string]string, len(h))
	for k, v := range h {
		out[strings.ToLower(k)] = strings.Join(v, ",")
	}
	return out
}
