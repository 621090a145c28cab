package sdk

import (
	"time"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
	"github.com/wasmesh/wasmesh/sdk/timer"
)

// Decision is what an HTTP filter does with a request. Build it with Continue, Reply or
// Route, then add edits with SetHeader, RemoveHeader and After.
type Decision struct {
	reply   bool
	status  int
	headers [][2]string
	body    []byte
	set     [][2]string
	remove  []string
	cluster string
	after   time.Duration
}

// Continue lets the request through unchanged.
func Continue() Decision { return Decision{} }

// Reply answers the request locally; it never reaches the upstream.
func Reply(status int, body string, headers ...[2]string) Decision {
	return Decision{reply: true, status: status, headers: headers, body: []byte(body)}
}

// Route sends the request to a service version: it sets the routing header
// `x-wasmesh-cluster: <service>|<version>` and clears Envoy's route cache.
func Route(service, version string) Decision {
	return Decision{cluster: service + "|" + version}
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

// After pauses the stream for delay before applying the decision (a timer resumes it; the
// stream is never busy-waited).
func (d Decision) After(delay time.Duration) Decision {
	d.after = delay
	return d
}

// IsReply reports whether d answers locally, with which status.
func (d Decision) IsReply() (int, bool) { return d.status, d.reply }

// Cluster returns the routing header value d sets ("" none).
func (d Decision) Cluster() string { return d.cluster }

// Delay returns the pause before d applies.
func (d Decision) Delay() time.Duration { return d.after }

// Header returns the value d sets for a request header (or reply header for a reply).
func (d Decision) Header(name string) (string, bool) {
	hs := d.set
	if d.reply {
		hs = d.headers
	}
	for _, kv := range hs {
		if kv[0] == name {
			return kv[1], true
		}
	}
	return "", false
}

// HTTPFilter is filter logic as a pure function of the request: table-test it natively, run
// it in Envoy with NewPlugin.
type HTTPFilter interface {
	OnRequest(r *Request) Decision
}

// BodyFilter is an HTTPFilter that needs the whole request body (Request.Body) to decide.
type BodyFilter interface {
	HTTPFilter
	WantsBody() bool
}

// NewPlugin returns a plugin-context factory for proxywasm.SetPluginContext: at plugin start
// it parses the configuration with parse (a failure refuses the plugin with a critical log
// line prefixed with name), and it runs the filter's OnRequest on every request.
func NewPlugin[F HTTPFilter](name string, parse func(data []byte) (F, error)) func(contextID uint32) types.PluginContext {
	return func(uint32) types.PluginContext {
		return &pluginContext[F]{name: name, parse: parse}
	}
}

var (
	_ types.PluginContext = (*pluginContext[HTTPFilter])(nil)
	_ types.HttpContext   = (*httpContext[HTTPFilter])(nil)
)

type pluginContext[F HTTPFilter] struct {
	types.DefaultPluginContext
	name   string
	parse  func([]byte) (F, error)
	filter F
	body   bool
	ticker timer.Ticker
}

func (p *pluginContext[F]) OnPluginStart(int) types.OnPluginStartStatus {
	return Configure(p.name, func(data []byte) error {
		f, err := p.parse(data)
		if err != nil {
			return err
		}
		p.filter = f
		if bf, ok := any(f).(BodyFilter); ok {
			p.body = bf.WantsBody()
		}
		return nil
	})
}

func (p *pluginContext[F]) OnTick() { p.ticker.OnTick() }

func (p *pluginContext[F]) NewHttpContext(id uint32) types.HttpContext {
	return &httpContext[F]{plugin: p, id: id}
}

type httpContext[F HTTPFilter] struct {
	types.DefaultHttpContext
	plugin  *pluginContext[F]
	id      uint32
	req     Request
	timer   timer.ID
	decided bool
}

func (h *httpContext[F]) OnHttpRequestHeaders(_ int, endOfStream bool) types.Action {
	req, err := RequestFromHost()
	if err != nil {
		proxywasm.LogError(h.plugin.name + ": read request headers: " + err.Error())
		return types.ActionContinue
	}
	h.req = req
	if h.plugin.body && !endOfStream {
		return types.ActionPause // decide once the body is complete
	}
	return h.decide()
}

func (h *httpContext[F]) OnHttpRequestBody(size int, endOfStream bool) types.Action {
	if h.timer != 0 {
		return types.ActionPause // delayed: hold the body too, or Envoy would resume the headers
	}
	if h.decided || !h.plugin.body {
		return types.ActionContinue
	}
	if !endOfStream {
		return types.ActionPause // buffer
	}
	if size > 0 {
		b, err := proxywasm.GetHttpRequestBody(0, size)
		if err != nil {
			proxywasm.LogError(h.plugin.name + ": read request body: " + err.Error())
		}
		h.req.Body = b
	}
	return h.decide()
}

func (h *httpContext[F]) decide() types.Action {
	h.decided = true
	d := h.plugin.filter.OnRequest(&h.req)
	if d.after > 0 {
		h.timer = h.plugin.ticker.After(d.after, func() {
			h.timer = 0
			if err := proxywasm.SetEffectiveContext(h.id); err != nil {
				return // the stream is gone
			}
			if h.apply(d) {
				_ = proxywasm.ResumeHttpRequest()
			}
		})
		return types.ActionPause
	}
	if !h.apply(d) {
		return types.ActionPause
	}
	// In the body callback, continuing releases the held headers with the buffered body.
	return types.ActionContinue
}

// apply carries out d; it reports false when the stream was answered locally.
func (h *httpContext[F]) apply(d Decision) bool {
	name := h.plugin.name
	if d.reply {
		if err := proxywasm.SendHttpResponse(uint32(d.status), d.headers, d.body, -1); err != nil {
			proxywasm.LogError(name + ": send local reply: " + err.Error())
		}
		return false
	}
	for _, k := range d.remove {
		if err := proxywasm.RemoveHttpRequestHeader(k); err != nil {
			proxywasm.LogError(name + ": remove request header " + k + ": " + err.Error())
		}
	}
	for _, kv := range d.set {
		if err := proxywasm.ReplaceHttpRequestHeader(kv[0], kv[1]); err != nil {
			proxywasm.LogError(name + ": set request header " + kv[0] + ": " + err.Error())
		}
	}
	if d.cluster != "" {
		if err := proxywasm.ReplaceHttpRequestHeader(RoutingHeader, d.cluster); err != nil {
			proxywasm.LogError(name + ": set routing header: " + err.Error())
		}
	}
	if d.cluster != "" || len(d.set) > 0 || len(d.remove) > 0 {
		if err := ClearRouteCache(); err != nil {
			proxywasm.LogError(name + ": clear_route_cache: " + err.Error())
		}
	}
	return true
}

func (h *httpContext[F]) OnHttpStreamDone() {
	if h.timer != 0 {
		h.plugin.ticker.Cancel(h.timer)
	}
}
