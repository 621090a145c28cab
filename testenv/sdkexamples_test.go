package testenv_test

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/wasmesh/wasmesh/testenv"
	"github.com/wasmesh/wasmesh/testenv/testenvtest"
)

// The proxy-wasm Go SDK's examples, written anew as testdata/plugins/sdkex_* (the originals are
// nested modules the Go proxy does not ship), built with our flags and run under testenv with
// the behaviour each example's README describes.

// sdkex returns build/sdkex_<name>.wasm and fails the test when it is missing.
func sdkex(t *testing.T, name string) []byte {
	t.Helper()
	return testenvtest.Module(t, filepath.Join("..", "build", "sdkex_"+name+".wasm"))
}

// messages are the plugin log lines so far.
func messages(env *testenv.Env) []string {
	var out []string
	for _, l := range env.Logs() {
		out = append(out, l.Message)
	}
	return out
}

func ok(t *testing.T, res *testenv.Result) *testenv.Result {
	t.Helper()
	require.NoError(t, res.Err)
	return res
}

// http_headers: "test: best" on the request, the configured header and the example header on
// the response, every header logged, "<id> finished" at the end of the stream.
func TestSDKExampleHTTPHeaders(t *testing.T) {
	env := testenvtest.New(t, []testenv.Filter{{Module: sdkex(t, "http_headers"), Config: []byte(`{"header": "x-wasm-header", "value": "demo-wasm"}`)}},
		testenv.WithUpstream(func(*testenv.UpstreamRequest) *testenv.Response {
			return &testenv.Response{Status: 200, Headers: testenv.Headers{{"content-type", "text/plain"}}, Body: []byte("ok")}
		}))
	res := ok(t, env.Do(testenv.Request{Path: "/uuid", Authority: "localhost:18000", Headers: testenv.Headers{{"test", "worst"}, {"accept", "*/*"}}}))
	require.Equal(t, []string{"best"}, res.Upstream.Headers.Values("test"), "replaced, not added")
	require.Equal(t, "demo-wasm", res.Response.Headers.Get("x-wasm-header"))
	require.Equal(t, "http_headers", res.Response.Headers.Get("x-proxy-wasm-go-sdk-example"))
	require.Equal(t, "ok", string(res.Response.Body))
	logs := messages(env)
	for _, want := range []string{
		"request header --> :authority: localhost:18000", "request header --> :path: /uuid", "request header --> :method: GET",
		"request header --> accept: */*", "request header --> test: best", "response header <-- :status: 200",
		"response header <-- content-type: text/plain", "response header <-- x-wasm-header: demo-wasm",
	} {
		require.Contains(t, logs, want)
	}
	require.Regexp(t, `^[0-9]+ finished$`, logs[len(logs)-1])

	// Without configuration only the example header is added; half a configuration is refused.
	env = testenvtest.New(t, []testenv.Filter{{Module: sdkex(t, "http_headers")}})
	res = ok(t, env.Do(testenv.Request{}))
	require.Equal(t, "http_headers", res.Response.Headers.Get("x-proxy-wasm-go-sdk-example"))
	require.Empty(t, res.Response.Headers.Values("x-wasm-header"))
	_, err := testenvtest.Start(t, []testenv.Filter{{Module: sdkex(t, "http_headers"), Config: []byte(`{"header": "x-a"}`)}})
	require.ErrorContains(t, err, `configuration: want {"header": "<name>", "value": "<value>"}`)
}

// http_body: append, prepend or replace the request body, or the response body with
// buffer-replace-at: response; no content-length → 400; configuration "echo" echoes.
func TestSDKExampleHTTPBody(t *testing.T) {
	echoUpstream := testenv.WithUpstream(func(r *testenv.UpstreamRequest) *testenv.Response {
		return &testenv.Response{Status: 200, Body: append([]byte("upstream saw "), r.Body...)}
	})
	env := testenvtest.New(t, []testenv.Filter{{Module: sdkex(t, "http_body")}}, echoUpstream)
	const initial = "[initial body]"
	tests := []struct {
		name, op, at string
		chunks       []string
		upstream     string // body at the upstream
		response     string
	}{
		{"prepend request", "prepend", "", nil, "[this is prepended body]" + initial, "upstream saw [this is prepended body]" + initial},
		{"append request", "append", "", nil, initial + "[this is appended body]", "upstream saw " + initial + "[this is appended body]"},
		{"replace request", "replace", "", nil, "[this is replaced body]", "upstream saw [this is replaced body]"},
		{"unknown op replaces", "shuffle", "", nil, "[this is replaced body]", "upstream saw [this is replaced body]"},
		{"chunked request is buffered whole", "append", "", []string{"[initial", " body]"}, initial + "[this is appended body]", "upstream saw " + initial + "[this is appended body]"},
		{"prepend response", "prepend", "response", nil, initial, "[this is prepended body]upstream saw " + initial},
		{"replace response", "replace", "response", nil, initial, "[this is replaced body]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := testenv.Request{Method: "PUT", Headers: testenv.Headers{{"content-length", fmt.Sprint(len(initial))}, {"buffer-operation", tt.op}}}
			if tt.at != "" {
				req.Headers = append(req.Headers, [2]string{"buffer-replace-at", tt.at})
			}
			if tt.chunks != nil {
				for _, c := range tt.chunks {
					req.BodyChunks = append(req.BodyChunks, []byte(c))
				}
			} else {
				req.Body = []byte(initial)
			}
			res := ok(t, env.Do(req))
			require.Equal(t, tt.upstream, string(res.Upstream.Body))
			require.Empty(t, res.Upstream.Headers.Values("content-length"), "content-length is dropped")
			require.Equal(t, tt.response, string(res.Response.Body))
		})
	}
	res := ok(t, env.Do(testenv.Request{Method: "GET"}))
	require.Nil(t, res.Upstream)
	require.True(t, res.LocalReply)
	require.Equal(t, 400, res.Response.Status)
	require.Equal(t, "content must be provided", string(res.Response.Body))

	echo := testenvtest.New(t, []testenv.Filter{{Module: sdkex(t, "http_body"), Config: []byte("echo")}}, echoUpstream)
	res = ok(t, echo.Do(testenv.Request{Method: "POST", BodyChunks: [][]byte{[]byte("hello "), []byte("echo")}}))
	require.True(t, res.LocalReply)
	if res.Upstream != nil { // as in Envoy, the headers went on before the body was answered
		require.Empty(t, res.Upstream.Body, "the body never reaches the upstream")
	}
	require.Equal(t, 200, res.Response.Status)
	require.Equal(t, "hello echo", string(res.Response.Body))
}

// http_routing: about half of the requests go to the canary ("-canary" appended to :authority).
func TestSDKExampleHTTPRouting(t *testing.T) {
	for dice, want := range map[string]string{"2": "reviews-canary", "7": "reviews"} {
		env := testenvtest.New(t, []testenv.Filter{{Module: sdkex(t, "http_routing"), Config: []byte(`{"dice": ` + dice + `}`)}})
		res := ok(t, env.Do(testenv.Request{Authority: "reviews"}))
		require.Equal(t, want, res.Upstream.Authority, "dice %s", dice)
		require.Contains(t, messages(env), "dice: "+dice)
	}

	env := testenvtest.New(t, []testenv.Filter{{Module: sdkex(t, "http_routing")}})
	seen := map[string]int{}
	for range 64 {
		seen[ok(t, env.Do(testenv.Request{Authority: "reviews"})).Upstream.Authority]++
	}
	require.Len(t, seen, 2, "a random coin sends requests both ways: %v", seen)
	require.Equal(t, 64, seen["reviews"]+seen["reviews-canary"])

	_, err := testenvtest.Start(t, []testenv.Filter{{Module: sdkex(t, "http_routing"), Config: []byte(`{"dice": -1}`)}})
	require.ErrorContains(t, err, `configuration: want {"dice": <unsigned integer>}`)
}

// json_validation: JSON bodies with every required key pass; anything else gets 403.
func TestSDKExampleJSONValidation(t *testing.T) {
	env := testenvtest.New(t, []testenv.Filter{{Module: sdkex(t, "json_validation"), Config: []byte(`{"requiredKeys": ["id", "token"]}`)}})
	tests := []struct {
		name, contentType, body string
		status                  int
		reply                   string
	}{
		{"valid", "application/json", `{"id": "xxx", "token": "xxx"}`, 200, ""},
		{"missing key", "application/json", `{"id": "xxx", "not_token": "xxx"}`, 403, "invalid payload"},
		{"json string", "application/json", `"required_keys_missing"`, 403, "invalid payload"},
		{"not json", "application/json", `{"id": `, 403, "invalid payload"},
		{"no content type", "", `{"id": "xxx", "token": "xxx"}`, 403, "content-type must be provided"},
		{"other content type", "text/plain", `{"id": "xxx", "token": "xxx"}`, 403, "content-type must be provided"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := testenv.Request{Method: "POST", Body: []byte(tt.body)}
			if tt.contentType != "" {
				req.Headers = testenv.Headers{{"content-type", tt.contentType}}
			}
			res := ok(t, env.Do(req))
			require.Equal(t, tt.status, res.Response.Status)
			if tt.status == 200 {
				require.NotNil(t, res.Upstream)
				require.Equal(t, tt.body, string(res.Upstream.Body))
				return
			}
			require.True(t, res.LocalReply)
			require.Equal(t, tt.reply, string(res.Response.Body))
		})
	}
	_, err := testenvtest.Start(t, []testenv.Filter{{Module: sdkex(t, "json_validation"), Config: []byte(`{"requiredKeys": [1]}`)}})
	require.ErrorContains(t, err, "configuration: requiredKeys[0]: want a string, got 1")
}

// metrics: one counter per value of my-custom-header.
func TestSDKExampleMetrics(t *testing.T) {
	env := testenvtest.New(t, []testenv.Filter{{Module: sdkex(t, "metrics")}})
	for _, v := range []string{"foo", "foo", "bar", "", "foo"} {
		req := testenv.Request{}
		if v != "" {
			req.Headers = testenv.Headers{{"my-custom-header", v}}
		}
		ok(t, env.Do(req))
	}
	m := env.Metrics()
	require.Equal(t, 3.0, m["custom_header_value_counts_value=foo_reporter=wasmgosdk"])
	require.Equal(t, 1.0, m["custom_header_value_counts_value=bar_reporter=wasmgosdk"])
	for name := range m {
		require.True(t, strings.HasPrefix(name, "custom_header_value_counts_"), "only the example's counters: %s", name)
	}
}

// properties: the route metadata names the header a request must carry, else 401.
func TestSDKExampleProperties(t *testing.T) {
	auth := []string{"route_metadata", "filter_metadata", "envoy.filters.http.wasm", "auth"}
	env := testenvtest.New(t, []testenv.Filter{{Module: sdkex(t, "properties")}}, testenv.WithProperty(auth, []byte("cookie")))
	res := ok(t, env.Do(testenv.Request{Path: "/one"}))
	require.Equal(t, 401, res.Response.Status)
	require.Nil(t, res.Upstream)
	res = ok(t, env.Do(testenv.Request{Path: "/one", Headers: testenv.Headers{{"cookie", "value"}}}))
	require.Equal(t, 200, res.Response.Status)
	require.NotNil(t, res.Upstream)
	require.Contains(t, messages(env), `auth header is "cookie"`)

	open := testenvtest.New(t, []testenv.Filter{{Module: sdkex(t, "properties")}})
	res = ok(t, open.Do(testenv.Request{Path: "/three"}))
	require.Equal(t, 200, res.Response.Status)
	require.Contains(t, messages(open), "no auth header for route")
}

// shared_data: each request increments one counter in the host's shared data, through CAS.
func TestSDKExampleSharedData(t *testing.T) {
	env := testenvtest.New(t, []testenv.Filter{{Module: sdkex(t, "shared_data")}})
	for range 3 {
		ok(t, env.Do(testenv.Request{}))
	}
	require.Equal(t, []string{"shared value: 1", "shared value: 2", "shared value: 3"}, messages(env))

	// Two filters, two VMs, one store: every request counts twice.
	env = testenvtest.New(t, []testenv.Filter{{Name: "a", Module: sdkex(t, "shared_data")}, {Name: "b", Module: sdkex(t, "shared_data")}})
	for range 2 {
		ok(t, env.Do(testenv.Request{}))
	}
	var got []string
	for _, l := range env.Logs() {
		got = append(got, l.Filter+" "+l.Message)
	}
	require.Equal(t, []string{"a shared value: 1", "b shared value: 2", "a shared value: 3", "b shared value: 4"}, got)
}

// shared_data under parallel streams (a Pool of 4 Envs, like 4 Envoy workers sharing one
// store): the CAS loop loses no increment.
func TestSDKExampleSharedDataParallel(t *testing.T) {
	pool := testenvtest.NewPool(t, 4, []testenv.Filter{{Module: sdkex(t, "shared_data")}})
	const workers, each = 4, 25
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				if res := pool.Do(testenv.Request{}); res.Err != nil {
					t.Error(res.Err)
				}
			}
		})
	}
	wg.Wait()
	var values []string
	for _, l := range pool.Logs() {
		if v, found := strings.CutPrefix(l.Message, "shared value: "); found {
			values = append(values, v)
		}
	}
	want := make([]string, workers*each)
	for i := range want {
		want[i] = fmt.Sprint(i + 1)
	}
	slices.Sort(values)
	slices.Sort(want)
	require.Equal(t, want, values, "every value from 1 to %d exactly once", workers*each)
}

// shared_queue: a sender VM puts every request and response header into two queues a
// receiver VM registered; the receiver is told and dequeues each item, in order.
func TestSDKExampleSharedQueue(t *testing.T) {
	w := sdkex(t, "shared_queue")
	env := testenvtest.New(t, []testenv.Filter{
		{Name: "requests", Module: w, RootID: "receiver", VMID: "receiver", Config: []byte("http_request_headers")},
		{Name: "responses", Module: w, RootID: "receiver", VMID: "receiver", Config: []byte("http_response_headers")},
		{Name: "sender", Module: w, RootID: "sender", VMID: "sender", Config: []byte("receiver")},
	}, testenv.WithUpstream(func(*testenv.UpstreamRequest) *testenv.Response {
		return &testenv.Response{Status: 200, Headers: testenv.Headers{{"content-type", "text/plain"}}}
	}))
	ok(t, env.Do(testenv.Request{Path: "/x", Authority: "reviews", Headers: testenv.Headers{{"x-a", "1"}}}))
	var sent, received []string
	queueOf := map[string]string{"requests": "http_request_headers", "responses": "http_response_headers"}
	for _, l := range env.Logs() {
		switch l.Filter {
		case "sender":
			if item, found := strings.CutPrefix(l.Message, "enqueued data: "); found {
				sent = append(sent, item)
			}
		case "requests", "responses":
			if _, rest, found := strings.Cut(l.Message, ") dequeued data from "); found {
				q, item, _ := strings.Cut(rest, ": ")
				require.True(t, strings.HasPrefix(q, queueOf[l.Filter]+"(queueID="), "%s dequeues only its queue: %s", l.Filter, q)
				received = append(received, item)
			}
		}
	}
	require.Contains(t, sent, `{"key": ":path","value": "/x"}`)
	require.Contains(t, sent, `{"key": "x-a","value": "1"}`)
	require.Contains(t, sent, `{"key": ":status","value": "200"}`)
	require.Contains(t, sent, `{"key": "content-type","value": "text/plain"}`)
	require.Equal(t, sent, received, "every item arrives once, in order")

	// A sender whose receiver VM registered no queue refuses to start.
	_, err := testenvtest.Start(t, []testenv.Filter{{Name: "sender", Module: w, RootID: "sender", VMID: "sender", Config: []byte("nobody")}})
	require.ErrorContains(t, err, "resolving nobody/http_request_headers")
}

// dispatch_call_on_tick: every 100 ms an HTTP call to web_service, each answer logged.
func TestSDKExampleDispatchCallOnTick(t *testing.T) {
	var paths []string
	env := testenvtest.New(t, []testenv.Filter{{Module: sdkex(t, "dispatch_call_on_tick")}},
		testenv.WithCluster("web_service", func(r *testenv.UpstreamRequest) *testenv.Response {
			paths = append(paths, r.Path)
			require.Equal(t, "some_authority", r.Authority)
			return &testenv.Response{Status: 200, Headers: testenv.Headers{{"x-answer", fmt.Sprint(len(paths))}}}
		}))
	env.Advance(time.Second)
	require.Len(t, paths, 10, "one call per 100 ms tick")
	for _, p := range paths {
		require.Contains(t, []string{"/ok", "/fail"}, p)
	}
	logs := messages(env)
	require.Contains(t, logs, "tick period: 100 ms")
	require.Regexp(t, `^called 1 for contextID=[0-9]+$`, logs[slices.IndexFunc(logs, func(s string) bool { return strings.HasPrefix(s, "called ") })])
	require.Contains(t, logs, "response header for the dispatched call: x-answer: 10")
	require.Equal(t, 10, countPrefix(logs, "called "))

	env.Advance(500 * time.Millisecond)
	require.Len(t, paths, 15)
}

func countPrefix(lines []string, prefix string) int {
	n := 0
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			n++
		}
	}
	return n
}

// multiple_dispatches: the response waits for 10 calls to httpbin, then gets total-dispatched.
func TestSDKExampleMultipleDispatches(t *testing.T) {
	calls := 0
	env := testenvtest.New(t, []testenv.Filter{{Module: sdkex(t, "multiple_dispatches")}},
		testenv.WithCluster("httpbin", func(r *testenv.UpstreamRequest) *testenv.Response {
			calls++
			require.Equal(t, "/", r.Path)
			return &testenv.Response{Status: 200}
		}))
	res := ok(t, env.Do(testenv.Request{}))
	require.Equal(t, 10, calls)
	require.Equal(t, "10", res.Response.Headers.Get("total-dispatched"))
	require.Equal(t, 200, res.Response.Status)
	logs := messages(env)
	for n := 9; n >= 1; n-- {
		require.Contains(t, logs, fmt.Sprintf("pending dispatched requests: %d", n))
	}
	require.Equal(t, "response resumed after processed 10 dispatched request", logs[len(logs)-1])
}

// postpone_requests: each request waits for the next one-second tick, then goes on.
func TestSDKExamplePostponeRequests(t *testing.T) {
	env := testenvtest.New(t, []testenv.Filter{{Module: sdkex(t, "postpone_requests")}})
	env.Advance(300 * time.Millisecond)
	before := env.Now()
	res := ok(t, env.Do(testenv.Request{Path: "/a"}))
	require.NotNil(t, res.Upstream, "resumed")
	require.Equal(t, "/a", res.Upstream.Path)
	require.Equal(t, 700*time.Millisecond, res.Elapsed, "held until the tick at 1s")
	require.Equal(t, 700*time.Millisecond, env.Now().Sub(before))
	logs := messages(env)
	require.Len(t, logs, 2)
	id, found := strings.CutPrefix(logs[0], "postpone request with contextID=")
	require.True(t, found, logs[0])
	require.Equal(t, "resume request with contextID="+id, logs[1])

	res = ok(t, env.Do(testenv.Request{}))
	require.Equal(t, time.Second, res.Elapsed, "the next request waits a whole period")
}

// vm_plugin_configuration: both configurations are read and logged at start.
func TestSDKExampleVMPluginConfiguration(t *testing.T) {
	env := testenvtest.New(t, []testenv.Filter{{
		Module:   sdkex(t, "vm_plugin_configuration"),
		VMConfig: []byte(`{"name": "vm configuration"}`),
		Config:   []byte(`{"name": "plugin configuration"}`),
	}})
	require.Equal(t, []string{`vm config: {"name": "vm configuration"}`, `plugin config: {"name": "plugin configuration"}`}, messages(env))
}
