package testenv

import (
	"context"
	"io"
	"strings"
	"time"
)

// Filter is one plugin in a chain.
type Filter struct {
	Name     string // plugin_name (logs and errors name the filter by it)
	Module   []byte // the .wasm binary (not modified); a Runtime compiles each content once
	Config   []byte // plugin configuration, handed over as-is (JSON usually)
	VMConfig []byte // vm configuration
	RootID   string
	VMID     string // vm_id (addition): filters with the same module, VMID and VMConfig share one VM
}

// Headers is an ordered header list; names are lowercase.
type Headers [][2]string

// Get returns the first value of name, "" if absent.
func (h Headers) Get(name string) string {
	name = strings.ToLower(name)
	for _, kv := range h {
		if kv[0] == name {
			return kv[1]
		}
	}
	return ""
}

// Values returns every value of name in order.
func (h Headers) Values(name string) []string {
	name = strings.ToLower(name)
	var out []string
	for _, kv := range h {
		if kv[0] == name {
			out = append(out, kv[1])
		}
	}
	return out
}

// get is Get for a lowercase name.
func (h Headers) get(name string) string {
	for _, kv := range h {
		if kv[0] == name {
			return kv[1]
		}
	}
	return ""
}

func (h Headers) clone() Headers {
	if h == nil {
		return nil
	}
	return append(Headers(nil), h...)
}

// Request is what the downstream client sends.
type Request struct {
	Method, Path, Authority, Scheme string // defaults: GET, /, "localhost", http
	Headers                         Headers
	Body                            []byte
	BodyChunks                      [][]byte // instead of Body: delivered chunk by chunk
	Trailers                        Headers
	// Connection is the downstream connection's security as Envoy exposes it to filters
	// (connection.mtls, connection.uri_san_peer_certificate); nil: plaintext.
	Connection *Connection
}

// Connection models a downstream connection's TLS: whether it is mTLS (a verified client
// certificate) and the client certificate's first URI SAN (a SPIFFE ID in the mesh).
type Connection struct {
	MTLS       bool
	PeerURISAN string
}

// Response is what the client receives (or what a fake upstream answers). Headers excludes
// pseudo-headers (the status is Status).
type Response struct {
	Status   int
	Headers  Headers
	Body     []byte
	Trailers Headers
}

// UpstreamRequest is what reached the fake upstream.
type UpstreamRequest struct {
	Cluster                 string // cluster chosen by the route (see the route cache in doc.go)
	Method, Path, Authority string
	Headers                 Headers // incl. everything filters added; pseudo-headers excluded
	Body                    []byte
	Trailers                Headers
	// Reset: the request's headers (and maybe part of its body) went upstream, then the stream
	// was reset before the request was complete: a filter answered locally in a later phase
	// (e.g. on the body), so Envoy reset the upstream request. The upstream was not asked to
	// answer; a real HTTP/1 upstream may have seen the headers, or nothing.
	Reset bool
}

// Handler answers a request that reached a fake upstream cluster. A nil response is a
// connection failure (the HTTP call callback gets no headers; a stream gets Envoy's 503).
type Handler func(*UpstreamRequest) *Response

// Result is the outcome of one exchange.
type Result struct {
	Response   Response
	Upstream   *UpstreamRequest // nil: the request never reached the upstream
	LocalReply bool             // a filter answered with send_local_response
	Elapsed    time.Duration    // simulated time from request start to response end
	Err        error            // the stream failed (plugin trap, stuck stream, ...)
	// Details is Envoy's response code details (%RESPONSE_CODE_DETAILS%): via_upstream, the
	// details a filter gave its local reply, cluster_not_found, http1.codec_error (the
	// connection manager refused the request before any filter ran), ...
	Details string
	// Cluster is the cluster the route chose when the request left the filter chain ("" when
	// it never did): the upstream's cluster, or the one that did not exist (cluster_not_found).
	Cluster string
}

// LogLevel is a proxy-wasm log level.
type LogLevel int

// Log levels, as proxy_log numbers them.
const (
	Trace LogLevel = iota
	Debug
	Info
	Warn
	Error
	Critical
)

func (l LogLevel) String() string {
	switch l {
	case Trace:
		return "trace"
	case Debug:
		return "debug"
	case Info:
		return "info"
	case Warn:
		return "warning"
	case Error:
		return "error"
	case Critical:
		return "critical"
	}
	return "level(" + itoa(int(l)) + ")"
}

// Log is one line a plugin logged (proxy_log, or stdout/stderr which Envoy turns into info and
// error lines).
type Log struct {
	Filter  string // plugin name
	Level   LogLevel
	Message string
}

// Option configures an Env.
type Option func(*options)

type options struct {
	upstream       Handler
	clusters       map[string]Handler
	defaultCluster string
	nodeMetadata   map[string]string
	nodeID         string
	properties     map[string][]byte
	strictRoute    bool
	realClock      bool
	logOutput      io.Writer
	start          time.Time
	maxWait        time.Duration
	latency        map[string]time.Duration
	ctx            context.Context
	noRequestID    bool
	onlyClusters   bool
}

// WithUpstream sets the handler of the stream's upstream (whatever cluster the route picks).
// Default: 200 with an empty body.
func WithUpstream(h Handler) Option { return func(o *options) { o.upstream = h } }

// WithCluster adds a named cluster, the target of proxy_http_call (DispatchHttpCall). A stream
// routed to a cluster with this name is also answered by h.
func WithCluster(name string, h Handler) Option {
	return func(o *options) {
		if o.clusters == nil {
			o.clusters = map[string]Handler{}
		}
		o.clusters[name] = h
	}
}

// WithLatency makes the cluster answer after d of (simulated) time: the upstream of a stream
// routed there, and HTTP calls to it. A call whose timeout is shorter gets Envoy's failure
// callback (no headers, no body) at the timeout.
func WithLatency(cluster string, d time.Duration) Option {
	return func(o *options) {
		if o.latency == nil {
			o.latency = map[string]time.Duration{}
		}
		o.latency[cluster] = d
	}
}

// WithoutRequestID models a connection manager with generate_request_id: false. By default,
// as Envoy's does, testenv adds a random UUID v4 x-request-id to every request that has none
// before any filter runs.
func WithoutRequestID() Option { return func(o *options) { o.noRequestID = true } }

// WithOnlyClusters makes the clusters given with WithCluster, and the default cluster, the only
// ones that exist: a stream the route sends anywhere else is answered 503 by Envoy's router
// (no body, details cluster_not_found), as in an Envoy that has no such cluster. By default
// any cluster the route picks is answered by WithUpstream's handler.
func WithOnlyClusters() Option { return func(o *options) { o.onlyClusters = true } }

// WithDefaultCluster names the cluster used when the request has no routing header
// (default "default").
func WithDefaultCluster(name string) Option { return func(o *options) { o.defaultCluster = name } }

// WithNodeMetadata makes the Env a sidecar's node, as Envoy 1.40 exposes it: the properties
// xds.node.metadata.<key>, xds.node.id (WithNodeID) and xds.node.cluster (metadata
// "service"). Without it there is no node (as in a dry run). Envoy 1.40 has no bare "node"
// property, and neither does testenv.
func WithNodeMetadata(md map[string]string) Option {
	return func(o *options) {
		if o.nodeMetadata == nil {
			o.nodeMetadata = map[string]string{}
		}
		for k, v := range md {
			o.nodeMetadata[k] = v
		}
	}
}

// WithNodeID sets the property xds.node.id of a node (WithNodeMetadata; default "testenv").
func WithNodeID(id string) Option { return func(o *options) { o.nodeID = id } }

// WithProperty sets a property: get_property on exactly this path returns value as-is. It
// takes precedence over the properties testenv computes.
func WithProperty(path []string, value []byte) Option {
	return func(o *options) {
		if o.properties == nil {
			o.properties = map[string][]byte{}
		}
		o.properties[strings.Join(path, "\x00")] = append([]byte(nil), value...)
	}
}

// WithStrictRouteCache models DESIGN.md's route-cache rule: the route (and so the upstream
// cluster) is recomputed only after the plugin called the foreign function clear_route_cache.
// Default: Envoy 1.40's measured behaviour, where a request-header change by a Wasm filter
// also makes Envoy pick the route again.
func WithStrictRouteCache() Option { return func(o *options) { o.strictRoute = true } }

// WithRealClock uses the real clock instead of the simulated one (benchmarks). Advance then
// only fires the ticks that are due.
func WithRealClock() Option { return func(o *options) { o.realClock = true } }

// WithLogOutput also writes every plugin log line to w as it happens.
func WithLogOutput(w io.Writer) Option { return func(o *options) { o.logOutput = w } }

// WithStartTime sets the simulated clock's start (default 2026-01-01T00:00:00Z).
func WithStartTime(t time.Time) Option { return func(o *options) { o.start = t } }

// WithMaxWait bounds how far Do advances the simulated clock for a paused stream before it
// gives up with ErrStuck (default 10 minutes).
func WithMaxWait(d time.Duration) Option { return func(o *options) { o.maxWait = d } }

// WithContext bounds every plugin call of the Env by ctx: once ctx ends, the running call traps
// (even a loop that never calls the host) and its VM fails, so Start returns an error instead
// of hanging on a plugin that never returns. It needs a Runtime whose compiled code checks for
// the context's end (RuntimeConfig.Interruptible: somewhat slower; for control-plane dry runs,
// not benchmarks); on another Runtime, Start fails.
func WithContext(ctx context.Context) Option { return func(o *options) { o.ctx = ctx } }

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	neg := i < 0
	if neg {
		i = -i
	}
	var b [20]byte
	n := len(b)
	for i > 0 {
		n--
		b[n] = byte('0' + i%10)
		i /= 10
	}
	if neg {
		n--
		b[n] = '-'
	}
	return string(b[n:])
}
