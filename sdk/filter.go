package sdk

import (
	"time"

	"github.com/wasmesh/wasmesh/sdk/metrics"
)

// Decision is what an HTTP filter does with a request. Build it with Continue, Reply,
// ReplyGRPC or Route, then add edits (SetHeader, RemoveHeader, Rewrite, RouteTo,
// SetResponseHeader), a pause (After), metric increments (Count) and, for filters that observe
// the finished stream, Observe. A Decision is a plain value: filters return it, tests inspect
// it, and one adapter (NewPlugin, NewPipeline) carries it out against the host.
type Decision struct {
	reply   bool
	status  int
	grpc    int32 // grpc-status of a gRPC reply (valid when isGRPC)
	isGRPC  bool
	headers [][2]string
	body    []byte
	set     [][2]string
	remove  []string
	path    string
	cluster string
	after   time.Duration
	resp    [][2]string // response headers to set when the response passes
	counts  [maxCounts]count
	ncounts uint8
	observe bool
	route   bool
	state   any
}

// maxCounts bounds the metric increments one decision carries inline (no allocation).
const maxCounts = 2

// count is one metric increment a decision asks for.
type count struct {
	vec    *metrics.Vec
	n      uint64
	values [3]string
	after  bool // when the decision is carried out, after its pause
}

// Continue lets the request through unchanged.
func Continue() Decision { return Decision{} }

// Reply answers the request locally; it never reaches the upstream.
func Reply(status int, body string, headers ...[2]string) Decision {
	return Decision{reply: true, status: status, headers: headers, body: []byte(body)}
}

// ReplyGRPC answers a gRPC request locally with grpc-status grpcStatus (a trailers-only
// response, as Envoy sends it) and HTTP status httpStatus.
func ReplyGRPC(httpStatus, grpcStatus int, headers ...[2]string) Decision {
	return Decision{reply: true, status: httpStatus, headers: headers, grpc: int32(grpcStatus), isGRPC: true}
}

// Route sends the request to a service version: it sets the routing header
// `x-wasmesh-cluster: <service>|<version>` and clears Envoy's route cache.
func Route(service, version string) Decision {
	return Decision{cluster: service + "|" + version}
}

// RouteTo sets the routing header to cluster (`<service>|<version>`, docs/conventions.md).
func (d Decision) RouteTo(cluster string) Decision {
	d.cluster = cluster
	return d
}

// SetHeader sets (replaces) a request header, or a reply header for Reply.
func (d Decision) SetHeader(name, value string) Decision {
	if d.reply {
		d.headers = append(d.headers, [2]string{name, value})
		return d
	}
	d.set = append(d.set, [2]string{name, value})
	return d
}

// RemoveHeader removes a request header.
func (d Decision) RemoveHeader(name string) Decision {
	d.remove = append(d.remove, name)
	return d
}

// Rewrite replaces the request's :path (query string included).
func (d Decision) Rewrite(path string) Decision {
	d.path = path
	return d
}

// SetResponseHeader sets a header on the response when it passes back through the filter.
func (d Decision) SetResponseHeader(name, value string) Decision {
	d.resp = append(d.resp, [2]string{name, value})
	return d
}

// After pauses the stream for delay before applying the decision (a timer resumes it; the
// stream is never busy-waited).
func (d Decision) After(delay time.Duration) Decision {
	d.after = delay
	return d
}

// Count adds n to the counter of vec with the tag values (at most three) as the filter
// decides. A decision holds at most two increments; more are dropped.
func (d Decision) Count(vec *metrics.Vec, n uint64, values ...string) Decision {
	return d.addCount(false, vec, n, values)
}

// CountAfter is Count when the decision is carried out after its pause (After); nothing is
// counted when the stream ends during the pause.
func (d Decision) CountAfter(vec *metrics.Vec, n uint64, values ...string) Decision {
	return d.addCount(true, vec, n, values)
}

func (d Decision) addCount(after bool, vec *metrics.Vec, n uint64, values []string) Decision {
	if int(d.ncounts) >= maxCounts {
		return d
	}
	c := &d.counts[d.ncounts]
	c.vec, c.n, c.after = vec, n, after
	copy(c.values[:], values)
	d.ncounts++
	return d
}

// Observe asks for the filter's OnDone (Observer) when the stream ends, with state handed back
// as is; route also asks for the name of the route Envoy picked (one more host call).
func (d Decision) Observe(state any, route bool) Decision {
	d.observe, d.state, d.route = true, state, route
	return d
}

// With attaches state that the adapter hands back to Pauser.PauseOver.
func (d Decision) With(state any) Decision {
	d.state = state
	return d
}

// IsReply reports whether d answers locally, with which status.
func (d Decision) IsReply() (int, bool) { return d.status, d.reply }

// GRPCStatus returns the grpc-status of a gRPC reply, and whether d is one.
func (d Decision) GRPCStatus() (int, bool) { return int(d.grpc), d.isGRPC }

// Body returns the body of a reply.
func (d Decision) Body() []byte { return d.body }

// Cluster returns the routing header value d sets ("" none).
func (d Decision) Cluster() string { return d.cluster }

// Path returns the :path d rewrites to ("" unchanged).
func (d Decision) Path() string { return d.path }

// Delay returns the pause before d applies.
func (d Decision) Delay() time.Duration { return d.after }

// Header returns the value d sets for a request header (or reply header for a reply).
func (d Decision) Header(name string) (string, bool) {
	hs := d.set
	if d.reply {
		hs = d.headers
	}
	return Headers(hs).Get(name)
}

// Removes reports whether d removes the request header name.
func (d Decision) Removes(name string) bool {
	for _, k := range d.remove {
		if k == name {
			return true
		}
	}
	return false
}

// ResponseHeader returns the value d sets for a response header.
func (d Decision) ResponseHeader(name string) (string, bool) { return Headers(d.resp).Get(name) }

// Counts returns the metric increments d carries: each as the family's base name, n and tag
// values.
func (d Decision) Counts() []Increment {
	out := make([]Increment, 0, d.ncounts)
	for _, c := range d.counts[:d.ncounts] {
		out = append(out, Increment{Base: c.vec.Base, N: c.n, Values: c.values[:len(c.vec.Keys)]})
	}
	return out
}

// Increment is a metric increment as Decision.Counts reports it (for tests).
type Increment struct {
	Base   string
	N      uint64
	Values []string
}

// Observes reports whether d asks for OnDone, and the state it hands back.
func (d Decision) Observes() (any, bool) { return d.state, d.observe }

// HTTPFilter is filter logic as a pure function of the request: table-test it natively, run
// it in Envoy with NewPlugin or as a stage of NewPipeline.
type HTTPFilter interface {
	OnRequest(r *Request) Decision
}

// BodyFilter is an HTTPFilter that needs the whole request body (Request.Body) to decide.
type BodyFilter interface {
	HTTPFilter
	WantsBody() bool
}

// Observer is an HTTPFilter that looks at the finished stream: when its decision asked
// (Decision.Observe), OnDone runs once the stream ends (also for streams answered locally or
// reset), with what the adapter saw and an Out for metrics and log lines.
type Observer interface {
	HTTPFilter
	OnDone(state any, o *Observation, out Out)
}

// Pauser is an HTTPFilter whose decisions pause (Decision.After): PauseOver runs when the
// pause ends, by its timer or because the stream ended first, with the decision's state.
type Pauser interface {
	HTTPFilter
	PauseOver(state any)
}

// Observation is what the adapter saw of one finished stream, for an Observer.
type Observation struct {
	Start    time.Time     // when the filter decided
	Duration time.Duration // from Start to the end of the stream
	// The request as the filter left it (its own edits applied, later filters' not).
	Method, Path, Authority string
	RequestID, TraceParent  string // x-request-id and traceparent, as the filter left them
	Status                  int    // the response :status (0: no response)
	RequestBytes            int64
	ResponseBytes           int64
	// Cluster is `<service>|<version>` the request was routed by: the routing header as the
	// chain left it, else the upstream cluster's name ("" unknown).
	Cluster string
	Route   string // the route Envoy picked (xds.route_name), when the decision asked for it
	// SourceService and SourceVersion are this sidecar's own (node.metadata.service/version).
	SourceService, SourceVersion string
}

// Out receives an Observer's effects: metrics (defined once, then incremented by ID) and
// info-level log lines. The adapter carries them out against the host; tests record them.
type Out interface {
	Define(kind metrics.Kind, name string) uint32
	Increment(id uint32, n uint64)
	Record(id uint32, value uint64)
	// Log writes an info-level line; the host copies it, so line may be reused.
	Log(line []byte)
}
