// Command sdkex_shared_queue behaves like the proxy-wasm Go SDK's shared_queue example (written
// anew for wasmesh; the example's two modules are one here, the role picked by root_id):
//
//   - root_id "receiver": the plugin configuration names a queue ("http_request_headers" or
//     "http_response_headers"); the plugin registers it and logs each item that arrives:
//     "(contextID=N) dequeued data from NAME(queueID=Q): ITEM".
//   - root_id "sender": for each request, every request header goes into the queue
//     "http_request_headers" and every response header into "http_response_headers" of the VM
//     whose vm_id is the plugin configuration (default "receiver"), as
//     {"key": "<name>","value": "<value>"}.
package main

import (
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

func main() {}

func init() { proxywasm.SetVMContext(&vm{}) }

type vm struct{ types.DefaultVMContext }

// NewPluginContext cannot know the root_id yet: the plugin reads it at start.
func (*vm) NewPluginContext(id uint32) types.PluginContext { return &plugin{id: id} }

type plugin struct {
	types.DefaultPluginContext
	id     uint32
	sender bool
	// receiver
	queue string
	// sender
	requests, responses uint32
}

func (p *plugin) OnPluginStart(int) types.OnPluginStartStatus {
	root, err := proxywasm.GetProperty([]string{"plugin_root_id"})
	if err != nil {
		proxywasm.LogCriticalf("reading plugin_root_id: %v", err)
		return types.OnPluginStartStatusFailed
	}
	cfg, err := proxywasm.GetPluginConfiguration()
	if err != nil && err != types.ErrorStatusNotFound {
		proxywasm.LogCriticalf("reading the configuration: %v", err)
		return types.OnPluginStartStatusFailed
	}
	switch string(root) {
	case "receiver":
		p.queue = string(cfg)
		if p.queue == "" {
			proxywasm.LogCritical("receiver: the configuration must name the queue to register")
			return types.OnPluginStartStatusFailed
		}
		q, err := proxywasm.RegisterSharedQueue(p.queue)
		if err != nil {
			proxywasm.LogCriticalf("registering queue %q: %v", p.queue, err)
			return types.OnPluginStartStatusFailed
		}
		proxywasm.LogInfof("queue %q registered as queueID=%d by contextID=%d", p.queue, q, p.id)
	case "sender":
		vmID := string(cfg)
		if vmID == "" {
			vmID = "receiver"
		}
		if p.requests, err = proxywasm.ResolveSharedQueue(vmID, "http_request_headers"); err != nil {
			proxywasm.LogCriticalf("resolving %s/http_request_headers: %v", vmID, err)
			return types.OnPluginStartStatusFailed
		}
		if p.responses, err = proxywasm.ResolveSharedQueue(vmID, "http_response_headers"); err != nil {
			proxywasm.LogCriticalf("resolving %s/http_response_headers: %v", vmID, err)
			return types.OnPluginStartStatusFailed
		}
		p.sender = true
		proxywasm.LogInfof("contextID=%d sends to the queues of vm %q", p.id, vmID)
	default:
		proxywasm.LogCriticalf("root_id %q: want receiver or sender", root)
		return types.OnPluginStartStatusFailed
	}
	return types.OnPluginStartStatusOK
}

func (p *plugin) OnQueueReady(q uint32) {
	for {
		item, err := proxywasm.DequeueSharedQueue(q)
		switch err {
		case nil:
			proxywasm.LogInfof("(contextID=%d) dequeued data from %s(queueID=%d): %s", p.id, p.queue, q, item)
		case types.ErrorStatusEmpty:
			return
		default:
			proxywasm.LogCriticalf("dequeueing from queue %d: %v", q, err)
			return
		}
	}
}

func (p *plugin) NewHttpContext(id uint32) types.HttpContext {
	if !p.sender {
		return &types.DefaultHttpContext{} // a receiver in a filter chain lets requests pass
	}
	return &stream{id: id, plugin: p}
}

type stream struct {
	types.DefaultHttpContext
	id     uint32
	plugin *plugin
}

// send puts each header into queue q as a small JSON object.
func send(q uint32, what string, hs [][2]string, err error) {
	if err != nil {
		proxywasm.LogCriticalf("reading %s: %v", what, err)
		return
	}
	for _, h := range hs {
		item := `{"key": "` + h[0] + `","value": "` + h[1] + `"}`
		if err := proxywasm.EnqueueSharedQueue(q, []byte(item)); err != nil {
			proxywasm.LogCriticalf("enqueueing to queue %d: %v", q, err)
			continue
		}
		proxywasm.LogInfof("enqueued data: %s", item)
	}
}

func (s *stream) OnHttpRequestHeaders(int, bool) types.Action {
	hs, err := proxywasm.GetHttpRequestHeaders()
	send(s.plugin.requests, "request headers", hs, err)
	return types.ActionContinue
}

func (s *stream) OnHttpResponseHeaders(int, bool) types.Action {
	hs, err := proxywasm.GetHttpResponseHeaders()
	send(s.plugin.responses, "response headers", hs, err)
	return types.ActionContinue
}
