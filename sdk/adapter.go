package sdk

import (
	"errors"
	"time"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
	"github.com/wasmesh/wasmesh/sdk/metrics"
	"github.com/wasmesh/wasmesh/sdk/timer"
)

// The adapter is the only code that carries decisions out against the host. It runs one or
// more filters (stages) in one HTTP context, and it is built around the price of a crossing
// between Envoy and the VM (a callback in, a host call out, an allocation callback for each
// value the host hands over: 2–3 µs each in V8):
//   - request headers are read once, as one map, whatever the number of stages;
//   - each stage sees the request as the previous stages left it (their edits are folded into
//     the view, as Envoy's filter chain would show them);
//   - edits are written once at the end of the request phase: one call for one edit, else the
//     whole map in one proxy_set_header_map_pairs; clear_route_cache at most once, and only
//     when routing input changed (any request header but the trace context: traceparent,
//     tracestate, x-request-id);
//   - the response and the end of the stream cost host calls only when a stage asked for them
//     (a response header to set, an Observer), and the clock is read once per phase at most.

// maxStages bounds a pipeline (the per-stream state is inline, without allocation).
const maxStages = 8

// Stage is one named filter of a pipeline.
type Stage struct {
	Name   string
	Filter HTTPFilter
}

// NewPlugin returns a plugin-context factory for proxywasm.SetPluginContext: at plugin start
// it parses the configuration with parse (a failure refuses the plugin with a critical log
// line prefixed with name), and it runs the filter on every request.
func NewPlugin[F HTTPFilter](name string, parse func(data []byte) (F, error)) func(contextID uint32) types.PluginContext {
	return NewPipeline(name, func(data []byte) ([]Stage, error) {
		f, err := parse(data)
		if err != nil {
			return nil, err
		}
		return []Stage{{Name: name, Filter: f}}, nil
	})
}

// NewPipeline returns a plugin-context factory that runs the stages parse builds from the
// plugin configuration, in order, in one HTTP context (see the package notes on crossings). A
// stage that answers locally ends the pipeline as it would end Envoy's chain.
func NewPipeline(name string, parse func(data []byte) ([]Stage, error)) func(contextID uint32) types.PluginContext {
	return func(uint32) types.PluginContext {
		return &pipeline{name: name, parse: parse}
	}
}

var (
	_ types.PluginContext = (*pipeline)(nil)
	_ types.HttpContext   = (*stream)(nil)
	_ Out                 = hostOut{}
)

type pipeline struct {
	types.DefaultPluginContext
	name      string
	parse     func([]byte) ([]Stage, error)
	stages    []Stage
	body      bool // a stage needs the whole request body
	observers bool // a stage may observe the stream
	conn      bool // a stage decides on the connection (ConnectionAware)
	ticker    timer.Ticker
	nodeRead  bool
	nodeGiven bool         // the stages of this configuration have the node (nodeToStages)
	panics    *metrics.Vec // PanicsMetric, defined at the first panic
	srcSvc    string
	srcVer    string
}

func (p *pipeline) OnPluginStart(int) types.OnPluginStartStatus {
	return Configure(p.name, func(data []byte) error {
		stages, err := p.parse(data)
		if err != nil {
			return err
		}
		if len(stages) > maxStages {
			return errors.New("a pipeline runs at most 8 stages")
		}
		p.stages, p.body, p.observers, p.conn, p.nodeGiven = stages, false, false, false, false
		for _, s := range stages {
			if ca, ok := s.Filter.(ConnectionAware); ok && ca.WantsConnection() {
				p.conn = true
			}
			if bf, ok := s.Filter.(BodyFilter); ok && bf.WantsBody() {
				p.body = true
			}
			if _, ok := s.Filter.(Observer); ok {
				p.observers = true
			}
		}
		return nil
	})
}

func (p *pipeline) OnTick() { p.ticker.OnTick() }

func (p *pipeline) NewHttpContext(id uint32) types.HttpContext {
	return &stream{p: p, id: id}
}

// node reads the sidecar's own service and version from its node metadata, once per plugin:
// xds.node.metadata.* (Envoy 1.40 has no bare "node" property), else node.metadata.* (older
// Envoys).
func (p *pipeline) node() {
	if p.nodeRead {
		return
	}
	p.nodeRead = true
	p.srcSvc, p.srcVer = nodeMetadata("service"), nodeMetadata("version")
}

// connection reads the downstream connection's mTLS state and peer URI SAN (Envoy's
// connection attributes; a bool property is one byte).
func connection() Connection {
	var c Connection
	if b, err := proxywasm.GetProperty([]string{"connection", "mtls"}); err == nil && len(b) == 1 {
		c.MTLS = b[0] != 0
	}
	if c.MTLS {
		if b, err := proxywasm.GetProperty([]string{"connection", "uri_san_peer_certificate"}); err == nil {
			c.PeerURISAN = string(b)
		}
	}
	return c
}

func nodeMetadata(key string) string {
	if b, err := proxywasm.GetProperty([]string{"xds", "node", "metadata", key}); err == nil {
		return string(b)
	}
	if b, err := proxywasm.GetProperty([]string{"node", "metadata", key}); err == nil {
		return string(b)
	}
	return ""
}

// NodeAware is a stage that needs its sidecar's own service and version (node metadata,
// e.g. the fault filter's triggerHeader.callers): the adapter hands them over before the
// stage's first request.
type NodeAware interface {
	SetNode(service, version string)
}

// nodeToStages hands the node to the NodeAware stages, once per configuration.
func (p *pipeline) nodeToStages() {
	if p.nodeGiven {
		return
	}
	p.nodeGiven = true
	p.node()
	for _, st := range p.stages {
		if na, ok := st.Filter.(NodeAware); ok {
			na.SetNode(p.srcSvc, p.srcVer)
		}
	}
}

func (p *pipeline) logError(what string, err error) {
	proxywasm.LogError(p.name + ": " + what + ": " + err.Error())
}

// observed is what one Observer stage asked for, and the request as it left that stage.
type observed struct {
	stage                   int
	state                   any
	route                   bool
	method, path, authority string
	requestID, traceParent  string
}

// stream is one HTTP stream through the pipeline.
type stream struct {
	types.DefaultHttpContext
	p   *pipeline
	id  uint32
	req Request
	// pseudo holds the request's pseudo-headers other than the ones Request names.
	pseudo  [2][2]string
	npseudo uint8

	next     int // the next stage of the request phase
	decided  bool
	timer    timer.ID
	pending  Decision // the decision a pause holds
	pauseAt  int      // its stage
	edits    int      // request-header edits not yet written
	lastEdit [2]string
	lastDel  bool
	routing  bool // routing input changed since the last write
	routed   bool // a stage set the routing header
	resp     [][2]string
	replied  bool

	obs     [maxStages]observed
	nobs    int
	start   time.Time
	status  int
	reqLen  int64
	respLen int64
	cluster string
	route   string
	gotResp bool
}

func (s *stream) OnHttpRequestHeaders(_ int, endOfStream bool) types.Action {
	s.p.nodeToStages()
	hs, err := requestHeaders()
	if err != nil {
		s.p.logError("read request headers", err)
		return types.ActionContinue
	}
	s.split(hs)
	if s.p.conn {
		s.req.Connection = connection()
	}
	if s.p.body && !endOfStream {
		return types.ActionPause // decide once the body is complete
	}
	return s.run()
}

// split turns the host's header list into the request view, keeping the other
// pseudo-headers to write the map back whole.
func (s *stream) split(hs [][2]string) {
	n := 0
	for _, kv := range hs {
		if len(kv[0]) > 0 && kv[0][0] == ':' {
			switch kv[0] {
			case ":method":
				s.req.Method = kv[1]
			case ":path":
				s.req.Path = kv[1]
			case ":authority":
				s.req.Authority = kv[1]
			case ":scheme":
				s.req.Scheme = kv[1]
			default:
				if int(s.npseudo) < len(s.pseudo) {
					s.pseudo[s.npseudo] = kv
					s.npseudo++
				}
			}
			continue
		}
		hs[n] = kv
		n++
	}
	s.req.Headers = hs[:n]
	if s.req.Authority == "" {
		s.req.Authority, _ = s.req.Headers.Get("host")
	}
}

func (s *stream) OnHttpRequestBody(size int, endOfStream bool) types.Action {
	s.reqLen += int64(size)
	if s.timer != 0 {
		return types.ActionPause // paused: hold the body too, or Envoy would resume the headers
	}
	if s.decided || !s.p.body || s.replied {
		return types.ActionContinue
	}
	if !endOfStream {
		return types.ActionPause // buffer
	}
	if size > 0 {
		b, err := proxywasm.GetHttpRequestBody(0, size)
		if err != nil {
			s.p.logError("read request body", err)
		}
		s.req.Body = b
	}
	// In the body callback, continuing releases the held headers with the buffered body.
	return s.run()
}

// run runs the stages from s.next on; it writes the edits and continues when every stage let
// the request through.
func (s *stream) run() types.Action {
	for s.next < len(s.p.stages) {
		i := s.next
		s.next++
		d, ok := s.p.onRequest(i, &s.req)
		if !ok { // the stage panicked: this request fails, the VM stays healthy
			s.decided = true
			if err := proxywasm.SendHttpResponse(500, [][2]string{{"x-wasmesh-plugin-error", s.p.stages[i].Name}},
				[]byte("plugin error\n"), -1); err != nil {
				s.p.logError("reply after a panic", err)
			}
			return types.ActionPause
		}
		s.count(&d, false)
		if d.after > 0 {
			s.pending, s.pauseAt = d, i
			s.timer = s.p.ticker.After(d.after, s.resume)
			return types.ActionPause
		}
		if !s.carryOut(i, &d) {
			return types.ActionPause
		}
	}
	s.decided = true
	s.flush()
	return types.ActionContinue
}

// resume runs on the root context's tick when a pause is over.
func (s *stream) resume() {
	s.timer = 0
	s.pauseOver()
	if err := proxywasm.SetEffectiveContext(s.id); err != nil {
		return // the stream ended meanwhile
	}
	d := s.pending
	s.pending = Decision{}
	if !s.carryOut(s.pauseAt, &d) {
		return
	}
	if s.run() == types.ActionContinue {
		if err := proxywasm.ResumeHttpRequest(); err != nil {
			s.p.logError("resume request", err)
		}
	}
}

// pauseOver tells the paused stage its pause ended.
func (s *stream) pauseOver() {
	if pz, ok := s.p.stages[s.pauseAt].Filter.(Pauser); ok {
		pz.PauseOver(s.pending.state)
	}
}

// carryOut applies stage i's decision d; it reports false when the stream was answered
// locally (the pipeline ends there).
func (s *stream) carryOut(i int, d *Decision) bool {
	s.count(d, true)
	if d.observe && s.p.observers {
		if s.nobs == 0 {
			s.start = now()
		}
	}
	if d.reply {
		s.replied, s.decided = true, true
		s.observe(i, d)
		grpc := int32(-1)
		if d.isGRPC {
			grpc = d.grpc
		}
		if err := proxywasm.SendHttpResponse(uint32(d.status), d.headers, d.body, grpc); err != nil {
			s.p.logError("send local reply", err)
		}
		return false
	}
	for _, k := range d.remove {
		if s.req.Headers.has(k) {
			s.req.Headers = s.req.Headers.without(k)
			s.edit(k, "", true)
		}
	}
	for _, kv := range d.set {
		s.req.Headers = s.req.Headers.with(kv[0], kv[1])
		s.edit(kv[0], kv[1], false)
	}
	if d.path != "" && d.path != s.req.Path {
		s.req.Path = d.path
		s.edit(":path", d.path, false)
	}
	if d.cluster != "" {
		s.req.Headers = s.req.Headers.with(RoutingHeader, d.cluster)
		s.edit(RoutingHeader, d.cluster, false)
		s.routed = true
	}
	s.resp = append(s.resp, d.resp...)
	s.observe(i, d)
	return true
}

// edit notes a request-header edit to write.
func (s *stream) edit(name, value string, del bool) {
	s.edits++
	s.lastEdit, s.lastDel = [2]string{name, value}, del
	switch name {
	case "traceparent", "tracestate", "x-request-id":
		// Trace context: no route matches on it (docs/conventions.md).
	default:
		s.routing = true
	}
}

// observe records what an Observer stage asked for, with the request as it left the stage.
func (s *stream) observe(i int, d *Decision) {
	if !d.observe || !s.p.observers {
		return
	}
	if _, ok := s.p.stages[i].Filter.(Observer); !ok {
		return
	}
	o := &s.obs[s.nobs]
	s.nobs++
	*o = observed{stage: i, state: d.state, route: d.route,
		method: s.req.Method, path: s.req.Path, authority: s.req.Authority}
	o.requestID, _ = s.req.Headers.Get("x-request-id")
	o.traceParent, _ = s.req.Headers.Get("traceparent")
}

// count carries out the decision's metric increments of one kind: those counted as the
// filter decides, or those counted when the decision is carried out.
func (s *stream) count(d *Decision, after bool) {
	for j := uint8(0); j < d.ncounts; j++ {
		c := &d.counts[j]
		if c.after != after {
			continue
		}
		c.vec.Add(int64(c.n), c.values[:len(c.vec.Keys)]...)
	}
}

// flush writes the pending request-header edits: one call for one edit, else the whole map.
func (s *stream) flush() {
	switch {
	case s.edits == 0:
		return
	case s.edits == 1 && s.lastDel:
		if err := proxywasm.RemoveHttpRequestHeader(s.lastEdit[0]); err != nil {
			s.p.logError("remove request header "+s.lastEdit[0], err)
		}
	case s.edits == 1:
		if err := proxywasm.ReplaceHttpRequestHeader(s.lastEdit[0], s.lastEdit[1]); err != nil {
			s.p.logError("set request header "+s.lastEdit[0], err)
		}
	default:
		if err := proxywasm.ReplaceHttpRequestHeaders(s.headerMap()); err != nil {
			s.p.logError("write request headers", err)
		}
	}
	s.edits = 0
	if s.routing {
		s.routing = false
		if err := ClearRouteCache(); err != nil {
			s.p.logError("clear_route_cache", err)
		}
	}
}

// headerMap is the request as the host should hold it: pseudo-headers, then the rest.
func (s *stream) headerMap() [][2]string {
	hs := make([][2]string, 0, 4+int(s.npseudo)+len(s.req.Headers))
	hs = append(hs, [2]string{":method", s.req.Method}, [2]string{":path", s.req.Path})
	if s.req.Authority != "" {
		hs = append(hs, [2]string{":authority", s.req.Authority})
	}
	if s.req.Scheme != "" {
		hs = append(hs, [2]string{":scheme", s.req.Scheme})
	}
	hs = append(hs, s.pseudo[:s.npseudo]...)
	return append(hs, s.req.Headers...)
}

func (s *stream) OnHttpResponseHeaders(int, bool) types.Action {
	if s.nobs > 0 {
		s.gotResp = true
		if v, err := proxywasm.GetHttpResponseHeader(":status"); err == nil {
			s.status = atoi(v)
		}
		s.observeUpstream()
	}
	for _, kv := range s.resp {
		if err := proxywasm.ReplaceHttpResponseHeader(kv[0], kv[1]); err != nil {
			s.p.logError("set response header "+kv[0], err)
		}
	}
	return types.ActionContinue
}

// observeUpstream finds where the request went, for the Observers: the routing header when a
// stage of this pipeline set it, else the header as the host holds it now (a later filter
// may have set it), else the upstream cluster's name; and the route, when asked.
func (s *stream) observeUpstream() {
	if s.routed {
		s.cluster, _ = s.req.Headers.Get(RoutingHeader)
	} else if v, err := proxywasm.GetHttpRequestHeader(RoutingHeader); err == nil && v != "" {
		s.cluster = v
	} else if b, err := proxywasm.GetProperty([]string{"xds", "cluster_name"}); err == nil && len(b) > 0 {
		s.cluster = string(b)
	} else if err != nil && !errors.Is(err, types.ErrorStatusNotFound) {
		proxywasm.LogDebug(s.p.name + ": cluster_name: " + err.Error())
	}
	for i := 0; i < s.nobs; i++ {
		if s.obs[i].route {
			if b, err := proxywasm.GetProperty([]string{"xds", "route_name"}); err == nil {
				s.route = string(b)
			}
			return
		}
	}
}

func (s *stream) OnHttpResponseBody(size int, _ bool) types.Action {
	s.respLen += int64(size)
	return types.ActionContinue
}

// OnHttpStreamDone ends a pause the stream outlived and runs the Observers.
func (s *stream) OnHttpStreamDone() {
	if s.timer != 0 {
		s.p.ticker.Cancel(s.timer)
		s.timer = 0
		s.pauseOver()
	}
	if s.nobs == 0 {
		return
	}
	end := now()
	s.p.node()
	var o Observation
	for i := 0; i < s.nobs; i++ {
		ob := &s.obs[i]
		o = Observation{
			Start: s.start, Duration: end.Sub(s.start),
			Method: ob.method, Path: ob.path, Authority: ob.authority,
			RequestID: ob.requestID, TraceParent: ob.traceParent,
			Status: s.status, RequestBytes: s.reqLen, ResponseBytes: s.respLen,
			Cluster: s.cluster, Route: s.route,
			SourceService: s.p.srcSvc, SourceVersion: s.p.srcVer,
		}
		s.p.onDone(ob.stage, ob.state, &o)
	}
}

// PanicsMetric counts the panics the adapter recovered from, per plugin (its configured name,
// e.g. wasmesh.plugin.<name>) and stage: a stage
// that panics fails the request it was deciding (500) or loses one observation, and the VM
// keeps serving (Envoy would otherwise see a trap and fail the plugin).
const PanicsMetric = "wasmesh_plugin_panics_total"

// onRequest runs stage i on r, recovering a panic (ok false).
func (p *pipeline) onRequest(i int, r *Request) (d Decision, ok bool) {
	defer func() {
		if v := recover(); v != nil {
			p.panicked(i, v)
			ok = false
		}
	}()
	return p.stages[i].Filter.OnRequest(r), true
}

// onDone runs Observer stage i's OnDone, recovering a panic.
func (p *pipeline) onDone(i int, state any, o *Observation) {
	defer func() {
		if v := recover(); v != nil {
			p.panicked(i, v)
		}
	}()
	p.stages[i].Filter.(Observer).OnDone(state, o, hostOut{})
}

func (p *pipeline) panicked(i int, v any) {
	name := p.stages[i].Name
	proxywasm.LogCritical(p.name + ": stage " + name + " panicked (this request fails, the next ones run): " + panicText(v))
	if p.panics == nil {
		p.panics = metrics.NewVec(metrics.Counter, PanicsMetric, "plugin", "stage")
	}
	plugin := p.name // the plugin's configured name (Envoy's plugin_name) when it has one
	if b, err := proxywasm.GetProperty([]string{"plugin_name"}); err == nil && len(b) > 0 {
		plugin = string(b)
	}
	p.panics.Add(1, plugin, name)
}

// hostOut carries an Observer's effects out against the host.
type hostOut struct{}

func (hostOut) Define(kind metrics.Kind, name string) uint32 { return metrics.Define(kind, name) }
func (hostOut) Increment(id uint32, n uint64)                { metrics.Increment(id, n) }
func (hostOut) Record(id uint32, v uint64)                   { metrics.Record(id, v) }
func (hostOut) Log(line []byte) {
	if len(line) > 0 {
		proxywasm.LogInfo(unsafeString(line))
	}
}

// atoi parses a non-negative decimal status; 0 on anything else.
func atoi(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' || n > 1e6 {
			return 0
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// panicText describes a recovered panic value without fmt (which the modules do not link).
func panicText(v any) string {
	switch x := v.(type) {
	case error:
		return x.Error()
	case string:
		return x
	}
	return "a value that is not an error"
}
