package testenv

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/wasmesh/wasmesh/sdk/conventions"
)

type frameKind uint8

const (
	fHeaders frameKind = iota
	fData
	fTrailers
)

// frame is one event travelling along the chain in one direction. Header and trailer frames
// carry no data: the maps live in the stream, shared by every filter as in Envoy.
type frame struct {
	kind frameKind
	data []byte
	eos  bool
}

// dirState is one filter's iteration state in one direction (0 request, 1 response).
type dirState struct {
	queue        []frame // frames that reached this filter and wait for it
	stopAll      bool    // headers returned StopAllIteration*: nothing is delivered until continue
	headersHeld  bool    // headers returned StopIteration: not passed on yet
	headersEOS   bool
	hasBuffered  bool // body returned StopIterationAndBuffer: held, offered again with the next data
	buffered     []byte
	bufferedEOS  bool
	trailersHeld bool
	cur          *[]byte  // the body buffer during proxy_on_*_body
	qbuf         [1]frame // queue's first backing array (no allocation for one frame)
}

// filterStream is one filter's part of a stream.
type filterStream struct {
	s    *stream
	p    *plugin
	ctx  *wctx
	dirs [2]dirState
	wctx wctx // ctx's memory
}

// stream is one HTTP exchange through the chain (Envoy's filter manager, reduced to what Wasm
// filters observe).
type stream struct {
	e       *Env
	filters []*filterStream
	actions []func() // Envoy's after-VM-call actions (continue, local reply, reset)

	reqHeaders, reqTrailers, respHeaders, respTrailers Headers

	routeDirty                bool
	routeCluster, routeName   string
	upstream                  *UpstreamRequest
	upstreamComplete          bool
	routed                    string // the cluster of the route when the request left the chain
	conn                      *Connection
	head                      bool // a HEAD request: responses carry no body
	resp                      Response
	respStarted, localReplied bool
	pluginReply               bool
	codeDetails               string
	responseFlags             uint64
	reqBytes, respBytes       int
	grpc                      bool
	setProps                  map[string][]byte

	start, end time.Time
	finished   bool
	err        error

	// Memory of the stream's parts, allocated with it (one allocation for a short chain).
	pub       Stream
	result    Result
	upVal     UpstreamRequest
	fsBuf     [1]filterStream
	fsPtrs    [1]*filterStream
	reqHdrBuf [8][2]string
	rspHdrBuf [4][2]string
	upHdrBuf  [3][2]string // the upstream's copy of the request headers
	outHdrBuf [2][2]string // the client's copy of the response headers
}

func (e *Env) newStream(req Request) *stream {
	s := &stream{e: e, start: e.clock(), conn: req.Connection}
	s.pub = Stream{e: e, s: s}
	n := len(e.plugins)
	fss := s.fsBuf[:]
	s.filters = s.fsPtrs[:]
	if n > len(fss) {
		fss, s.filters = make([]filterStream, n), make([]*filterStream, n)
	}
	s.filters = s.filters[:n]
	for i, p := range e.plugins {
		fs := &fss[i]
		fs.s, fs.p = s, p
		for d := range fs.dirs {
			fs.dirs[d].queue = fs.dirs[d].qbuf[:0]
		}
		s.filters[i] = fs
	}
	method, path, authority, scheme := req.Method, req.Path, req.Authority, req.Scheme
	fromHost := req.Authority == "" // the first non-empty Host header is the authority
	if method == "" {
		method = "GET"
	}
	if path == "" {
		path = "/"
	}
	if authority == "" {
		authority = "localhost"
	}
	if scheme == "" {
		scheme = "http"
	}
	s.reqHeaders = s.reqHdrBuf[:0]
	if need := 4 + len(req.Headers) + 3; need > len(s.reqHdrBuf) {
		s.reqHeaders = make(Headers, 0, need)
	}
	s.reqHeaders = append(s.reqHeaders, [2]string{":authority", authority}, [2]string{":path", path},
		[2]string{":method", method}, [2]string{":scheme", scheme})
	for _, kv := range req.Headers {
		k := strings.ToLower(kv[0])
		if k == "host" {
			if fromHost && kv[1] != "" {
				s.reqHeaders[0][1], fromHost = kv[1], false
			}
			continue
		}
		s.reqHeaders = append(s.reqHeaders, [2]string{k, kv[1]})
	}
	if len(req.Body) > 0 && s.reqHeaders.get("content-length") == "" {
		s.reqHeaders = append(s.reqHeaders, [2]string{"content-length", strconv.Itoa(len(req.Body))})
	}
	// What Envoy's connection manager adds before the filters run (use_remote_address false,
	// the default): x-forwarded-proto, and an x-request-id when the request has none.
	if s.reqHeaders.get("x-forwarded-proto") == "" {
		s.reqHeaders = append(s.reqHeaders, [2]string{"x-forwarded-proto", scheme})
	}
	if !e.opts.noRequestID && s.reqHeaders.get("x-request-id") == "" {
		s.reqHeaders = append(s.reqHeaders, [2]string{"x-request-id", uuid4()})
	}
	s.head = method == "HEAD"
	s.grpc = strings.HasPrefix(s.reqHeaders.get("content-type"), "application/grpc")
	if len(req.Trailers) > 0 {
		s.reqTrailers = lowerHeaders(req.Trailers)
	}
	s.computeRoute()

	chunks := req.BodyChunks
	if chunks == nil && len(req.Body) > 0 {
		chunks = [][]byte{req.Body}
	}
	hasTrailers := len(req.Trailers) > 0
	q := &s.filters[0].dirs[0].queue
	*q = append(*q, frame{kind: fHeaders, eos: len(chunks) == 0 && !hasTrailers})
	for i, c := range chunks {
		*q = append(*q, frame{kind: fData, data: c, eos: i == len(chunks)-1 && !hasTrailers})
	}
	if hasTrailers {
		*q = append(*q, frame{kind: fTrailers, eos: true})
	}
	return s
}

// computeRoute picks the route from the request headers as they are now.
func (s *stream) computeRoute() {
	if c := s.reqHeaders.get(RoutingHeader); c != "" {
		s.routeCluster, s.routeName = c, "routing-header"
	} else {
		s.routeCluster, s.routeName = s.e.opts.defaultCluster, "default"
	}
	s.routeDirty = false
}

// route returns the cached route, recomputed first if it was cleared since.
func (s *stream) route() (cluster, name string) {
	if s.routeDirty {
		s.computeRoute()
	}
	return s.routeCluster, s.routeName
}

// RoutingHeader names the upstream cluster (docs/conventions.md): the header the router and
// canary filters set and Envoy's route reads (cluster_header). It is sdk/conventions' (the
// guest SDK itself would pull proxy-wasm into every host).
const RoutingHeader = conventions.RoutingHeader

// pump delivers frames until nothing can move.
func (s *stream) pump() {
	n := len(s.filters)
	for progress := true; progress && !s.finished; {
		progress = false
		s.runActions()
		for d := 0; d < 2 && !s.finished; d++ {
			for k := 0; k < n && !s.finished; k++ {
				i := k
				if d == 1 {
					i = n - 1 - k
				}
				ds := &s.filters[i].dirs[d]
				if len(ds.queue) == 0 || ds.stopAll || ds.trailersHeld {
					continue
				}
				f := ds.queue[0]
				ds.queue = ds.queue[1:]
				s.process(s.filters[i], d, f)
				progress = true
			}
		}
	}
}

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// process hands one frame to one filter and applies its answer as Envoy's filter manager does.
func (s *stream) process(fs *filterStream, d int, f frame) {
	p, v := fs.p, fs.p.vm
	if p.failed != nil {
		if d == 0 {
			s.fail(fmt.Errorf("filter %q: the plugin failed earlier (Envoy fails the stream closed): %w", p.name, p.failed))
			return
		}
		s.forward(d, fs, f)
		return
	}
	if fs.ctx == nil {
		c := v.initContext(&fs.wctx, p, false)
		c.fs = fs
		fs.ctx = c
		if _, err := v.call(v.onContextCreate, c, uint64(c.id), uint64(p.root.id)); err != nil {
			s.fail(err)
			return
		}
	}
	ds := &fs.dirs[d]
	id := uint64(fs.ctx.id)
	var r uint64
	var err error
	switch f.kind {
	case fHeaders:
		fn, n := v.onRequestHeaders, len(s.reqHeaders)
		if d == 1 {
			fn, n = v.onResponseHeaders, len(s.respHeaders)
		}
		r, err = v.call(fn, fs.ctx, id, uint64(n), b2u(f.eos))
		if err != nil {
			s.fail(err)
			return
		}
		switch r {
		case 1: // StopIteration
			ds.headersHeld, ds.headersEOS = true, f.eos
		case 3, 4: // StopAllIterationAndBuffer, StopAllIterationAndWatermark
			ds.headersHeld, ds.headersEOS, ds.stopAll = true, f.eos, true
		default: // Continue, ContinueAndEndStream
			s.forward(d, fs, f)
		}
	case fData:
		buf := f.data
		if ds.hasBuffered {
			buf = append(ds.buffered, f.data...)
			ds.hasBuffered, ds.buffered = false, nil
		}
		fn := v.onRequestBody
		if d == 1 {
			fn = v.onResponseBody
		}
		ds.cur = &buf
		r, err = v.call(fn, fs.ctx, id, uint64(len(buf)), b2u(f.eos))
		ds.cur = nil
		if err != nil {
			s.fail(err)
			return
		}
		switch r {
		case 1, 2: // StopIterationAndBuffer, StopIterationAndWatermark
			ds.hasBuffered, ds.buffered, ds.bufferedEOS = true, buf, f.eos
		case 3: // StopIterationNoBuffer: the data is dropped
			if f.eos {
				ds.hasBuffered, ds.buffered, ds.bufferedEOS = true, nil, true
			}
		default:
			s.flushHeaders(d, fs)
			s.forward(d, fs, frame{kind: fData, data: buf, eos: f.eos})
		}
	case fTrailers:
		fn, n := v.onRequestTrailers, len(s.reqTrailers)
		if d == 1 {
			fn, n = v.onResponseTrailers, len(s.respTrailers)
		}
		r, err = v.call(fn, fs.ctx, id, uint64(n))
		if err != nil {
			s.fail(err)
			return
		}
		if r == 1 {
			ds.trailersHeld = true
		} else {
			s.release(d, fs, f)
		}
	}
	s.runActions()
}

// flushHeaders passes on headers the filter held when it lets data through.
func (s *stream) flushHeaders(d int, fs *filterStream) {
	ds := &fs.dirs[d]
	if ds.headersHeld {
		ds.headersHeld = false
		s.forward(d, fs, frame{kind: fHeaders, eos: ds.headersEOS})
	}
}

// release passes on everything the filter held, then extra (if any).
func (s *stream) release(d int, fs *filterStream, extra frame) {
	ds := &fs.dirs[d]
	s.flushHeaders(d, fs)
	if ds.hasBuffered {
		b, eos := ds.buffered, ds.bufferedEOS
		ds.hasBuffered, ds.buffered = false, nil
		s.forward(d, fs, frame{kind: fData, data: b, eos: eos && extra.kind != fTrailers})
	}
	if extra.kind == fTrailers {
		s.forward(d, fs, extra)
	}
}

// resume is continue_stream: the filter lets everything it held go on.
func (s *stream) resume(fs *filterStream, d int) {
	if s.finished {
		return
	}
	ds := &fs.dirs[d]
	ds.stopAll = false
	trailers := ds.trailersHeld
	ds.trailersHeld = false
	if trailers {
		s.release(d, fs, frame{kind: fTrailers, eos: true})
	} else {
		s.release(d, fs, frame{kind: fHeaders}) // kind fHeaders here means "nothing extra"
	}
}

// forward moves a frame to the next filter in direction d, or out of the chain.
func (s *stream) forward(d int, fs *filterStream, f frame) {
	i := fs.p.index
	if d == 0 {
		i++
	} else {
		i--
	}
	if i >= 0 && i < len(s.filters) {
		s.filters[i].dirs[d].queue = append(s.filters[i].dirs[d].queue, f)
		return
	}
	if d == 0 {
		s.toUpstream(f)
	} else {
		s.toDownstream(f)
	}
}

func (s *stream) toUpstream(f frame) {
	switch f.kind {
	case fHeaders:
		cluster, _ := s.route()
		s.routed = cluster
		if o := s.e.opts; o.onlyClusters && cluster != o.defaultCluster && o.clusters[cluster] == nil {
			// Envoy's router: the route names a cluster the Envoy does not have.
			s.localReply(nil, 503, nil, nil, -1, "cluster_not_found")
			return
		}
		up := &s.upVal
		*up = UpstreamRequest{Cluster: cluster}
		if n := len(s.reqHeaders) - 4; n > len(s.upHdrBuf) {
			up.Headers = make(Headers, 0, n)
		} else if n > 0 {
			up.Headers = s.upHdrBuf[:0:n]
		}
		for _, kv := range s.reqHeaders {
			switch kv[0] {
			case ":method":
				up.Method = kv[1]
			case ":path":
				up.Path = kv[1]
			case ":authority":
				up.Authority = kv[1]
			default:
				if !strings.HasPrefix(kv[0], ":") {
					up.Headers = append(up.Headers, kv)
				}
			}
		}
		s.upstream = up
	case fData:
		s.upstream.Body = append(s.upstream.Body, f.data...)
		s.reqBytes += len(f.data)
	case fTrailers:
		s.upstream.Trailers = s.reqTrailers.clone()
	}
	if f.eos || f.kind == fTrailers {
		s.upstreamComplete = true
		s.answerUpstream()
	}
}

func (s *stream) answerUpstream() {
	if d := s.e.opts.latency[s.upstream.Cluster]; d > 0 {
		s.e.after(d, func() {
			if !s.finished && !s.localReplied {
				s.answerNow()
				s.pump()
			}
		})
		return
	}
	s.answerNow()
}

func (s *stream) answerNow() {
	o := s.e.opts
	h := o.clusters[s.upstream.Cluster]
	if h == nil {
		h = o.upstream
	}
	var resp *Response
	if h == nil {
		resp = &Response{Status: 200}
	} else {
		resp = h(s.upstream)
	}
	if resp == nil {
		// The router's own local reply for a failed upstream connection.
		s.codeDetails = "upstream_reset_before_response_started{connection_failure}"
		s.responseFlags = 0x20 // UF
		body := []byte("upstream connect error or disconnect/reset before headers. reset reason: connection failure")
		s.startResponse(503, Headers{{"content-type", "text/plain"}}, body, nil)
		return
	}
	s.codeDetails = "via_upstream"
	status := resp.Status
	if status == 0 {
		status = 200
	}
	body := resp.Body
	if s.head {
		body = nil // the upstream codec expects no body after the headers of a HEAD answer
	}
	s.startResponse(status, lowerHeaders(resp.Headers), body, resp.Trailers)
}

// startResponse puts a response into the encoder chain (its last filter first).
func (s *stream) startResponse(status int, hdrs Headers, body []byte, trailers Headers) {
	s.respHeaders = s.rspHdrBuf[:0]
	if len(hdrs)+2 > len(s.rspHdrBuf) {
		s.respHeaders = make(Headers, 0, len(hdrs)+2)
	}
	s.respHeaders = append(s.respHeaders, [2]string{":status", statusString(status)})
	s.respHeaders = append(s.respHeaders, hdrs...)
	if len(body) > 0 && s.respHeaders.get("content-length") == "" {
		s.respHeaders = append(s.respHeaders, [2]string{"content-length", strconv.Itoa(len(body))})
	}
	s.respTrailers = nil
	if len(trailers) > 0 {
		s.respTrailers = lowerHeaders(trailers)
	}
	last := s.filters[len(s.filters)-1]
	q := &last.dirs[1].queue
	*q = append(*q, frame{kind: fHeaders, eos: len(body) == 0 && len(trailers) == 0})
	if len(body) > 0 {
		*q = append(*q, frame{kind: fData, data: append([]byte(nil), body...), eos: len(trailers) == 0})
	}
	if len(trailers) > 0 {
		*q = append(*q, frame{kind: fTrailers, eos: true})
	}
}

func (s *stream) toDownstream(f frame) {
	switch f.kind {
	case fHeaders:
		s.respStarted = true
		s.resp.Status, _ = strconv.Atoi(s.respHeaders.get(":status"))
		s.resp.Headers = nil
		if n := len(s.respHeaders) - 1; n > len(s.outHdrBuf) {
			s.resp.Headers = make(Headers, 0, n)
		} else if n > 0 {
			s.resp.Headers = s.outHdrBuf[:0:n]
		}
		for _, kv := range s.respHeaders {
			if !strings.HasPrefix(kv[0], ":") {
				s.resp.Headers = append(s.resp.Headers, kv)
			}
		}
	case fData:
		s.resp.Body = append(s.resp.Body, f.data...)
		s.respBytes += len(f.data)
	case fTrailers:
		s.resp.Trailers = s.respTrailers.clone()
	}
	if f.eos || f.kind == fTrailers {
		s.end = s.e.clock()
		s.finished = true
	}
}

// runActions runs what the plugins asked for during the last VM call.
func (s *stream) runActions() {
	for len(s.actions) > 0 {
		a := s.actions[0]
		s.actions = s.actions[1:]
		a()
	}
}

// localReply is send_local_response (fs nil: Envoy's own reply for a failed plugin). The
// request stops where it is; the reply goes through every filter's response callbacks.
func (s *stream) localReply(fs *filterStream, code int, body []byte, extra Headers, grpcStatus int32, details string) {
	if s.finished {
		return
	}
	if s.respStarted {
		s.err = errors.Join(s.err, fmt.Errorf("local reply %d after the response headers went downstream: Envoy resets the stream", code))
		s.finished = true
		return
	}
	if s.localReplied && fs != nil {
		s.err = errors.Join(s.err, fmt.Errorf("filter %q: a second local reply (%d) while the first was encoded: Envoy resets the stream", fs.p.name, code))
		s.finished = true
		return
	}
	s.localReplied = true
	s.pluginReply = s.pluginReply || fs != nil
	s.codeDetails = details
	if s.upstream != nil && !s.upstreamComplete {
		s.upstream.Reset = true // Envoy resets the upstream request it had started
	}
	for _, f := range s.filters {
		f.dirs = [2]dirState{}
	}
	// Envoy's Http::Utility::sendLocalReply: the filter's headers first, then what the reply
	// itself sets (replacing a value the filter gave).
	hdrs := make(Headers, 0, len(extra)+3)
	for _, kv := range extra {
		k := strings.ToLower(kv[0])
		if s.grpc && (k == "content-type" || k == "content-length") {
			continue // a gRPC reply sets content-type: application/grpc and has no body
		}
		hdrs = append(hdrs, [2]string{k, kv[1]})
	}
	if s.grpc {
		gs := int(grpcStatus)
		if grpcStatus < 0 {
			gs = httpToGRPC(code)
		}
		hdrs = append(hdrs, [2]string{"content-type", "application/grpc"}, [2]string{"grpc-status", strconv.Itoa(gs)})
		if len(body) > 0 {
			hdrs = append(hdrs, [2]string{"grpc-message", percentEncode(string(body))})
		}
		s.startResponse(200, hdrs, nil, nil)
		return
	}
	if len(body) > 0 {
		hdrs = append(hdrs, [2]string{"content-length", strconv.Itoa(len(body))})
		if hdrs.Get("content-type") == "" {
			hdrs = append(hdrs, [2]string{"content-type", "text/plain"})
		}
	}
	if s.head {
		// A reply to HEAD keeps the headers of the body it would have had, without the body.
		s.startResponse(code, hdrs, nil, nil)
		return
	}
	s.startResponse(code, hdrs, body, nil)
}

// statusStrings holds the decimal text of every HTTP status (no allocation per response).
var statusStrings = func() (t [600]string) {
	for i := range t {
		t[i] = strconv.Itoa(i)
	}
	return t
}()

func statusString(code int) string {
	if code >= 0 && code < len(statusStrings) {
		return statusStrings[code]
	}
	return strconv.Itoa(code)
}

// httpToGRPC is Envoy's Grpc::Utility::httpToGrpcStatus.
func httpToGRPC(code int) int {
	switch code {
	case 400:
		return 13
	case 401:
		return 16
	case 403:
		return 7
	case 404:
		return 12
	case 429, 502, 503, 504:
		return 14
	}
	return 2
}

func percentEncode(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < ' ' || c > '~' || c == '%' {
			fmt.Fprintf(&b, "%%%02X", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// fail records a plugin failure and answers as Envoy does for a fail-closed plugin: 503.
func (s *stream) fail(err error) {
	s.err = errors.Join(s.err, err)
	s.actions = nil
	s.localReply(nil, 503, nil, nil, 14, "wasm_fail_stream")
}

// reset is close_stream.
func (s *stream) reset(name string) {
	s.err = errors.Join(s.err, fmt.Errorf("filter %q closed the stream (proxy_close_stream): Envoy resets it", name))
	s.finished = true
}

// stuck explains why the stream cannot go on.
func (s *stream) stuck(why string) {
	var where []string
	for _, fs := range s.filters {
		for d, ds := range fs.dirs {
			dir := [2]string{"request", "response"}[d]
			switch {
			case ds.stopAll || ds.headersHeld:
				where = append(where, fmt.Sprintf("filter %q holds the %s headers", fs.p.name, dir))
			case ds.hasBuffered:
				where = append(where, fmt.Sprintf("filter %q holds the %s body", fs.p.name, dir))
			case ds.trailersHeld:
				where = append(where, fmt.Sprintf("filter %q holds the %s trailers", fs.p.name, dir))
			}
		}
	}
	s.err = errors.Join(s.err, fmt.Errorf("%w: %s (%s)", ErrStuck, strings.Join(where, "; "), why))
	s.finished = true
}

// finish ends every context the stream created: proxy_on_done, proxy_on_log, proxy_on_delete.
func (s *stream) finish() {
	s.finished = true
	if s.end.IsZero() {
		s.end = s.e.clock()
	}
	for _, fs := range s.filters {
		c := fs.ctx
		if c == nil {
			continue
		}
		v := c.vm
		if v.failed == nil {
			_, err := v.call(v.onDone, c, uint64(c.id))
			if err == nil {
				_, err = v.call(v.onLog, c, uint64(c.id))
			}
			if err == nil {
				_, err = v.call(v.onDelete, c, uint64(c.id))
			}
			if err != nil {
				s.err = errors.Join(s.err, err)
			}
		}
		c.dead = true
		delete(v.contexts, c.id)
	}
	s.actions = nil
}

// Stream is an exchange begun with Env.Begin that may still be open (paused by a filter,
// waiting for its upstream). Its methods are safe to call from any goroutine.
type Stream struct {
	e   *Env
	s   *stream
	res *Result
}

// Begin sends req into the chain and runs it until it completes or nothing can move without
// the clock (a filter paused it, the upstream answers later): it neither advances the clock
// nor waits. Several streams may be open at once; Advance drives all of them, Wait waits for
// some. An open stream holds its contexts in every VM until it ends.
func (e *Env) Begin(req Request) *Stream {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.begin(req)
}

func (e *Env) begin(req Request) *Stream {
	if e.closed {
		return &Stream{e: e, res: &Result{Err: errors.New("testenv: Begin on a closed Env")}}
	}
	if res := codecRefusal(req); res != nil {
		return &Stream{e: e, res: res}
	}
	e.runAsyncAll()
	st := &e.newStream(req).pub
	e.open = append(e.open, st)
	e.settle()
	return st
}

// Done reports whether the stream has completed (answered, reset, failed or found stuck).
func (st *Stream) Done() bool {
	st.e.mu.Lock()
	defer st.e.mu.Unlock()
	return st.res != nil
}

// Result is the exchange's outcome once Done, nil while the stream is open.
func (st *Stream) Result() *Result {
	st.e.mu.Lock()
	defer st.e.mu.Unlock()
	return st.res
}

// Wait runs until every given stream completes, as Do does for one: pending callbacks first,
// then the simulated clock tick by tick (the other open streams move with it). A stream that
// can never resume, or not within the maximum wait, completes with ErrStuck.
func (e *Env) Wait(streams ...*Stream) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.wait(streams)
}

func (e *Env) wait(streams []*Stream) {
	deadline := e.clock().Add(e.opts.maxWait)
	for {
		e.settle()
		var pending []*Stream
		for _, st := range streams {
			if st.res == nil {
				pending = append(pending, st)
			}
		}
		if len(pending) == 0 {
			return
		}
		why := ""
		if _, ok := e.nextEventTime(); !ok {
			why = "no tick, HTTP call, upstream answer or queue callback is pending that could resume it"
		} else if !e.runNextEvent(deadline) {
			why = fmt.Sprintf("not resumed within %s of simulated time", e.opts.maxWait)
		}
		if why != "" {
			for _, st := range pending {
				st.s.stuck(why)
			}
			e.settle()
			return
		}
	}
}

// settle moves every open stream as far as it goes without the clock: pending actions and
// frames, then queued callbacks, until nothing moves; streams that finished end (their
// contexts' done, log and delete) and get their Result.
func (e *Env) settle() {
	for {
		moved := false
		for i := 0; i < len(e.open); i++ {
			st := e.open[i]
			if !st.s.finished {
				st.s.pump()
			}
			if st.s.finished {
				e.open = append(e.open[:i], e.open[i+1:]...)
				i--
				e.end(st)
				moved = true
			}
		}
		if e.runAsync() {
			moved = true
		}
		if !moved {
			return
		}
	}
}

// end runs the stream's end callbacks and records its Result.
func (e *Env) end(st *Stream) {
	s := st.s
	s.finish()
	s.result = Result{Response: s.resp, Upstream: s.upstream, LocalReply: s.pluginReply, Elapsed: s.end.Sub(s.start), Err: s.err, Details: s.codeDetails, Cluster: s.routed}
	st.res = &s.result
}

// Do runs one full exchange: the request through the chain, the upstream (or a local reply),
// the response back through the chain. While the stream is paused it runs pending callbacks and
// then advances the simulated clock tick by tick until the stream resumes (Begin then Wait).
func (e *Env) Do(req Request) *Result {
	e.mu.Lock()
	defer e.mu.Unlock()
	st := e.begin(req)
	if st.res == nil {
		e.wait([]*Stream{st})
	}
	return st.res
}
