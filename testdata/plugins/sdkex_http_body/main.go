// Command sdkex_http_body behaves like the proxy-wasm Go SDK's http_body example (written anew
// for wasmesh). The request header "buffer-operation" (append, prepend or replace; anything
// else is replace) says what to do with the body; "buffer-replace-at: response" applies it to
// the response body instead of the request body. The whole body is buffered first, and
// content-length is dropped because the length changes. A request without content-length gets
// 400 "content must be provided". With the plugin configuration "echo", the request body comes
// straight back as a 200 response.
package main

import (
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm"
	"github.com/proxy-wasm/proxy-wasm-go-sdk/proxywasm/types"
)

func main() {}

func init() {
	proxywasm.SetPluginContext(func(uint32) types.PluginContext { return &plugin{} })
}

type plugin struct {
	types.DefaultPluginContext
	echo bool
}

func (p *plugin) OnPluginStart(int) types.OnPluginStartStatus {
	cfg, err := proxywasm.GetPluginConfiguration()
	if err != nil && err != types.ErrorStatusNotFound {
		proxywasm.LogCriticalf("reading the configuration: %v", err)
		return types.OnPluginStartStatusFailed
	}
	p.echo = string(cfg) == "echo"
	return types.OnPluginStartStatusOK
}

func (p *plugin) NewHttpContext(uint32) types.HttpContext {
	if p.echo {
		return &echo{}
	}
	return &rewrite{}
}

// Texts the operations put into a body.
const (
	appended  = "[this is appended body]"
	prepended = "[this is prepended body]"
	replaced  = "[this is replaced body]"
)

// body is the request or the response body's host calls.
type body struct {
	get                     func(start, size int) ([]byte, error)
	appendB, prependB, repl func([]byte) error
	name                    string
}

var (
	requestBody = body{proxywasm.GetHttpRequestBody, proxywasm.AppendHttpRequestBody,
		proxywasm.PrependHttpRequestBody, proxywasm.ReplaceHttpRequestBody, "request"}
	responseBody = body{proxywasm.GetHttpResponseBody, proxywasm.AppendHttpResponseBody,
		proxywasm.PrependHttpResponseBody, proxywasm.ReplaceHttpResponseBody, "response"}
)

type rewrite struct {
	types.DefaultHttpContext
	onResponse bool
	op         string
}

func (r *rewrite) OnHttpRequestHeaders(int, bool) types.Action {
	if at, err := proxywasm.GetHttpRequestHeader("buffer-replace-at"); err == nil && at == "response" {
		r.onResponse = true
	}
	if _, err := proxywasm.GetHttpRequestHeader("content-length"); err != nil {
		if err := proxywasm.SendHttpResponse(400, nil, []byte("content must be provided"), -1); err != nil {
			proxywasm.LogErrorf("sending 400: %v", err)
		}
		return types.ActionPause
	}
	if err := proxywasm.RemoveHttpRequestHeader("content-length"); err != nil {
		proxywasm.LogErrorf("removing content-length: %v", err)
	}
	r.op, _ = proxywasm.GetHttpRequestHeader("buffer-operation")
	switch r.op {
	case "append", "prepend", "replace":
	default:
		r.op = "replace"
	}
	return types.ActionContinue
}

// apply runs the operation on a whole body of size bytes.
func (r *rewrite) apply(b body, size int) {
	orig, err := b.get(0, size)
	if err != nil && err != types.ErrorStatusNotFound {
		proxywasm.LogErrorf("reading the %s body: %v", b.name, err)
		return
	}
	proxywasm.LogInfof("original %s body: %s", b.name, orig)
	switch r.op {
	case "append":
		err = b.appendB([]byte(appended))
	case "prepend":
		err = b.prependB([]byte(prepended))
	default:
		err = b.repl([]byte(replaced))
	}
	if err != nil {
		proxywasm.LogErrorf("%s on the %s body: %v", r.op, b.name, err)
	}
}

func (r *rewrite) OnHttpRequestBody(size int, end bool) types.Action {
	if r.onResponse {
		return types.ActionContinue
	}
	if !end {
		return types.ActionPause // buffer until the whole body is there
	}
	r.apply(requestBody, size)
	return types.ActionContinue
}

func (r *rewrite) OnHttpResponseHeaders(int, bool) types.Action {
	if r.onResponse {
		if err := proxywasm.RemoveHttpResponseHeader("content-length"); err != nil {
			proxywasm.LogErrorf("removing content-length: %v", err)
		}
	}
	return types.ActionContinue
}

func (r *rewrite) OnHttpResponseBody(size int, end bool) types.Action {
	if !r.onResponse {
		return types.ActionContinue
	}
	if !end {
		return types.ActionPause
	}
	r.apply(responseBody, size)
	return types.ActionContinue
}

// echo answers every request with its own body.
type echo struct{ types.DefaultHttpContext }

func (*echo) OnHttpRequestBody(size int, end bool) types.Action {
	if !end {
		return types.ActionPause
	}
	b, err := proxywasm.GetHttpRequestBody(0, size)
	if err != nil && err != types.ErrorStatusNotFound {
		proxywasm.LogErrorf("reading the request body: %v", err)
	}
	if err := proxywasm.SendHttpResponse(200, nil, b, -1); err != nil {
		proxywasm.LogErrorf("sending the echo: %v", err)
	}
	return types.ActionPause
}
