package testenv

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Env is one proxy-wasm host running a filter chain: its VMs, the simulated clock, logs,
// metrics, shared data and queues. An Env is single-threaded, like an Envoy worker: its methods
// serialize on a mutex. Use a Pool for parallel streams.
type Env struct {
	mu      sync.Mutex
	opts    options
	rt      *Runtime
	vms     []*vm
	plugins []*plugin

	start    time.Time // simulated clock origin
	now      time.Time // simulated now
	realBase time.Time

	logs    []logRec // pointer-free (the garbage collector does not scan them)
	logText []byte   // the messages of logs, one after another
	metrics *metricStore
	shared  *sharedStore
	queues  map[uint32]*queue
	queueBy map[[2]string]*queue
	nextQ   uint32

	async     []func()
	timers    []timer // sorted by time
	nextToken uint32
	calls     []*UpstreamRequest
	open      []*Stream // streams begun and not yet ended, in order

	clearRouteCalls int
	closed          bool
	hostCalls       []int           // by hostCallNames index
	callbacks       map[string]*int // calls into the modules, by export name
}

// plugin is one filter of the chain: a root context in its VM.
type plugin struct {
	index  int
	name   string
	rootID string
	config []byte
	vm     *vm
	root   *wctx
	failed error

	tick     time.Duration // 0: no tick
	nextTick time.Time

	configuring bool // during proxy_on_configure: the plugin configuration buffer is readable
	pendingDone bool // proxy_on_done returned false: waits for proxy_done
}

// ErrStuck is wrapped by Result.Err when a paused stream can never resume (nothing scheduled
// would continue it) or did not resume within the maximum wait.
var ErrStuck = errors.New("stream stuck")

// ErrVMStartRefused and ErrConfigureRefused are wrapped by Start's error when a plugin's
// proxy_on_vm_start or proxy_on_configure returns false (a refusal, not a trap).
var (
	ErrVMStartRefused   = errors.New("proxy_on_vm_start refused the vm configuration")
	ErrConfigureRefused = errors.New("proxy_on_configure refused the plugin configuration")
)

// Start loads the filters' modules on r and starts the chain (VM start and plugin configure
// for each filter, in order). The error quotes the refusing plugin's error and critical log
// lines. Close the Env when done (testenvtest.New does it for a test).
func (r *Runtime) Start(filters []Filter, opts ...Option) (*Env, error) {
	return start(r, filters, nil, nil, opts)
}

func start(rt *Runtime, filters []Filter, metrics *metricStore, shared *sharedStore, opts []Option) (*Env, error) {
	if len(filters) == 0 {
		return nil, errors.New("no filters")
	}
	o := options{defaultCluster: "default", nodeID: "testenv", start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), maxWait: 10 * time.Minute}
	for _, opt := range opts {
		opt(&o)
	}
	if o.ctx != nil && !rt.interruptible {
		return nil, errors.New("WithContext needs a Runtime made with RuntimeConfig.Interruptible")
	}
	if metrics == nil {
		metrics = newMetricStore()
	}
	if shared == nil {
		shared = newSharedStore()
	}
	e := &Env{opts: o, rt: rt, start: o.start, now: o.start, realBase: time.Now(), metrics: metrics, shared: shared,
		queues: map[uint32]*queue{}, queueBy: map[[2]string]*queue{}, nextQ: 1, nextToken: 1,
		hostCalls: make([]int, len(hostCallNames))}
	vms := map[string]*vm{}
	for i, f := range filters {
		name := f.Name
		c, err := rt.load(f.Module)
		if err != nil {
			e.Close()
			return nil, fmt.Errorf("filter %q: %w", name, err)
		}
		p := &plugin{index: i, name: name, rootID: f.RootID, config: f.Config}
		e.plugins = append(e.plugins, p)
		key := c.info.SHA256 + "\x00" + f.VMID + "\x00" + string(f.VMConfig)
		v := vms[key]
		if v == nil {
			if v, err = newVM(e, c, key, f.VMID, f.VMConfig); err != nil {
				e.Close()
				return nil, fmt.Errorf("filter %q: %w", name, err)
			}
			vms[key] = v
			e.vms = append(e.vms, v)
			if err := v.start(p); err != nil {
				e.Close()
				return nil, fmt.Errorf("filter %q: start the VM: %w%s", name, err, e.recentErrors(p))
			}
		}
		p.vm = v
		v.plugins = append(v.plugins, p)
		if err := e.startPlugin(p); err != nil {
			e.Close()
			return nil, err
		}
	}
	return e, nil
}

// startPlugin creates the root context, then proxy_on_vm_start and proxy_on_configure, as
// proxy-wasm-cpp-host's ContextBase::onStart/onConfigure do.
func (e *Env) startPlugin(p *plugin) error {
	v := p.vm
	p.root = v.newContext(p, true)
	if _, err := v.call(v.onContextCreate, p.root, uint64(p.root.id), 0); err != nil {
		return fmt.Errorf("filter %q: %w", p.name, err)
	}
	e.runAsyncAll()
	ok, err := v.call(v.onVMStart, p.root, uint64(p.root.id), uint64(len(v.config)))
	if err != nil {
		return fmt.Errorf("filter %q: %w", p.name, err)
	}
	if v.onVMStart != nil && ok == 0 {
		return fmt.Errorf("filter %q: %w (Envoy: \"Failed to start base Wasm\")%s", p.name, ErrVMStartRefused, e.recentErrors(p))
	}
	e.runAsyncAll()
	p.configuring = true
	ok, err = v.call(v.onConfigure, p.root, uint64(p.root.id), uint64(len(p.config)))
	p.configuring = false
	if err != nil {
		return fmt.Errorf("filter %q: %w", p.name, err)
	}
	if v.onConfigure != nil && ok == 0 {
		return fmt.Errorf("filter %q: %w (Envoy: \"Failed to configure base Wasm plugin\")%s", p.name, ErrConfigureRefused, e.recentErrors(p))
	}
	e.runAsyncAll()
	return nil
}

// recentErrors quotes the plugin's error and critical log lines (what explains a refusal).
func (e *Env) recentErrors(p *plugin) string {
	if p == nil {
		return ""
	}
	var b strings.Builder
	for _, l := range e.logs {
		if int(l.plugin) == p.index && l.level >= Error {
			b.WriteString("\n  [")
			b.WriteString(l.level.String())
			b.WriteString("] ")
			b.Write(e.logText[l.off : l.off+int(l.n)])
		}
	}
	return b.String()
}

// logRec is one log line: its plugin's index in the chain (-1: none), level, and message
// (logText[off:off+n]).
type logRec struct {
	off    int
	n      uint32
	plugin int16
	level  LogLevel
}

func (e *Env) log(p *plugin, level LogLevel, msg []byte) {
	idx := -1
	if p != nil {
		idx = p.index
	}
	e.logs = append(e.logs, logRec{off: len(e.logText), n: uint32(len(msg)), plugin: int16(idx), level: level})
	e.logText = append(e.logText, msg...)
	if w := e.opts.logOutput; w != nil {
		fmt.Fprintf(w, "[%s] %s: %s\n", level, e.pluginName(idx), msg)
	}
}

func (e *Env) pluginName(idx int) string {
	if idx < 0 || idx >= len(e.plugins) {
		return ""
	}
	return e.plugins[idx].name
}

// Close ends every VM (proxy_on_done and proxy_on_delete on the root contexts) and frees them.
func (e *Env) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil
	}
	e.closed = true
	for _, st := range e.open { // Envoy resets the streams of a worker that shuts down
		st.s.err = errors.Join(st.s.err, errors.New("the Env closed while the stream was open: Envoy resets it"))
		st.s.finished = true
	}
	e.settle()
	for _, p := range e.plugins {
		if p.root != nil && p.vm.failed == nil {
			if done, err := p.vm.call(p.vm.onDone, p.root, uint64(p.root.id)); err == nil && (done != 0 || p.vm.onDone == nil) {
				_, _ = p.vm.call(p.vm.onDelete, p.root, uint64(p.root.id))
			} else if err == nil {
				p.pendingDone = true
			}
		}
	}
	for _, v := range e.vms {
		v.close()
	}
	return nil
}

// Now is the Env's clock (simulated unless WithRealClock).
func (e *Env) Now() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.clock()
}

func (e *Env) clock() time.Time {
	if e.opts.realClock {
		return e.start.Add(time.Since(e.realBase))
	}
	return e.now
}

// SetLatency changes, for the streams and HTTP calls that start from now on, how long the
// cluster takes to answer (as WithLatency at start; 0 answers at once).
func (e *Env) SetLatency(cluster string, d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.opts.latency == nil {
		e.opts.latency = map[string]time.Duration{}
	}
	e.opts.latency[cluster] = d
}

// Advance moves the simulated clock by d; ticks and timed events (HTTP call responses and
// upstream answers delayed by WithLatency) fire in time order (ties: timed events first, then
// ticks in chain order), each followed by what it triggered, and every open stream (Begin)
// moves on as far as it can after each.
func (e *Env) Advance(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.runAsyncAll()
	e.settle()
	target := e.clock().Add(d)
	for e.runNextEvent(target) {
		e.settle()
	}
	if !e.opts.realClock {
		e.now = target
	} else if wait := time.Until(e.realBase.Add(target.Sub(e.start))); wait > 0 {
		time.Sleep(wait)
	}
}

// nextEventTime is the time of the earliest tick or timed event, false if none.
func (e *Env) nextEventTime() (time.Time, bool) {
	var at time.Time
	ok := false
	if len(e.timers) > 0 {
		at, ok = e.timers[0].at, true
	}
	if p := e.nextTicker(); p != nil && (!ok || p.nextTick.Before(at)) {
		at, ok = p.nextTick, true
	}
	return at, ok
}

// runNextEvent runs the earliest tick or timed event if it is due by limit.
func (e *Env) runNextEvent(limit time.Time) bool {
	at, ok := e.nextEventTime()
	if !ok || at.After(limit) {
		return false
	}
	if len(e.timers) > 0 && !e.timers[0].at.After(at) {
		t := e.timers[0]
		e.timers = e.timers[1:]
		e.sleepUntil(t.at)
		t.fn()
		e.runAsyncAll()
		return true
	}
	e.fireTick(e.nextTicker())
	return true
}

// sleepUntil moves the simulated clock to t (or waits for the real one).
func (e *Env) sleepUntil(t time.Time) {
	if e.opts.realClock {
		if wait := time.Until(e.realBase.Add(t.Sub(e.start))); wait > 0 {
			time.Sleep(wait)
		}
	} else if t.After(e.now) {
		e.now = t
	}
}

// after schedules fn at d from now (d <= 0: as soon as the current work is done).
func (e *Env) after(d time.Duration, fn func()) {
	if d <= 0 {
		e.async = append(e.async, fn)
		return
	}
	t := timer{at: e.clock().Add(d), fn: fn}
	i := len(e.timers)
	for i > 0 && e.timers[i-1].at.After(t.at) {
		i--
	}
	e.timers = append(e.timers, timer{})
	copy(e.timers[i+1:], e.timers[i:])
	e.timers[i] = t
}

type timer struct {
	at time.Time
	fn func()
}

func (e *Env) nextTicker() *plugin {
	var next *plugin
	for _, p := range e.plugins {
		if p.tick > 0 && p.failed == nil && (next == nil || p.nextTick.Before(next.nextTick)) {
			next = p
		}
	}
	return next
}

// fireTick moves the clock to p's next tick and runs it.
func (e *Env) fireTick(p *plugin) {
	e.sleepUntil(p.nextTick)
	p.nextTick = p.nextTick.Add(p.tick)
	_, err := p.vm.call(p.vm.onTick, p.root, uint64(p.root.id))
	e.afterCall(err)
	e.runAsyncAll()
}

// afterCall handles a trap outside a stream callback: every open stream fails (each runs the
// whole chain, so the failed VM is in it). Then the actions the call asked for run.
func (e *Env) afterCall(err error) {
	for _, st := range e.open {
		if s := st.s; !s.finished {
			if err != nil && s.err == nil {
				s.fail(err)
			}
			s.runActions()
		}
	}
}

// runAsync runs one pending asynchronous event; false when there is none.
func (e *Env) runAsync() bool {
	if len(e.async) == 0 {
		return false
	}
	fn := e.async[0]
	e.async = e.async[1:]
	fn()
	return true
}

func (e *Env) runAsyncAll() {
	for i := 0; i < 100000 && e.runAsync(); i++ {
	}
}

// Metrics returns counter and gauge values by the name the plugin defined (what Envoy shows
// after "wasmcustom.").
func (e *Env) Metrics() map[string]float64 { return e.metrics.values() }

// Histogram returns the values recorded into the histogram name, in order.
func (e *Env) Histogram(name string) []float64 { return e.metrics.histogram(name) }

// Logs returns every plugin log line so far.
func (e *Env) Logs() []Log {
	e.mu.Lock()
	defer e.mu.Unlock()
	text := string(e.logText)
	out := make([]Log, len(e.logs))
	for i, l := range e.logs {
		out[i] = Log{Filter: e.pluginName(int(l.plugin)), Level: l.level, Message: text[l.off : l.off+int(l.n)]}
	}
	return out
}

// HostCalls counts the host functions the Env's plugins called since it started (VM start and
// configure included), by name: proxy_* functions by their name (proxy_log, ...), WASI ones as
// wasi_snapshot_preview1.fd_write and so on. Only functions called at least once appear.
// Benchmarks divide the difference of two snapshots by the number of streams.
func (e *Env) HostCalls() map[string]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := map[string]int{}
	for i, n := range e.hostCalls {
		if n > 0 {
			out[hostCallNames[i]] = n
		}
	}
	return out
}

// Callbacks counts the calls into the Env's modules since it started, by export name
// (proxy_on_request_headers, proxy_on_memory_allocate, ...): the other half of the crossings
// between the host and a VM. Only exports called at least once appear.
func (e *Env) Callbacks() map[string]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := map[string]int{}
	for name, n := range e.callbacks {
		if *n > 0 {
			out[name] = *n
		}
	}
	return out
}

// callbackCounter is the counter of calls into export name.
func (e *Env) callbackCounter(name string) *int {
	if e.callbacks == nil {
		e.callbacks = map[string]*int{}
	}
	c, ok := e.callbacks[name]
	if !ok {
		c = new(int)
		e.callbacks[name] = c
	}
	return c
}

// ClearRouteCacheCalls counts the clear_route_cache foreign calls so far.
func (e *Env) ClearRouteCacheCalls() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.clearRouteCalls
}

// SharedData returns the value plugins with vm_id "" stored under key with
// proxy_set_shared_data, and whether it exists.
func (e *Env) SharedData(key string) ([]byte, bool) {
	v, _, ok := e.shared.get("\x00" + key)
	return v, ok
}

// metric is one plugin-defined metric (shared by every VM, like Envoy's stats store).
type metric struct {
	kind  uint32 // 0 counter, 1 gauge, 2 histogram
	value uint64
	hist  []float64
}

type metricStore struct {
	mu     sync.Mutex
	byName map[string]*metric
}

func newMetricStore() *metricStore { return &metricStore{byName: map[string]*metric{}} }

func (s *metricStore) define(kind uint32, name string) (*metric, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.byName[name]
	if m == nil {
		m = &metric{kind: kind}
		s.byName[name] = m
	}
	return m, m.kind == kind
}

func (s *metricStore) values() map[string]float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]float64{}
	for n, m := range s.byName {
		if m.kind != 2 {
			out[n] = float64(m.value)
		}
	}
	return out
}

func (s *metricStore) histogram(name string) []float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m := s.byName[name]; m != nil {
		return append([]float64(nil), m.hist...)
	}
	return nil
}

// sharedStore is proxy_{get,set}_shared_data (Envoy: per vm_id, process-wide).
type sharedStore struct {
	mu   sync.Mutex
	data map[string]sharedValue
	cas  uint32
}

type sharedValue struct {
	value []byte
	cas   uint32
}

func newSharedStore() *sharedStore { return &sharedStore{data: map[string]sharedValue{}} }

func (s *sharedStore) get(key string) ([]byte, uint32, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.data[key]
	return v.value, v.cas, ok
}

func (s *sharedStore) set(key string, value []byte, cas uint32) status {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur, ok := s.data[key]; ok && cas != 0 && cas != cur.cas {
		return statusCasMismatch
	}
	s.cas++
	if s.cas == 0 {
		s.cas++
	}
	s.data[key] = sharedValue{value: append([]byte(nil), value...), cas: s.cas}
	return statusOK
}

// queue is a shared queue registered by a root context.
type queue struct {
	id    uint32
	owner *wctx
	items [][]byte
}

// Calls returns the HTTP calls the plugins dispatched so far (proxy_http_call), in order.
func (e *Env) Calls() []*UpstreamRequest {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]*UpstreamRequest(nil), e.calls...)
}
