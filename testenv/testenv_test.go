package testenv

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func allFilter(t testing.TB, config string) Filter {
	return Filter{Name: "tenv_all", Module: module(t, "tenv_all"), Config: []byte(config), RootID: "root-a"}
}

func op(ops string, extra ...[2]string) Request {
	return Request{Authority: "svc", Path: "/p?q=1", Headers: append(Headers{{"x-op", ops}}, extra...)}
}

func TestHostCalls(t *testing.T) {
	upstream := WithUpstream(func(r *UpstreamRequest) *Response {
		if r.Headers.Get("x-op") == "body" {
			return &Response{Status: 200, Body: []byte("upstream says " + string(r.Body))}
		}
		return &Response{Status: 200}
	})
	auth := WithCluster("auth", func(r *UpstreamRequest) *Response {
		return &Response{Status: 200, Body: []byte("pong:" + string(r.Body) + ":" + r.Method + r.Path + r.Headers.Get("x-q"))}
	})
	tests := []struct {
		name  string
		req   Request
		check func(t *testing.T, env *Env, res *Result)
	}{
		{"headers and pseudo-headers", op("headers", [2]string{"x-replace", "old"}, [2]string{"x-replace", "older"}, [2]string{"x-remove", "x"}, [2]string{"x-rewrite", "1"}),
			func(t *testing.T, _ *Env, res *Result) {
				require.Equal(t, "GET /p?q=1 svc http", res.Response.Headers.Get("x-seen"))
				require.Equal(t, "11", res.Response.Headers.Get("x-count")) // 4 pseudo + x-op + 2 x-replace + x-remove + x-rewrite + x-forwarded-proto + x-request-id
				require.Equal(t, "1", res.Upstream.Headers.Get("x-added"))
				require.Equal(t, []string{"new"}, res.Upstream.Headers.Values("x-replace"))
				require.Empty(t, res.Upstream.Headers.Values("x-remove"))
				require.Equal(t, "/rewritten", res.Upstream.Path)
				require.Equal(t, "error status returned by host: not found", res.Response.Headers.Get("x-absent-err"))
				require.Equal(t, 201, res.Response.Status)
				require.Equal(t, "true", res.Response.Headers.Get("x-eos"))
			}},
		{"set header pairs", op("pairs"), func(t *testing.T, _ *Env, res *Result) {
			require.Equal(t, "yes", res.Upstream.Headers.Get("x-from-pairs"))
			require.Equal(t, "/p?q=1", res.Upstream.Path)
		}},
		{"body buffered until end of stream", Request{Method: "POST", Headers: Headers{{"x-op", "body"}}, BodyChunks: [][]byte{[]byte("ab"), []byte("cd"), []byte("ef")}},
			func(t *testing.T, _ *Env, res *Result) {
				require.Equal(t, "ABCDEF", string(res.Upstream.Body))
				require.Equal(t, "false", res.Response.Headers.Get("x-eos"))
				require.Equal(t, "upstream says ABCDEF!", string(res.Response.Body), "response body appended at end of stream")
				require.Empty(t, res.Response.Headers.Get("content-length"))
			}},
		{"trailers", Request{Method: "POST", Headers: Headers{{"x-op", "trailers"}}, Body: []byte("x"), Trailers: Headers{{"x-t", "1"}}},
			func(t *testing.T, _ *Env, res *Result) {
				require.Equal(t, "1", res.Upstream.Trailers.Get("x-trailer-added"))
				require.Equal(t, "1", res.Upstream.Trailers.Get("x-t"))
			}},
		{"properties", op("props"), func(t *testing.T, _ *Env, res *Result) {
			h := res.Response.Headers
			require.Equal(t, "tenv_all", h.Get("x-prop-plugin_name"))
			require.Equal(t, "root-a", h.Get("x-prop-plugin_root_id"))
			require.Equal(t, "productpage", h.Get("x-prop-xds.node.metadata.service"))
			require.Equal(t, "error: error status returned by host: not found", h.Get("x-prop-node.metadata.service"), "Envoy 1.40 has no bare node property")
			require.Equal(t, "default", h.Get("x-prop-xds.cluster_name"))
			require.Equal(t, "default", h.Get("x-prop-xds.route_name"))
			require.Equal(t, "/p?q=1", h.Get("x-prop-request.path"))
			require.Equal(t, "GET", h.Get("x-prop-request.method"))
			require.Equal(t, "10.0.0.2:45678", h.Get("x-prop-source.address"))
			require.Equal(t, "10.0.0.1:15001", h.Get("x-prop-destination.address"))
			require.Equal(t, "custom-value", h.Get("x-prop-custom.thing"))
			require.Equal(t, "8", h.Get("x-prop-request.time-len"))
		}},
		{"metrics", op("metrics"), func(t *testing.T, env *Env, res *Result) {
			require.Equal(t, "1", res.Response.Headers.Get("x-counter"))
			require.Equal(t, map[string]float64{"tenv_requests": 1, "tenv_gauge": 5}, env.Metrics())
			require.Equal(t, []float64{42}, env.Histogram("tenv_hist"))
		}},
		{"shared data with CAS", op("shared"), func(t *testing.T, env *Env, res *Result) {
			require.Equal(t, "1", res.Response.Headers.Get("x-shared"))
			require.Empty(t, res.Response.Headers.Get("x-set-err"))
			require.Empty(t, res.Response.Headers.Get("x-stale-err"), "cas 0 (key absent) sets unconditionally: k = stale")
			again := env.Do(op("shared"))
			require.Equal(t, "1", again.Response.Headers.Get("x-shared"), "stale reads as 0")
			require.Empty(t, again.Response.Headers.Get("x-set-err"))
			require.Equal(t, "error status returned by host: cas mismatch", again.Response.Headers.Get("x-stale-err"))
			v, ok := env.SharedData("k")
			require.True(t, ok)
			require.Equal(t, "1", string(v), "the write with the old cas was refused")
		}},
		{"logs with levels, stdout and stderr", op("log"), func(t *testing.T, env *Env, _ *Result) {
			var got []Log
			for _, l := range env.Logs() {
				if l.Filter == "tenv_all" {
					got = append(got, l)
				}
			}
			require.Equal(t, []Log{{"tenv_all", Trace, "log trace"}, {"tenv_all", Debug, "log debug"}, {"tenv_all", Info, "log info"},
				{"tenv_all", Warn, "log warn"}, {"tenv_all", Error, "log error"}, {"tenv_all", Critical, "log critical"},
				{"tenv_all", Info, "to stdout"}, {"tenv_all", Error, "to stderr"}, {"tenv_all", Info, "stream done"}}, got)
		}},
		{"foreign functions", op("foreign"), func(t *testing.T, _ *Env, res *Result) {
			require.Equal(t, "hello hello hello", res.Response.Headers.Get("x-foreign"))
			require.Equal(t, "error status returned by host: not found", res.Response.Headers.Get("x-foreign-missing"))
		}},
		{"local reply", op("reply,headers"), func(t *testing.T, _ *Env, res *Result) {
			require.True(t, res.LocalReply)
			require.Nil(t, res.Upstream)
			require.Equal(t, 201, res.Response.Status, "the replying filter's response callbacks rewrote the status")
			require.Equal(t, "denied", string(res.Response.Body))
			require.Equal(t, "yes", res.Response.Headers.Get("x-reply"))
			require.Equal(t, "text/plain", res.Response.Headers.Get("content-type"))
		}},
		{"local reply from the response path replaces the response", op("replyresp"), func(t *testing.T, _ *Env, res *Result) {
			require.True(t, res.LocalReply)
			require.NotNil(t, res.Upstream, "the upstream answered first")
			require.Equal(t, 502, res.Response.Status)
			require.Equal(t, "from response", string(res.Response.Body))
			require.Equal(t, "yes", res.Response.Headers.Get("x-replaced"))
		}},
		{"http call then resume", op("call"), func(t *testing.T, env *Env, res *Result) {
			require.NoError(t, res.Err)
			require.Equal(t, "200 pong:ping:POST/check1", res.Upstream.Headers.Get("x-call"))
			require.Len(t, env.Calls(), 1)
			require.Equal(t, "auth", env.Calls()[0].Cluster)
		}},
		{"http call to an unknown cluster", op("badcall"), func(t *testing.T, _ *Env, res *Result) {
			require.Equal(t, "error status returned by host: bad argument", res.Response.Headers.Get("x-call-err"))
		}},
		{"paused stream without a timer is stuck", op("pause"), func(t *testing.T, _ *Env, res *Result) {
			require.ErrorIs(t, res.Err, ErrStuck)
			require.ErrorContains(t, res.Err, `filter "tenv_all" holds the request headers`)
			require.Nil(t, res.Upstream)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newEnv(t, []Filter{allFilter(t, "")}, auth, upstream, WithNodeMetadata(map[string]string{"service": "productpage"}),
				WithProperty([]string{"custom", "thing"}, []byte("custom-value")))
			res := env.Do(tt.req)
			if !strings.Contains(tt.name, "stuck") {
				require.NoError(t, res.Err)
			}
			tt.check(t, env, res)
		})
	}
}

func TestTicksResumeAndAdvance(t *testing.T) {
	env := newEnv(t, []Filter{allFilter(t, "tick=100")})
	start := env.Now()
	res := env.Do(op("pause"))
	require.NoError(t, res.Err)
	require.NotNil(t, res.Upstream)
	require.Equal(t, 100*time.Millisecond, res.Elapsed, "resumed by the first tick")
	require.Equal(t, 1.0, env.Metrics()["tenv_ticks"])
	env.Advance(350 * time.Millisecond)
	require.Equal(t, 4.0, env.Metrics()["tenv_ticks"], "ticks at 200, 300, 400 ms")
	require.Equal(t, 450*time.Millisecond, env.Now().Sub(start))
}

func TestSharedQueue(t *testing.T) {
	env := newEnv(t, []Filter{allFilter(t, "queue")})
	res := env.Do(op("queue", [2]string{"x-item", "item-1"}))
	require.NoError(t, res.Err)
	require.Empty(t, res.Response.Headers.Get("x-queue-err"))
	require.Contains(t, env.Logs(), Log{Filter: "tenv_all", Level: Info, Message: "dequeued: item-1"})
}

func TestChain(t *testing.T) {
	// Two filters: the first answers locally; the second never sees the request but sees the
	// response; header changes of the first reach the second.
	a := allFilter(t, "")
	a.Name = "first"
	b := Filter{Name: "second", Module: module(t, "hello")}
	env := newEnv(t, []Filter{a, b})
	res := env.Do(op("reply"))
	require.True(t, res.LocalReply)
	require.Equal(t, "world", res.Response.Headers.Get("x-hello"), "the later filter saw the local reply")
	for _, l := range env.Logs() {
		require.NotEqual(t, "second", l.Filter, "the later filter saw no request callback")
	}
	res = env.Do(op("headers"))
	require.Equal(t, "request", res.Upstream.Headers.Get("x-hello"))
	require.Equal(t, "1", res.Upstream.Headers.Get("x-added"))

	// A paused first filter holds the chain: the second runs only once the first resumes.
	env = newEnv(t, []Filter{a, b}, WithCluster("auth", func(*UpstreamRequest) *Response { return &Response{Status: 204} }))
	res = env.Do(op("call"))
	require.NoError(t, res.Err)
	require.Equal(t, "204 ", res.Upstream.Headers.Get("x-call"))
	require.Equal(t, "request", res.Upstream.Headers.Get("x-hello"))
}

func TestRouteCache(t *testing.T) {
	tests := []struct {
		name    string
		strict  bool
		headers Headers
		want    string
	}{
		{"default: header change re-picks the route", false, Headers{{"x-want", "reviews|v2"}}, "reviews|v2"},
		{"strict: without clear_route_cache the old route stays", true, Headers{{"x-want", "reviews|v2"}}, "default"},
		{"strict: clear_route_cache re-picks the route", true, Headers{{"x-want", "reviews|v2"}, {"x-clear", "1"}}, "reviews|v2"},
		{"client routing header", true, Headers{{RoutingHeader, "reviews|v3"}, {"x-want", "reviews|v3"}}, "reviews|v3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts []Option
			if tt.strict {
				opts = append(opts, WithStrictRouteCache())
			}
			env := newEnv(t, []Filter{allFilter(t, "")}, opts...)
			res := env.Do(op("route", tt.headers...))
			require.NoError(t, res.Err)
			require.Equal(t, tt.want, res.Upstream.Cluster)
		})
	}
}

func TestBadModules(t *testing.T) {
	t.Run("unknown imports are all named", func(t *testing.T) {
		_, err := startEnv(t, []Filter{filter(t, "tenv_badimport")})
		require.ErrorIs(t, err, ErrRefused)
		require.ErrorContains(t, err, "missing import: env.something_unknown")
		require.ErrorContains(t, err, "missing import: made_up_module.do_it")
	})
	t.Run("configuration refused", func(t *testing.T) {
		_, err := startEnv(t, []Filter{allFilter(t, "refuse")})
		require.ErrorContains(t, err, "proxy_on_configure refused")
		require.ErrorContains(t, err, "[critical] tenv_all: config: refusing on purpose")
	})
	t.Run("trap fails the stream and the plugin", func(t *testing.T) {
		env := newEnv(t, []Filter{allFilter(t, "")})
		res := env.Do(op("panic"))
		require.Error(t, res.Err)
		require.ErrorContains(t, res.Err, "proxy_on_request_headers trapped")
		require.ErrorContains(t, res.Err, "tenv_all: boom")
		require.Equal(t, 503, res.Response.Status)
		require.Nil(t, res.Upstream)
		res = env.Do(op(""))
		require.ErrorContains(t, res.Err, "failed earlier")
		require.Equal(t, 503, res.Response.Status)
	})
	t.Run("host call outside Envoy's start-up allowlist", func(t *testing.T) {
		var logs strings.Builder
		_, err := startEnv(t, []Filter{filter(t, "tenv_initcall")}, WithLogOutput(&logs))
		require.ErrorContains(t, err, "_initialize")
		require.ErrorContains(t, err, "restricted_callback: env.proxy_get_property")
		require.Contains(t, logs.String(), "tenv_initcall: logging is allowed during start")
	})
	t.Run("not a module", func(t *testing.T) {
		_, err := startEnv(t, []Filter{{Name: "garbage", Module: []byte("not wasm")}})
		require.ErrorContains(t, err, `filter "garbage": `)
	})
}

func TestInspect(t *testing.T) {
	b := module(t, "hello")
	info, err := Inspect(b)
	require.NoError(t, err)
	require.Equal(t, "0.2.0", info.ABIVersion)
	require.True(t, info.Reactor)
	require.Empty(t, info.Problems)
	require.Contains(t, info.Imports, Import{Module: "env", Name: "proxy_log"})
	require.Contains(t, info.Exports, "proxy_on_memory_allocate")

	b = module(t, "tenv_badimport")
	info, err = Inspect(b)
	require.NoError(t, err)
	require.Equal(t, []string{"missing import: env.something_unknown", "missing import: made_up_module.do_it"}, info.Problems)

	_, err = Inspect([]byte("not wasm"))
	require.Error(t, err)
}

func TestPoolParallel(t *testing.T) {
	pool := newPool(t, 2, []Filter{allFilter(t, "")})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				res := pool.Do(op("metrics"))
				require.NoError(t, res.Err)
			}
		}()
	}
	wg.Wait()
	require.Equal(t, 20.0, pool.Metrics()["tenv_requests"])
}

func TestLatency(t *testing.T) {
	auth := WithCluster("auth", func(*UpstreamRequest) *Response { return &Response{Status: 200, Body: []byte("ok")} })
	tests := []struct {
		name        string
		opts        []Option
		req         Request
		wantCall    string
		wantElapsed time.Duration
	}{
		{"no latency", nil, op("call"), "200 ok", 0},
		{"call answered after its latency", []Option{WithLatency("auth", 300*time.Millisecond)}, op("call"), "200 ok", 300 * time.Millisecond},
		{"call timed out (plugin timeout 1s)", []Option{WithLatency("auth", 5*time.Second)}, op("call"), " ", time.Second},
		{"slow upstream", []Option{WithLatency("default", 250*time.Millisecond)}, op(""), "", 250 * time.Millisecond},
		{"slow call and slow upstream", []Option{WithLatency("auth", 100*time.Millisecond), WithLatency("default", 50*time.Millisecond)}, op("call"), "200 ok", 150 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newEnv(t, []Filter{allFilter(t, "")}, append(tt.opts, auth)...)
			res := env.Do(tt.req)
			require.NoError(t, res.Err)
			require.Equal(t, tt.wantCall, res.Upstream.Headers.Get("x-call"))
			require.Equal(t, tt.wantElapsed, res.Elapsed)
		})
	}
}

// TestRuntime: a Runtime is the caller's: WithContext needs an interruptible one, and a closed
// one starts nothing (the Envs of another Runtime carry on).
func TestRuntime(t *testing.T) {
	ctx := context.Background()
	t.Run("WithContext needs an interruptible runtime", func(t *testing.T) {
		_, err := startEnv(t, []Filter{filter(t, "hello")}, WithContext(ctx))
		require.EqualError(t, err, "WithContext needs a Runtime made with RuntimeConfig.Interruptible")

		rt, err := NewRuntime(ctx, RuntimeConfig{Interruptible: true})
		require.NoError(t, err)
		defer rt.Close(ctx)
		env, err := rt.Start([]Filter{filter(t, "hello")}, WithContext(ctx))
		require.NoError(t, err)
		require.NoError(t, env.Do(Request{}).Err)
		require.NoError(t, env.Close())
	})
	t.Run("a closed runtime starts nothing", func(t *testing.T) {
		rt, err := NewRuntime(ctx, RuntimeConfig{})
		require.NoError(t, err)
		require.NoError(t, rt.Close(ctx))
		_, err = rt.Start([]Filter{filter(t, "hello")})
		require.EqualError(t, err, `filter "hello": the testenv Runtime is closed`)
		_, err = rt.StartPool(2, []Filter{filter(t, "hello")})
		require.ErrorContains(t, err, "the testenv Runtime is closed")
		require.NoError(t, newEnv(t, []Filter{filter(t, "hello")}).Do(Request{}).Err)
	})
}
