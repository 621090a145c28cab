// Command tenv_all is testenv's own test plugin: each request header x-op (comma-separated)
// exercises one group of host calls, so testenv's tests can check the host side of each.
// The plugin configuration "refuse" makes proxy_on_configure fail; "tick=<ms>" sets a tick
// period (ticks count in the tenv_ticks counter and resume streams paused by op "pause");
// "queue" registers the shared queue tenv_q (on_queue_ready logs what it dequeues).
package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

func main() {}

func init() { proxywasm.SetVMContext(&vmContext{}) }

type vmContext struct{ types.DefaultVMContext }

func (*vmContext) NewPluginContext(id uint32) types.PluginContext { return &pluginContext{id: id} }

type pluginContext struct {
	types.DefaultPluginContext
	id      uint32
	paused  []uint32
	queueID uint32
}

func (p *pluginContext) OnPluginStart(size int) types.OnPluginStartStatus {
	cfg, err := proxywasm.GetPluginConfiguration()
	if err != nil && size > 0 {
		proxywasm.LogCriticalf("tenv_all: read configuration: %v", err)
		return types.OnPluginStartStatusFailed
	}
	c := string(cfg)
	switch {
	case c == "refuse":
		proxywasm.LogCritical("tenv_all: config: refusing on purpose")
		return types.OnPluginStartStatusFailed
	case strings.HasPrefix(c, "tick="):
		ms, _ := strconv.Atoi(strings.TrimPrefix(c, "tick="))
		if err := proxywasm.SetTickPeriodMilliSeconds(uint32(ms)); err != nil {
			proxywasm.LogCriticalf("tenv_all: tick: %v", err)
			return types.OnPluginStartStatusFailed
		}
		proxywasm.DefineCounterMetric("tenv_ticks")
	case c == "queue":
		id, err := proxywasm.RegisterSharedQueue("tenv_q")
		if err != nil {
			proxywasm.LogCriticalf("tenv_all: queue: %v", err)
			return types.OnPluginStartStatusFailed
		}
		p.queueID = id
	}
	return types.OnPluginStartStatusOK
}

func (p *pluginContext) OnTick() {
	proxywasm.DefineCounterMetric("tenv_ticks").Increment(1)
	for _, id := range p.paused {
		if err := proxywasm.SetEffectiveContext(id); err != nil {
			proxywasm.LogErrorf("tenv_all: set effective context %d: %v", id, err)
			continue
		}
		_ = proxywasm.ResumeHttpRequest()
	}
	p.paused = nil
}

func (p *pluginContext) OnQueueReady(id uint32) {
	for {
		b, err := proxywasm.DequeueSharedQueue(id)
		if err != nil {
			return
		}
		proxywasm.LogInfof("dequeued: %s", b)
	}
}

func (p *pluginContext) NewHttpContext(id uint32) types.HttpContext {
	return &httpContext{id: id, plugin: p}
}

type httpContext struct {
	types.DefaultHttpContext
	id      uint32
	plugin  *pluginContext
	ops     map[string]bool
	resp    [][2]string // response headers to add
	replied bool
}

func (h *httpContext) set(k, v string) { h.resp = append(h.resp, [2]string{k, v}) }

func (h *httpContext) OnHttpRequestHeaders(n int, eos bool) types.Action {
	ops, _ := proxywasm.GetHttpRequestHeader("x-op")
	h.ops = map[string]bool{}
	for _, op := range strings.Split(ops, ",") {
		h.ops[op] = true
	}
	h.set("x-eos", strconv.FormatBool(eos))
	if h.ops["headers"] {
		var seen []string
		for _, k := range []string{":method", ":path", ":authority", ":scheme"} {
			v, _ := proxywasm.GetHttpRequestHeader(k)
			seen = append(seen, v)
		}
		h.set("x-seen", strings.Join(seen, " "))
		all, _ := proxywasm.GetHttpRequestHeaders()
		h.set("x-count", strconv.Itoa(len(all)))
		_ = proxywasm.AddHttpRequestHeader("x-added", "1")
		_ = proxywasm.ReplaceHttpRequestHeader("x-replace", "new")
		_ = proxywasm.RemoveHttpRequestHeader("x-remove")
		if _, err := proxywasm.GetHttpRequestHeader("x-absent"); err != nil {
			h.set("x-absent-err", err.Error())
		}
		if _, err := proxywasm.GetHttpRequestHeader("x-rewrite"); err == nil {
			_ = proxywasm.ReplaceHttpRequestHeader(":path", "/rewritten")
		}
	}
	if h.ops["pairs"] {
		all, _ := proxywasm.GetHttpRequestHeaders()
		all = append(all, [2]string{"x-from-pairs", "yes"})
		_ = proxywasm.ReplaceHttpRequestHeaders(all)
	}
	if h.ops["route"] {
		want, _ := proxywasm.GetHttpRequestHeader("x-want")
		_ = proxywasm.ReplaceHttpRequestHeader("x-wasmesh-cluster", want)
		if _, err := proxywasm.GetHttpRequestHeader("x-clear"); err == nil {
			if _, err := proxywasm.CallForeignFunction("clear_route_cache", nil); err != nil {
				proxywasm.LogErrorf("clear_route_cache: %v", err)
			}
		}
	}
	if h.ops["props"] {
		for _, path := range []string{"plugin_name", "plugin_root_id", "xds.node.metadata.service", "node.metadata.service", "xds.cluster_name",
			"xds.route_name", "request.path", "request.method", "source.address", "destination.address", "custom.thing"} {
			v, err := proxywasm.GetProperty(strings.Split(path, "."))
			if err != nil {
				h.set("x-prop-"+path, "error: "+err.Error())
				continue
			}
			h.set("x-prop-"+path, string(v))
		}
		if v, err := proxywasm.GetProperty([]string{"request", "time"}); err == nil {
			h.set("x-prop-request.time-len", strconv.Itoa(len(v)))
		}
	}
	if h.ops["metrics"] {
		c := proxywasm.DefineCounterMetric("tenv_requests")
		c.Increment(1)
		g := proxywasm.DefineGaugeMetric("tenv_gauge")
		g.Add(7)
		g.Add(-2)
		proxywasm.DefineHistogramMetric("tenv_hist").Record(42)
		h.set("x-counter", strconv.FormatUint(c.Value(), 10))
	}
	if h.ops["shared"] {
		v, cas, err := proxywasm.GetSharedData("k")
		n := 0
		if err == nil {
			n, _ = strconv.Atoi(string(v))
		}
		if err := proxywasm.SetSharedData("k", []byte(strconv.Itoa(n+1)), cas); err != nil {
			h.set("x-set-err", err.Error())
		}
		if err := proxywasm.SetSharedData("k", []byte("stale"), cas); err != nil {
			h.set("x-stale-err", err.Error())
		}
		h.set("x-shared", strconv.Itoa(n+1))
	}
	if h.ops["queue"] {
		id, err := proxywasm.ResolveSharedQueue("", "tenv_q")
		if err != nil {
			h.set("x-queue-err", err.Error())
		} else {
			v, _ := proxywasm.GetHttpRequestHeader("x-item")
			_ = proxywasm.EnqueueSharedQueue(id, []byte(v))
		}
	}
	if h.ops["log"] {
		proxywasm.LogTrace("log trace")
		proxywasm.LogDebug("log debug")
		proxywasm.LogInfo("log info")
		proxywasm.LogWarn("log warn")
		proxywasm.LogError("log error")
		proxywasm.LogCritical("log critical")
		fmt.Println("to stdout")
		fmt.Fprintln(os.Stderr, "to stderr")
	}
	if h.ops["foreign"] {
		z, err := proxywasm.CallForeignFunction("compress", []byte("hello hello hello"))
		if err == nil {
			out, err := proxywasm.CallForeignFunction("uncompress", z)
			if err == nil {
				h.set("x-foreign", string(out))
			}
		}
		if _, err := proxywasm.CallForeignFunction("no_such_function", nil); err != nil {
			h.set("x-foreign-missing", err.Error())
		}
	}
	if h.ops["panic"] {
		panic("tenv_all: boom")
	}
	if h.ops["reply"] {
		_ = proxywasm.SendHttpResponse(403, [][2]string{{"x-reply", "yes"}}, []byte("denied"), -1)
		return types.ActionPause
	}
	if h.ops["call"] {
		_, err := proxywasm.DispatchHttpCall("auth", [][2]string{{":method", "POST"}, {":path", "/check"}, {":authority", "auth"}, {"x-q", "1"}},
			[]byte("ping"), nil, 1000, func(nh, size, nt int) {
				hs, _ := proxywasm.GetHttpCallResponseHeaders()
				status := ""
				for _, kv := range hs {
					if kv[0] == ":status" {
						status = kv[1]
					}
				}
				body, _ := proxywasm.GetHttpCallResponseBody(0, size)
				_ = proxywasm.AddHttpRequestHeader("x-call", status+" "+string(body))
				_ = proxywasm.ResumeHttpRequest()
			})
		if err != nil {
			h.set("x-call-err", err.Error())
			return types.ActionContinue
		}
		return types.ActionPause
	}
	if h.ops["badcall"] {
		if _, err := proxywasm.DispatchHttpCall("nowhere", [][2]string{{":method", "GET"}, {":path", "/"}, {":authority", "x"}}, nil, nil, 1000, func(int, int, int) {}); err != nil {
			h.set("x-call-err", err.Error())
		}
	}
	if h.ops["pause"] {
		h.plugin.paused = append(h.plugin.paused, h.id)
		return types.ActionPause
	}
	return types.ActionContinue
}

func (h *httpContext) OnHttpRequestBody(size int, eos bool) types.Action {
	if !h.ops["body"] {
		return types.ActionContinue
	}
	if !eos {
		return types.ActionPause
	}
	b, err := proxywasm.GetHttpRequestBody(0, size)
	if err != nil {
		proxywasm.LogErrorf("body: %v", err)
		return types.ActionContinue
	}
	_ = proxywasm.ReplaceHttpRequestBody([]byte(strings.ToUpper(string(b))))
	return types.ActionContinue
}

func (h *httpContext) OnHttpRequestTrailers(int) types.Action {
	if h.ops["trailers"] {
		_ = proxywasm.AddHttpRequestTrailer("x-trailer-added", "1")
	}
	return types.ActionContinue
}

func (h *httpContext) OnHttpResponseHeaders(int, bool) types.Action {
	if h.ops["replyresp"] && !h.replied {
		h.replied = true
		_ = proxywasm.SendHttpResponse(502, [][2]string{{"x-replaced", "yes"}}, []byte("from response"), -1)
		return types.ActionPause
	}
	for _, kv := range h.resp {
		_ = proxywasm.AddHttpResponseHeader(kv[0], kv[1])
	}
	if h.ops["headers"] {
		_ = proxywasm.ReplaceHttpResponseHeader(":status", "201")
	}
	if h.ops["body"] {
		_ = proxywasm.RemoveHttpResponseHeader("content-length")
	}
	return types.ActionContinue
}

func (h *httpContext) OnHttpResponseBody(size int, eos bool) types.Action {
	if !h.ops["body"] {
		return types.ActionContinue
	}
	if !eos {
		return types.ActionPause
	}
	_ = proxywasm.AppendHttpResponseBody([]byte("!"))
	return types.ActionContinue
}

func (h *httpContext) OnHttpStreamDone() {
	if h.ops["log"] {
		proxywasm.LogInfo("stream done")
	}
}
